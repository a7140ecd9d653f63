"""`python -m example_apps.github_fastapi`: create and seed the database if needed, print the
demo users and a few curl commands, and serve the API with uvicorn on http://127.0.0.1:8000."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import create_async_engine

from . import config
from .app import create_app
from .seed import ACCESS, create_and_seed


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m example_apps.github_fastapi", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--database-url", help="a SQLAlchemy URL (default: $DATABASE_URL, else a SQLite file in "
                                               "the temporary directory); sqlite:// and postgresql:// get "
                                               "their asyncio drivers (aiosqlite, psycopg 3)")
    parser.add_argument("--reset", action="store_true", help="drop the app's tables and seed them afresh")
    return parser.parse_args(argv)


async def prepare_database(url: str, reset: bool) -> bool:
    """Create the tables and seed them if empty (with an engine of its own: the server's runs in
    the server's event loop). True if it seeded."""
    engine = create_async_engine(url)
    try:
        return await create_and_seed(engine, reset=reset)
    finally:
        await engine.dispose()


def banner(url: str, seeded: bool, base: str) -> str:
    jar = "/tmp/github_fastapi.cookies"
    users = "\n".join(f"  {name:<6} {access}" for name, access in ACCESS.items())
    return f"""\
GitHub-like example app: oso_core + fastapi_oso + sqlalchemy_oso (asyncio)
Database: {url} ({'seeded just now' if seeded else 'already seeded'})

Users (log in by name, no password):
{users}

Try (API docs at {base}/docs):
  curl -c {jar} -H 'Content-Type: application/json' -d '{{"username": "bob"}}' {base}/login
  curl -b {jar} {base}/repos
  curl -b {jar} {base}/issues
  curl -b {jar} -X POST {base}/issues/1/close          # 403: bob only reads anvil
  curl -b {jar} -X POST {base}/issues/5/close          # 200: bob maintains tnt
  curl -b {jar} {base}/repos/4                         # 404: hammock is globex's
"""


def _uvicorn_run(app: FastAPI, **kwargs: Any) -> None:
    import uvicorn
    uvicorn.run(app, **kwargs)


def main(argv: list[str] | None = None, serve: Callable[..., None] = _uvicorn_run) -> FastAPI:
    args = parse_args(argv)
    url = config.database_url(args.database_url)
    seeded = asyncio.run(prepare_database(url, args.reset))
    app = create_app(url, seed=False)
    print(banner(url, seeded, f"http://{args.host}:{args.port}"), flush=True)
    serve(app, host=args.host, port=args.port)
    return app


if __name__ == "__main__":
    main()
