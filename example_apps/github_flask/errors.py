"""Errors as JSON: `{"error": "Not Found", "message": "..."}` with the HTTP status.

Error responses that show no data (400, 401, 404, 405) count as authorized for flask_oso's
`require_authorization`: a 404 for a missing row or a 400 for a bad body reveals nothing, so a
view may answer them before (or without) an authorization check. Any other response of a view
that checked nothing is still turned into a 500.
"""

from __future__ import annotations

from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException

from .authorization import skip_authorization

REVEALS_NOTHING = {400, 401, 404, 405}


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(HTTPException, _json_error)


def _json_error(error: HTTPException):
    if error.code in REVEALS_NOTHING:
        skip_authorization(f"a {error.code} response shows no data")
    response = jsonify(error=error.name, message=error.description)
    response.status_code = error.code or 500
    return response
