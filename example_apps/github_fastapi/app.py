"""`create_app(...)`: the FastAPI application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from . import config
from .authorization import oso_fastapi
from .database import Database
from .routes import register_routes
from .seed import create_and_seed


def create_app(database_url: str | None = None, *, secret_key: str | None = None, seed: bool = True,
               engine_options: dict[str, Any] | None = None) -> FastAPI:
    """The app, on `database_url` (see config.py; default `$DATABASE_URL`, else a SQLite file).

    With `seed`, the tables are created and the demo data inserted into an empty database when
    the app starts (its lifespan). The engine is disposed of when the app stops.
    `engine_options` go to `create_async_engine`.
    """
    database = Database.connect(config.database_url(database_url), **(engine_options or {}))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if seed:
            await create_and_seed(database.engine)
        yield
        await database.engine.dispose()

    app = FastAPI(title="GitHub-like example of oso_core + fastapi_oso", lifespan=lifespan)
    app.state.database = database
    app.state.secret_key = config.secret_key(secret_key)
    oso_fastapi.init_app(app)      # NotFoundError -> 404, ForbiddenError -> 403, OsoError -> 500
    app.add_exception_handler(RequestValidationError, _bad_request)
    register_routes(app)
    return app


async def _bad_request(request: Request, exc: Exception) -> JSONResponse:
    """A request FastAPI cannot validate (a missing or mistyped field, a bad query parameter)
    is a 400, as in the Flask app."""
    assert isinstance(exc, RequestValidationError)
    return JSONResponse({"detail": jsonable_encoder(exc.errors())}, status_code=400)
