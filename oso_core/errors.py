"""Legacy `polar.errors`: map an engine error description to a Python exception.

The pure-Python engine raises the right classes directly; `get_python_error` remains for code
that built exceptions from legacy engine error dictionaries.
"""

from __future__ import annotations

from typing import Any

from .exceptions import (  # noqa: F401  (re-exported like legacy polar.errors)
    ExtraToken, IntegerOverflow, InvalidToken, InvalidTokenCharacter, OperationalError, OsoError,
    ParserError, PolarRuntimeError, PolarTypeError, StackOverflowError, UnknownError,
    UnrecognizedEOF, UnrecognizedToken, UnsupportedError, ValidationError,
)

_PARSE = {"IntegerOverflow": IntegerOverflow, "InvalidTokenCharacter": InvalidTokenCharacter,
          "InvalidToken": InvalidToken, "UnrecognizedEOF": UnrecognizedEOF,
          "UnrecognizedToken": UnrecognizedToken, "ExtraToken": ExtraToken}
_RUNTIME = {"Unsupported": UnsupportedError, "TypeError": PolarTypeError, "StackOverflow": StackOverflowError}


def get_python_error(err: Any) -> OsoError:
    """An exception for a legacy error dict `{"kind": {Kind: {SubKind: details}}, "formatted": msg}`."""
    message = err.get("formatted") if isinstance(err, dict) else str(err)
    kind = err.get("kind") if isinstance(err, dict) else None
    if not isinstance(kind, dict) or not kind:
        return OsoError(message)
    (top, body), = kind.items()
    sub = next(iter(body)) if isinstance(body, dict) and body else None
    details = body.get(sub) if isinstance(body, dict) and sub else None
    details = details if isinstance(details, dict) else None
    if top == "Parse":
        return _PARSE.get(sub, ParserError)(message, details)
    if top == "Runtime":
        return _RUNTIME.get(sub, PolarRuntimeError)(message, details)
    if top == "Operational":
        return OperationalError(message, details)
    if top == "Validation":
        return ValidationError(message, details)
    return OsoError(message, details)
