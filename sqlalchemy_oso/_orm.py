"""ORM introspection shared by the translator and the session hooks.

* `install_orm_introspection(oso)` teaches an `Oso` instance the ORM's relationships: the
  filter-plan builder then sees every relationship of a mapped class (including many-to-many
  ones through a secondary table) and the engine can type paths such as `post.created_by`.
* `mapped_tables()` lists the tables that belong to mapped classes, for the fail-closed checks
  of Core statements.
"""

from __future__ import annotations

import weakref
from typing import Any

from oso_core.data.adapter.sqlalchemy_mapping import (  # noqa: F401 (re-exported)
    declared_relation, mapper_of, orm_relationship, single_column_pair,
)
from oso_core.exceptions import PolarRuntimeError

# A relationship that is not one column equality (secondary table, composite key, extra join
# criteria) is handed to the plan builder with these placeholder field names. They are not
# attribute names, so any attempt to read them as columns fails (closed) instead of joining on
# the wrong columns; `compile_plan(..., relationships=True)` follows the ORM relationship itself.
COMPLEX_FIELD = "<relationship {}>"


def mapped_class(entity: Any) -> type | None:
    mapper = mapper_of(entity)
    return None if mapper is None else mapper.class_


_relations_cache: weakref.WeakKeyDictionary[type, dict] = weakref.WeakKeyDictionary()


def orm_relations(cls: type) -> dict:
    """`{name: (kind, target_class, my_field, other_field)}` for every relationship of `cls`.

    Relationships that are not a single column equality get the `COMPLEX_FIELD` placeholders.
    """
    found = _relations_cache.get(cls)
    if found is not None:
        return found
    mapper = mapper_of(cls)
    found = {}
    if mapper is not None:
        for rel in mapper.relationships:
            kind = "many" if rel.uselist else "one"
            pair = single_column_pair(mapper, rel)
            if pair is None:
                placeholder = COMPLEX_FIELD.format(rel.key)
                pair = (placeholder, placeholder)
            found[rel.key] = (kind, rel.mapper.class_, pair[0], pair[1])
    _relations_cache[cls] = found
    return found


def _orm_relations_of(cls: type) -> dict:
    """Relation provider for `Host.set_relation_provider`: the ORM relationships of mapped classes."""
    return orm_relations(cls) if isinstance(cls, type) and mapper_of(cls) is not None else {}


class _OrmGetField:
    """Replacement for `Host.get_field` (legacy sqlalchemy-oso sets one too): the type of a
    field of a mapped class from the mapping, declared `fields` first."""

    def __init__(self, host: Any, original: Any) -> None:
        self.host = host
        self.original = original

    def __call__(self, model: Any, field: str) -> Any:
        user_type = self.host.types.get(model)
        if user_type is not None and field in user_type.fields:
            return self.original(model, field)
        mapper = mapper_of(model)
        if mapper is None:
            return self.original(model, field)
        name = getattr(model, "__name__", model)
        if field in mapper.relationships:
            rel = mapper.relationships[field]
            return list if rel.uselist else rel.mapper.class_
        if field in mapper.column_attrs:
            column = mapper.column_attrs[field].columns[0]
            try:
                return column.type.python_type
            except NotImplementedError:
                raise PolarRuntimeError(f"Cannot determine type of {field} on {name}.") from None
        if not hasattr(model, field):
            raise PolarRuntimeError(f"Cannot get property {field} on {name}.")
        raise PolarRuntimeError(f"Cannot determine type of {field} on {name}.")


def install_orm_introspection(oso: Any) -> None:
    """Make `oso` see ORM relationships and field types (idempotent)."""
    host = oso.host
    if not isinstance(host.get_field, _OrmGetField):
        host.get_field = _OrmGetField(host, host.get_field)
    if host.relation_provider is not _orm_relations_of:
        host.set_relation_provider(_orm_relations_of)


def all_mappers() -> list:
    """Every mapper of every live registry."""
    import importlib
    mapper_module = importlib.import_module("sqlalchemy.orm.mapper")
    all_registries = getattr(mapper_module, "_all_registries", None)
    if all_registries is None:  # pragma: no cover - a future SQLAlchemy
        raise RuntimeError("sqlalchemy_oso cannot list the mapped classes of this SQLAlchemy version")
    registries = list(all_registries())
    out = []
    for reg in registries:
        out.extend(reg.mappers)
    return out


_tables_cache: dict = {}


def mapped_tables() -> dict:
    """`{table: mapper}` for the tables that mapped classes are persisted to."""
    mappers = all_mappers()
    signature = frozenset(id(m) for m in mappers)
    cached = _tables_cache.get("signature")
    if cached == signature:
        return _tables_cache["tables"]
    out: dict = {}
    for mapper in mappers:
        for table in mapper.tables:
            out.setdefault(table, mapper)
    _tables_cache.update(signature=signature, tables=out)
    return out


def secondary_tables() -> set:
    """Tables used as the secondary (association) table of some relationship."""
    found = set()
    for mapper in all_mappers():
        try:
            relationships = list(mapper.relationships)
        except Exception:  # a mapper that cannot be configured: its own queries will say why
            continue
        for rel in relationships:
            if rel.secondary is not None:
                found.add(rel.secondary)
    return found
