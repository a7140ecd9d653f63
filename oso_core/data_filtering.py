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
