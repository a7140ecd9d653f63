"""Oso Cloud dialect constants evaluated at query time (`@current_unix_time`)."""

from __future__ import annotations

import time
from typing import Any

from ..frontend.cloud_syntax import CurrentUnixTime

__all__ = ["CurrentUnixTime", "current_unix_time"]


def current_unix_time(q: Any, env: list) -> int:
    """`@current_unix_time`: whole seconds since the epoch, read once per query so that every
    use within one query sees the same instant."""
    now = q.current_unix_time
    if now is None:
        now = q.current_unix_time = int(time.time())
    return now
