"""Loading `serve --policy` files into an environment without repeating a stored version.

`FactStore.load_files` stores the files' texts joined by newlines as one policy version. A server
restarted over its data directory (or each `--workers` process, or a replica) loads the same
files again: when their joined text is the policy the store already serves, nothing is stored
and that version keeps serving; a changed file is loaded as a new version.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Sequence

from oso_core.facts import FactStore

log = logging.getLogger("oso_server")


def joined_source(texts: Sequence[str]) -> str:
    """The policy source `FactStore.load_files` stores for files with these texts."""
    return "\n".join(texts)


def read_texts(paths: Sequence[Path]) -> list[str]:
    """The files' texts (UTF-8), in order; OSError/UnicodeDecodeError as reading raises them."""
    return [Path(p).read_text(encoding="utf-8") for p in paths]


def load_policy_files(store: FactStore, paths: Sequence[Path]) -> int:
    """Make the files the store's policy; the serving version. A new version only when the
    files' text differs from the current policy's source."""
    if joined_source(read_texts(paths)) == store.get_policy():
        log.info("policy files %s unchanged: version %d keeps serving", ", ".join(map(str, paths)),
                 store.policy_version)
        return store.policy_version
    version = store.load_files(paths)
    log.info("policy loaded from %s: version %d", ", ".join(map(str, paths)), version)
    return version
