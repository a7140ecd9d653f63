"""The Django data-filtering adapter: compiles a `FilterPlan` into one Django QuerySet.

The plan's condition becomes a `Q` of lookup expressions over the root model: columns of the row
being filtered are `F(...)`, columns of enclosing rows are `OuterRef(...)` (nested once per level),
`Exists` is `django.db.models.Exists` over the related model, except that a positive `Exists`
whose condition reads only its own row (and rows nested inside it) becomes the uncorrelated
`parent.my_field IN (SELECT row.other_field FROM ... WHERE condition)`, which databases run once,
with indexes or a hash semi-join, instead of once per outer row. Django has no common table
expressions, so an `InSet` becomes `pk IN (<raw WITH RECURSIVE ... statement>)`; the conditions
inside that statement are still compiled by Django (as `values_list("pk")` querysets of their
model) and only the CTE skeleton is written here, with quoted names and `%s` placeholders.
Every value is a bound parameter.

Conditions are built from lookup expressions (`Exact(F("a"), ...)`), not keyword lookups, so
Django adds none of its NULL handling to negations: `Not` is plain SQL NOT, and `Neq` is compiled
null-safely (IS DISTINCT FROM / IS NOT) so that conditions stay two-valued. The one three-valued
form is the `IN (SELECT ...)` of an `Exists` (NULL when nothing matches but the subquery yields a
NULL, or the parent's column is NULL); it is therefore only used where NULL and false mean the
same, outside any `Not` of the enclosing query (a subquery's WHERE starts positive again). Subqueries read the
related models' `_base_manager` (all table rows); only the root query uses `_default_manager`.

The raw SQL is specific to one database connection: `filter_q` takes the alias the query will
run on (`DjangoAdapter` passes the one it runs the query on).
"""

from __future__ import annotations

import functools
import json
import operator
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.db import connections, router
from django.db.models import (
    F,
    ForeignKey,
    JSONField,
    ManyToOneRel,
    Model,
    OuterRef,
    Q,
    QuerySet,
)
from django.db.models import Exists as DjangoExists
from django.db.models import Value as DjangoValue
from django.db.models.lookups import (
    Exact,
    GreaterThan,
    GreaterThanOrEqual,
    IsNull,
    LessThan,
    LessThanOrEqual,
)
from django.db.models.lookups import In as InLookup

from oso_core.exceptions import UnsupportedError
from oso_core.filtering.plan import (
    And,
    Compare,
    Condition,
    Contains,
    Exists,
    Field,
    FilterPlan,
    In,
    InSet,
    Not,
    Or,
    RecursiveStep,
    Row,
    RowSet,
    Value,
)

from .adapter import DataAdapter
from .django_sql import (Binary, Sql, Wrapped, array_contains_postgres, distinct_sql,
                         json_contains_postgres, json_contains_sqlite)

__all__ = ["DjangoAdapter", "filter_q", "relations_of"]

# A compiled condition: a Q, or a Python bool for a condition known without the database.
Compiled = Q | bool

_LOOKUPS = {"Eq": Exact, "Lt": LessThan, "Leq": LessThanOrEqual,
            "Gt": GreaterThan, "Geq": GreaterThanOrEqual}
_MIRROR = {"Eq": "Eq", "Neq": "Neq", "Lt": "Gt", "Gt": "Lt", "Leq": "Geq", "Geq": "Leq"}
_PYTHON_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "Eq": operator.eq, "Neq": operator.ne, "Lt": operator.lt,
    "Leq": operator.le, "Gt": operator.gt, "Geq": operator.ge,
}


_FALSE_SQL = "1 = 0"


def _false() -> Q:
    # A real SQL false (not Django's EmptyResultSet), so a query is still one ordinary statement.
    return Q(Sql(_FALSE_SQL))


def _to_q(c: Compiled) -> Q:
    if c is True:
        return Q()
    if c is False:
        return _false()
    return c


# --- model metadata ----------------------------------------------------------------------------

def _pk_field(model: type):
    meta = model._meta
    if getattr(meta, "is_composite_pk", False):
        raise UnsupportedError(
            f"{model.__name__} has a composite primary key; data filtering needs a single-column "
            "primary key to identify its rows")
    return meta.pk


def _column_field(model: type, name: str | None):
    """The concrete model field named `name` (an attribute or attname); None/"pk" is the pk."""
    if name is None or name == "pk":
        return _pk_field(model)
    try:
        field = model._meta.get_field(name)
    except FieldDoesNotExist:
        raise UnsupportedError(f"{model.__name__}.{name} is not a field of the Django model"
                               ) from None
    if not getattr(field, "concrete", False) or getattr(field, "column", None) is None:
        raise UnsupportedError(f"{model.__name__}.{name} is not a column (a relation without a "
                               "column of its own cannot be compared)")
    if getattr(field, "many_to_many", False):
        raise UnsupportedError(f"{model.__name__}.{name} is a many-to-many field, not a column")
    return field


def _plain(value: Any) -> Any:
    """A model instance stands for its primary key value."""
    if isinstance(value, Model):
        _pk_field(type(value))
        return value.pk
    return value


def relations_of(model: type) -> dict[str, tuple[str, type, str, str]]:
    """Relations of a Django model as `{name: (kind, target, my_field, other_field)}`.

    Forward foreign keys and one-to-ones are "one" under their field name; reverse foreign keys
    are "many" and reverse one-to-ones "one", under their accessor name. Many-to-many relations
    (and generic relations) are skipped: they are not one column pair.
    """
    relations: dict[str, tuple[str, type, str, str]] = {}
    for field in model._meta.get_fields():
        if isinstance(field, ForeignKey):   # includes OneToOneField
            relations[field.name] = ("one", field.related_model, field.attname,
                                     field.target_field.attname)
        elif isinstance(field, ManyToOneRel):   # reverse FK; OneToOneRel subclasses it
            accessor = field.get_accessor_name()
            if accessor is None or field.hidden:
                continue
            remote = field.field
            kind = "one" if field.one_to_one else "many"
            relations[accessor] = (kind, field.related_model, remote.target_field.attname,
                                   remote.attname)
    return relations


# --- compiling conditions ----------------------------------------------------------------------

@dataclass(frozen=True)
class _Scope:
    """Where a condition is compiled.

    `rows`: the rows of the nested Django queries, outermost first; the last is the row of the
    queryset being filtered. `raw`: rows bound by the enclosing hand-written SQL, by alias.
    `set_index`: inside the definition of `plan.sets` entry number `set_index` (InSet then names
    the CTE of an earlier set), or None at the top level (InSet embeds a whole WITH statement).
    `negated`: under an odd number of `Not`s of the current query, where NULL and false differ.
    """

    rows: tuple
    raw: tuple = ()            # of (Row, alias)
    set_index: int | None = None
    deps: set | None = None
    negated: bool = False

    def enter(self, row: Row) -> _Scope:
        """The scope of a subquery over `row` (its WHERE is a positive context again)."""
        return _Scope(self.rows + (row,), self.raw, self.set_index, self.deps)

    def negate(self) -> _Scope:
        return replace(self, negated=not self.negated)


class _Compiler:
    def __init__(self, plan: FilterPlan, using: str) -> None:
        self.plan = plan
        self.using = using
        self.connection = connections[using]
        self.qn = self.connection.ops.quote_name
        self.set_names = list(plan.sets)
        self._definitions: dict[str, tuple[str, list, frozenset]] = {}

    # Operands ---------------------------------------------------------------------------------

    def ref(self, field: Field, scope: _Scope):
        """The expression for a column of a row in scope."""
        row = field.row
        model_field = _column_field(row.cls, field.name)
        name = "pk" if field.name is None else field.name
        for depth, scoped in enumerate(reversed(scope.rows)):
            if scoped is row:
                if depth == 0:
                    return F(name)
                expr = OuterRef(name)
                for _ in range(depth - 1):   # one OuterRef per enclosing query
                    expr = OuterRef(expr)
                return expr
        for raw_row, alias in scope.raw:
            if raw_row is row:
                return Sql(f"{self.qn(alias)}.{self.qn(model_field.column)}", (),
                            output_field=model_field)
        raise UnsupportedError(f"the plan uses row {row.label} ({row.cls.__name__}) outside the "
                               "condition that introduces it")

    def value(self, value: Any, field: Field) -> DjangoValue:
        # Typed by the column it meets, so Django converts it as it would in a filter(...).
        return DjangoValue(_plain(value), output_field=_column_field(field.row.cls, field.name))

    # Conditions -------------------------------------------------------------------------------

    def condition(self, c: Condition, scope: _Scope) -> Compiled:
        if isinstance(c, And):
            return self._and([self.condition(item, scope) for item in c.items])
        if isinstance(c, Or):
            return self._or([self.condition(item, scope) for item in c.items])
        if isinstance(c, Not):
            inner = self.condition(c.item, scope.negate())
            return (not inner) if isinstance(inner, bool) else ~inner
        if isinstance(c, Compare):
            return self.compare(c, scope)
        if isinstance(c, In):
            return self.in_(c, scope)
        if isinstance(c, Contains):
            return self.contains(c, scope)
        if isinstance(c, Exists):
            return self.exists(c, scope)
        if isinstance(c, InSet):
            return self.in_set(c, scope)
        raise UnsupportedError(f"cannot compile the plan condition {c!r} for Django")

    @staticmethod
    def _and(items: list) -> Compiled:
        return _junction(items, False, operator.and_)

    @staticmethod
    def _or(items: list) -> Compiled:
        return _junction(items, True, operator.or_)

    def compare(self, c: Compare, scope: _Scope) -> Compiled:
        op, left, right = c.op, c.left, c.right
        if op not in _PYTHON_OPS:
            raise UnsupportedError(f"unknown comparison operator {op!r} in a filter plan")
        if isinstance(left, Value) and isinstance(right, Value):
            return _python_compare(op, left.value, right.value)
        if isinstance(left, Value):
            op, left, right = _MIRROR[op], right, left
        lhs = self.ref(left, scope)
        if isinstance(right, Value):
            if right.value is None and op in ("Eq", "Neq"):
                return Q(IsNull(lhs, op == "Eq"))
            rhs = self.value(right.value, left)
        else:
            rhs = self.ref(right, scope)
        if op == "Neq":
            return Q(Binary(lhs, rhs, distinct_sql))
        return Q(_LOOKUPS[op](lhs, rhs))

    def in_(self, c: In, scope: _Scope) -> Compiled:
        if not (isinstance(c.values, Value)
                and isinstance(c.values.value, (list, tuple, set, frozenset))):
            raise UnsupportedError(f"`in` needs a list of values in a filter plan, got {c.values!r}")
        values = [_plain(v) for v in c.values.value]
        if isinstance(c.item, Value):
            return _plain(c.item.value) in values
        lhs = self.ref(c.item, scope)
        present = [v for v in values if v is not None]
        parts: list = []
        if present:
            parts.append(Q(InLookup(lhs, [self.value(v, c.item) for v in present])))
        if len(present) < len(values):   # None in the list matches a NULL column, as Eq does
            parts.append(Q(IsNull(lhs, True)))
        return self._or(parts)

    def contains(self, c: Contains, scope: _Scope) -> Compiled:
        if isinstance(c.column, Value):   # a constant list: this is `in`
            if isinstance(c.item, Value):
                return _plain(c.item.value) in [_plain(v) for v in c.column.value]
            return self.in_(In(c.item, c.column), scope)
        model = c.column.row.cls
        field = _column_field(model, c.column.name)
        vendor = self.connection.vendor
        column = self.ref(c.column, scope)
        is_array = field.get_internal_type() == "ArrayField"
        if isinstance(field, JSONField) and vendor == "sqlite":
            render = json_contains_sqlite
            item = self._item(c.item, scope, lambda v: DjangoValue(v))
        elif isinstance(field, JSONField) and vendor == "postgresql":
            render = json_contains_postgres
            item = self._item(c.item, scope, lambda v: Sql(
                "%s::jsonb", (json.dumps([v], cls=field.encoder),), output_field=field),
                wrap=lambda sql: f"jsonb_build_array({sql})")
        elif is_array and vendor == "postgresql":
            render = array_contains_postgres
            item = self._item(c.item, scope, lambda v: DjangoValue(v, output_field=field.base_field))
        elif isinstance(field, JSONField) or is_array:
            raise UnsupportedError(f"{model.__name__}.{c.column.name}: membership in a list column "
                                   f"is not supported on {vendor}")
        else:
            raise UnsupportedError(f"{model.__name__}.{c.column.name} is not a list: `in` needs an "
                                   "ARRAY or JSON list column")
        return Q(Binary(column, item, render))

    def _item(self, item, scope: _Scope, from_value, wrap=None):
        if isinstance(item, Value):
            return from_value(_plain(item.value))
        expr = self.ref(item, scope)
        if wrap is None:
            return expr
        return Wrapped(expr, wrap)

    def exists(self, c: Exists, scope: _Scope) -> Compiled:
        inner = scope.enter(c.row)
        rel = c.relation
        condition = self.condition(c.condition, inner)
        if condition is False:
            return False
        # The base manager: the plan speaks of table rows, not of a manager's filtered view.
        rows = c.row.cls._base_manager
        if not scope.negated and _self_contained(c):
            # `parent.my IN (SELECT row.other FROM ... WHERE condition)`: uncorrelated, so run
            # once. Only positive: it is NULL, not false, when the parent's column is NULL or
            # the subquery yields a NULL and nothing matches (NOT IN differs from NOT EXISTS).
            other = "pk" if rel.other_field is None else rel.other_field
            _column_field(c.row.cls, rel.other_field)   # a column, or UnsupportedError
            subquery = rows.filter(_to_q(condition)).order_by().values(other)
            return Q(InLookup(self.ref(Field(c.parent, rel.my_field), scope), subquery))
        join = Q(Exact(self.ref(Field(c.row, rel.other_field), inner),
                       self.ref(Field(c.parent, rel.my_field), inner)))
        return Q(DjangoExists(rows.filter(self._and([join, condition]))))

    def in_set(self, c: InSet, scope: _Scope) -> Compiled:
        if c.set_name not in self.plan.sets:
            raise UnsupportedError(f"the filter plan has no row set named {c.set_name!r}")
        index = self.set_names.index(c.set_name)
        pk = _pk_field(c.row.cls)
        lhs = self.ref(Field(c.row, None), scope)
        if scope.set_index is not None:
            if index >= scope.set_index:
                raise UnsupportedError(f"row set {self.set_names[scope.set_index]!r} refers to "
                                       f"{c.set_name!r}, which is not listed before it")
            scope.deps.add(c.set_name)
            sql, params = f"SELECT {self.qn('pk')} FROM {self._cte(c.set_name)}", ()
        else:
            sql, params = self.statement(c.set_name)
        return Q(InLookup(lhs, Sql(sql, params, output_field=pk)))

    # Row sets ---------------------------------------------------------------------------------

    def _cte(self, name: str) -> str:
        return self.qn(f"oso_set_{self.set_names.index(name)}")

    def statement(self, name: str) -> tuple[str, tuple]:
        """`WITH RECURSIVE <the set and the sets it needs> SELECT pk FROM <the set>`."""
        needed: set = set()
        pending = [name]
        while pending:
            current = pending.pop()
            if current not in needed:
                needed.add(current)
                pending.extend(self.definition(current)[2])
        sqls, params = [], []
        for set_name in self.set_names:   # dependency order
            if set_name in needed:
                sql, set_params, _ = self.definition(set_name)
                sqls.append(sql)
                params.extend(set_params)
        return (f"WITH RECURSIVE {', '.join(sqls)} SELECT {self.qn('pk')} FROM {self._cte(name)}",
                tuple(params))

    def definition(self, name: str) -> tuple[str, list, frozenset]:
        """`name(pk) AS (base UNION recursive step)` and the names of the sets it uses."""
        if name not in self._definitions:
            row_set: RowSet = self.plan.sets[name]
            _pk_field(row_set.row.cls)
            deps: set = set()
            scope = _Scope((row_set.row,), (), self.set_names.index(name), deps)
            sql, params = self.select_pks(row_set.row, row_set.base, scope)
            step_sql, step_params = self.recursive_select(name, row_set, scope)
            if step_sql:
                sql, params = f"{sql} UNION {step_sql}", params + step_params
            cte = f"{self._cte(name)}({self.qn('pk')}) AS ({sql})"
            self._definitions[name] = (cte, params, frozenset(deps))
        return self._definitions[name]

    def select_pks(self, row: Row, condition: Condition, scope: _Scope) -> tuple[str, list]:
        """`SELECT pk FROM <row's table> WHERE <condition>`, compiled by Django."""
        scope = _Scope((row,), scope.raw, scope.set_index, scope.deps)
        return self.pks_sql(row.cls, _to_q(self.condition(condition, scope)))

    def pks_sql(self, model: type, q: Q) -> tuple[str, list]:
        """The SQL and params of `SELECT pk FROM <model's table> WHERE q` on this connection."""
        # order_by(): a default ordering is not allowed in a compound SELECT member.
        queryset = model._base_manager.using(self.using).filter(q).order_by().values_list("pk")
        sql, params = queryset.query.get_compiler(using=self.using).as_sql()
        return sql, list(params)

    def recursive_select(self, name: str, row_set: RowSet, scope: _Scope) -> tuple[str, list]:
        """The recursive term (one SELECT joining the set once), or "" when nothing recurses."""
        qn, table = self.qn, self._table
        cte = self._cte(name)
        this = "oso_r"
        pk = f"{qn(this)}.{qn(_pk_field(row_set.row.cls).column)}"
        steps = []
        for number, step in enumerate(row_set.steps):
            aliases = _hop_aliases(row_set, step, this, f"oso_s{number}_h")
            where, params = self.local_conditions(step.condition, aliases, scope)
            if where is not None:
                steps.append((step, aliases, where, params))
        if not steps:
            return "", []
        head = f"SELECT {pk} FROM {table(row_set.row.cls)} AS {qn(this)}"
        if len(steps) == 1:
            # One step: plain joins, which the planner handles best.
            step, aliases, where, params = steps[0]
            joins = "".join(f" JOIN {table(hop.row.cls)} AS {qn(aliases[hop.row])}"
                            f" ON {self._hop_on(hop, aliases)}" for hop in step.hops)
            member = self._pk_of(step.member, aliases)
            sql = f"{head}{joins} JOIN {cte} ON {cte}.{qn('pk')} = {member}"
            return (f"{sql} WHERE {where}" if where else sql), params
        # Several steps: the set may be joined only once (PostgreSQL), so each step says which
        # members would admit this row, and the join keeps a row if its member is one of them.
        ors, params = [], []
        for step, aliases, where, step_params in steps:
            member = self._pk_of(step.member, aliases)
            if not step.hops:
                ors.append(f"({cte}.{qn('pk')} = {member}" + (f" AND {where})" if where else ")"))
            else:
                froms = ", ".join(f"{table(hop.row.cls)} AS {qn(aliases[hop.row])}"
                                  for hop in step.hops)
                conds = [self._hop_on(hop, aliases) for hop in step.hops]
                conds += [where] if where else []
                ors.append(f"{cte}.{qn('pk')} IN "
                           f"(SELECT {member} FROM {froms} WHERE {' AND '.join(conds)})")
            params.extend(step_params)
        return f"{head} JOIN {cte} ON ({' OR '.join(ors)})", params

    def local_conditions(self, condition: Condition, aliases: dict,
                         scope: _Scope) -> tuple[str | None, list]:
        """SQL for a step condition over the aliased rows: "" for true, None for false.

        The conjuncts are grouped by the first row (in join order) they mention; each group is
        compiled by Django over that row as `<row>.pk IN (SELECT pk FROM ... WHERE group)`, the
        other rows being referred to by their aliases (correlated columns).
        """
        groups: dict = {}
        for conjunct in _conjuncts(condition):
            rows = _free_rows(conjunct)
            stray = [r for r in rows if r not in aliases]
            if stray:
                raise UnsupportedError(f"a recursive step condition refers to row {stray[0].label}, "
                                       "which is neither the set's row nor one of the step's hops")
            primary = next((row for row in aliases if row in rows), None)
            if primary is None:   # mentions no row: known without the database
                known = self.condition(conjunct, _Scope((), (), scope.set_index, scope.deps))
                if known is False:
                    return None, []
                continue
            groups.setdefault(primary, []).append(conjunct)
        sqls, params = [], []
        for primary, conjuncts in groups.items():
            raw = tuple((row, alias) for row, alias in aliases.items() if row is not primary)
            row_scope = _Scope((primary,), raw, scope.set_index, scope.deps)
            compiled = self.condition(And(tuple(conjuncts)), row_scope)
            if compiled is False:
                return None, []
            if compiled is True:
                continue
            sql, sql_params = self.pks_sql(primary.cls, compiled)
            sqls.append(f"{self._pk_of(primary, aliases)} IN ({sql})")
            params.extend(sql_params)
        return " AND ".join(sqls), params

    def _table(self, model: type) -> str:
        return self.qn(model._meta.db_table)

    def _pk_of(self, row: Row, aliases: dict) -> str:
        if row not in aliases:
            raise UnsupportedError(f"the member row {row.label} of a recursive step is not "
                                   "joined by its hops")
        return f"{self.qn(aliases[row])}.{self.qn(_pk_field(row.cls).column)}"

    def _hop_on(self, hop, aliases: dict) -> str:
        if hop.parent not in aliases:
            raise UnsupportedError(f"hop {hop.relation.name} starts at row {hop.parent.label}, "
                                   "which is not joined before it")
        rel = hop.relation
        mine = _column_field(hop.parent.cls, rel.my_field).column
        other = _column_field(hop.row.cls, rel.other_field).column
        return (f"{self.qn(aliases[hop.parent])}.{self.qn(mine)} = "
                f"{self.qn(aliases[hop.row])}.{self.qn(other)}")


def _hop_aliases(row_set: RowSet, step: RecursiveStep, this: str, prefix: str) -> dict:
    aliases = {row_set.row: this}
    for number, hop in enumerate(step.hops):
        aliases[hop.row] = f"{prefix}{number}"
    return aliases


def _conjuncts(condition: Condition) -> list:
    if isinstance(condition, And):
        return [c for item in condition.items for c in _conjuncts(item)]
    return [condition]


def _self_contained(c: Exists) -> bool:
    """Does the condition of `c` read only `c.row` and rows introduced inside it?"""
    return all(row is c.row for row in _free_rows(c.condition))


def _free_rows(c: Condition) -> list:
    """The rows a condition mentions that it does not introduce itself."""
    if isinstance(c, Field):
        return [c.row]
    if isinstance(c, Value):
        return []
    if isinstance(c, Compare):
        return _free_rows(c.left) + _free_rows(c.right)
    if isinstance(c, In):
        return _free_rows(c.item)
    if isinstance(c, Contains):
        return _free_rows(c.column) + _free_rows(c.item)
    if isinstance(c, InSet):
        return [c.row]
    if isinstance(c, Exists):
        return [c.parent] + [r for r in _free_rows(c.condition) if r is not c.row]
    if isinstance(c, (And, Or)):
        return [r for item in c.items for r in _free_rows(item)]
    if isinstance(c, Not):
        return _free_rows(c.item)
    return []


def _python_compare(op: str, left: Any, right: Any) -> bool:
    try:
        return bool(_PYTHON_OPS[op](_plain(left), _plain(right)))
    except TypeError as e:
        raise UnsupportedError(f"cannot compare {left!r} and {right!r} in a filter plan: {e}") from None


# --- public API ----------------------------------------------------------------------------------

def filter_q(plan: FilterPlan, using: str | None = None) -> Q:
    """A Q selecting the rows of `plan.root.cls` that satisfy the plan (one SQL statement).

    `using` is the database alias the query will run on (default: the router's read database
    of the root model); row sets are raw SQL written for that connection.
    """
    alias = using or router.db_for_read(plan.root.cls)
    compiler = _Compiler(plan, alias)
    return _to_q(compiler.condition(plan.condition, _Scope((plan.root,))))


class DjangoAdapter(DataAdapter):
    """Compiles filter plans (and legacy filters) into Django QuerySets of one database."""

    def __init__(self, using: str | None = None) -> None:
        self.using = using

    def _alias(self, model: type) -> str:
        return self.using or router.db_for_read(model)

    def build_query_from_plan(self, plan: FilterPlan) -> QuerySet:
        """`Root._default_manager` filtered by the plan, on this adapter's database."""
        alias = self._alias(plan.root.cls)
        return plan.root.cls._default_manager.using(alias).filter(filter_q(plan, using=alias))

    def build_query(self, filter: Any) -> QuerySet:
        """A QuerySet for a legacy `DataFilter` (converted to a plan first)."""
        from oso_core.filtering.legacy import plan_from_data_filter
        return self.build_query_from_plan(plan_from_data_filter(filter))

    def execute_query(self, query: Any) -> list:
        """The objects the QuerySet selects."""
        return list(query)

    def relations_of(self, cls: type) -> dict[str, tuple[str, type, str, str]]:
        """The relations Django knows for a model (see `relations_of`)."""
        return relations_of(cls)

    def items_of(self, value: Any) -> Any:
        """A relation manager's rows (`repo.roles` is not iterable, `repo.roles.all()` is),
        so policies can write `role in repo.roles`; None for anything else."""
        from django.db.models.manager import BaseManager
        return value.all() if isinstance(value, BaseManager) else None


def _junction(items: list, absorbing: bool, combine: Callable) -> Compiled:
    """`and` (absorbing False) or `or` (absorbing True) of compiled parts, folding constants."""
    if any(item is absorbing for item in items):
        return absorbing
    parts = [item for item in items if item is not (not absorbing)]
    if not parts:
        return not absorbing
    return functools.reduce(combine, parts)
