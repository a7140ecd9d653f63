"""The one compiler from a filter plan (`oso_core.filtering.plan`) to a SQLAlchemy WHERE clause.

The root row of the plan is the entity being filtered (the mapped class, or an alias of it), so
the clause fits `select(Model).where(...)`, `Query.filter(...)` or `with_loader_criteria(...)`.
Related rows are anonymous aliases, row sets become (recursive) CTEs that SQLAlchemy attaches to
the enclosing statement: the result is always a single statement.

Negation is pushed down to the atoms (`Not(And(a, b))` -> `Or(not a, not b)`), and each negated
atom is compiled as its exact two-valued complement (see `sqlalchemy_atoms`), so a NULL column
behaves as Polar's "not equal / false" everywhere.

Two options serve the authorized sessions of `sqlalchemy_oso`:

* `relationships=True`: relations are followed through the ORM relationship itself
  (`primaryjoin`, and the secondary table of a many-to-many relationship), so secondary tables,
  composite keys and custom join conditions work; relations declared with `register_class(...,
  fields=...)` on `host` come first. Related rows are Core tables (`CoreRow`), a row compared
  with a value is a typed identity test (an unrelated object is never the row), two nullable
  columns compare with Polar's `nil = nil`, and NOT NULL columns get the plain operators.
  Relationship tests stay correlated EXISTS, keeping their `AND 1 = 1` for a condition-free
  relation, as legacy sqlalchemy-oso's `relationship.any(true())` did.
* `legacy_shape=True` (with `relationships`): related rows use their plain table names where
  that is unambiguous, which is the SQL text legacy sqlalchemy-oso produced. The session hooks
  leave it off: the ORM adapts plain-table references in criteria when it wraps a statement in a
  subquery (subquery eager loading), which would re-point the policy's joins at the wrong FROM.

Without `relationships`, a relationship test whose condition reads no outer row compiles to an
uncorrelated `IN (SELECT ...)`, which databases run once, with indexes. Anything without a
faithful translation raises `UnsupportedError`: nothing is dropped.
"""

from __future__ import annotations

from typing import Any, Callable, Optional

import sqlalchemy as sa
from sqlalchemy import CTE, ColumnElement, Select
from sqlalchemy.sql import visitors

from oso_core.exceptions import UnsupportedError
from oso_core.filtering.plan import (
    And, Compare, Condition, Contains, Exists, Field, FilterPlan, In, InSet, Not, Or, RecursiveStep,
    Row, RowSet, Value,
)
from oso_core.filtering.plan_cache import Parameter, ValueDependent

from .sqlalchemy_atoms import (
    MIRROR, PY_OPS, JsonContains, JsonItemType, compare_columns, compare_value, constant,
    identity_equals, in_list, negate, python_compare,
)
from .sqlalchemy_mapping import (
    declared_relation, orm_relationship, plain, require_mapper, type_of,
)
from .sqlalchemy_rows import CoreRow, EntityRow, RowRef, Scope, base_column

__all__ = ["compile_plan"]

_Parts = list  # [(selectable, ON clause), ...]: the FROM items that join a related row


def compile_plan(plan: FilterPlan, entity: Any = None, *, relationships: bool = False,
                 legacy_shape: bool = False, host: Any = None,
                 parameters: Optional[dict] = None) -> ColumnElement[bool]:
    """The WHERE clause selecting the rows of `entity` (default: the plan's root class; else a
    mapped class or alias of it) that satisfy `plan`. See the module for the options.
    `parameters` maps the name of each `plan_cache.Parameter` of a template plan to the name of
    the bound parameter it compiles to (a column compared with it; anywhere else it raises
    `ValueDependent`)."""
    compiler = _Compiler(plan, entity, relationships, legacy_shape, host)
    compiler.parameters = parameters
    return compiler.compile()


class _Compiler:
    """Compiles one plan; holds the row -> `RowRef` map and the row set -> CTE map."""

    def __init__(self, plan: FilterPlan, entity: Any, relationships: bool, legacy_shape: bool,
                 host: Any) -> None:
        self.plan = plan
        self.relationships = relationships
        self.legacy_shape = legacy_shape
        self.host = host
        root_cls = plan.root.cls
        mapper = require_mapper(root_cls if entity is None else require_entity_class(entity))
        if not (issubclass(mapper.class_, root_cls) or issubclass(root_cls, mapper.class_)):
            raise UnsupportedError(
                f"the plan selects {root_cls.__name__} rows, not {mapper.class_.__name__}")
        self.root = EntityRow(root_cls if entity is None else entity, mapper)
        self.rows: dict[int, RowRef] = {id(plan.root): self.root}
        self.ctes: dict[str, CTE] = {}
        self.in_progress: set[str] = set()
        self.parameters: Optional[dict] = None

    def compile(self) -> ColumnElement[bool]:
        tables = frozenset(self.root.mapper.tables) if self.relationships else frozenset()
        return self.condition(self.plan.condition, Scope(frozenset({id(self.plan.root)}), tables), False)

    # rows ----------------------------------------------------------------------------------

    def row(self, row: Row, scope: Scope) -> RowRef:
        if id(row) not in scope.rows or id(row) not in self.rows:
            raise UnsupportedError(
                f"the policy refers to {row.name} row {row.label} where it is not bound")
        return self.rows[id(row)]

    def column(self, f: Field, scope: Scope) -> tuple[Any, bool]:
        """The expression of a field (`name=None`: the primary key), and whether it may be NULL.
        Without `relationships` every column counts as nullable, which keeps the NULL-safe SQL."""
        if id(f.row) not in scope.rows:
            raise UnsupportedError(
                f"{f.row.name}.{f.name or 'id'} refers to row {f.row.label}, which is not bound here")
        ref = self.row(f.row, scope)
        expr, nullable = (ref.pk(), False) if f.name is None else ref.attr(f.name)
        return expr, nullable or not self.relationships

    def new_row(self, cls: type, scope: Scope, force_alias: bool = False) -> RowRef:
        mapper = require_mapper(cls)
        if not self.relationships:
            return EntityRow.alias_of(mapper)
        force_alias = force_alias or not self.legacy_shape
        selectable = mapper.persist_selectable
        if isinstance(selectable, sa.Table):
            if force_alias or selectable in scope.tables:
                selectable = selectable.alias()
        elif force_alias or any(t in scope.tables for t in mapper.tables):
            selectable = selectable.alias(flat=True)   # joined-table inheritance: a join
        return CoreRow(mapper, selectable)

    def join_row(self, parent_row: Row, relation: Any, row: Row, scope: Scope) -> tuple[_Parts, Scope]:
        """Bind `row`, related to `parent_row`: the FROM items and ON clauses that reach it, and
        the scope inside them."""
        if id(row) in scope.rows:
            raise UnsupportedError(f"row {row.label} ({row.name}) is bound twice in one scope")
        parent = self.row(parent_row, scope)
        rel = self.orm_relationship(parent.mapper.class_, relation.name)
        if rel is None:
            target = self.new_row(row.cls, scope)
            mine, _ = parent.attr(relation.my_field)
            other, _ = target.attr(relation.other_field)
            parts = [(target.from_item, other == mine)]
        elif rel.secondary is not None:
            secondary = rel.secondary
            if secondary in scope.tables or not self.legacy_shape:
                secondary = secondary.alias()
            target = self.new_row(row.cls, scope.bind(row, *_tables_of(secondary)))
            pj = _adapt_join(rel.primaryjoin, lambda c: _on_table(c, rel.secondary, secondary, parent))
            sj = _adapt_join(rel.secondaryjoin, lambda c: _on_table(c, rel.secondary, secondary, target))
            parts = [(secondary, pj), (target.from_item, sj)]
        else:
            target = self.new_row(row.cls, scope)
            pj = _adapt_join(rel.primaryjoin,
                             lambda c: target.column(c) if c._annotations.get("remote") else parent.column(c))
            parts = [(target.from_item, pj)]
        single = getattr(target.mapper, "_single_table_criterion", None)
        if single is not None and self.relationships:
            sel, on = parts[-1]
            parts[-1] = (sel, sa.and_(on, target.adapt(single)))
        self.rows[id(row)] = target
        return parts, scope.bind(row, *[t for sel, _ in parts for t in _tables_of(sel)])

    def orm_relationship(self, cls: type, name: str) -> Any:
        """The ORM relationship to follow for `cls.name`, or None for the plan's own relation
        (always without `relationships`; with it, when the application declared the relation)."""
        if not self.relationships:
            return None
        if self.host is not None and declared_relation(self.host, cls, name) is not None:
            return None
        return orm_relationship(cls, name)

    # conditions ----------------------------------------------------------------------------

    def condition(self, c: Condition, scope: Scope, negated: bool) -> ColumnElement[bool]:
        if isinstance(c, And):
            return self.junction(c.items, scope, negated, conjunction=not negated)
        if isinstance(c, Or):
            return self.junction(c.items, scope, negated, conjunction=negated)
        if isinstance(c, Not):
            return self.condition(c.item, scope, not negated)
        if isinstance(c, Compare):
            return self.compare(c, scope, negated)
        if isinstance(c, In):
            return self.member(c, scope, negated)
        if isinstance(c, Contains):
            return negate(self.contains(c, scope), negated)
        if isinstance(c, Exists):
            if not negated and not self.relationships and _self_contained(c):
                return self.exists_as_in(c, scope)
            clause = self.exists(c, scope)
            return ~clause if negated else clause
        if isinstance(c, InSet):
            return self.in_set(c, scope, negated)
        raise UnsupportedError(f"cannot compile {type(c).__name__} to SQL")

    def junction(self, items: tuple, scope: Scope, negated: bool,
                 conjunction: bool) -> ColumnElement[bool]:
        parts = [self.condition(item, scope, negated) for item in items]
        if conjunction:
            return sa.and_(*parts) if parts else sa.true()
        return sa.or_(*parts) if parts else sa.false()

    def compare(self, c: Compare, scope: Scope, negated: bool) -> ColumnElement[bool]:
        if c.op not in PY_OPS:
            raise UnsupportedError(f"unknown comparison {c.op}")
        op, left, right = c.op, c.left, c.right
        if isinstance(left, Value) and isinstance(right, Value):
            return constant(python_compare(op, left.value, right.value) != negated)
        if isinstance(left, Value):
            op, left, right = MIRROR[op], right, left
        if self.relationships and left.name is None:
            return self.identity_compare(op, left, right, scope, negated)
        column, nullable = self.column(left, scope)
        if isinstance(right, Field):
            if self.relationships and right.name is None:
                raise UnsupportedError(f"cannot compare {left.row.name}.{left.name} with a row")
            other, other_nullable = self.column(right, scope)
            return compare_columns(op, column, other, negated, nullable or other_nullable,
                                   nil_equals_nil=self.relationships)
        value = right.value
        if type(value) is Parameter:
            return compare_value(op, column, self.bound_parameter(value), negated, nullable)
        return compare_value(op, column, plain(value), negated, nullable)

    def bound_parameter(self, p: Parameter) -> Any:
        if self.parameters is None or p.name not in self.parameters:
            raise ValueDependent(f"no bound parameter for {p!r}")
        return sa.bindparam(self.parameters[p.name])

    def identity_compare(self, op: str, left: Field, right: Any, scope: Scope,
                         negated: bool) -> ColumnElement[bool]:
        """`row = value` / `row = other row`: primary-key equality (only `=` and `!=`)."""
        if op not in ("Eq", "Neq"):
            raise UnsupportedError(
                f"Unsupported comparison: {op} on a {left.row.name} row. Models can only be "
                "compared with `=` or `==`")
        row = self.row(left.row, scope)
        cls = row.mapper.class_
        pks = row.pk_columns()
        if isinstance(right, Field):
            if right.name is not None:
                raise UnsupportedError(f"cannot compare a {left.row.name} row with a column")
            other = self.row(right.row, scope)
            other_cls = other.mapper.class_
            if issubclass(other_cls, cls) or issubclass(cls, other_cls):
                same = sa.and_(*[a == b for a, b in zip(pks, other.pk_columns())])
            else:
                same = sa.false()
        else:
            same = identity_equals(cls, pks, right.value)
        return ~same if (op == "Neq") != negated else same

    def member(self, c: In, scope: Scope, negated: bool) -> ColumnElement[bool]:
        if not isinstance(c.values, Value) or not isinstance(c.values.value, (list, tuple, set, frozenset)):
            raise UnsupportedError(f"`in` needs a list of values, got {c.values!r}")
        if self.relationships and isinstance(c.item, Field) and c.item.name is None:
            row = self.row(c.item.row, scope)
            pks = row.pk_columns()
            clause = sa.or_(*[identity_equals(row.mapper.class_, pks, v) for v in c.values.value])
            return ~clause if negated else clause
        values = plain(list(c.values.value))
        if isinstance(c.item, Value):
            return constant((plain(c.item.value) in values) != negated)
        column, nullable = self.column(c.item, scope)
        if negated and not nullable:
            present = [v for v in values if v is not None]
            return column.not_in(present) if present else sa.true()
        return negate(in_list(column, values), negated)

    def contains(self, c: Contains, scope: Scope) -> ColumnElement[bool]:
        if isinstance(c.column, Value):  # a list value: the same as `item in [...]`
            return self.member(In(c.item, c.column), scope, False)
        column, _ = self.column(c.column, scope)
        where = f"{c.column.row.cls.__name__}.{c.column.name}"
        kind = type_of(column)
        item_is_value = isinstance(c.item, Value)
        if isinstance(kind, sa.ARRAY):
            if item_is_value:
                value = plain(c.item.value)
                if value is None:  # `NULL = ANY(...)` is never true; array_position is null-safe
                    return sa.func.array_position(column, sa.null()).is_not(None)
                return sa.any_(column) == sa.bindparam(None, value, type_=kind.item_type)
            return sa.any_(column) == self.column(c.item, scope)[0]
        if isinstance(kind, sa.JSON):
            if item_is_value:
                item = sa.bindparam(None, plain(c.item.value), type_=JsonItemType())
            else:
                item = self.column(c.item, scope)[0]
            return JsonContains(column, item, item_is_value, where)
        raise UnsupportedError(
            f"cannot test membership in {where}: the column is not a list "
            f"(its type is {column.type!r}; expected ARRAY or JSON)")

    def exists(self, c: Exists, scope: Scope) -> ColumnElement[bool]:
        parts, inner = self.join_row(c.parent, c.relation, c.row, scope)
        condition = self.condition(c.condition, inner, False)
        if self.relationships and isinstance(condition, sa.sql.elements.True_):
            # Keep the TRUE, as legacy sqlalchemy-oso's `relationship.any(true())` did, so the
            # SQL text is the same (`... AND 1 = 1`).
            condition = sa.true()._annotate({"no_replacement_traverse": True})
        return _exists([sel for sel, _ in parts], [*[on for _, on in parts], condition])

    def exists_as_in(self, c: Exists, scope: Scope) -> ColumnElement[bool]:
        """`parent.my IN (SELECT row.other ... WHERE condition)`: when the condition reads no
        outer row the subquery is uncorrelated, and databases run it once, with indexes, instead
        of once per outer row. (Only positive: NOT IN differs from NOT EXISTS on NULLs.)"""
        if id(c.row) in scope.rows:
            raise UnsupportedError(f"row {c.row.label} ({c.row.name}) is bound twice in one scope")
        target = self.new_row(c.row.cls, scope)
        self.rows[id(c.row)] = target
        inner = scope.bind(c.row)
        column, _ = self.column(Field(c.row, c.relation.other_field), inner)
        query = (sa.select(column).select_from(target.from_item)
                 .where(self.condition(c.condition, inner, False)))
        return self.column(Field(c.parent, c.relation.my_field), scope)[0].in_(query)

    def in_set(self, c: InSet, scope: Scope, negated: bool) -> ColumnElement[bool]:
        cte = self.set_cte(c.set_name, c.row)
        key, _ = self.column(Field(c.row, None), scope)
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
        empty = Scope(frozenset(), frozenset())
        member = self.new_row(rowset.row.cls, empty, force_alias=True)
        self.rows[id(rowset.row)] = member
        scope = empty.bind(rowset.row, *_tables_of(member.selectable))
        base = (sa.select(member.pk().label("pk")).select_from(member.from_item)
                .where(self.condition(rowset.base, scope, False)))
        if not rowset.steps:
            return base.cte()
        cte = base.cte(recursive=True)
        return cte.union(self.recursive_select(member, rowset, cte, scope))

    def recursive_select(self, member: RowRef, rowset: RowSet, cte: CTE, scope: Scope) -> Select:
        """The recursive term; it may name the CTE only once, so several steps share one join."""
        query = sa.select(member.pk().label("pk")).select_from(member.from_item)
        if len(rowset.steps) == 1:
            step = rowset.steps[0]
            inner = scope
            for hop in step.hops:
                parts, inner = self.join_row(hop.parent, hop.relation, hop.row, inner)
                for sel, on in parts:
                    query = query.join(sel, on)
            query = query.join(cte, cte.c.pk == self.step_member(step, inner))
            return query.where(self.condition(step.condition, inner, False))
        # PostgreSQL forbids the CTE inside a subquery's FROM but accepts correlated references
        # to its column, so each step is an EXISTS over its hops matching the joined `cte.pk`.
        return query.join(cte, sa.or_(*[self.step_clause(step, cte, scope) for step in rowset.steps]))

    def step_member(self, step: RecursiveStep, scope: Scope) -> Any:
        if id(step.member) not in scope.rows:
            raise UnsupportedError(
                f"the member row {step.member.label} of a recursive step is neither the set's "
                "row nor one of its hops")
        return self.row(step.member, scope).pk()

    def step_clause(self, step: RecursiveStep, cte: CTE, scope: Scope) -> ColumnElement[bool]:
        inner = scope
        froms: list = []
        criteria: list = []
        for hop in step.hops:
            parts, inner = self.join_row(hop.parent, hop.relation, hop.row, inner)
            froms.extend(sel for sel, _ in parts)
            criteria.extend(on for _, on in parts)
        criteria += [cte.c.pk == self.step_member(step, inner),
                     self.condition(step.condition, inner, False)]
        if not froms:
            return sa.and_(*criteria)
        return _exists(froms, criteria)


# ---------------------------------------------------------------------------------------------
# Helpers

def require_entity_class(entity: Any) -> type:
    """The mapped class of a mapped class or alias, or `UnsupportedError`."""
    found = sa.inspect(entity, raiseerr=False)
    mapper = getattr(found, "mapper", None)
    if mapper is None:
        raise UnsupportedError(f"{entity!r} is not a SQLAlchemy mapped class or alias")
    return mapper.class_


def _exists(froms: list, criteria: list) -> ColumnElement[bool]:
    """`EXISTS (SELECT 1 FROM froms WHERE criteria)`, correlated to everything else."""
    query = (sa.select(sa.literal_column("1")).select_from(*froms).where(sa.and_(*criteria))
             .correlate_except(*froms))
    return query.exists()


def _tables_of(selectable: Any) -> list:
    if isinstance(selectable, sa.Table):
        return [selectable]
    element = getattr(selectable, "element", None)   # an alias: its table is "in use" too
    found = [selectable]
    if isinstance(element, sa.Table):
        found.append(element)
    return found


def _on_table(col: Any, table: Any, replacement: Any, other: RowRef) -> Any:
    """A column of a secondary-table join: on the (aliased) secondary table, else on `other`."""
    if getattr(col, "table", None) is table:
        return replacement.corresponding_column(base_column(col))
    return other.column(col)


def _adapt_join(join: Any, replace_column: Callable[[Any], Any]) -> Any:
    def replace(element: Any) -> Optional[Any]:
        if isinstance(element, sa.Column) or (
                isinstance(element, sa.sql.elements.ColumnClause) and getattr(element, "table", None) is not None):
            return replace_column(element)
        return None
    return visitors.replacement_traverse(join, {}, replace)


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
