"""The implementation the behavioural tests run against.

By default the tests exercise our engine, ``oso_core``.  With ``OSO_TESTS_AGAINST_LEGACY=1`` they
run against legacy oso 0.27.3 (the ``oso`` and ``polar`` packages), which is how every expected
value in the suite was checked:

    OSO_TESTS_AGAINST_LEGACY=1 /tmp/legacy/bin/python -m pytest tests/test_language.py -q

The public API is identical; only import paths differ (``oso.X``/``polar.X`` -> ``oso_core.X``,
``polar.partial`` -> ``oso_core.partial`` ...).  Core names are imported eagerly; secondary ones
(``TypeConstraint``, ``dot_path``, ``Relation``, ``Query``, ``QueryResult``, ``Host``,
``UserType``) are resolved on first attribute access so that a missing one only fails the tests
that use it.  Use :func:`engine_module` to import a sub-module by its *legacy* dotted path.
"""

from __future__ import annotations

import importlib
import os

LEGACY = os.environ.get("OSO_TESTS_AGAINST_LEGACY") == "1"
ENGINE = "legacy oso 0.27.3" if LEGACY else "oso_core"

if LEGACY:
    from oso import Oso  # noqa: F401
    from polar import Expression, Pattern, Polar, Predicate, Variable  # noqa: F401
    from polar import exceptions  # noqa: F401
    from oso.exceptions import AuthorizationError, ForbiddenError, NotFoundError  # noqa: F401
else:
    from oso_core import Oso  # noqa: F401
    from oso_core import Expression, Pattern, Polar, Predicate, Variable  # noqa: F401
    from oso_core import exceptions  # noqa: F401
    from oso_core.exceptions import AuthorizationError, ForbiddenError, NotFoundError  # noqa: F401

OsoError = exceptions.OsoError
PolarRuntimeError = exceptions.PolarRuntimeError
UNEXPECTED_EXPRESSION_MESSAGE = exceptions.UNEXPECTED_EXPRESSION_MESSAGE


def engine_module_name(legacy_path: str) -> str:
    """Map a legacy module path (``oso``, ``oso.oso``, ``polar.partial`` ...) to the one under test."""
    if LEGACY:
        return legacy_path
    head, _, rest = legacy_path.partition(".")
    if head not in ("oso", "polar"):
        raise ValueError(f"not a legacy oso module path: {legacy_path}")
    return "oso_core" + ("." + rest if rest else "")


def engine_module(legacy_path: str):
    """Import the module of the engine under test that corresponds to ``legacy_path``."""
    return importlib.import_module(engine_module_name(legacy_path))


# name -> (legacy module path, attribute)
_LAZY = {
    "TypeConstraint": ("polar.partial", "TypeConstraint"),
    "dot_path": ("polar.partial", "dot_path"),
    "Relation": ("polar.data_filtering", "Relation"),
    "Query": ("polar.query", "Query"),
    "QueryResult": ("polar.query", "QueryResult"),
    "Host": ("polar.host", "Host"),
    "UserType": ("polar.host", "UserType"),
}


def __getattr__(name: str):
    if name in _LAZY:
        module, attr = _LAZY[name]
        value = getattr(engine_module(module), attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
