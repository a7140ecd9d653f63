"""`StoreQuery`: the query builder as the store hands it out, with context facts validated
against the store's policy like inserts (`QueryBuilder` itself takes them as given)."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any, Sequence

from .query_builder import QueryBuilder, QueryVariable
from .validation import FactValidator


class StoreQuery:
    """The oso-cloud client's QueryBuilder API (`and_`, `in_`, `with_context_facts`,
    `evaluate`) over one store policy; each method returns a new query."""

    __slots__ = ("_builder", "_validator", "_serial")

    def __init__(self, builder: QueryBuilder, validator: FactValidator, serial: AbstractContextManager) -> None:
        self._builder = builder
        self._validator = validator
        self._serial = serial  # the store's lock around database use (see FactStore)

    def and_(self, call: tuple) -> "StoreQuery":
        """Also require `call` (a predicate and its arguments: variables or values)."""
        return StoreQuery(self._builder.and_(call), self._validator, self._serial)

    def in_(self, var: QueryVariable, ids: Sequence[Any]) -> "StoreQuery":
        """Limit a variable of the query to these ids (once per variable)."""
        return StoreQuery(self._builder.in_(var, ids), self._validator, self._serial)

    def with_context_facts(self, facts: Sequence[Sequence[object]]) -> "StoreQuery":
        """Facts that hold for this query only; InvalidFactError if the policy does not accept one."""
        checked = [(predicate, *args) for predicate, args in self._validator.validate_all(facts)]
        return StoreQuery(self._builder.with_context_facts(checked), self._validator, self._serial)

    def evaluate(self, arg: Any = None) -> Any:
        """None: does the query hold; a variable: its distinct values; a tuple/list of variables:
        distinct tuples; {K: sub}: sub's result per value of K ("*": any value). One SQL statement."""
        with self._serial:
            return self._builder.evaluate(arg)

    def rows(self) -> list[dict]:
        """Every distinct solution as `{variable id: id string, or None for any value}`, one key
        per variable of the query (what `evaluate` shapes its answers from)."""
        with self._serial:
            return self._builder.rows()
