"""The application's classes, for diagnostics and hover: the host the policy is loaded against.

Classes are registered by the application, not the policy, so the server learns them from its
settings: `modules` (every class they define is registered, as `check --module` does) and/or
`oso` (`module:attribute`, an Oso or Polar instance the application has registered classes on,
with their data-filtering `fields`).
"""

from __future__ import annotations

import importlib
import inspect
import sys
import typing
from dataclasses import dataclass
from typing import Any

from ...data_filtering import Relation
from ...exceptions import OsoError
from ...host import Host, new_host
from ..repl_cli import register_module_classes
from .settings import Settings


class ClassLoadError(Exception):
    """A configured module or Oso instance that cannot be imported or used."""


@dataclass(frozen=True)
class ClassInfo:
    """What hover shows about a registered class."""

    name: str
    qualname: str
    file: str | None
    line: int | None
    fields: dict[str, str]       # registered data-filtering fields: name -> type or relation
    annotations: dict[str, str]  # class annotations: name -> type
    signature: str | None        # of the constructor
    doc: str | None


def _type_name(value: Any) -> str:
    if isinstance(value, type):
        return value.__name__
    if isinstance(value, Relation):
        return f"Relation({value.kind} {value.other_type})"
    return str(value)


def describe(name: str, cls: type, fields: dict) -> ClassInfo:
    """A ClassInfo for a registered class."""
    try:
        file = inspect.getsourcefile(cls)
        line = inspect.getsourcelines(cls)[1]
    except (OSError, TypeError):
        file, line = None, None
    try:
        hints = typing.get_type_hints(cls)
    except Exception:  # unresolvable forward references: fall back to the raw annotations
        hints = dict(getattr(cls, "__annotations__", {}))
    annotations = {k: (v.__name__ if isinstance(v, type) else str(v)) for k, v in hints.items()
                   if not k.startswith("_")}
    signature = None
    if cls.__init__ is not object.__init__:
        try:
            signature = str(inspect.signature(cls))
        except (TypeError, ValueError):
            signature = None
    doc = inspect.getdoc(cls) if cls.__doc__ else None
    return ClassInfo(name, f"{cls.__module__}.{cls.__qualname__}", file, line,
                     {k: _type_name(v) for k, v in fields.items()}, annotations, signature, doc)


def _import(name: str) -> Any:
    try:
        return importlib.import_module(name)
    except Exception as error:  # any failure of the application's import is a settings problem
        raise ClassLoadError(f"could not import module {name}: {error}") from error


def load_host(settings: Settings) -> Host | None:
    """The host with the configured classes registered; None when nothing is configured."""
    if not settings.modules and settings.oso is None:
        return None
    for root in reversed(settings.roots):  # the application's modules live in the workspace
        if root not in sys.path:
            sys.path.insert(0, root)
    if settings.oso is not None:
        module_name, _, attribute = settings.oso.partition(":")
        instance = getattr(_import(module_name), attribute, None)
        host = getattr(instance, "host", None)
        if not isinstance(host, Host):
            raise ClassLoadError(f"{settings.oso} is not an Oso or Polar instance")
        host = host.copy()
    else:
        host = new_host()
    for name in settings.modules:
        try:
            register_module_classes(host, _import(name))
        except OsoError as error:
            raise ClassLoadError(f"could not register the classes of {name}: {error.message}") from error
    return host


def class_infos(host: Host | None) -> dict[str, ClassInfo]:
    """Registered application classes by Polar name (the built-in classes left out)."""
    if host is None:
        return {}
    builtin = set(new_host().constants)
    return {t.name: describe(t.name, t.cls, t.fields) for t in host.distinct_user_types() if t.name not in builtin}
