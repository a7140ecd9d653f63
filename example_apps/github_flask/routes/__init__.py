"""The JSON API, one blueprint per area."""

from __future__ import annotations

from flask import Flask

from . import issues, orgs, repos, sessions


def register_routes(app: Flask) -> None:
    for module in (sessions, orgs, repos, issues):
        app.register_blueprint(module.bp)
