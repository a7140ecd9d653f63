"""The fact store's errors: all are `FactStoreError`, itself an `OsoError`."""

from __future__ import annotations

from ..exceptions import OsoError


class FactStoreError(OsoError):
    """A fact store operation failed (database, schema, hash collision, bad argument)."""


class InvalidFactError(FactStoreError):
    """A fact that the loaded policy does not accept (unknown predicate, arity, argument type, id);
    nothing of the operation that carried it was written."""


class NoPolicyError(FactStoreError):
    """An operation needs a policy (validation, decisions) and none is loaded in the environment."""


class SchemaVersionError(FactStoreError):
    """The database holds a fact store schema this code cannot use (newer than it knows)."""


class UnboundedResultError(FactStoreError):
    """The answer is not a finite set: a rule holds for every value of the asked type (e.g.
    `allow(_, "read", _: Repo)` makes `list` every Repo id, including ones never stored)."""


class UnsupportedPolicyError(FactStoreError):
    """The policy uses a construct the SQL compiler cannot translate (named in the message);
    the decision is not made rather than made wrongly."""
