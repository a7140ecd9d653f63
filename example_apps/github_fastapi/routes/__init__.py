"""The JSON API, one router per area (the endpoints of example_apps/github_flask)."""

from __future__ import annotations

from fastapi import FastAPI

from . import issues, orgs, repos, sessions


def register_routes(app: FastAPI) -> None:
    for module in (sessions, orgs, repos, issues):
        app.include_router(module.router)
