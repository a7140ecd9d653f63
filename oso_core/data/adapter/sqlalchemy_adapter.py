"""Data filtering on SQLAlchemy 2.x: the `SqlAlchemyAdapter` and the plan -> SQL entry points.

The plan is compiled by the one SQL compiler, `sqlalchemy_compiler.compile_plan` (negation as
exact two-valued complements, uncorrelated IN subqueries, recursive CTEs; see that module); this
module adds the adapter that builds and runs queries with it.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy import ColumnElement, Select
from sqlalchemy.orm import Query, Session
from sqlalchemy.sql import visitors

from oso_core.exceptions import UnsupportedError
from oso_core.filtering.plan import FilterPlan
from oso_core.filtering.plan_cache import PARAMETERS_KEY, Parameter, ValueDependent

from .adapter import DataAdapter
from .sqlalchemy_compiler import compile_plan
from .sqlalchemy_mapping import mapper_of, single_column_pair

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

__all__ = ["SqlAlchemyAdapter", "build_select", "filter_clause", "relations_of"]

# ---------------------------------------------------------------------------------------------
# Public functions

def filter_clause(plan: FilterPlan) -> ColumnElement[bool]:
    """The WHERE clause selecting the rows of `plan.root.cls` that satisfy the plan."""
    return compile_plan(plan)


def build_select(plan: FilterPlan) -> Select:
    """`SELECT root FROM root WHERE <plan>` as a SQLAlchemy 2.x `Select`."""
    return sa.select(plan.root.cls).where(filter_clause(plan))


def relations_of(model: type) -> dict[str, tuple[str, type, str, str]]:
    """The ORM relationships of `model` expressible as one column equality.

    Returns `{name: (kind, target_class, my_field, other_field)}` with attribute (not column)
    names. Relationships through a secondary table, over composite keys, or with extra join
    criteria are left out: dropping their extra criteria would relate too many rows.
    """
    mapper = mapper_of(model) if isinstance(model, type) else None
    if mapper is None:
        return {}
    found: dict[str, tuple[str, type, str, str]] = {}
    for rel in mapper.relationships:
        pair = single_column_pair(mapper, rel)
        if pair is not None:
            found[rel.key] = ("many" if rel.uselist else "one", rel.mapper.class_, *pair)
    return found


class SqlAlchemyAdapter(DataAdapter):
    """Data-filtering adapter for SQLAlchemy 2.x sessions.

    By default queries are ORM `Query` objects (as legacy oso returned); with `statement=True`
    they are 2.0-style `Select` statements.

    The session may be an `AsyncSession` (or `async_scoped_session`): queries are then `Select`
    statements, and they run only inside async calls (`await oso.authorized_resources_async(...)`,
    a Relation field read by `await oso.is_allowed_async(...)`), awaiting the session in the
    event loop; or run one yourself with `await adapter.execute_query_async(query)`.
    """

    def __init__(self, session: Session | AsyncSession, *, statement: bool = False) -> None:
        self.session = session
        self.is_async = _is_async_session(session)
        self.statement = statement or self.is_async   # an AsyncSession has no `query()`

    def build_query_from_plan(self, plan: FilterPlan) -> Any:
        """A query of the rows of `plan.root.cls` that satisfy the plan."""
        if self.statement:
            return build_select(plan)
        return self.session.query(plan.root.cls).filter(filter_clause(plan))

    def prepare_plan(self, plan: FilterPlan, parameters: dict) -> tuple[type, ColumnElement[bool]]:
        """The root class and WHERE clause of a template plan (see `oso_core.filtering.plan_cache`), its
        `Parameter`s compiled to the bound parameters named in `parameters`. Raises
        `ValueDependent` if a parameter would be compiled other than as a bound value."""
        clause = compile_plan(plan, parameters=parameters)
        for element in visitors.iterate(clause):
            if isinstance(element, sa.BindParameter) and _holds_parameter(element.value):
                raise ValueDependent("an actor value compiles to a literal")
        return plan.root.cls, clause

    def build_query_from_prepared(self, prepared: tuple[type, ColumnElement[bool]], values: dict) -> Any:
        """The query of `prepare_plan`'s clause with the actor's values bound."""
        root, clause = prepared
        params = {PARAMETERS_KEY + name: value for name, value in values.items()}
        if self.statement:
            return sa.select(root).where(clause).params(params)
        return self.session.query(root).filter(clause).params(params)

    def build_query(self, filter: Any) -> Any:
        """The legacy entry point: a legacy `DataFilter`, converted to a plan first."""
        from oso_core.filtering.legacy import plan_from_data_filter
        return self.build_query_from_plan(plan_from_data_filter(filter))

    def execute_query(self, query: Any) -> list:
        """Run a query built by this adapter and return the selected objects."""
        if self.is_async:
            return self._execute_in_async_call(query)
        if isinstance(query, Query):
            return query.all()
        if isinstance(query, Select):
            return list(self.session.scalars(query).all())
        raise TypeError(f"cannot execute {type(query).__name__}: expected a Query or a Select")

    def relations_of(self, cls: type) -> dict[str, tuple[str, type, str, str]]:
        """The relations the ORM mapping declares for `cls` (see `relations_of`)."""
        return relations_of(cls)

    async def execute_query_async(self, query: Any) -> list:
        """Run a `Select` built by this adapter on its `AsyncSession`."""
        if not self.is_async:
            raise TypeError("execute_query_async needs an adapter over an AsyncSession; "
                            "this one holds a synchronous Session: use execute_query")
        if not isinstance(query, Select):
            raise TypeError(f"cannot execute {type(query).__name__}: expected a Select")
        return list((await self.session.scalars(query)).all())

    def _execute_in_async_call(self, query: Any) -> list:
        from oso_core.runtime.async_bridge import await_, in_async_call
        if not isinstance(query, Select):
            raise TypeError(f"cannot execute {type(query).__name__}: expected a Select")
        if not in_async_call():
            raise UnsupportedError(
                "this SqlAlchemyAdapter holds an AsyncSession, whose queries must be awaited: use "
                "`await oso.authorized_resources_async(...)` (and the other *_async methods), or "
                "`await adapter.execute_query_async(query)`")
        return list(await_(self.session.scalars(query)).all())


# ---------------------------------------------------------------------------------------------

def _is_async_session(session: Any) -> bool:
    # No AsyncSession can exist unless its module was imported: plain sessions skip the import.
    module = sys.modules.get("sqlalchemy.ext.asyncio")
    return module is not None and isinstance(session, (module.AsyncSession, module.async_scoped_session))


def _holds_parameter(value: Any) -> bool:
    if isinstance(value, (list, tuple)):
        return any(_holds_parameter(v) for v in value)
    return type(value) is Parameter
