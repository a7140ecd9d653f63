"""A GitHub-like JSON API in FastAPI and SQLAlchemy asyncio, authorized by the policy of
example_apps/github_flask, without blocking the event loop.

Run it with `python -m example_apps.github_fastapi`; see docs/fastapi.md.
"""

from .app import create_app

__all__ = ["create_app"]
