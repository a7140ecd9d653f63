"""`python -m example_apps.github_fastapi`: create and seed the database if needed, print the
demo users and a few curl commands, and serve the API with uvicorn on http://127.0.0.1:8000."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import create_async_engine

from example_apps.github_domain import demo

from . import config
from .app import create_app
from .seed import create_and_seed


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
    return demo.banner(title="oso_core + fastapi_oso + sqlalchemy_oso (asyncio)", database=url, seeded=seeded,
                       base=base, jar="/tmp/github_fastapi.cookies", try_note=f" (API docs at {base}/docs)")


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
