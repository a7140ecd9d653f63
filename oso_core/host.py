"""The host side of the engine: registered classes, constants, and host-object conversions.

`Host` keeps legacy oso's semi-public surface (`types`, `get_field`, `adapter`, `get_class`, ...)
that integrations use. The engine's front end asks it which classes exist and how they relate
(`frontend.class_registry.ClassRegistry`); the runtime asks it for classes by name
(`runtime.host_interface.HostInterface`). Both protocols live below this module.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from .exceptions import (
    DuplicateClassAliasError,
    PolarRuntimeError,
    UnregisteredClassError,
)
from .frontend.class_registry import BUILTIN_SPECIALIZERS
from .runtime.host_interface import RelationFetcher

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
        self.instances: dict[int, Any] = {}    # legacy instance table (values are never copied in)
        self.accept_expression = False
        self._next_id = 1
        self._mro_cache: dict[str, tuple[str, ...]] = {}
        self._relations_cache: dict = {}
        self.relation_provider: Optional[Callable[[type], dict]] = None   # set_relation_provider
        # Reads declared Relation fields; the facade installs the data-filtering layer's fetch.
        self.relation_fetcher: Optional[RelationFetcher] = None
        self.fact_source: Any = None   # stored facts for fact predicates (Polar.attach_facts)
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

    # Legacy Host surface used by integrations and tests -----------------------------------------

    def cache_class(self, cls: type, name: Optional[str] = None) -> str:
        """Register `cls` (legacy name for register_class); returns its name."""
        return self.register_class(cls, name)

    def register_mros(self) -> None:
        """Kept for compatibility: MROs are computed on demand and cached."""
        self._mro_cache.clear()

    def cache_instance(self, instance: Any, id: Optional[int] = None) -> int:
        key = id if id is not None else builtin_id(instance)
        self.instances[key] = instance
        return key

    def get_instance(self, id: int) -> Any:
        from .exceptions import UnregisteredInstanceError
        if id not in self.instances:
            raise UnregisteredInstanceError(id)
        return self.instances[id]

    def make_instance(self, name: str, args: list, kwargs: dict, id: Optional[int] = None) -> Any:
        cls = self.get_class(name)
        if not callable(cls):
            from .exceptions import InvalidConstructorError
            raise InvalidConstructorError(f"{name} is not a constructor")
        try:
            instance = cls(*args, **kwargs)
        except Exception as e:
            raise PolarRuntimeError(f"Error constructing instance of {name}: {e}") from None
        self.cache_instance(instance, id)
        return instance

    def isa(self, instance: Any, class_tag: str) -> bool:
        return isinstance(instance, self.get_class(class_tag))

    def is_subclass(self, left_tag: str, right_tag: str) -> bool:
        return issubclass(self.get_class(left_tag), self.get_class(right_tag))

    def is_subspecializer(self, instance: Any, left_tag: str, right_tag: str) -> bool:
        """Is `left_tag` earlier than `right_tag` in the MRO of `instance`'s class?"""
        mro = type(instance).__mro__
        try:
            return mro.index(self.get_class(left_tag)) < mro.index(self.get_class(right_tag))
        except ValueError:
            return False

    def isa_with_path(self, base_tag: str, path: list, class_tag: str) -> bool:
        cls = self.get_class(base_tag)
        for field_name in path:
            cls = self.get_field(cls, field_name)
        return issubclass(cls, self.get_class(class_tag))

    def types_get_field(self, cls: type, field_name: str) -> type:
        return self.get_field(cls, field_name)

    def operator(self, op: str, args: list) -> bool:
        """Host comparison `args[0] <op> args[1]` (Lt, Gt, Eq, Leq, Geq, Neq)."""
        import operator as _operator
        fn = {"Lt": _operator.lt, "Gt": _operator.gt, "Eq": _operator.eq, "Leq": _operator.le,
              "Geq": _operator.ge, "Neq": _operator.ne}[op]
        try:
            return bool(fn(args[0], args[1]))
        except TypeError:
            raise PolarRuntimeError(f"External operation '{type(args[0])} {op} {type(args[1])}' failed.") from None

    def unify(self, left: Any, right: Any) -> bool:
        return bool(left == right)

    def to_polar(self, v: Any) -> Any:
        """Values are their own terms in this engine (dictionary keys become strings)."""
        from .runtime.operations import to_polar
        return to_polar(v)

    def to_python(self, value: Any) -> Any:
        return value

    def enrich_message(self, message: str) -> str:
        return message

    def set_accept_expression(self, accept: bool) -> None:
        self.accept_expression = accept

    def copy(self) -> "Host":
        other = Host.__new__(Host)
        other.__dict__.update(self.__dict__)
        other.types = dict(self.types)
        other.constants = dict(self.constants)
        other.instances = dict(self.instances)
        other._mro_cache = {}
        other._relations_cache = {}
        return other

    def _default_get_field(self, cls: type, field_name: str) -> type:
        """Type of `cls.field_name` from the registered `fields` (used for typed paths)."""
        from .data_filtering import Relation

        user_type = self.types.get(cls)
        if user_type is None:
            raise PolarRuntimeError(f"No type information for Python class {cls.__name__}")
        if field_name not in user_type.fields:
            discovered = self.discovered_relations(cls).get(field_name)
            if discovered is None:
                raise PolarRuntimeError(f"No field {field_name} on {user_type.name}")
            kind, target = discovered[0], discovered[1]
            return target if kind == "one" else list
        declared = user_type.fields[field_name]
        if isinstance(declared, Relation):
            if declared.kind == "one":
                return self.get_class(declared.other_type)
            return list
        return declared


    def set_adapter(self, adapter: Any) -> None:
        """Use `adapter` for data filtering; its discovered relations type paths, so recompile."""
        self.adapter = adapter
        self._changed()

    def items_of(self, value: Any) -> Optional[Any]:
        """The items of a host value that is not iterable itself, for `in` (an ORM relation
        manager such as Django's `repo.roles`), as the data-filtering adapter's `items_of`
        knows them; None if nobody does."""
        finder = getattr(self.adapter, "items_of", None)
        return None if finder is None else finder(value)

    def set_relation_provider(self, provider: Optional[Callable[[type], dict]]) -> None:
        """Discover relations with `provider(cls) -> {field: (kind, target, my_field, other_field)}`
        (as `DataAdapter.relations_of`) before asking the adapter; integrations use it to expose
        ORM relationships without an adapter being set. None removes it."""
        self.relation_provider = provider
        self._changed()

    def discovered_relations(self, cls: type) -> dict:
        """Relations found on `cls` by the relation provider, else by the data-filtering
        adapter (ORM relationships), cached."""
        finders = [f for f in (self.relation_provider, getattr(self.adapter, "relations_of", None))
                   if f is not None]
        if not finders:
            return {}
        cache = self._relations_cache
        if cache.get("adapter") is not self.adapter or cache.get("provider") is not self.relation_provider:
            cache.clear()
            cache["adapter"] = self.adapter
            cache["provider"] = self.relation_provider
        found = cache.get(cls)
        if found is None:
            found = {}
            for finder in reversed(finders):   # the provider's answer wins over the adapter's
                found.update(finder(cls))
            cache[cls] = found
        return found


builtin_id = id


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
