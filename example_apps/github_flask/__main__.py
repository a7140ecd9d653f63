"""`python -m example_apps.github_flask`: create and seed the database if needed, print the
demo users and a few curl commands, and serve the API on http://127.0.0.1:5000."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from flask import Flask

from example_apps.github_domain import demo

from .app import create_app
from .models import db
from .seed import create_and_seed


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m example_apps.github_flask", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5000)
    parser.add_argument("--database-url", help="any SQLAlchemy URL (default: $DATABASE_URL, else a "
                                               "SQLite file in the temporary directory)")
    parser.add_argument("--reset", action="store_true", help="drop the app's tables and seed them afresh")
    return parser.parse_args(argv)


def banner(app: Flask, seeded: bool, base: str) -> str:
    return demo.banner(title="oso_core + flask_oso + sqlalchemy_oso", seeded=seeded, base=base,
                       database=app.config["SQLALCHEMY_DATABASE_URI"], jar="/tmp/github_flask.cookies")


def main(argv: list[str] | None = None, serve: Callable[..., None] = Flask.run) -> Flask:
    args = parse_args(argv)
    config = {"SEED_DATABASE": False}
    if args.database_url:
        config["DATABASE_URL"] = args.database_url
    app = create_app(config)
    with app.app_context():
        if args.reset:
            db.drop_all()
        seeded = create_and_seed()
    print(banner(app, seeded, f"http://{args.host}:{args.port}"), flush=True)
    serve(app, host=args.host, port=args.port)
    return app


if __name__ == "__main__":
    main()
