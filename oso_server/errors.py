"""Errors a request can end in, each an HTTP status with a `{"message": ...}` body."""

from __future__ import annotations


class ApiError(Exception):
    """A request that cannot be served: `status` and a message that says what was wrong."""

    status = 400

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status


class BadRequest(ApiError):
    """400: the body or the query string is malformed, of the wrong type, or not accepted."""

    status = 400


class Unauthorized(ApiError):
    """401: no API key, or one the server does not know."""

    status = 401


class Forbidden(ApiError):
    """403: a write with a read-only API key."""

    status = 403


class NotFound(ApiError):
    """404: an unknown route."""

    status = 404


class PayloadTooLarge(ApiError):
    """413: a body over the size limit (10 MiB, the oso-cloud client's own limit)."""

    status = 413
