"""`python -m example_apps.github_flask`: create and seed the database if needed, print the
demo users and a few curl commands, and serve the API on http://127.0.0.1:5000."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from flask import Flask

from .app import create_app
from .models import db
from .seed import ACCESS, create_and_seed


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m example_apps.github_flask", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5000)
    parser.add_argument("--database-url", help="any SQLAlchemy URL (default: $DATABASE_URL, else a "
                                               "SQLite file in the temporary directory)")
    parser.add_argument("--reset", action="store_true", help="drop the app's tables and seed them afresh")
    return parser.parse_args(argv)


def banner(app: Flask, seeded: bool, base: str) -> str:
    jar = "/tmp/github_flask.cookies"
    users = "\n".join(f"  {name:<6} {access}" for name, access in ACCESS.items())
    return f"""\
GitHub-like example app: oso_core + flask_oso + sqlalchemy_oso
Database: {app.config['SQLALCHEMY_DATABASE_URI']} ({'seeded just now' if seeded else 'already seeded'})

Users (log in by name, no password):
{users}

Try:
  curl -c {jar} -H 'Content-Type: application/json' -d '{{"username": "bob"}}' {base}/login
  curl -b {jar} {base}/repos
  curl -b {jar} {base}/issues
  curl -b {jar} -X POST {base}/issues/1/close          # 403: bob only reads anvil
  curl -b {jar} -X POST {base}/issues/5/close          # 200: bob maintains tnt
  curl -b {jar} {base}/repos/4                         # 404: hammock is globex's
"""


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
