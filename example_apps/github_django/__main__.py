"""`python -m example_apps.github_django [demo options]`: same as `manage.py demo`."""

import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "example_apps.github_django.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["manage.py", "demo", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    main()
