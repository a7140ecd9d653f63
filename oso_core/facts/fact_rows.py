"""Validated facts -> the rows of `oso_facts` and the `oso_values` rows their arguments need.

A batch repeats its arguments (roles, orgs, repos): each distinct `(type, id)` is hashed once,
looked up in one dictionary of ids per type, so no per-argument object is built and no `Value`
is hashed (a dataclass hash is a Python call; a str caches its own hash).
"""

from __future__ import annotations

from typing import Sequence

from ..values import Value
from .errors import FactStoreError
from .schema import INTEGER, MAX_ARITY, STRING, typed_parts, value_id

#: One `oso_facts` row: env, predicate, arity, a0..a4 (0 for an absent argument).
FactRow = tuple
_PADDING = tuple((0,) * (MAX_ARITY - n) for n in range(MAX_ARITY + 1))  # by arity


class FactRows:
    """The rows of a sequence of validated `(predicate, args)` facts."""

    __slots__ = ("rows", "values")

    def __init__(self, environment: str, facts: Sequence[tuple[str, tuple]]) -> None:
        #: value id -> (type, id) of every argument of the facts.
        self.values: dict[int, tuple[str, str]] = {}
        # type -> id -> value id; Boolean and Integer ids are their text, as stored.
        by_type: dict[str, dict[str, int]] = {}
        rows = []
        append = rows.append
        for predicate, args in facts:
            vids = []
            for arg in args:
                kind = arg.__class__
                if kind is Value:
                    type_name, id_text = arg.type, arg.id
                elif kind is str:
                    type_name, id_text = STRING, arg
                elif kind is int:
                    type_name, id_text = INTEGER, str(arg)
                else:  # bool, and subclasses: as every other reader of the store types them
                    type_name, id_text = typed_parts(arg)
                ids = by_type.get(type_name)
                if ids is None:
                    ids = by_type[type_name] = {}
                vid = ids.get(id_text)
                if vid is None:
                    vid = ids[id_text] = self._new_value(type_name, id_text)
                vids.append(vid)
            append((environment, predicate, len(vids), *vids, *_PADDING[len(vids)]))
        # In key order, index pages are filled one after another instead of at random, and
        # concurrent batches take their row locks in one order.
        rows.sort()
        #: The fact rows, sorted.
        self.rows: list[FactRow] = rows

    def _new_value(self, type_name: str, id_text: str) -> int:
        vid = value_id(type_name, id_text)
        known = self.values.setdefault(vid, (type_name, id_text))
        if known != (type_name, id_text):
            raise collision(vid, known, (type_name, id_text))
        return vid


def collision(vid: int, stored: tuple[str, str], new: tuple[str, str]) -> FactStoreError:
    """The error for two different values hashing to one value id."""
    return FactStoreError(f"Value id collision: {new[0]} {new[1][:40]!r} and {stored[0]} {stored[1][:40]!r} hash to "
                          f"the same 64-bit id {vid}; nothing was written")
