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
    """Relation lookup for one host and adapter; discovered relations are cached per class."""

    def __init__(self, host: Any) -> None:
        self.host = host

    def class_name(self, cls: type) -> str:
        return self.host.class_name(cls) or cls.__name__

    def relation(self, cls: type, field: str) -> Optional[RelationInfo]:
        """The relation `cls.field`, or None if the field is not a relation."""
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
