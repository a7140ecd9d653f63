"""Type checks on fact entities (`oso_core.values.Value`): an entity's type names its class."""

from __future__ import annotations

from typing import Any

from ..values import Value

__all__ = ["value_isa"]


def value_isa(kb: Any, value: Value, tag: str) -> bool:
    """`value matches tag`: its type is `tag`, or a member of the `Actor`/`Resource` union."""
    if tag in ("Actor", "Resource") and tag not in kb.constants:
        return value.type in kb.unions.get(tag, ())
    return value.type == tag
