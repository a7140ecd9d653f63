"""Legacy `polar.query` names."""

from __future__ import annotations

from typing import Any

from .expression import Expression, Pattern
from .predicate import Predicate
from .variable import Variable

NATIVE_TYPES = [int, float, bool, str, dict, type(None), list]


class QueryResult:
    """Legacy helper: results of a finished query."""

    def __init__(self, results: list) -> None:
        self.success = len(results) > 0
        self.results = [r["bindings"] for r in results]
        self.traces = [r.get("trace") for r in results]


class Query:
    """Legacy name for a running query; here `Polar.query` returns a generator directly."""

    def __init__(self, polar: Any, query: Any, **kwargs: Any) -> None:
        self._results = polar.query(query, **kwargs)

    def run(self) -> Any:
        return self._results

    def __iter__(self) -> Any:
        return iter(self._results)


__all__ = ["Query", "QueryResult", "NATIVE_TYPES", "Expression", "Pattern", "Predicate", "Variable"]
