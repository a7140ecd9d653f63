"""The host side of the engine: registered classes, constants, and host-object conversions.

`Host` keeps legacy oso's semi-public surface (`types`, `get_field`, `adapter`, `get_class`, ...)
that integrations use. The engine's front end asks it which classes exist and how they relate;
the runtime asks it for classes by name.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any, Optional

from .exceptions import (
    DuplicateClassAliasError,
    PolarRuntimeError,
    UnregisteredClassError,
)

BUILTIN_SPECIALIZERS = ("Actor", "Resource")

# Classes every Polar instance starts with, in legacy registration order.
DEFAULT_CLASSES: tuple[tuple[type, str], ...] = (
    (bool, "Boolean"),
    (int, "Integer"),
    (float, "Float"),
    (list, "List"),
    (dict, "Dictionary"),
    (str, "String"),
    (datetime.datetime, "Datetime"),
    (datetime.timedelta, "Timedelta"),
)


@dataclass
class UserType:
    """A registered class: its Polar name, the Python class, an id and its declared fields."""

    name: str
    cls: type
    id: int
    fields: dict = field(default_factory=dict)


class Host:
    """Registered classes and constants of one Polar instance."""

    def __init__(self) -> None:
        self.types: dict[Any, UserType] = {}   # keyed by name and by class (newest name wins)
        self.constants: dict[str, Any] = {}    # name -> value; classes are constants too
        self.adapter: Any = None               # data-filtering adapter
        self.version = 0                       # bumped on every registration change
        self.legacy_query_functions: dict[type, dict] = {}  # oso 0.25 build/exec/combine_query
        self._next_id = 1
        self._mro_cache: dict[str, tuple[str, ...]] = {}
        self.get_field = self._default_get_field

    # Registration ----------------------------------------------------------------------------

    def register_class(self, cls: type, name: Optional[str] = None, fields: Optional[dict] = None) -> str:
        name = cls.__name__ if name is None else name
        check_registrable_name(name)
        existing = self.types.get(name)
        if existing is not None:
            raise DuplicateClassAliasError(name, existing.cls, cls)
        user_type = UserType(name, cls, self._next_id, dict(fields or {}))
        self._next_id += 1
        self.types[name] = user_type
        self.types[cls] = user_type
        self.constants[name] = cls
        self._changed()
        return name

    def register_constant(self, value: Any, name: str) -> None:
        check_registrable_name(name)
        self.constants[name] = value
        self._changed()

    def _changed(self) -> None:
        self.version += 1
        self._mro_cache.clear()

    # Lookups ---------------------------------------------------------------------------------

    def get_class(self, name: str) -> type:
        user_type = self.types.get(name)
        if user_type is None or not isinstance(name, str):
            raise UnregisteredClassError(name)
        return user_type.cls

    def is_class_name(self, name: str) -> bool:
        return isinstance(name, str) and name in self.types

    def class_name(self, cls: type) -> Optional[str]:
        """The (newest) registered name of a class, or None."""
        user_type = self.types.get(cls)
        return None if user_type is None else user_type.name

    def registered_mro(self, name: str) -> tuple[str, ...]:
        """Registered names of the classes in `name`'s MRO, most specific first (itself first)."""
        cached = self._mro_cache.get(name)
        if cached is None:
            cls = self.get_class(name)
            names = [name]
            for base in cls.__mro__[1:]:
                base_type = self.types.get(base)
                if base_type is not None and base_type.name not in names:
                    names.append(base_type.name)
            cached = self._mro_cache[name] = tuple(names)
        return cached

    def is_subclass_name(self, sub: str, sup: str) -> bool:
        """Does registered class `sub` derive from registered class `sup` (by Python issubclass)?"""
        return issubclass(self.get_class(sub), self.get_class(sup))

    def distinct_user_types(self) -> list[UserType]:
        seen: dict[str, UserType] = {}
        for key, user_type in self.types.items():
            if isinstance(key, str):
                seen[key] = user_type
        return list(seen.values())

    def _default_get_field(self, cls: type, field_name: str) -> type:
        """Type of `cls.field_name` from the registered `fields` (used for typed paths)."""
        from .data_filtering import Relation

        user_type = self.types.get(cls)
        if user_type is None:
            raise PolarRuntimeError(f"No type information for Python class {cls.__name__}")
        if field_name not in user_type.fields:
            raise PolarRuntimeError(f"No field {field_name} on {user_type.name}")
        declared = user_type.fields[field_name]
        if isinstance(declared, Relation):
            if declared.kind == "one":
                return self.get_class(declared.other_type)
            return list
        return declared


def check_registrable_name(name: str) -> None:
    if name in BUILTIN_SPECIALIZERS:
        raise PolarRuntimeError(f"Invalid attempt to register '{name}': '{name}' is a built-in specializer.")


def new_host() -> Host:
    """A host with legacy oso's default classes and the `nil` constant."""
    host = Host()
    for cls, name in DEFAULT_CLASSES:
        host.register_class(cls, name)
    host.register_constant(None, "nil")
    return host
