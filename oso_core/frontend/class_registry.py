"""What the loader's checks need to know about registered classes, owned by the front end.

`oso_core.host.Host` implements `ClassRegistry`; the front end only reads through it, so it
never imports the host (which sits above the runtime).
"""

from __future__ import annotations

from typing import Any, Protocol

# Names a rule may specialize on without registering a class (resource-block unions).
BUILTIN_SPECIALIZERS = ("Actor", "Resource")


class ClassRegistry(Protocol):
    """The registered classes and constants a policy is checked against."""

    constants: dict   # name -> value (classes are constants too)

    def is_class_name(self, name: str) -> bool:
        """Is `name` a registered class?"""

    def get_class(self, name: str) -> Any:
        """The class registered as `name`."""

    def registered_mro(self, name: str) -> Any:
        """Registered names of the classes in `name`'s MRO, most specific first (itself first)."""
