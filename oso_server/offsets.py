"""`OsoOffset`: the consistency token the oso-cloud client echoes after a write (spec section 1.6).

Here it is the time of the acknowledged write in nanoseconds since the epoch, made strictly
increasing within a process. It is informational: every server process reads the same database,
and a write is committed before it is acknowledged, so a read after an acknowledged write
already sees it; the token a client sends back is accepted and ignored.
"""

from __future__ import annotations

import threading
import time

from .endpoint import Call

HEADER = "OsoOffset"
_lock = threading.Lock()
_last = 0


def next_offset() -> str:
    """A token greater than every one this process handed out before."""
    global _last
    with _lock:
        _last = max(_last + 1, time.time_ns())
        return str(_last)


def acknowledge(call: Call, message: str) -> dict:
    """The `{"message": ...}` answer of a committed write, with its `OsoOffset` header set."""
    call.headers[HEADER] = next_offset()
    return {"message": message}
