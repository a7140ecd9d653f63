#!/usr/bin/env python
"""Django's command-line utility for the example project.

    python example_apps/github_django/manage.py demo      # migrate, seed, serve on :8000
    python example_apps/github_django/manage.py migrate   # ... any Django command
"""

import os
import sys
from pathlib import Path


def main() -> None:
    # The repository root, so that `example_apps.github_django` and `django_oso` import.
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "example_apps.github_django.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
