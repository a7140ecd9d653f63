"""Compile an `oso_core.filtering` plan into a SQLAlchemy WHERE clause for an ORM entity.

Why not `oso_core.data.adapter.sqlalchemy_adapter.filter_clause`? Two reasons specific to
authorized sessions:

* Relations are followed through the ORM relationship itself (`relationship.primaryjoin`, and
  `secondaryjoin` for many-to-many), so secondary tables, composite keys and custom join
  conditions work; the generic adapter only knows single-column relations.
* The authorization clause is installed with `with_loader_criteria(..., include_aliases=True)`,
  which applies to *every ORM entity or alias* of the class anywhere in the statement, including
  subqueries. If the policy's own subqueries used ORM entities, the session would filter them
  again with the criteria of other classes, changing the policy (a `not (tag in post.tags and
  ...)` could then match more rows). So only the root row is an ORM entity (its columns are
  annotated, and SQLAlchemy adapts them to aliases of the class); every related row is a plain
  Core table or anonymous table alias, which loader criteria never touch.

Semantics follow the plan (see `oso_core.filtering.plan`): Polar has no NULL logic, so `!=`,
negated comparisons and negated `in` are compiled as their exact two-valued complements
(`IS DISTINCT FROM`, `(...) IS NOT TRUE`), simplified to the plain operator when the columns are
NOT NULL. Anything without a faithful translation raises `UnsupportedError`: nothing is dropped.
"""

from __future__ import annotations

import operator
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import InstanceState
from sqlalchemy.sql import visitors
from sqlalchemy.sql.util import ClauseAdapter

from oso_core.exceptions import UnsupportedError
from oso_core.filtering.plan import (
    And,
    Compare,
    Contains,
    Exists,
    Field,
    FilterPlan,
    In,
    InSet,
    Not,
    Or,
    Row,
    Value,
)

from ._orm import declared_relation, mapper_of, orm_relationship

_MIRROR = {"Eq": "Eq", "Neq": "Neq", "Lt": "Gt", "Gt": "Lt", "Leq": "Geq", "Geq": "Leq"}
_INVERSE = {"Lt": "Geq", "Geq": "Lt", "Gt": "Leq", "Leq": "Gt"}
_ORDER: dict[str, Callable[[Any, Any], Any]] = {
    "Lt": operator.lt, "Leq": operator.le, "Gt": operator.gt, "Geq": operator.ge,
}
_PY = {"Eq": operator.eq, "Neq": operator.ne, **_ORDER}


def compile_plan(plan: FilterPlan, entity: Any, host: Any = None, alias_related: bool = False) -> Any:
    """The WHERE clause selecting the rows of `entity` (a mapped class or alias of the plan's
    root class) that satisfy `plan`.

    Related rows use their plain tables where that is unambiguous (the SQL legacy
    sqlalchemy-oso produced), or anonymous aliases everywhere with `alias_related=True`: the
    session hooks need that, because the ORM adapts plain-table references in criteria when it
    wraps a statement in a subquery (subquery eager loading), which would re-point the policy's
    joins at the wrong FROM.
    """
    return _Compiler(plan, entity, host, alias_related).compile()


# ---------------------------------------------------------------------------------------------
# Rows

class _RowRef(ABC):
    """A row of the plan in the statement: an ORM entity (`_OrmRow`) or a Core table (`_CoreRow`)."""

    mapper: Any
    selectable: Any

    def label(self) -> str:
        return self.mapper.class_.__name__

    @abstractmethod
    def attr(self, name: str) -> tuple[Any, bool]:
        """The SQL expression for mapped attribute `name`, and whether it may be NULL."""

    @abstractmethod
    def column(self, col: Any) -> Any:
        """The table column `col` as this row reads it."""

    def pk_columns(self) -> list:
        return [self.column(c) for c in self.mapper.primary_key]

    def pk(self) -> Any:
        cols = self.pk_columns()
        if len(cols) != 1:
            raise UnsupportedError(
                f"{self.label()} has a composite primary key; this policy needs a single-column "
                "primary key to identify its rows")
        return cols[0]

    def adapt(self, clause: Any) -> Any:
        return clause


def _nullable(col: Any) -> bool:
    return bool(getattr(col, "nullable", True))


class _OrmRow(_RowRef):
    """The root row: the ORM entity (class or alias) being authorized."""

    def __init__(self, entity: Any) -> None:
        self.entity = entity
        self.insp = sa.inspect(entity)
        self.mapper = self.insp.mapper
        self.selectable = self.insp.selectable
        self.is_alias = self.insp.is_aliased_class

    def attr(self, name: str) -> tuple[Any, bool]:
        if name in self.mapper.column_attrs:
            columns = self.mapper.column_attrs[name].columns
            return getattr(self.entity, name), any(_nullable(c) for c in columns)
        descriptor = self.mapper.all_orm_descriptors.get(name)
        if isinstance(descriptor, hybrid_property):
            return getattr(self.entity, name), True
        raise _not_a_column(self.mapper, name)

    def column(self, col: Any) -> Any:
        base = _base_column(col)
        try:
            prop = self.mapper.get_property_by_column(base)
        except sa.orm.exc.UnmappedColumnError:
            found = self.selectable.corresponding_column(base)
            if found is None:
                raise UnsupportedError(f"{base} is not a column of {self.label()}") from None
            return found
        return getattr(self.entity, prop.key).__clause_element__()

    def adapt(self, clause: Any) -> Any:
        if self.is_alias:
            return ClauseAdapter(self.selectable).traverse(clause)
        return clause


class _CoreRow(_RowRef):
    """A related row: a plain table, or an anonymous alias of it (never an ORM entity)."""

    def __init__(self, mapper: Any, selectable: Any) -> None:
        self.mapper = mapper
        self.selectable = selectable

    def attr(self, name: str) -> tuple[Any, bool]:
        if name in self.mapper.column_attrs:
            columns = self.mapper.column_attrs[name].columns
            if len(columns) == 1:
                return self.column(columns[0]), _nullable(columns[0])
        descriptor = self.mapper.all_orm_descriptors.get(name)
        if isinstance(descriptor, hybrid_property):
            raise UnsupportedError(
                f"{self.label()}.{name} is a hybrid property; policies can read hybrid properties "
                "only of the authorized model itself, not of related rows")
        raise _not_a_column(self.mapper, name)

    def column(self, col: Any) -> Any:
        found = self.selectable.corresponding_column(_base_column(col))
        if found is None:
            raise UnsupportedError(f"{col} is not a column of {self.label()}")
        return found

    def adapt(self, clause: Any) -> Any:
        return ClauseAdapter(self.selectable).traverse(clause)


def _base_column(col: Any) -> Any:
    table = getattr(col, "table", None)
    if table is not None and col.key in table.c:
        return table.c[col.key]
    return col


def _not_a_column(mapper: Any, name: str) -> UnsupportedError:
    cls = mapper.class_.__name__
    if name in mapper.relationships:
        return UnsupportedError(
            f"{cls}.{name} is a relationship that is not a single column equality (a secondary "
            "table, a composite key or extra join conditions): compare its rows' fields, e.g. "
            f"`x in {cls.lower()}.{name} and x.id = ...`, instead of the relationship itself")
    return UnsupportedError(f"{cls}.{name} is not a mapped column of {cls}")


# ---------------------------------------------------------------------------------------------
# The compiler

class _Scope:
    __slots__ = ("rows", "tables")

    def __init__(self, rows: frozenset, tables: frozenset) -> None:
        self.rows = rows        # ids of the plan rows bound here
        self.tables = tables    # tables already in the FROM of an enclosing select

    def bind(self, row: Row, *tables: Any) -> _Scope:
        return _Scope(self.rows | {id(row)}, self.tables | {t for t in tables if t is not None})


class _Compiler:
    def __init__(self, plan: FilterPlan, entity: Any, host: Any, alias_related: bool = False) -> None:
        self.plan = plan
        self.host = host
        self.alias_related = alias_related
        root = _OrmRow(entity)
        if not issubclass(root.mapper.class_, plan.root.cls) and not issubclass(plan.root.cls, root.mapper.class_):
            raise UnsupportedError(
                f"the plan selects {plan.root.cls.__name__} rows, not {root.mapper.class_.__name__}")
        self.rows: dict[int, _RowRef] = {id(plan.root): root}
        self.ctes: dict[str, Any] = {}
        self.in_progress: set = set()

    def compile(self) -> Any:
        root = self.rows[id(self.plan.root)]
        scope = _Scope(frozenset({id(self.plan.root)}), frozenset(root.mapper.tables))
        return self.condition(self.plan.condition, scope, False)

    # rows ----------------------------------------------------------------------------------

    def row(self, row: Row, scope: _Scope) -> _RowRef:
        if id(row) not in scope.rows or id(row) not in self.rows:
            raise UnsupportedError(f"the policy refers to {row.name} row {row.label} where it is not bound")
        return self.rows[id(row)]

    def new_core_row(self, cls: type, scope: _Scope, force_alias: bool = False) -> _CoreRow:
        force_alias = force_alias or self.alias_related
        mapper = mapper_of(cls)
        if mapper is None:
            raise UnsupportedError(f"{getattr(cls, '__name__', cls)} is not a SQLAlchemy mapped class")
        selectable = mapper.persist_selectable
        if isinstance(selectable, sa.Table):
            if force_alias or selectable in scope.tables:
                selectable = selectable.alias()
        else:  # joined-table inheritance: a join of the class's tables
            if force_alias or any(t in scope.tables for t in mapper.tables):
                selectable = selectable.alias(flat=True)
        return _CoreRow(mapper, selectable)

    def relation_parts(self, parent_row: Row, relation: Any, row: Row, scope: _Scope) -> tuple:
        """(the new row, [(selectable, ON clause), ...]) joining `row` to `parent_row`."""
        parent = self.row(parent_row, scope)
        parent_cls = parent.mapper.class_
        declared = declared_relation(self.host, parent_cls, relation.name) if self.host is not None else None
        rel = None if declared is not None else orm_relationship(parent_cls, relation.name)
        if rel is None:
            target = self.new_core_row(row.cls, scope)
            mine, _ = parent.attr(relation.my_field)
            other, _ = target.attr(relation.other_field)
            parts = [(target.selectable, other == mine)]
        elif rel.secondary is not None:
            secondary = rel.secondary
            if secondary in scope.tables or self.alias_related:
                secondary = secondary.alias()
            inner = scope.bind(row, *_tables_of(secondary))
            target = self.new_core_row(row.cls, inner)
            pj = _adapt_join(rel.primaryjoin, lambda c: _on_table(c, rel.secondary, secondary, parent))
            sj = _adapt_join(rel.secondaryjoin, lambda c: _on_table(c, rel.secondary, secondary, target))
            parts = [(secondary, pj), (target.selectable, sj)]
        else:
            target = self.new_core_row(row.cls, scope)
            pj = _adapt_join(rel.primaryjoin,
                             lambda c: target.column(c) if c._annotations.get("remote") else parent.column(c))
            parts = [(target.selectable, pj)]
        single = getattr(target.mapper, "_single_table_criterion", None)
        if single is not None:
            sel, on = parts[-1]
            parts[-1] = (sel, sa.and_(on, target.adapt(single)))
        self.rows[id(row)] = target
        return target, parts

    # conditions ----------------------------------------------------------------------------

    def condition(self, c: Any, scope: _Scope, negated: bool) -> Any:
        if isinstance(c, And):
            parts = [self.condition(x, scope, negated) for x in c.items]
            if negated:
                return sa.or_(*parts) if parts else sa.false()
            return sa.and_(*parts) if parts else sa.true()
        if isinstance(c, Or):
            parts = [self.condition(x, scope, negated) for x in c.items]
            if negated:
                return sa.and_(*parts) if parts else sa.true()
            return sa.or_(*parts) if parts else sa.false()
        if isinstance(c, Not):
            return self.condition(c.item, scope, not negated)
        if isinstance(c, Compare):
            return self.compare(c, scope, negated)
        if isinstance(c, In):
            return self.member(c, scope, negated)
        if isinstance(c, Exists):
            clause = self.exists(c, scope)
            return ~clause if negated else clause
        if isinstance(c, InSet):
            return self.in_set(c, scope, negated)
        if isinstance(c, Contains):
            return self.contains(c, scope, negated)
        raise UnsupportedError(f"cannot translate {type(c).__name__} to SQL")

    def compare(self, c: Compare, scope: _Scope, negated: bool) -> Any:
        if c.op not in _PY:
            raise UnsupportedError(f"unknown comparison {c.op}")
        op, left, right = c.op, c.left, c.right
        if isinstance(left, Value) and isinstance(right, Value):
            return _constant(_python_compare(op, left.value, right.value) != negated)
        if isinstance(left, Value):
            op, left, right = _MIRROR[op], right, left
        if left.name is None:
            return self.identity_compare(op, left, right, scope, negated)
        row = self.row(left.row, scope)
        column, nullable = row.attr(left.name)
        if isinstance(right, Field):
            if right.name is None:
                raise UnsupportedError(f"cannot compare {left.row.name}.{left.name} with a row")
            other, other_nullable = self.row(right.row, scope).attr(right.name)
            return _compare_columns(op, column, other, negated, nullable or other_nullable)
        return _compare_value(op, column, right.value, negated, nullable)

    def identity_compare(self, op: str, left: Field, right: Any, scope: _Scope, negated: bool) -> Any:
        """`row = value` / `row = other row`: primary-key equality (only `=` and `!=`)."""
        if op not in ("Eq", "Neq"):
            raise UnsupportedError(
                f"Unsupported comparison: {op} on a {left.row.name} row. Models can only be "
                "compared with `=` or `==`")
        row = self.row(left.row, scope)
        pks = row.pk_columns()
        if isinstance(right, Field):
            if right.name is not None:
                raise UnsupportedError(f"cannot compare a {left.row.name} row with a column")
            other = self.row(right.row, scope)
            if other.mapper.class_ is not row.mapper.class_ and not (
                    issubclass(other.mapper.class_, row.mapper.class_)
                    or issubclass(row.mapper.class_, other.mapper.class_)):
                same = sa.false()
            else:
                same = sa.and_(*[a == b for a, b in zip(pks, other.pk_columns())])
        else:
            same = _identity_equals(row, pks, right.value)
        return ~same if (op == "Neq") != negated else same

    def member(self, c: In, scope: _Scope, negated: bool) -> Any:
        if not isinstance(c.values, Value) or not isinstance(c.values.value, (list, tuple, set, frozenset)):
            raise UnsupportedError(f"`in` needs a list of values, got {c.values!r}")
        values = [_plain(v) for v in c.values.value]
        if isinstance(c.item, Value):
            return _constant((_plain(c.item.value) in values) != negated)
        if c.item.name is None:
            row = self.row(c.item.row, scope)
            clause = sa.or_(*[_identity_equals(row, row.pk_columns(), v) for v in c.values.value])
            return ~clause if negated else clause
        column, nullable = self.row(c.item.row, scope).attr(c.item.name)
        present = [v for v in values if v is not None]
        has_null = len(present) != len(values)
        if negated:
            if not nullable:
                return column.not_in(present) if present else sa.true()
            return _in_list(column, present, has_null).is_not(sa.true())
        return _in_list(column, present, has_null)

    def exists(self, c: Exists, scope: _Scope) -> Any:
        if id(c.row) in scope.rows:
            raise UnsupportedError(f"row {c.row.label} is bound twice")
        _, parts = self.relation_parts(c.parent, c.relation, c.row, scope)
        froms = [sel for sel, _ in parts]
        inner_scope = scope.bind(c.row, *[t for f in froms for t in _tables_of(f)])
        inner = self.condition(c.condition, inner_scope, False)
        if isinstance(inner, sa.sql.elements.True_):
            # Keep the TRUE, as legacy sqlalchemy-oso's `relationship.any(true())` did, so the
            # SQL text is the same (`... AND 1 = 1`).
            inner = sa.true()._annotate({"no_replacement_traverse": True})
        crit = sa.and_(*[on for _, on in parts], inner)
        return sa.exists(1).where(crit).select_from(*froms).correlate_except(*froms)

    def contains(self, c: Contains, scope: _Scope, negated: bool) -> Any:
        """A list-valued column (ARRAY or JSON) holds a value: delegated to oso_core's adapter
        on a one-row plan (it knows the per-dialect SQL), then adapted to this row."""
        from oso_core.data.adapter.sqlalchemy_adapter import filter_clause
        if isinstance(c.column, Value):
            return self.member(In(c.item, c.column), scope, negated)
        row = self.row(c.column.row, scope)
        if isinstance(c.item, Field) and c.item.row is not c.column.row:
            raise UnsupportedError("membership of one row's column in another row's list column")
        alone = Row(row.mapper.class_, c.column.row.name, c.column.row.label)
        item = Field(alone, c.item.name) if isinstance(c.item, Field) else c.item
        atom: Any = Contains(Field(alone, c.column.name), item)
        clause = filter_clause(FilterPlan(alone, Not(atom) if negated else atom, {}))
        return row.adapt(clause)

    # row sets (recursive rules) ------------------------------------------------------------

    def in_set(self, c: InSet, scope: _Scope, negated: bool) -> Any:
        row = self.row(c.row, scope)
        cte = self.set_cte(c.set_name, c.row)
        members = sa.select(cte.c.pk).correlate(None)
        key = row.pk()
        return key.not_in(members) if negated else key.in_(members)

    def set_cte(self, name: str, row: Row) -> Any:
        if name not in self.plan.sets:
            raise UnsupportedError(f"the filter plan has no row set named {name!r}")
        rowset = self.plan.sets[name]
        if not (issubclass(row.cls, rowset.row.cls) or issubclass(rowset.row.cls, row.cls)):
            raise UnsupportedError(f"a {row.cls.__name__} row cannot be a member of set {name!r}")
        if name in self.in_progress:
            raise UnsupportedError(f"row set {name!r} refers to itself outside its recursive steps")
        if name not in self.ctes:
            self.in_progress.add(name)
            try:
                self.ctes[name] = self.rowset_cte(rowset)
            finally:
                self.in_progress.discard(name)
        return self.ctes[name]

    def rowset_cte(self, rowset: Any) -> Any:
        empty = _Scope(frozenset(), frozenset())
        member = self.new_core_row(rowset.row.cls, empty, force_alias=True)
        self.rows[id(rowset.row)] = member
        scope = empty.bind(rowset.row, *_tables_of(member.selectable))
        base = (sa.select(member.pk().label("pk")).select_from(member.selectable)
                .where(self.condition(rowset.base, scope, False)))
        if not rowset.steps:
            return base.cte()
        cte = base.cte(recursive=True)
        query = sa.select(member.pk().label("pk")).select_from(member.selectable)
        if len(rowset.steps) == 1:
            step = rowset.steps[0]
            inner = scope
            for hop in step.hops:
                _, parts = self.relation_parts(hop.parent, hop.relation, hop.row, inner)
                for sel, on in parts:
                    query = query.join(sel, on)
                inner = inner.bind(hop.row, *[t for sel, _ in parts for t in _tables_of(sel)])
            query = query.join(cte, cte.c.pk == self.row(step.member, inner).pk())
            query = query.where(self.condition(step.condition, inner, False))
        else:
            # PostgreSQL forbids the recursive CTE in a subquery's FROM but accepts correlated
            # references to its columns: each step is an EXISTS matching the joined `cte.pk`.
            clauses = [self.step_clause(step, cte, scope) for step in rowset.steps]
            query = query.join(cte, sa.or_(*clauses))
        return cte.union(query)

    def step_clause(self, step: Any, cte: Any, scope: _Scope) -> Any:
        inner = scope
        criteria = []
        froms = []
        for hop in step.hops:
            _, parts = self.relation_parts(hop.parent, hop.relation, hop.row, inner)
            froms.extend(sel for sel, _ in parts)
            criteria.extend(on for _, on in parts)
            inner = inner.bind(hop.row, *[t for sel, _ in parts for t in _tables_of(sel)])
        criteria.append(cte.c.pk == self.row(step.member, inner).pk())
        criteria.append(self.condition(step.condition, inner, False))
        if not froms:
            return sa.and_(*criteria)
        return sa.exists(1).where(sa.and_(*criteria)).select_from(*froms).correlate_except(*froms)


# ---------------------------------------------------------------------------------------------
# Helpers

def _tables_of(selectable: Any) -> list:
    if isinstance(selectable, sa.Table):
        return [selectable]
    element = getattr(selectable, "element", None)   # an alias: its table is "in use" too
    found = [selectable]
    if isinstance(element, sa.Table):
        found.append(element)
    return found


def _on_table(col: Any, table: Any, replacement: Any, other: _RowRef) -> Any:
    """A column of a secondary-table join: on the (aliased) secondary table, else on `other`."""
    if getattr(col, "table", None) is table:
        return replacement.corresponding_column(_base_column(col))
    return other.column(col)


def _adapt_join(join: Any, replace_column: Callable[[Any], Any]) -> Any:
    def replace(element: Any) -> Any | None:
        if isinstance(element, sa.Column) or (
                isinstance(element, sa.sql.elements.ColumnClause) and getattr(element, "table", None) is not None):
            return replace_column(element)
        return None
    return visitors.replacement_traverse(join, {}, replace)


def _constant(value: bool) -> Any:
    return sa.true() if value else sa.false()


def _python_compare(op: str, left: Any, right: Any) -> bool:
    try:
        return bool(_PY[op](left, right))
    except TypeError:
        return False


def _plain(value: Any) -> Any:
    """A mapped instance as its primary key (the single column's value)."""
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    state = sa.inspect(value, raiseerr=False)
    if isinstance(state, InstanceState):
        keys = state.mapper.primary_key_from_instance(value)
        if len(keys) != 1:
            raise UnsupportedError(
                f"{state.mapper.class_.__name__} has a composite primary key; an instance of it "
                "cannot be compared with one column")
        return keys[0]
    return value


def _identity_equals(row: _RowRef, pks: list, value: Any) -> Any:
    """The row is `value` (an instance of its class): primary keys equal. Any other value (a
    scalar, an instance of an unrelated class) is never a row of this class."""
    state = sa.inspect(value, raiseerr=False) if value is not None else None
    if not isinstance(state, InstanceState):
        return sa.false()
    cls = row.mapper.class_
    if not (isinstance(value, cls) or issubclass(cls, type(value))):
        return sa.false()
    keys = state.mapper.primary_key_from_instance(value)
    if len(keys) != len(pks):
        return sa.false()
    return sa.and_(*[col.is_(None) if key is None else col == key for col, key in zip(pks, keys)])


def _compare_value(op: str, column: Any, value: Any, negated: bool, nullable: bool) -> Any:
    value = _plain(value)
    if value is None:
        if op not in ("Eq", "Neq"):
            raise UnsupportedError(f"cannot compare a column with nil using {op}")
        return column.is_(None) if (op == "Eq") != negated else column.is_not(None)
    if op in ("Eq", "Neq"):
        if (op == "Eq") != negated:
            return column == value
        return column.is_distinct_from(value) if nullable else column != value
    if negated:
        if nullable:
            return _ORDER[op](column, value).is_not(sa.true())
        return _ORDER[_INVERSE[op]](column, value)
    return _ORDER[op](column, value)


def _compare_columns(op: str, left: Any, right: Any, negated: bool, nullable: bool) -> Any:
    if op in ("Eq", "Neq"):
        equal = (op == "Eq") != negated
        if nullable:   # Polar: nil = nil holds, nil = 1 does not
            return left.is_not_distinct_from(right) if equal else left.is_distinct_from(right)
        return left == right if equal else left != right
    if negated:
        if nullable:
            return _ORDER[op](left, right).is_not(sa.true())
        return _ORDER[_INVERSE[op]](left, right)
    return _ORDER[op](left, right)


def _in_list(column: Any, present: list, has_null: bool) -> Any:
    parts = [column.in_(present)] if present else []
    if has_null:   # Polar's `nil in [nil]` holds; SQL's NULL IN (...) never does
        parts.append(column.is_(None))
    if not parts:
        return sa.false()
    return parts[0] if len(parts) == 1 else sa.or_(*parts)
