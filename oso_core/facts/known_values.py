"""Value ids this process has seen committed to `oso_values`, so later batches skip sending them.

A bulk load repeats its values across batches (every batch names the same orgs, roles and
repos); each value sent again costs the database a lookup and a skipped insert. `oso_values`
rows are never deleted (clearing an environment keeps them: other environments may share
them), so a value once committed stays stored.

Each id maps to a second hash of its `(type, id)` (Python's, fixed within a process), so a value
whose id collides with a remembered one is not mistaken for it: it is sent to the database,
whose collision check names both values.
"""

from __future__ import annotations

import threading
from typing import Iterable

#: Ids remembered at most; past it the memory is dropped and refilled (~100 bytes per id).
MAX_KNOWN = 500_000


class KnownValues:
    """Value id -> second hash of `(type, id)`, for values committed by this process."""

    def __init__(self, limit: int = MAX_KNOWN) -> None:
        self._limit = limit
        self._known: dict[int, int] = {}
        self._lock = threading.Lock()

    def unknown(self, values: dict[int, tuple[str, str]]) -> dict[int, tuple[str, str]]:
        """The entries of `values` not known to be stored as they are."""
        known = self._known
        if not known:
            return values
        return {vid: parts for vid, parts in values.items() if known.get(vid) != hash(parts)}

    def remember(self, values: Iterable[dict[int, tuple[str, str]]]) -> None:
        """Record values of a committed transaction."""
        with self._lock:
            for written in values:
                if len(self._known) + len(written) > self._limit:
                    self._known = {}
                    if len(written) > self._limit:
                        continue
                self._known.update({vid: hash(parts) for vid, parts in written.items()})
