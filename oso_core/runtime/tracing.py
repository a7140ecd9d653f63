"""`POLAR_LOG` tracing in legacy oso's format: `[oso][info]` + indentation by call depth.

Levels (legacy): unset, empty, `0` or `off` -> none; containing `trace` -> TRACE; containing
`debug` -> DEBUG; anything else -> INFO. `now` sends lines to stderr instead of stdout.
"""

from __future__ import annotations

import os
import sys
from typing import Any, Optional

# os.environ.get costs about 1 µs, too much for every decision; the underlying mapping is read
# directly where CPython exposes it (it stays in sync with os.environ and putenv-through-environ).
_ENV_DATA = getattr(os.environ, "_data", None)
_KEY = os.environ.encodekey("POLAR_LOG") if hasattr(os.environ, "encodekey") else None


def polar_log_setting() -> Optional[str]:
    if _ENV_DATA is not None and _KEY is not None:
        raw = _ENV_DATA.get(_KEY)
        if raw is None:
            return None
        return os.environ.decodevalue(raw) if hasattr(os.environ, "decodevalue") else raw.decode()
    return os.environ.get("POLAR_LOG")


def tracer_from_env() -> Optional["Tracer"]:
    setting = polar_log_setting()
    if not setting or setting in ("0", "off"):
        return None
    lowered = setting.lower()
    level = "trace" if "trace" in lowered else "debug" if "debug" in lowered else "info"
    return Tracer(level, "now" in lowered)


class Tracer:
    """Writes trace lines for one query."""

    __slots__ = ("level", "stream", "depth")

    def __init__(self, level: str, to_stderr: bool) -> None:
        self.level = level
        self.stream = sys.stderr if to_stderr else None
        self.depth = 0

    def log(self, message: str, depth: Optional[int] = None) -> None:
        indent = "  " * ((self.depth if depth is None else depth) + 1)
        prefix = f"[oso][{self.level}] "
        text = "\n".join(prefix + indent + line for line in message.split("\n"))
        print(text, file=self.stream if self.stream is not None else sys.stdout)

    def debug(self, q: Any, args: list, span: Any) -> None:
        self.log("DEBUG: " + ", ".join(q.render(a) for a in args))
