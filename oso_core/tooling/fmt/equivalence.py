"""A comparable form of parsed policy items, to check that formatting changed only the layout."""

from __future__ import annotations

import math
from typing import Any

from ...frontend.syntax import Item


def syntax_key(items: list[Item]) -> tuple:
    """Everything the loader takes from parsed items (spans, i.e. positions, left out)."""
    return tuple(_key(item) for item in items)


def _key(value: Any) -> Any:
    t = type(value)
    if t is float:
        return ("float", "nan" if math.isnan(value) else repr(value))
    if t in (str, int, bool) or value is None:
        return (t.__name__, value)
    if t is list or t is tuple:
        return ("list", tuple(_key(v) for v in value))
    if t is dict:
        return ("dict", tuple((_key(k), _key(v)) for k, v in value.items()))
    slots = [name for cls in t.__mro__ for name in getattr(cls, "__slots__", ()) if name != "span"]
    return (t.__name__, tuple((name, _key(getattr(value, name))) for name in slots))
