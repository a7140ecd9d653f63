"""A GitHub-like JSON API in Flask and SQLAlchemy, authorized by one Polar policy.

Run it with `python -m example_apps.github_flask`; see docs/example-app.md.
"""

from .app import create_app

__all__ = ["create_app"]
