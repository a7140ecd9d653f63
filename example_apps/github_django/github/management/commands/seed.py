from django.core.management.base import BaseCommand

from ...seed import reset, seed_if_empty


class Command(BaseCommand):
    help = "Seed the example's demo data (users, orgs, repos, issues, roles) if the database is empty."

    def add_arguments(self, parser):
        parser.add_argument("--reset", action="store_true", help="delete the demo rows and seed afresh")

    def handle(self, *args, **options):
        if options.get("reset"):
            reset()
            self.stdout.write("Seeded afresh.")
        elif seed_if_empty():
            self.stdout.write("Seeded.")
        else:
            self.stdout.write("Already seeded.")
