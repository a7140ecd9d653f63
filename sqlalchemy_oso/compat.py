"""SQLAlchemy version facts (legacy module; this package supports SQLAlchemy 2.x only)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import sqlalchemy

_VERSION = tuple(int(p) for p in sqlalchemy.__version__.split(".")[:2] if p.isdigit())

USING_SQLAlchemy_v1_3 = False
USING_SQLAlchemy_v1_4 = False
USING_SQLAlchemy_v2_0 = _VERSION >= (2, 0)

if not USING_SQLAlchemy_v2_0:  # pragma: no cover - refused at import
    raise ImportError(f"sqlalchemy_oso needs SQLAlchemy 2.x; found {sqlalchemy.__version__}")


def iterate_model_classes(base_or_registry: Any) -> Iterator[type]:
    """The mapped classes of a declarative base class or of a `sqlalchemy.orm.registry`."""
    registry = getattr(base_or_registry, "registry", base_or_registry)
    mappers = getattr(registry, "mappers", None)
    if mappers is None:
        raise TypeError(f"Expected a declarative base or a registry; received: {base_or_registry!r}")
    seen = set()
    for mapper in sorted(mappers, key=lambda m: (m.class_.__module__, m.class_.__qualname__)):
        if mapper.class_ not in seen:
            seen.add(mapper.class_)
            yield mapper.class_
