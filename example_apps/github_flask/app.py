"""`create_app(config)`: the Flask application factory."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask

from .authorization import init_authorization
from .config import DEFAULTS, database_url
from .errors import register_error_handlers
from .models import db
from .routes import register_routes
from .seed import create_and_seed


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """The app. `config` overrides the defaults (see config.py), e.g.
    `{"DATABASE_URL": "postgresql://...", "SEED_DATABASE": False}`."""
    app = Flask(__name__)
    app.config.from_mapping(DEFAULTS)
    app.config.update(config or {})
    app.config["SQLALCHEMY_DATABASE_URI"] = database_url(app.config)
    app.json.sort_keys = False   # keep fields in the order the views give them
    db.init_app(app)
    init_authorization(app)
    register_error_handlers(app)
    register_routes(app)
    if app.config["SEED_DATABASE"]:
        with app.app_context():
            create_and_seed()
    return app
