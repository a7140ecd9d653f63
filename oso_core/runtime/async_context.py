"""The context variable through which an async call hands its awaiter to the queries it creates.

A leaf module: the solver reads it when a query is created, the async bridge sets it.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any, Callable, Optional

# Async queries (runtime/async_bridge.py): in the context an async call's engine greenlet runs in,
# a function giving the awaiter of a query created there (None if not in that greenlet after all).
# Everywhere else it is unset, and creating a query pays this one lookup.
ASYNC_AWAITER: ContextVar[Optional[Callable[[], Any]]] = ContextVar("oso_core_async_awaiter", default=None)
