"""The SQL of single filter-plan atoms: comparisons, list membership, JSON containment.

Polar has no NULL logic, so negations are exact two-valued complements (`IS DISTINCT FROM`,
`(...) IS NOT TRUE`): a NULL column is "not equal / false" everywhere. Where the caller knows a
column is NOT NULL (`nullable=False`) the plain operator is the same complement, and is used.
"""

from __future__ import annotations

import operator
from typing import Any, Callable

import sqlalchemy as sa
from sqlalchemy import ColumnElement
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import InstanceState
from sqlalchemy.sql.visitors import InternalTraversal

from oso_core.exceptions import UnsupportedError

MIRROR = {"Eq": "Eq", "Neq": "Neq", "Lt": "Gt", "Gt": "Lt", "Leq": "Geq", "Geq": "Leq"}
_INVERSE = {"Lt": "Geq", "Geq": "Lt", "Gt": "Leq", "Leq": "Gt"}
_ORDER: dict[str, Callable[[Any, Any], Any]] = {
    "Lt": operator.lt, "Leq": operator.le, "Gt": operator.gt, "Geq": operator.ge,
}
PY_OPS: dict[str, Callable[[Any, Any], Any]] = {"Eq": operator.eq, "Neq": operator.ne, **_ORDER}


def constant(value: bool) -> ColumnElement[bool]:
    return sa.true() if value else sa.false()


def negate(clause: ColumnElement[bool], negated: bool) -> ColumnElement[bool]:
    """The exact two-valued complement when negated: NULL (unknown) counts as false."""
    return clause.is_not(sa.true()) if negated else clause


def python_compare(op: str, left: Any, right: Any) -> bool:
    """A comparison of two constants; values Python cannot order are an error (a `False` here
    would turn into an allow under a negation)."""
    try:
        return bool(PY_OPS[op](left, right))
    except TypeError as e:
        raise UnsupportedError(f"cannot compare {left!r} {op} {right!r}: {e}") from None


def _order(op: str, left: Any, right: Any, negated: bool, nullable: bool) -> ColumnElement[bool]:
    if negated and not nullable:
        return _ORDER[_INVERSE[op]](left, right)
    return negate(_ORDER[op](left, right), negated)


def compare_value(op: str, column: Any, value: Any, negated: bool,
                  nullable: bool = True) -> ColumnElement[bool]:
    """`column op value` (value already plain), negated exactly."""
    if value is None:
        if op not in ("Eq", "Neq"):
            raise UnsupportedError(f"cannot compare a column with None using {op}")
        return column.is_(None) if (op == "Eq") != negated else column.is_not(None)
    if op in ("Eq", "Neq"):
        # `col = v` holds exactly when `col IS DISTINCT FROM v` does not (v is not NULL).
        if (op == "Eq") != negated:
            return column == value
        return column.is_distinct_from(value) if nullable else column != value
    return _order(op, column, value, negated, nullable)


def compare_columns(op: str, left: Any, right: Any, negated: bool, nullable: bool = True,
                    nil_equals_nil: bool = False) -> ColumnElement[bool]:
    """`left op right` over two columns. `!=` is NULL-safe; `=` is SQL `=` (two NULLs are not
    equal) unless `nil_equals_nil`, Polar's `nil = nil`."""
    if op in ("Eq", "Neq") and not nullable:
        return left == right if (op == "Eq") != negated else left != right
    if op == "Neq" or (op == "Eq" and nil_equals_nil):
        equal = (op == "Eq") != negated
        return left.is_not_distinct_from(right) if equal else left.is_distinct_from(right)
    if op == "Eq":
        return negate(left == right, negated)
    return _order(op, left, right, negated, nullable)


def in_list(column: Any, values: list) -> ColumnElement[bool]:
    """`column` is one of `values`; a None among them matches a NULL column."""
    present = [v for v in values if v is not None]
    parts = [column.in_(present)] if present else []
    if len(present) != len(values):  # Polar's `nil in [nil]` holds; SQL's NULL IN (...) never does
        parts.append(column.is_(None))
    if not parts:
        return sa.false()
    return parts[0] if len(parts) == 1 else sa.or_(*parts)


def identity_equals(cls: type, pks: list, value: Any) -> ColumnElement[bool]:
    """A row of `cls` (primary-key columns `pks`) is `value`: the keys of an instance of its class
    hierarchy are equal. Any other value (a scalar, an unrelated instance) is never such a row."""
    state = sa.inspect(value, raiseerr=False) if value is not None else None
    if not isinstance(state, InstanceState):
        return sa.false()
    if not (isinstance(value, cls) or issubclass(cls, type(value))):
        return sa.false()
    keys = state.mapper.primary_key_from_instance(value)
    if len(keys) != len(pks):
        return sa.false()
    return sa.and_(*[col.is_(None) if key is None else col == key for col, key in zip(pks, keys)])


# ---------------------------------------------------------------------------------------------
# JSON containment: the SQL differs per dialect, so it is a construct compiled per dialect.

class JsonItemType(sa.types.TypeDecorator):
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


class JsonContains(ColumnElement):
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


@compiles(JsonContains)
def _json_contains_default(element: JsonContains, compiler: Any, **kw: Any) -> str:
    raise UnsupportedError(
        f"membership in the JSON column {element.where} is not supported on "
        f"{compiler.dialect.name} (supported: sqlite, postgresql)")


@compiles(JsonContains, "sqlite")
def _json_contains_sqlite(element: JsonContains, compiler: Any, **kw: Any) -> str:
    column = compiler.process(element.column, **kw)
    item = compiler.process(element.item, **kw)
    # `IS` is SQLite's null-safe equality; unary `+` strips the column's affinity so that the
    # JSON string "2" does not equal the integer 2.
    return (f"(EXISTS (SELECT 1 FROM json_each({column}) AS oso_json_item "
            f"WHERE oso_json_item.value IS +{item}))")


@compiles(JsonContains, "postgresql")
def _json_contains_postgresql(element: JsonContains, compiler: Any, **kw: Any) -> str:
    column = compiler.process(element.column, **kw)
    item = compiler.process(element.item, **kw)
    if not element.item_is_value:
        item = f"jsonb_build_array({item})"
    return f"(CAST({column} AS JSONB) @> {item})"
