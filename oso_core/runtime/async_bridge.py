"""Async decisions: the synchronous engine, run in a greenlet, awaiting host values in the loop.

`run_async(fn, *args)` runs `fn` (any synchronous API call: `oso.is_allowed`, `authorize`, a
data-filtering build...) in a new *engine greenlet* whose parent is the caller's. The greenlet
runs in a copy of the caller's context in which `async_context.ASYNC_AWAITER` is set, so every `Query`
created inside it is in async mode (`Query.awaiter` is `await_value`; queries created anywhere
else, in other threads, tasks or greenlets, are synchronous, concurrently): where a host value
enters the engine (an attribute read, a method result, a relation fetch, a pattern field, an
item of a host iterator, each step of an async iterator in `in`) and is awaitable, the engine
greenlet switches to its parent with it; the parent, a coroutine running in the event loop,
awaits it and switches back with the result, or throws the awaitable's exception into the engine
at that point, where it propagates as the same error raised by a synchronous host call would.
Nothing runs in a thread and the loop is never blocked: while a value is awaited, the engine
greenlet is suspended and other tasks run.

The hand-off protocol is SQLAlchemy's (`greenlet_spawn` / `await_`): the engine greenlet sends
its parent the awaitable itself. Engine greenlets declare themselves SQLAlchemy greenlet
providers, so SQLAlchemy's own `await_` works inside a policy evaluation: a lazy relationship
of an object loaded by an `AsyncSession` loads when the policy reads it.

`iterate_async(factory)` is the same for a generator of query results: an async generator
yielding each result as the engine produces it (results are wrapped in `_Result` so that the
driver tells them from awaitables).

`greenlet` is imported on first use (`pip install 'oso-core[asyncio]'`); importing this module,
or `oso_core`, does not need it.
"""

from __future__ import annotations

import contextvars
import sys
import threading
import types
from inspect import CO_ITERABLE_COROUTINE
from typing import Any, AsyncIterator, Callable, Iterator, Optional

from ..exceptions import OsoError
from .async_context import ASYNC_AWAITER

GREENLET_MISSING = ("async decisions (the *_async methods of Oso and Polar) need the greenlet package: "
                    "pip install 'oso-core[asyncio]' (or: pip install 'greenlet>=3')")

# Types no lookup result of which is awaitable: the check costs a set lookup for them.
_PLAIN = frozenset({str, int, float, bool, type(None), list, dict, tuple, set, frozenset})

_getcurrent: Optional[Callable[[], Any]] = None
_GreenletExit: Any = None
_EngineGreenlet: Any = None


def _load() -> None:
    """Import greenlet and define the engine greenlet class (on first use)."""
    global _getcurrent, _GreenletExit, _EngineGreenlet
    if _EngineGreenlet is not None:
        return
    try:
        import greenlet
    except ImportError as e:
        raise ImportError(GREENLET_MISSING) from e

    class EngineGreenlet(greenlet.greenlet):
        """A greenlet running synchronous engine code for a coroutine (its parent)."""

        # SQLAlchemy's `await_` (lazy loads, AsyncSession internals) may suspend here too: it
        # switches to the parent with the awaitable, exactly as `await_value` does.
        __sqlalchemy_greenlet_provider__ = True

    _getcurrent = greenlet.getcurrent
    _GreenletExit = greenlet.GreenletExit
    _EngineGreenlet = EngineGreenlet


def _engine_context() -> contextvars.Context:
    """The context of an engine greenlet: a copy of the calling task's (host code sees its
    context variables, as in a synchronous call) marking the queries created in it as async."""
    context = contextvars.copy_context()
    context.run(ASYNC_AWAITER.set, _awaiter_here)
    return context


def _awaiter_here() -> Optional[Callable[[Any], Any]]:
    """`Query.awaiter` of a query created in an engine greenlet's context: `await_value`, unless
    the context was carried elsewhere (a task created by host code inside the evaluation)."""
    return await_value if type(_getcurrent()) is _EngineGreenlet else None  # type: ignore[misc]


# Awaiting ------------------------------------------------------------------------------------

def is_awaitable(value: Any) -> bool:
    """Can `value` be awaited (a coroutine, Future, Task, any object with `__await__`)?"""
    t = type(value)
    if t in _PLAIN:
        return False
    if hasattr(t, "__await__"):
        return True
    # A generator-based coroutine (`@types.coroutine`) has no `__await__` but can be awaited.
    return t is types.GeneratorType and bool(value.gi_code.co_flags & CO_ITERABLE_COROUTINE)


def await_value(value: Any) -> Any:
    """`Query.awaiter` of an async query: `value`, awaited if it is awaitable."""
    if type(value) in _PLAIN or not is_awaitable(value):
        return value
    return _suspend(value)


def _suspend(awaitable: Any) -> Any:
    current = _getcurrent()  # type: ignore[misc]
    if type(current) is not _EngineGreenlet:
        _discard(awaitable)
        raise OsoError(
            "an awaitable host value reached a query running outside an async call; use the "
            "*_async methods (e.g. `await oso.is_allowed_async(...)`) to await host values")
    # The driver awaits it in the event loop and switches back with the result, or throws the
    # awaitable's exception in here.
    return current.parent.switch(awaitable)


def await_(awaitable: Any) -> Any:
    """The result of `awaitable`, from synchronous code running inside an async call (a host
    method, an adapter, a decision logger called by an `*_async` method). Raises `OsoError`
    elsewhere: outside an async call there is no event loop to await in."""
    _load()
    return _suspend(awaitable)


def await_if_async(value: Any) -> Any:
    """`value`, awaited if it is awaitable and this runs inside an async call; else unchanged
    (synchronous callers keep their exact behaviour)."""
    if type(value) in _PLAIN or _EngineGreenlet is None or not is_awaitable(value):
        return value
    if type(_getcurrent()) is not _EngineGreenlet:  # type: ignore[misc]
        return value
    return _suspend(value)


def in_async_call() -> bool:
    """Is this code running inside an async call's engine greenlet?"""
    return _EngineGreenlet is not None and type(_getcurrent()) is _EngineGreenlet  # type: ignore[misc]


def _discard(awaitable: Any) -> None:
    """Close a coroutine that will not be awaited (no 'never awaited' warning)."""
    close = getattr(awaitable, "close", None)
    if isinstance(awaitable, types.CoroutineType) and close is not None:
        close()


# Async iteration (`x in obj` where obj has `__aiter__`) ----------------------------------------

def async_items(q: Any, coll: Any, to_polar: Callable[[Any], Any]) -> Iterator[Any]:
    """The items of an async iterable as terms (`to_polar` converts them: the caller, the
    operations module, owns the conversion), each step awaited through `q.awaiter`; an iteration
    stopped early (the first solution was enough) closes the iterator with `aclose()`."""
    awaiter = q.awaiter
    iterator = type(coll).__aiter__(coll)
    anext = type(iterator).__anext__
    finished = False
    steps = 0
    try:
        while True:
            try:
                x = awaiter(anext(iterator))
            except StopAsyncIteration:
                finished = True
                return
            except BaseException:
                finished = True  # the iterator raised (or the wait was cancelled): not resumable
                raise
            steps += 1
            if steps & 1023 == 0:
                q.check_time()
            yield to_polar(x)
    finally:
        if not finished:
            close = getattr(iterator, "aclose", None)
            if close is not None and in_async_call():
                awaiter(close())


# Drivers -------------------------------------------------------------------------------------

# Starting a new greenlet costs ~10 us (its first switch sets up a stack), switching to a
# suspended one well under 1 us: `run_async` reuses idle engine greenlets, kept per thread.
_POOL_SIZE = 16
_local = threading.local()


class _Done:
    """The outcome of a job, handed from an engine greenlet to `run_async` (which clears it, so
    that an idle greenlet keeps no reference to the last job's objects)."""

    __slots__ = ("value", "error")

    def __init__(self) -> None:
        self.value: Any = None
        self.error: Optional[BaseException] = None


def _serve(job: tuple) -> None:
    """An engine greenlet's life: run `(fn, args, kwargs)` jobs for successive callers, handing
    each outcome to the caller (its parent at the time) in a `_Done`, idle in between."""
    while True:
        done = _Done()
        fn, args, kwargs = job
        job = None  # type: ignore[assignment]
        try:
            done.value = fn(*args, **kwargs)
        except _GreenletExit:   # the greenlet itself is being killed (garbage collected)
            raise
        except BaseException as e:   # the caller raises it, as the synchronous call would
            done.error = e
        fn = args = kwargs = None
        job = _getcurrent().parent.switch(done)  # type: ignore[misc]


def _idle_pool() -> list:
    pool = getattr(_local, "pool", None)
    if pool is None:
        pool = _local.pool = []
    return pool


async def run_async(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """`fn(*args, **kwargs)` run in an engine greenlet; its awaitables are awaited here."""
    _load()
    current = _getcurrent()  # type: ignore[misc]
    pool = _idle_pool()
    if pool:
        worker = pool.pop()
        worker.parent = current
    else:
        worker = _EngineGreenlet(_serve, current)
    worker.gr_context = _engine_context()
    message = worker.switch((fn, args, kwargs))
    while type(message) is not _Done:
        if worker.dead:
            raise OsoError("an engine greenlet ended unexpectedly (killed from outside?)")
        message = await _answer(worker, message)
    worker.gr_context = None
    if len(pool) < _POOL_SIZE:
        pool.append(worker)
    error, value = message.error, message.value
    message.error = message.value = None
    if error is not None:
        try:
            raise error
        finally:
            error = None
    return value


def busy_engine_greenlets() -> int:
    """Engine greenlets of this thread that are running or suspended in a call (not idle):
    0 whenever no async call is in progress (tests check that nothing leaks)."""
    import gc
    idle = {id(g) for g in _idle_pool()}
    return sum(1 for g in gc.get_objects()
               if type(g) is _EngineGreenlet and not g.dead and id(g) not in idle)


class _Result:
    """A query result handed from the engine greenlet to `iterate_async`."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


def _produce(factory: Callable[[], Iterator[Any]]) -> None:
    results = factory()
    try:
        for r in results:
            _getcurrent().parent.switch(_Result(r))  # type: ignore[misc]
    finally:
        close = getattr(results, "close", None)
        if close is not None:
            close()


async def iterate_async(factory: Callable[[], Iterator[Any]]) -> AsyncIterator[Any]:
    """Each item of the iterator `factory()` (run in an engine greenlet), as an async generator.

    Leaving the `async for` early leaves the engine suspended until the generator is closed
    (`aclose()`, `contextlib.aclosing`, or garbage collection); closing it closes the query.
    """
    _load()
    child = _EngineGreenlet(_produce, _getcurrent())  # type: ignore[misc]
    child.gr_context = _engine_context()
    message = child.switch(factory)
    try:
        while not child.dead:
            if type(message) is _Result:
                yield message.value
                _reparent(child)
                message = child.switch()
                continue
            message = await _answer(child, message)
    finally:
        if not child.dead:
            # Stopped early: end the engine greenlet where it waits, letting it run its cleanup
            # (which may await: closing an async iterator), then discard what it returns.
            _reparent(child)
            message = child.throw(_GreenletExit)
            while not child.dead:
                if type(message) is _Result:
                    message = child.throw(_GreenletExit)
                    continue
                message = await _answer(child, message)


async def _answer(worker: Any, awaitable: Any) -> Any:
    """Await what the engine greenlet `worker` waits for, hand it the value (or the exception:
    also CancelledError, so the engine unwinds from where it waits, generators closed and
    bindings undone) and return its next message."""
    try:
        value = await awaitable
    except BaseException:
        return worker.throw(*sys.exc_info())
    return worker.switch(value)


def _reparent(child: Any) -> None:
    """The async generator may be resumed from another greenlet than the one it started in."""
    current = _getcurrent()  # type: ignore[misc]
    if child.parent is not current:
        child.parent = current
