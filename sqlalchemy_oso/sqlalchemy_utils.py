"""Which ORM entities a statement loads (legacy module, SQLAlchemy 2.x implementation).

`all_entities_in_statement(stmt)` is the set of mapped classes whose rows a SELECT returns:
selected entities and columns (also inside subqueries), relationships eager-loaded in the same
statement by `joinedload`/`contains_eager` options, and relationships declared `lazy="joined"`.
Relationships loaded by separate statements (lazy, selectin, subquery) are authorized when those
statements run.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm.util import AliasedClass

__all__ = [
    "all_entities_in_statement", "default_load_entities", "get_column_entities",
    "get_joinedload_entities", "to_class",
]


def to_class(entity: Any) -> Any:
    """The mapped class of an entity (class, alias or mapper); anything else unchanged."""
    if isinstance(entity, AliasedClass):
        return sa.inspect(entity).class_
    found = sa.inspect(entity, raiseerr=False)
    if found is not None and hasattr(found, "class_"):
        return found.class_
    return entity


def all_entities_in_statement(statement: Any) -> set:
    """Mapped classes whose rows `statement` loads (see the module documentation)."""
    entities = get_column_entities(statement)
    entities |= get_joinedload_entities(statement)
    entities |= default_load_entities(entities)
    return set(map(to_class, entities))


def get_column_entities(statement: Any) -> set:
    """Entities selected as columns by `statement` or by any statement nested in it
    (`select(A.x, B)` -> {A, B}); eager loads are not included."""
    entities: set = set()
    stack = [statement]
    seen: set = set()
    while stack:
        element = stack.pop()
        if id(element) in seen:
            continue
        seen.add(id(element))
        try:
            descriptions = element.column_descriptions
        except (AttributeError, NotImplementedError, sa.exc.InvalidRequestError):
            descriptions = ()
        for description in descriptions or ():
            entity = description.get("entity") if isinstance(description, dict) else None
            if entity is not None:
                entities.add(entity)
        stack.extend(element.get_children())
    return entities


def default_load_entities(entities: Any, seen_relationships: Any = None) -> set:
    """Classes loaded along with `entities` because of relationships declared
    `lazy="joined"` (followed transitively)."""
    if seen_relationships is None:
        seen_relationships = set()
    found: set = set()
    for entity in entities:
        info = sa.inspect(entity, raiseerr=False)
        mapper = getattr(info, "mapper", None)
        if mapper is None:
            continue
        for rel in mapper.relationships:
            if rel in seen_relationships:
                continue
            seen_relationships.add(rel)
            if rel.lazy == "joined":
                found.add(rel.mapper.class_)
                found |= default_load_entities([rel.mapper], seen_relationships)
    return found


def get_joinedload_entities(statement: Any) -> set:
    """Classes loaded in the same statement by `joinedload(...)` / `contains_eager(...)`
    options (each link of a chained option)."""
    found: set = set()
    for option in getattr(statement, "_with_options", ()):
        for load in getattr(option, "context", ()):
            strategy = getattr(load, "strategy", None) or ()
            if ("lazy", "joined") not in strategy:
                continue
            path = getattr(load, "path", None)
            entity = getattr(path, "entity", None) if path is not None else None
            if entity is not None:
                found.add(to_class(entity))
    return found
