"""What the SQL compiler reads from SQLAlchemy mappings: mappers, columns, relationships, keys."""

from __future__ import annotations

from typing import Any, Optional

import sqlalchemy as sa
from sqlalchemy import BinaryExpression
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import InstanceState, Mapper, RelationshipProperty
from sqlalchemy.sql import operators

from oso_core.exceptions import UnsupportedError

__all__ = [
    "declared_relation", "mapper_of", "orm_relationship", "plain", "plain_columns",
    "require_mapper", "single_column_pair", "type_of",
]


def mapper_of(entity: Any) -> Optional[Mapper]:
    """The mapper of a mapped class, an alias of one or a mapper; None for anything else."""
    found = sa.inspect(entity, raiseerr=False)
    mapper = getattr(found, "mapper", None) if found is not None else None
    return mapper if isinstance(mapper, Mapper) else None


def require_mapper(cls: Any) -> Mapper:
    """The mapper of the mapped class `cls`, or `UnsupportedError`."""
    mapper = mapper_of(cls) if isinstance(cls, type) else None
    if mapper is None:
        raise UnsupportedError(f"{getattr(cls, '__name__', cls)!s} is not a SQLAlchemy mapped class")
    return mapper


def orm_relationship(cls: Any, name: str) -> Optional[RelationshipProperty]:
    """The ORM relationship `name` of a mapped class, or None."""
    mapper = mapper_of(cls)
    return None if mapper is None else mapper.relationships.get(name)


def declared_relation(host: Any, cls: type, name: str) -> Any:
    """The `Relation` an application declared with `register_class(..., fields=...)`, or None."""
    from oso_core.data_filtering import Relation
    user_type = host.types.get(cls)
    declared = user_type.fields.get(name) if user_type is not None else None
    return declared if isinstance(declared, Relation) else None


def single_column_pair(mapper: Mapper, rel: RelationshipProperty) -> Optional[tuple[str, str]]:
    """`(my_attribute, other_attribute)` when the relationship is one column equality; None for
    a secondary table, a composite key or extra join criteria (dropping them would relate too
    many rows)."""
    if rel.secondary is not None or len(rel.local_remote_pairs) != 1:
        return None
    join = rel.primaryjoin
    if not (isinstance(join, BinaryExpression) and join.operator is operators.eq):
        return None
    local, remote = rel.local_remote_pairs[0]
    try:
        return (mapper.get_property_by_column(local).key,
                rel.mapper.get_property_by_column(remote).key)
    except sa.orm.exc.UnmappedColumnError:  # a join column with no attribute of its own
        return None


_PLAIN_COLUMNS: dict = {}


def plain_columns(mapper: Mapper) -> Optional[dict]:
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


def plain(value: Any) -> Any:
    """`value` with mapped instances replaced by their primary key (also inside lists)."""
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
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


def type_of(expr: Any) -> Any:
    """The SQL type of an expression, looking through a `TypeDecorator`."""
    kind = expr.type
    return getattr(kind, "impl_instance", kind)
