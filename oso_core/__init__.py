"""oso_core: the Polar policy language and the oso authorization API, in pure Python.

Drop-in for legacy oso 0.26/0.27: `from oso import X` becomes `from oso_core import X`.
"""

from .exceptions import AuthorizationError, ForbiddenError, NotFoundError, OsoError
from .expression import Expression, Pattern
from .oso import Oso
from .polar import Polar
from .predicate import Predicate
from .variable import Variable
from .data_filtering import Relation
from .data import Condition, DataFilter, Projection
from .query import Query, QueryResult
from . import tool_plugins as _tool_plugins  # noqa: F401  (plugs the tools into the facade's hooks)

__all__ = [
    "Oso", "Polar", "OsoError", "AuthorizationError", "ForbiddenError", "NotFoundError",
    "Predicate", "Relation", "Variable", "Expression", "Pattern", "Query", "QueryResult",
    "DataFilter", "Condition", "Projection",
]
