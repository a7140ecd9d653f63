"""What the runtime needs from the host side, owned here so the runtime never imports upward.

`oso_core.host.Host` implements `HostInterface`; the facade (`oso_core.polar`) fills in the
host's `relation_fetcher` with the data-filtering layer's fetch, so a declared `Relation` field
is read through the adapter without the runtime importing `oso_core.filtering`.
"""

from __future__ import annotations

from typing import Any, Callable, Optional, Protocol


class RelationFetchError(Exception):
    """The adapter could not produce the related object(s); the message says why."""


# (host, obj, field name, Relation) -> the related object, or list of objects for "many".
# Raises RelationFetchError when the relation cannot be read.
RelationFetcher = Callable[[Any, Any, str, Any], Any]


class HostInterface(Protocol):
    """The registrations and conversions the runtime reads from the host."""

    types: dict          # registered classes, keyed by Polar name and by Python class
    constants: dict      # name -> value (classes are constants too)
    version: int         # bumped on every registration change
    relation_fetcher: Optional[RelationFetcher]
    fact_source: Any     # the attached runtime.fact_source.FactSource, or None

    def class_name(self, cls: type) -> Optional[str]:
        """The Polar name `cls` is registered under, if any."""

    def items_of(self, collection: Any) -> Any:
        """The items of a collection Python cannot iterate itself (e.g. an ORM manager)."""

    def get_field(self, cls: type, field_name: str) -> type:
        """The type of `cls.field_name` (for typed paths in data filtering)."""
