"""How a row of a filter plan appears in a SQL statement.

* `EntityRow`: an ORM entity (the mapped class, an `aliased()` entity) or, where that is exact,
  a Core alias of the class's table (`plain_columns`): ORM entities adapt every column on access,
  which was most of the time spent building a filter.
* `CoreRow`: a plain table or an anonymous alias of it, never an ORM entity. The authorized
  sessions install their clause with `with_loader_criteria(..., include_aliases=True)`, which
  filters *every* ORM entity of a class anywhere in the statement: related rows of the policy
  must not be ORM entities, or the session would filter them again with other classes' criteria.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapper
from sqlalchemy.sql.util import ClauseAdapter

from oso_core.exceptions import UnsupportedError

from .sqlalchemy_mapping import plain_columns

__all__ = ["CoreRow", "EntityRow", "RowRef", "Scope"]


class Scope:
    """The plan rows bound at a point of the statement, and the tables already in the FROM of an
    enclosing select (a related row reuses a plain table name only where it is unambiguous)."""

    __slots__ = ("rows", "tables")

    def __init__(self, rows: frozenset, tables: frozenset) -> None:
        self.rows = rows
        self.tables = tables

    def bind(self, row: Any, *tables: Any) -> Scope:
        return Scope(self.rows | {id(row)}, self.tables | {t for t in tables if t is not None})


class RowRef(ABC):
    """A plan row in the statement."""

    mapper: Mapper
    selectable: Any   # the table, alias or join its columns belong to
    from_item: Any    # what a FROM clause names for it (an ORM entity stays one)

    def label(self) -> str:
        return self.mapper.class_.__name__

    @abstractmethod
    def attr(self, name: str) -> tuple[Any, bool]:
        """The SQL expression for mapped attribute `name`, and whether it may be NULL."""

    @abstractmethod
    def column(self, col: Any) -> Any:
        """The table column `col` as this row reads it."""

    def adapt(self, clause: Any) -> Any:
        """`clause`, written over the class's tables, re-pointed at this row."""
        return clause

    def pk_columns(self) -> list:
        return [self.column(c) for c in self.mapper.primary_key]

    def pk(self) -> Any:
        cols = self.pk_columns()
        if len(cols) != 1:
            raise UnsupportedError(
                f"{self.label()} has a composite primary key; data filtering needs a "
                "single-column primary key to identify its rows")
        return cols[0]


def _nullable(col: Any) -> bool:
    return bool(getattr(col, "nullable", True))


def base_column(col: Any) -> Any:
    """The table's own column for `col` (which may be an annotated or adapted copy)."""
    table = getattr(col, "table", None)
    if table is not None and col.key in table.c:
        return table.c[col.key]
    return col


def not_a_column(mapper: Mapper, name: str) -> UnsupportedError:
    cls = mapper.class_.__name__
    if name in mapper.relationships:
        return UnsupportedError(
            f"{cls}.{name} is a relationship that is not a single column equality (a secondary "
            "table, a composite key or extra join conditions): compare its rows' fields, e.g. "
            f"`x in {cls.lower()}.{name} and x.id = ...`, instead of the relationship itself")
    return UnsupportedError(f"{cls}.{name} is not a mapped column of {cls}")


class EntityRow(RowRef):
    """An ORM entity (class or `aliased()`), or a Core alias of a `plain_columns` table."""

    def __init__(self, entity: Any, mapper: Mapper) -> None:
        self.entity = entity
        self.mapper = mapper
        self.core = isinstance(entity, sa.Alias)
        self.selectable = entity if self.core else sa.inspect(entity).selectable
        self.is_alias = not self.core and sa.inspect(entity).is_aliased_class
        self.from_item = entity

    @classmethod
    def alias_of(cls, mapper: Mapper) -> EntityRow:
        """A fresh anonymous alias of the class (anonymous, so it clashes with nothing)."""
        if plain_columns(mapper) is None:
            return cls(sa.orm.aliased(mapper.class_), mapper)
        return cls(mapper.persist_selectable.alias(), mapper)

    def attr(self, name: str) -> tuple[Any, bool]:
        if name in self.mapper.column_attrs:
            columns = self.mapper.column_attrs[name].columns
            nullable = any(_nullable(c) for c in columns)
            if self.core:
                return self.entity.c[plain_columns(self.mapper)[name]], nullable
            return getattr(self.entity, name), nullable
        if not self.core and isinstance(self.mapper.all_orm_descriptors.get(name), hybrid_property):
            return getattr(self.entity, name), True
        raise not_a_column(self.mapper, name)

    def column(self, col: Any) -> Any:
        base = base_column(col)
        if self.core:
            return self.entity.corresponding_column(base)
        try:
            prop = self.mapper.get_property_by_column(base)
        except sa.orm.exc.UnmappedColumnError:
            found = self.selectable.corresponding_column(base)
            if found is None:
                raise UnsupportedError(f"{base} is not a column of {self.label()}") from None
            return found
        return getattr(self.entity, prop.key).__clause_element__()

    def adapt(self, clause: Any) -> Any:
        if self.core or self.is_alias:
            return ClauseAdapter(self.selectable).traverse(clause)
        return clause


class CoreRow(RowRef):
    """A related row: a plain table, or an anonymous alias of it (never an ORM entity)."""

    def __init__(self, mapper: Mapper, selectable: Any) -> None:
        self.mapper = mapper
        self.selectable = selectable
        self.from_item = selectable

    def attr(self, name: str) -> tuple[Any, bool]:
        if name in self.mapper.column_attrs:
            columns = self.mapper.column_attrs[name].columns
            if len(columns) == 1:
                return self.column(columns[0]), _nullable(columns[0])
        if isinstance(self.mapper.all_orm_descriptors.get(name), hybrid_property):
            raise UnsupportedError(
                f"{self.label()}.{name} is a hybrid property; policies can read hybrid properties "
                "only of the authorized model itself, not of related rows")
        raise not_a_column(self.mapper, name)

    def column(self, col: Any) -> Any:
        found = self.selectable.corresponding_column(base_column(col))
        if found is None:
            raise UnsupportedError(f"{col} is not a column of {self.label()}")
        return found

    def adapt(self, clause: Any) -> Any:
        return ClauseAdapter(self.selectable).traverse(clause)
