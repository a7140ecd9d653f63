"""oso_core: the Polar policy language and the oso authorization API, in pure Python.

Drop-in for legacy oso 0.26/0.27: `from oso import X` becomes `from oso_core import X`.
"""

from typing import TYPE_CHECKING, Any

from .exceptions import AuthorizationError, ForbiddenError, NotFoundError, OsoError
from .expression import Expression, Pattern
from .oso import Oso
from .polar import Polar
from .predicate import Predicate
from .variable import Variable
from .data_filtering import Relation
from .query import Query, QueryResult
from . import tool_plugins as _tool_plugins  # noqa: F401  (plugs the tools into the facade's hooks)

if TYPE_CHECKING:
    from .data import Condition, DataFilter, Projection

__all__ = [
    "Oso", "Polar", "OsoError", "AuthorizationError", "ForbiddenError", "NotFoundError",
    "Predicate", "Relation", "Variable", "Expression", "Pattern", "Query", "QueryResult",
    "DataFilter", "Condition", "Projection",
]

# The data-filtering value classes are imported on first use: their module (dataclasses) and the
# adapter base cost ~3 ms of every `import oso_core`, and only data filtering uses them.
_LAZY = {"Condition": ".data", "DataFilter": ".data", "Projection": ".data"}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value  # later lookups skip this function
    return value
