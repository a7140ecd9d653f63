"""A GitHub-like JSON API in FastAPI and SQLAlchemy asyncio, authorized by the shared policy of
the example apps (example_apps/github_domain), without blocking the event loop.

Run it with `python -m example_apps.github_fastapi`; see docs/fastapi.md.
"""

from .app import create_app

__all__ = ["create_app"]
