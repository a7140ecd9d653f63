"""The data-filtering adapter interface (legacy `polar.data.adapter.adapter`)."""

from __future__ import annotations

from typing import Any


class DataAdapter:
    """Turns filters into queries of one data store, and runs them.

    The legacy protocol is two methods: `build_query(DataFilter)` returns a query object of the
    store and `execute_query(query)` returns the list of objects it selects. An adapter written
    for legacy oso works unchanged, for every policy whose filter fits the legacy `DataFilter`.

    Adapters may also implement optional methods, which the bundled adapters do:

    * `build_query_from_plan(plan: oso_core.filtering.plan.FilterPlan)` -- compile the full
      filter plan (negation, EXISTS over relations, recursive row sets). When present,
      `Oso.authorized_query` uses it instead of `build_query`.
    * `relations_of(cls) -> dict[str, tuple[kind, target_cls, my_field, other_field]]` -- the
      relations the store knows for a class (ORM relationships), used for fields the
      application did not declare with `register_class(..., fields=...)`.
    * `items_of(value) -> iterable or None` -- the items of a store object that is not iterable
      itself, for `x in value` in policies (the Django adapter: a relation manager's `.all()`).
    """

    def build_query(self, filter: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must implement build_query(filter)")

    def execute_query(self, query: Any) -> list:
        raise NotImplementedError(f"{type(self).__name__} must implement execute_query(query)")
