from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from ...seed import ACCESS, reset, seed_if_empty


def banner(base: str, database: str, seeded: bool) -> str:
    users = "\n".join(f"  {name:<6} {access}" for name, access in ACCESS.items())
    return f"""\
GitHub-like example project: oso_core + django_oso
Database: {database} ({'seeded just now' if seeded else 'already seeded'})

Users (name one in the X-User header, no password):
{users}

Try:
  curl -H 'X-User: bob' {base}/repos
  curl -H 'X-User: bob' {base}/issues
  curl -H 'X-User: carol' {base}/repos/3                # 404: carol cannot see acme/tnt
  curl -H 'X-User: bob' -X DELETE {base}/repos/1        # 403: bob reads anvil, cannot delete it
  curl -H 'X-User: bob' -X POST {base}/issues/1/close   # bob is assigned to issue 1
"""


class Command(BaseCommand):
    help = "Migrate, seed the demo data and serve the example API (default 127.0.0.1:8000)."

    def add_arguments(self, parser):
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000")
        parser.add_argument("--reset", action="store_true", help="seed the demo data afresh")
        parser.add_argument("--no-serve", action="store_true", help="migrate and seed, then exit")

    def handle(self, *args, addrport="127.0.0.1:8000", **options):
        call_command("migrate", verbosity=0)
        if options["reset"]:
            reset()
            seeded = True
        else:
            seeded = seed_if_empty()
        self.stdout.write(banner(f"http://{addrport}", str(settings.DATABASES["default"]["NAME"]), seeded))
        if not options["no_serve"]:
            call_command("runserver", addrport, use_reloader=False)
