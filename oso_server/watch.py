"""`serve --watch`: reload the policy files into their environment when they change.

A thread reads the files every `interval` seconds (policy files are small; comparing texts,
unlike modification times, misses no change made within one timestamp tick). The reload is atomic, as `Oso.reload_files` is: the files load into
a fresh `Oso` first (`FactStore.load_files`), so a policy that fails to load is logged with
its file:line:column and the previous one keeps serving. Files whose text is the loaded
policy's (a touch, an editor's save without change, a revert) do not make a new version.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Callable, Optional, Sequence

from oso_core.exceptions import OsoError
from oso_core.facts import FactStore, FactStoreError

from .policy_files import joined_source, read_texts

log = logging.getLogger("oso_server.watch")
POLL_SECONDS = 0.5


def describe_load_error(error: BaseException) -> str:
    """A load error as `file:line:column: message` where the error knows its position."""
    details = getattr(error, "details", None) or {}
    line, column, file = details.get("line"), details.get("column"), details.get("file")
    if line is None:
        return str(error)
    return f"{file or '<policy>'}:{line}:{column or 1}: {error}"


class PolicyWatcher:
    """Reloads `paths` into the store `store_of()` returns whenever they change."""

    def __init__(self, store_of: Callable[[], FactStore], paths: Sequence[Path], interval: float = POLL_SECONDS) -> None:
        if not paths:
            raise ValueError("--watch needs at least one --policy file")
        self._store_of = store_of
        self.paths = [Path(p) for p in paths]
        self.interval = interval
        self._texts = self._read()
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None

    def _read(self) -> Optional[list[str]]:
        try:
            return read_texts(self.paths)
        except FileNotFoundError:
            return None  # an editor replacing the file: wait for the new one
        except (OSError, UnicodeDecodeError) as error:
            log.error("policy reload skipped: cannot read the policy files: %s", error)
            return None

    def check(self) -> Optional[int]:
        """One poll: the new policy version if the files changed and loaded, else None."""
        texts = self._read()
        if texts is None or texts == self._texts:
            return None
        self._texts = texts
        store = self._store_of()
        if joined_source(texts) == store.get_policy():
            return None
        try:
            version = store.load_files(self.paths)
        except (OsoError, FactStoreError, OSError) as error:
            log.error("policy reload failed, version %d keeps serving: %s", store.policy_version,
                      describe_load_error(error))
            return None
        log.info("policy reloaded from %s: version %d", ", ".join(map(str, self.paths)), version)
        return version

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.check()
            except Exception:  # the watcher must outlive any one failed poll
                log.exception("policy watch poll failed")

    def start(self) -> None:
        """Poll in a daemon thread until `stop()`."""
        self._thread = threading.Thread(target=self._run, name="oso-policy-watch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
