"""Compile a filter plan (`oso_core.filtering.plan`) into one SQLAlchemy 2.x query.

The root row of the plan is the mapped class itself, so `filter_clause(plan)` can be used in
`select(Model).where(...)`, `Query.filter(...)` or `with_loader_criteria(Model, ...)`. Every
other row is an anonymous `aliased(...)` entity (anonymous so that no alias can clash with a
table name or another plan's alias in the same statement); row sets become (recursive) CTEs that
SQLAlchemy attaches to the enclosing statement, so the result is always a single statement.

Negation is pushed down to the atoms (`Not(And(a, b))` -> `Or(not a, not b)`), and each negated
atom is compiled as its exact two-valued complement (`col = v` -> `col IS DISTINCT FROM v`,
otherwise `(atom) IS NOT TRUE`). Because no SQL `NOT` is ever applied to a possibly-NULL
expression, a NULL column behaves as Polar's "not equal / false" everywhere.
"""

from __future__ import annotations

import operator
import sys
from typing import TYPE_CHECKING, Any, Callable, Optional

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import InstanceState, Mapper, Query, Session, aliased
from sqlalchemy import CTE, BinaryExpression, ColumnElement, Select
from sqlalchemy.sql import operators
from sqlalchemy.sql.visitors import InternalTraversal

from oso_core.exceptions import UnsupportedError
from oso_core.filtering.plan import (
    And, Compare, Condition, Contains, Exists, FilterPlan, Field, Hop, In, InSet, Not, Or,
    RecursiveStep, Row, RowSet, Value,
)

from .adapter import DataAdapter

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

__all__ = ["SqlAlchemyAdapter", "build_select", "filter_clause", "relations_of"]

_MIRROR = {"Eq": "Eq", "Neq": "Neq", "Lt": "Gt", "Gt": "Lt", "Leq": "Geq", "Geq": "Leq"}
_PY_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "Eq": operator.eq, "Neq": operator.ne, "Lt": operator.lt,
    "Leq": operator.le, "Gt": operator.gt, "Geq": operator.ge,
}
_SQL_ORDER_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "Lt": operator.lt, "Leq": operator.le, "Gt": operator.gt, "Geq": operator.ge,
}


# ---------------------------------------------------------------------------------------------
# Public functions

def filter_clause(plan: FilterPlan) -> ColumnElement[bool]:
    """The WHERE clause selecting the rows of `plan.root.cls` that satisfy the plan."""
    return _PlanCompiler(plan).compile()


def build_select(plan: FilterPlan) -> Select:
    """`SELECT root FROM root WHERE <plan>` as a SQLAlchemy 2.x `Select`."""
    return sa.select(plan.root.cls).where(filter_clause(plan))


def relations_of(model: type) -> dict[str, tuple[str, type, str, str]]:
    """The ORM relationships of `model` expressible as one column equality.

    Returns `{name: (kind, target_class, my_field, other_field)}` with attribute (not column)
    names. Relationships through a secondary table, over composite keys, or with extra join
    criteria are left out: dropping their extra criteria would relate too many rows.
    """
    mapper = _mapper_or_none(model)
    if mapper is None:
        return {}
    found: dict[str, tuple[str, type, str, str]] = {}
    for rel in mapper.relationships:
        described = _describe_relationship(mapper, rel)
        if described is not None:
            found[rel.key] = described
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
# Mapping helpers

def _is_async_session(session: Any) -> bool:
    # No AsyncSession can exist unless its module was imported: plain sessions skip the import.
    module = sys.modules.get("sqlalchemy.ext.asyncio")
    return module is not None and isinstance(session, (module.AsyncSession, module.async_scoped_session))


def _mapper_or_none(cls: Any) -> Optional[Mapper]:
    found = sa.inspect(cls, raiseerr=False) if isinstance(cls, type) else None
    return found if isinstance(found, Mapper) else None


def _mapper(cls: type) -> Mapper:
    mapper = _mapper_or_none(cls)
    if mapper is None:
        raise UnsupportedError(f"{getattr(cls, '__name__', cls)!s} is not a SQLAlchemy mapped class")
    return mapper


_PLAIN_COLUMNS: dict = {}


def _plain_columns(mapper: Mapper) -> Optional[dict]:
    """Attribute name -> column key when every row of the mapped class is a row of one table
    read column by column (one table, no inheritance, no hybrid or SQL-expression attributes),
    so a Core alias of the table stands exactly for the class; None otherwise."""
    if mapper in _PLAIN_COLUMNS:
        return _PLAIN_COLUMNS[mapper]
    table = mapper.persist_selectable
    columns: Optional[dict] = {}
    if (not isinstance(table, sa.Table) or mapper.inherits is not None or mapper.local_table is not table
            or mapper.polymorphic_on is not None
            or any(isinstance(d, hybrid_property) for d in mapper.all_orm_descriptors)):
        columns = None
    else:
        for prop in mapper.column_attrs:
            column = prop.columns[0]
            if len(prop.columns) != 1 or not isinstance(column, sa.Column) or column.table is not table:
                columns = None
                break
            columns[prop.key] = column.key
    _PLAIN_COLUMNS[mapper] = columns
    return columns


def _pk_attribute_name(mapper: Mapper) -> str:
    pk = mapper.primary_key
    if len(pk) != 1:
        raise UnsupportedError(
            f"{mapper.class_.__name__} has a composite primary key; data filtering needs a "
            "single-column primary key to identify its rows")
    return mapper.get_property_by_column(pk[0]).key


def _describe_relationship(mapper: Mapper, rel: Any) -> Optional[tuple[str, type, str, str]]:
    if rel.secondary is not None or len(rel.local_remote_pairs) != 1:
        return None
    # A lone `a = b` join: anything else (extra criteria) cannot be expressed as one equality.
    join = rel.primaryjoin
    if not (isinstance(join, BinaryExpression) and join.operator is operators.eq):
        return None
    local, remote = rel.local_remote_pairs[0]
    try:
        my_field = mapper.get_property_by_column(local).key
        other_field = rel.mapper.get_property_by_column(remote).key
    except sa.orm.exc.UnmappedColumnError:  # a join column with no attribute of its own
        return None
    return ("many" if rel.uselist else "one", rel.mapper.class_, my_field, other_field)


def _plain(value: Any) -> Any:
    """`value` with mapped instances replaced by their primary key (also inside lists)."""
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    # Scalars are never ORM instances; skip the inspection registry lookup for them.
    state = sa.inspect(value, raiseerr=False) if not isinstance(value, (str, int, float)) else None
    if isinstance(state, InstanceState):
        keys = state.mapper.primary_key_from_instance(value)
        if len(keys) != 1:
            raise UnsupportedError(
                f"{state.mapper.class_.__name__} has a composite primary key; an instance of it "
                "cannot be compared as a single value")
        return keys[0]
    return value


def _type_of(expr: Any) -> Any:
    kind = expr.type
    return getattr(kind, "impl_instance", kind)  # look through TypeDecorator


# ---------------------------------------------------------------------------------------------
# JSON containment: the SQL differs per dialect, so it is a construct compiled per dialect.

class _JsonItemType(sa.types.TypeDecorator):
    """The bound item of a JSON containment: a one-element JSONB array on PostgreSQL (for
    `@>`), the plain value elsewhere (compared with `json_each.value`)."""

    impl = sa.types.NullType
    cache_ok = True

    def load_dialect_impl(self, dialect: Any) -> Any:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(postgresql.JSONB())
        return dialect.type_descriptor(sa.types.NullType())

    def process_bind_param(self, value: Any, dialect: Any) -> Any:
        return [value] if dialect.name == "postgresql" else value


class _JsonContains(ColumnElement):
    """`item` is an element of the JSON array in `column`."""

    __visit_name__ = "oso_json_contains"
    inherit_cache = True
    type = sa.Boolean()
    _traverse_internals = [
        ("column", InternalTraversal.dp_clauseelement),
        ("item", InternalTraversal.dp_clauseelement),
        ("item_is_value", InternalTraversal.dp_boolean),
    ]

    def __init__(self, column: ColumnElement, item: ColumnElement, item_is_value: bool,
                 where: str) -> None:
        self.column = column
        self.item = item
        self.item_is_value = item_is_value
        self.where = where  # "Model.field", for errors on unsupported dialects

    @property
    def _from_objects(self) -> list:
        return [*self.column._from_objects, *self.item._from_objects]


@compiles(_JsonContains)
def _json_contains_default(element: _JsonContains, compiler: Any, **kw: Any) -> str:
    raise UnsupportedError(
        f"membership in the JSON column {element.where} is not supported on "
        f"{compiler.dialect.name} (supported: sqlite, postgresql)")


@compiles(_JsonContains, "sqlite")
def _json_contains_sqlite(element: _JsonContains, compiler: Any, **kw: Any) -> str:
    column = compiler.process(element.column, **kw)
    item = compiler.process(element.item, **kw)
    # `IS` is SQLite's null-safe equality; unary `+` strips the column's affinity so that the
    # JSON string "2" does not equal the integer 2.
    return (f"(EXISTS (SELECT 1 FROM json_each({column}) AS oso_json_item "
            f"WHERE oso_json_item.value IS +{item}))")


@compiles(_JsonContains, "postgresql")
def _json_contains_postgresql(element: _JsonContains, compiler: Any, **kw: Any) -> str:
    column = compiler.process(element.column, **kw)
    item = compiler.process(element.item, **kw)
    if not element.item_is_value:
        item = f"jsonb_build_array({item})"
    return f"(CAST({column} AS JSONB) @> {item})"


# ---------------------------------------------------------------------------------------------
# The plan compiler

class _PlanCompiler:
    """Compiles one plan; holds the row -> entity map and the row set -> CTE map."""

    def __init__(self, plan: FilterPlan) -> None:
        self.plan = plan
        self.entities: dict[int, Any] = {id(plan.root): plan.root.cls}
        self.ctes: dict[str, CTE] = {}
        self.in_progress: set[str] = set()

    def compile(self) -> ColumnElement[bool]:
        _mapper(self.plan.root.cls)
        return self.condition(self.plan.condition, frozenset({id(self.plan.root)}), False)

    # rows and operands ---------------------------------------------------------------------

    def entity(self, row: Row) -> Any:
        if id(row) not in self.entities:
            mapper = _mapper(row.cls)
            columns = _plain_columns(mapper)
            # A Core alias of the table where that is exact: ORM `aliased()` entities adapt
            # every column on access, which was most of the time spent building a filter.
            self.entities[id(row)] = (aliased(row.cls) if columns is None
                                      else mapper.persist_selectable.alias())
        return self.entities[id(row)]

    def bind(self, row: Row, scope: frozenset) -> None:
        if id(row) in scope:
            raise UnsupportedError(f"row {row.label} ({row.name}) is bound twice in one scope")

    def field(self, f: Field, scope: frozenset) -> Any:
        if id(f.row) not in scope:
            raise UnsupportedError(
                f"{f.row.name}.{f.name or 'id'} refers to row {f.row.label}, which is not "
                "bound here")
        mapper = _mapper(f.row.cls)
        name = _pk_attribute_name(mapper) if f.name is None else f.name
        descriptor = mapper.all_orm_descriptors.get(name)
        is_column = name in mapper.column_attrs
        if not (is_column or isinstance(descriptor, hybrid_property)):
            raise UnsupportedError(
                f"{f.row.cls.__name__}.{name} is not a mapped column of {f.row.cls.__name__}")
        entity = self.entity(f.row)
        if isinstance(entity, sa.Alias):
            return entity.c[_plain_columns(mapper)[name]]
        return getattr(entity, name)

    def pk(self, row: Row, scope: frozenset) -> Any:
        return self.field(Field(row, None), scope)

    # conditions ----------------------------------------------------------------------------

    def condition(self, c: Condition, scope: frozenset, negated: bool) -> ColumnElement[bool]:
        if isinstance(c, And):
            return self.junction(c.items, scope, negated, conjunction=not negated)
        if isinstance(c, Or):
            return self.junction(c.items, scope, negated, conjunction=negated)
        if isinstance(c, Not):
            return self.condition(c.item, scope, not negated)
        if isinstance(c, Compare):
            return self.compare(c, scope, negated)
        if isinstance(c, In):
            return _negate(self.member(c, scope), negated)
        if isinstance(c, Contains):
            return _negate(self.contains(c, scope), negated)
        if isinstance(c, Exists):
            if not negated and _self_contained(c):
                return self.exists_as_in(c, scope)
            clause = self.exists(c, scope)
            return ~clause if negated else clause
        if isinstance(c, InSet):
            return self.in_set(c, scope, negated)
        raise UnsupportedError(f"cannot compile {type(c).__name__} to SQL")

    def junction(self, items: tuple, scope: frozenset, negated: bool,
                 conjunction: bool) -> ColumnElement[bool]:
        parts = [self.condition(item, scope, negated) for item in items]
        if conjunction:
            return sa.and_(*parts) if parts else sa.true()
        return sa.or_(*parts) if parts else sa.false()

    def compare(self, c: Compare, scope: frozenset, negated: bool) -> ColumnElement[bool]:
        if c.op not in _PY_OPS:
            raise UnsupportedError(f"unknown comparison {c.op}")
        op, left, right = c.op, c.left, c.right
        if isinstance(left, Value) and isinstance(right, Value):
            return _constant(_python_compare(op, left.value, right.value) != negated)
        if isinstance(left, Value):
            op, left, right = _MIRROR[op], right, left
        column = self.field(left, scope)
        if isinstance(right, Field):
            return _compare_columns(op, column, self.field(right, scope), negated)
        return _compare_value(op, column, _plain(right.value), negated)

    def member(self, c: In, scope: frozenset) -> ColumnElement[bool]:
        if not isinstance(c.values, Value) or not isinstance(c.values.value, (list, tuple, set, frozenset)):
            raise UnsupportedError(f"`in` needs a list of values, got {c.values!r}")
        values = _plain(list(c.values.value))
        if isinstance(c.item, Value):
            return _constant(_plain(c.item.value) in values)
        return _in_list(self.field(c.item, scope), values)

    def contains(self, c: Contains, scope: frozenset) -> ColumnElement[bool]:
        if isinstance(c.column, Value):  # a list value: the same as `item in [...]`
            return self.member(In(c.item, c.column), scope)
        column = self.field(c.column, scope)
        where = f"{c.column.row.cls.__name__}.{c.column.name}"
        kind = _type_of(column)
        item_is_value = isinstance(c.item, Value)
        if isinstance(kind, sa.ARRAY):
            if item_is_value:
                value = _plain(c.item.value)
                if value is None:  # `NULL = ANY(...)` is never true; array_position is null-safe
                    return sa.func.array_position(column, sa.null()).is_not(None)
                return sa.any_(column) == sa.bindparam(None, value, type_=kind.item_type)
            return sa.any_(column) == self.field(c.item, scope)
        if isinstance(kind, sa.JSON):
            if item_is_value:
                item = sa.bindparam(None, _plain(c.item.value), type_=_JsonItemType())
            else:
                item = self.field(c.item, scope)
            return _JsonContains(column, item, item_is_value, where)
        raise UnsupportedError(
            f"cannot test membership in {where}: the column is not a list "
            f"(its type is {column.type!r}; expected ARRAY or JSON)")

    def exists(self, c: Exists, scope: frozenset) -> ColumnElement[bool]:
        self.bind(c.row, scope)
        inner = scope | {id(c.row)}
        join = self.relation_join(c.parent, c.relation.my_field, c.row, c.relation.other_field, inner)
        target = self.entity(c.row)
        query = (sa.select(sa.literal_column("1")).select_from(target)
                 .where(join, self.condition(c.condition, inner, False))
                 .correlate_except(target))
        return query.exists()

    def exists_as_in(self, c: Exists, scope: frozenset) -> ColumnElement[bool]:
        """`parent.my IN (SELECT row.other ... WHERE condition)`: when the condition reads no
        outer row the subquery is uncorrelated, and databases run it once, with indexes, instead
        of once per outer row. (Only positive: NOT IN differs from NOT EXISTS on NULLs.)"""
        self.bind(c.row, scope)
        inner = scope | {id(c.row)}
        target = self.entity(c.row)
        column = self.field(Field(c.row, c.relation.other_field), inner)
        query = (sa.select(column).select_from(target)
                 .where(self.condition(c.condition, inner, False)))
        return self.field(Field(c.parent, c.relation.my_field), scope).in_(query)

    def relation_join(self, parent: Row, my_field: str, row: Row, other_field: str,
                      scope: frozenset) -> ColumnElement[bool]:
        return self.field(Field(row, other_field), scope) == self.field(Field(parent, my_field), scope)

    def in_set(self, c: InSet, scope: frozenset, negated: bool) -> ColumnElement[bool]:
        cte = self.set_cte(c.set_name, c.row)
        key = self.pk(c.row, scope)
        members = sa.select(cte.c.pk).correlate(None)
        # Primary keys are never NULL, so NOT IN is the exact complement here.
        return key.not_in(members) if negated else key.in_(members)

    # row sets ------------------------------------------------------------------------------

    def set_cte(self, name: str, row: Row) -> CTE:
        if name not in self.plan.sets:
            raise UnsupportedError(f"the filter plan has no row set named {name!r}")
        rowset: RowSet = self.plan.sets[name]
        if not (issubclass(row.cls, rowset.row.cls) or issubclass(rowset.row.cls, row.cls)):
            raise UnsupportedError(
                f"row {row.label} ({row.cls.__name__}) cannot be a member of set {name!r} "
                f"of {rowset.row.cls.__name__}")
        if name in self.in_progress:
            raise UnsupportedError(f"row set {name!r} refers to itself outside its recursive steps")
        if name not in self.ctes:
            self.in_progress.add(name)
            try:
                self.ctes[name] = self.rowset_cte(rowset)
            finally:
                self.in_progress.discard(name)
        return self.ctes[name]

    def rowset_cte(self, rowset: RowSet) -> CTE:
        scope = frozenset({id(rowset.row)})
        member = self.entity(rowset.row)
        base = (sa.select(self.pk(rowset.row, scope).label("pk")).select_from(member)
                .where(self.condition(rowset.base, scope, False)))
        if not rowset.steps:
            return base.cte()
        cte = base.cte(recursive=True)
        return cte.union(self.recursive_select(rowset, cte, scope))

    def recursive_select(self, rowset: RowSet, cte: CTE, scope: frozenset) -> Select:
        """The recursive term; it may name the CTE only once, so several steps share one join."""
        query = sa.select(self.pk(rowset.row, scope).label("pk")).select_from(self.entity(rowset.row))
        if len(rowset.steps) == 1:
            step = rowset.steps[0]
            inner = self.bind_hops(step, scope)
            for hop in step.hops:
                query = query.join(self.entity(hop.row), self.hop_join(hop, inner))
            query = query.join(cte, cte.c.pk == self.pk(step.member, inner))
            return query.where(self.condition(step.condition, inner, False))
        # PostgreSQL forbids the CTE inside a subquery's FROM but accepts correlated references
        # to its column, so each step is an EXISTS over its hops matching the joined `cte.pk`.
        steps = [self.step_clause(step, cte, scope) for step in rowset.steps]
        return query.join(cte, sa.or_(*steps))

    def bind_hops(self, step: RecursiveStep, scope: frozenset) -> frozenset:
        for hop in step.hops:
            self.bind(hop.row, scope)
            scope = scope | {id(hop.row)}
        if id(step.member) not in scope:
            raise UnsupportedError(
                f"the member row {step.member.label} of a recursive step is neither the set's "
                "row nor one of its hops")
        return scope

    def hop_join(self, hop: Hop, scope: frozenset) -> ColumnElement[bool]:
        return self.relation_join(hop.parent, hop.relation.my_field, hop.row,
                                  hop.relation.other_field, scope)

    def step_clause(self, step: RecursiveStep, cte: CTE, scope: frozenset) -> ColumnElement[bool]:
        inner = self.bind_hops(step, scope)
        criteria = [self.hop_join(hop, inner) for hop in step.hops]
        criteria += [cte.c.pk == self.pk(step.member, inner),
                     self.condition(step.condition, inner, False)]
        if not step.hops:
            return sa.and_(*criteria)
        hops = [self.entity(hop.row) for hop in step.hops]
        query = (sa.select(sa.literal_column("1")).select_from(*hops).where(*criteria)
                 .correlate_except(*hops))
        return query.exists()


# ---------------------------------------------------------------------------------------------
# Atoms

def _constant(value: bool) -> ColumnElement[bool]:
    return sa.true() if value else sa.false()


def _negate(clause: ColumnElement[bool], negated: bool) -> ColumnElement[bool]:
    """The exact two-valued complement when negated: NULL (unknown) counts as false."""
    return clause.is_not(sa.true()) if negated else clause


def _python_compare(op: str, left: Any, right: Any) -> bool:
    try:
        return bool(_PY_OPS[op](left, right))
    except TypeError as e:
        raise UnsupportedError(f"cannot compare {left!r} {op} {right!r}: {e}") from None


def _compare_columns(op: str, left: Any, right: Any, negated: bool) -> ColumnElement[bool]:
    if op == "Neq":  # null-safe; its complement is null-safe equality
        return left.is_not_distinct_from(right) if negated else left.is_distinct_from(right)
    if op == "Eq":
        return _negate(left == right, negated)
    return _negate(_SQL_ORDER_OPS[op](left, right), negated)


def _compare_value(op: str, column: Any, value: Any, negated: bool) -> ColumnElement[bool]:
    if value is None:
        if op not in ("Eq", "Neq"):
            raise UnsupportedError(f"cannot compare a column with None using {op}")
        return column.is_(None) if (op == "Eq") != negated else column.is_not(None)
    if op in ("Eq", "Neq"):
        # `col = v` holds exactly when `col IS DISTINCT FROM v` does not (v is not NULL).
        return column == value if (op == "Eq") != negated else column.is_distinct_from(value)
    return _negate(_SQL_ORDER_OPS[op](column, value), negated)


def _in_list(column: Any, values: list) -> ColumnElement[bool]:
    present = [v for v in values if v is not None]
    parts = [column.in_(present)] if present else []
    if len(present) != len(values):  # Polar's `nil in [nil]` holds; SQL's NULL IN (...) never does
        parts.append(column.is_(None))
    return sa.or_(*parts) if parts else sa.false()


def _self_contained(c: Exists) -> bool:
    """Does the condition of `c` read only `c.row` and rows introduced inside it?"""
    introduced = {id(c.row)}
    referenced: set = set()
    _walk_rows(c.condition, introduced, referenced)
    return referenced <= introduced


def _walk_rows(c: Any, introduced: set, referenced: set) -> None:
    if isinstance(c, (And, Or)):
        for item in c.items:
            _walk_rows(item, introduced, referenced)
    elif isinstance(c, Not):
        _walk_rows(c.item, introduced, referenced)
    elif isinstance(c, Exists):
        referenced.add(id(c.parent))
        introduced.add(id(c.row))
        _walk_rows(c.condition, introduced, referenced)
    elif isinstance(c, Compare):
        for side in (c.left, c.right):
            if isinstance(side, Field):
                referenced.add(id(side.row))
    elif isinstance(c, In):
        if isinstance(c.item, Field):
            referenced.add(id(c.item.row))
    elif isinstance(c, Contains):
        referenced.add(id(c.column.row))
        if isinstance(c.item, Field):
            referenced.add(id(c.item.row))
    elif isinstance(c, InSet):
        referenced.add(id(c.row))
    else:
        referenced.add(None)   # unknown node: keep the correlated form
