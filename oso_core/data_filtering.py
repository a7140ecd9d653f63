"""Field relations between registered classes (legacy `polar.data_filtering`)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Relation:
    """A declared relation field: `kind` is "one" or "many"; `other_type` the related class's name."""

    kind: str
    other_type: str
    my_field: str
    other_field: str


def serialize_types(types: dict, class_names: dict) -> dict:
    """Legacy wire form of registered field types: `{name: {field: {"Base"|"Relation": ...}}}`."""
    out: dict = {}
    for name, user_type in types.items():
        if not isinstance(name, str):
            continue
        fields = {}
        for field_name, declared in user_type.fields.items():
            if isinstance(declared, Relation):
                fields[field_name] = {"Relation": {
                    "kind": declared.kind, "other_class_tag": declared.other_type,
                    "my_field": declared.my_field, "other_field": declared.other_field}}
            else:
                fields[field_name] = {"Base": {"class_tag": class_names.get(declared, getattr(declared, "__name__", str(declared)))}}
        out[name] = fields
    return out
