"""The legacy filter objects handed to `DataAdapter.build_query` (legacy `polar.data.filter`).

A `DataFilter` selects rows of `model`: join `relations`, then keep the rows meeting any of the
`conditions` (a list of alternatives, each a list of `Condition`s that must all hold).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional


@dataclass
class Projection:
    """A column of `source` rows; `field=None` is the row's identity (its primary key)."""

    source: type
    field: Optional[str]


@dataclass
class Relation:
    """Join `left.name` to `right` (as declared by the `name` field of `left`)."""

    left: type
    name: str
    right: type


@dataclass
class Condition:
    """`left cmp right`, cmp in Eq Neq In Nin Lt Leq Gt Geq; sides are Projections or values."""

    left: Any
    cmp: str
    right: Any


@dataclass
class DataFilter:
    model: type
    relations: list
    conditions: list
    types: dict

    @staticmethod
    def parse(polar: Any, blob: dict) -> "DataFilter":
        """A filter from legacy oso's JSON form (`{"root", "relations", "conditions"}`)."""
        types = polar.host.types
        model = types[blob["root"]].cls
        relations = [Relation(types[left].cls, name, types[right].cls) for left, name, right in blob["relations"]]

        def side(s: dict) -> Any:
            if "Field" in s:
                type_name, field = s["Field"]
                return Projection(types[type_name].cls, field)
            return polar.host.to_python(s["Immediate"])
        conditions = [[Condition(side(left), cmp, side(right)) for left, cmp, right in conj]
                      for conj in blob["conditions"]]
        return DataFilter(model, relations, conditions, types)
