"""Every exception the library raises, with legacy oso's class names, hierarchy and messages.

`str(error)` is the message followed by the help link legacy oso appends; `error.message` is the
message alone and `error.details` holds structured data (for engine errors: ``kind``, ``line``,
``column``, ``file`` and, for runtime type/application errors, ``stack_trace``).
"""

from __future__ import annotations

from typing import Any, Optional

HELP_URL = "https://help.osohq.com/error/"

UNEXPECTED_EXPRESSION_MESSAGE = """Received Expression from Polar VM. The Expression type is only supported when
using django-oso or sqlalchemy-oso's data filtering features. Did you perform an
operation over an unbound variable in your policy?

To silence this error and receive an Expression result, pass
accept_expression=True to Oso.query.
"""


class OsoError(Exception):
    """Base class of every error raised by the library."""

    def __init__(self, message: Optional[str] = None, details: Optional[dict] = None) -> None:
        self.message = message
        self.details = details
        self.stack_trace = details.get("stack_trace") if details else None
        super().__init__(f"{message}\n\tGet help with Oso from our engineers: {HELP_URL}{type(self).__name__}")


class FFIErrorNotFound(OsoError):
    """Kept for import compatibility; the pure-Python engine has no FFI."""


# Runtime errors -----------------------------------------------------------------------------

class PolarRuntimeError(OsoError):
    """An error while loading or running a policy."""


class UnsupportedError(PolarRuntimeError):
    """An operation Polar does not support (`Not supported: ...`)."""


class PolarTypeError(PolarRuntimeError):
    """A value of the wrong type was used (`Type error: ...`)."""


class StackOverflowError(PolarRuntimeError):
    """The goal or choice stack outgrew its limit."""


class UnregisteredClassError(PolarRuntimeError):
    """A class name was used that is not registered."""


class DuplicateClassAliasError(PolarRuntimeError):
    """A name is already registered for another class."""

    def __init__(self, name: str, old: Any, new: Any) -> None:
        super().__init__(f"Attempted to alias {new} as '{name}', but {old} already has that alias.")


class DuplicateInstanceRegistrationError(PolarRuntimeError):
    pass


class PolarFileExtensionError(PolarRuntimeError):
    def __init__(self, file: Any) -> None:
        super().__init__(f"Polar files must have .polar extension. Offending file: {file}")


class PolarFileNotFoundError(PolarRuntimeError):
    def __init__(self, file: Any) -> None:
        super().__init__(f"Could not find file: {file}")


class UnregisteredInstanceError(PolarRuntimeError):
    pass


class InlineQueryFailedError(PolarRuntimeError):
    def __init__(self, source: str) -> None:
        super().__init__(f"Inline query failed: {source}")


class UnexpectedPolarTypeError(PolarRuntimeError):
    pass


class InvalidQueryTypeError(PolarRuntimeError):
    pass


class InvalidCallError(PolarRuntimeError):
    pass


class InvalidIteratorError(PolarRuntimeError):
    pass


class InvalidConstructorError(PolarRuntimeError):
    pass


# Parse errors -------------------------------------------------------------------------------

class ParserError(OsoError):
    """Policy text that does not parse. `details` has line, column and file."""


class IntegerOverflow(ParserError):
    pass


class InvalidTokenCharacter(ParserError):
    pass


class InvalidToken(ParserError):
    pass


class UnrecognizedEOF(ParserError):
    pass


class UnrecognizedToken(ParserError):
    pass


class ExtraToken(ParserError):
    pass


# Operational and validation errors ------------------------------------------------------------

class OperationalError(OsoError):
    """An internal invariant failed; always a bug in the library."""


class UnknownError(OperationalError):
    pass


class ValidationError(OsoError):
    """A policy that parses but breaks a rule of the language (types, resource blocks, ...)."""


# Authorization errors (legacy `oso.exceptions`) ------------------------------------------------

class AuthorizationError(OsoError):
    """Base class of the errors `Oso.authorize*` raise."""


class NotFoundError(AuthorizationError):
    """The actor may not even read the resource: respond 404."""

    MESSAGE = ("Oso NotFoundError -- The current user does not have permission to read the given "
               "resource. You should handle this error by returning a 404 error to the client.")

    def __init__(self) -> None:
        super().__init__(self.MESSAGE)


class ForbiddenError(AuthorizationError):
    """The actor may read the resource but not perform this action: respond 403."""

    MESSAGE = ("Oso ForbiddenError -- The requested action was not allowed for the given resource. "
               "You should handle this error by returning a 403 error to the client.")

    def __init__(self) -> None:
        super().__init__(self.MESSAGE)


__all__ = [name for name, value in list(globals().items())
           if isinstance(value, type) and issubclass(value, Exception)] + ["UNEXPECTED_EXPRESSION_MESSAGE"]
