"""What the filter builder knows about classes: which fields are relations, and to what.

Relations come from `register_class(..., fields={"org": Relation(...)})` first, then from the
data-filtering adapter's optional `relations_of(cls)` (ORM relationships), so an ORM model
works without declaring anything.
"""

from __future__ import annotations

from typing import Any, Optional

from ..data_filtering import Relation
from .plan import RelationInfo


class Schema:
    """Relation lookup for one host and adapter; discovered relations are cached per class.

    Answers are memoized: a Schema is only valid while the host's registrations and adapter
    stay as they are (`schema_of` keeps one per knowledge base, which a change replaces)."""

    def __init__(self, host: Any) -> None:
        self.host = host
        self._relations: dict = {}

    def class_name(self, cls: type) -> str:
        return self.host.class_name(cls) or cls.__name__

    def relation(self, cls: type, field: str) -> Optional[RelationInfo]:
        """The relation `cls.field`, or None if the field is not a relation."""
        key = (cls, field)
        try:
            return self._relations[key]
        except KeyError:
            pass
        except TypeError:   # an unhashable class object: look it up every time
            return self._relation(cls, field)
        found = self._relations[key] = self._relation(cls, field)
        return found

    def _relation(self, cls: type, field: str) -> Optional[RelationInfo]:
        user_type = self.host.types.get(cls)
        declared = user_type.fields.get(field) if user_type is not None else None
        if isinstance(declared, Relation):
            target = self.host.get_class(declared.other_type)
            return RelationInfo(field, declared.kind, target, declared.other_type,
                                declared.my_field, declared.other_field)
        if declared is not None:
            return None
        found = self.host.discovered_relations(cls).get(field)
        if found is None:
            return None
        kind, target, my_field, other_field = found
        return RelationInfo(field, kind, target, self.class_name(target), my_field, other_field)


def schema_of(kb: Any, host: Any) -> Schema:
    """The `Schema` of `host` for knowledge base `kb` (a new one after any registration or
    adapter change, since those make a new knowledge base)."""
    schema = kb.derived.get("filter_schema")
    if schema is None or schema.host is not host:
        schema = kb.derived["filter_schema"] = Schema(host)
    return schema
