"""Async decisions (docs/async.md): the `*_async` methods of `Oso` and `Polar` await host values
that are awaitable, and give the same results and errors as the synchronous methods.

The host here is a set of record classes, each in two versions: `Record` subclasses with plain
attributes, and `AsyncRecord` subclasses (registered under the same names) whose every field read
is an awaitable. `later()` makes the awaitables, cycling through every kind the engine accepts:
coroutines, Futures, Tasks, objects with `__await__`, and `@types.coroutine` generators.
"""

from __future__ import annotations

import asyncio
import contextvars
import gc
import itertools
import random
import sys
import threading
import types

import pytest

pytest.importorskip("greenlet")
pytest.importorskip("pytest_asyncio")

from engine_under_test import LEGACY  # noqa: E402
from oso_core import Oso, Polar, Variable  # noqa: E402
from oso_core import exceptions as exc  # noqa: E402
from oso_core.runtime import async_bridge  # noqa: E402
from oso_core.runtime.async_bridge import await_, in_async_call  # noqa: E402
from oso_core.runtime.solver import Query  # noqa: E402

pytestmark = pytest.mark.skipif(LEGACY, reason="async decisions are an oso_core API")


# Awaitables of every kind -------------------------------------------------------------------

class Awaitable:
    """An object with `__await__` (neither a coroutine nor a Future)."""

    def __init__(self, value, delay=0.0):
        self.value = value
        self.delay = delay

    def __await__(self):
        yield from asyncio.sleep(self.delay).__await__()
        return self.value


@types.coroutine
def _generator_coroutine(value, delay):
    yield from asyncio.sleep(delay).__await__()
    return value


async def _coroutine(value, delay):
    await asyncio.sleep(delay)
    return value


async def _raising(error, delay):
    await asyncio.sleep(delay)
    raise error


def _future(value, delay):
    future = asyncio.get_running_loop().create_future()
    asyncio.get_running_loop().call_later(delay, future.set_result, value)
    return future


def _task(value, delay):
    return asyncio.ensure_future(_coroutine(value, delay))


KINDS = [_coroutine, _future, lambda v, d: Awaitable(v, d), _generator_coroutine, _task]
_kind = itertools.cycle(range(len(KINDS)))
DELAY = {"max": 0.0}   # the concurrency tests make the awaits take random time
AWAITS = {"count": 0}


def later(value):
    """`value` as an awaitable of the next kind (a real suspension of up to DELAY["max"] s)."""
    AWAITS["count"] += 1
    delay = random.uniform(0, DELAY["max"]) if DELAY["max"] else 0
    if isinstance(value, BaseException):
        return _raising(value, delay)
    return KINDS[next(_kind)](value, delay)


# Records, sync and async ----------------------------------------------------------------------

class Record:
    """Plain attributes; a callable field is a method."""

    def __init__(self, **fields):
        self.__dict__.update(fields)

    def __repr__(self):
        shown = {k: v for k, v in self.__dict__.items() if isinstance(v, (str, int, bool))}
        return f"{type(self).__name__}({shown})"


class AsyncRecord:
    """Every field read is an awaitable; a callable field is an `async def`-like method (its
    call returns an awaitable); a field holding an exception raises it when awaited."""

    def __init__(self, **fields):
        self._fields = fields

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        fields = self.__dict__["_fields"]
        if name not in fields:
            return later(AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'"))
        value = fields[name]
        if callable(value) and not isinstance(value, type):
            return lambda *args, **kwargs: later(value(*args, **kwargs))
        return later(value)

    def __repr__(self):
        shown = {k: v for k, v in self._fields.items() if isinstance(v, (str, int, bool))}
        return f"{type(self).__name__}({shown})"


def classes(base, names=("User", "Doc", "Role", "Request", "Org")):
    return {name: type(name, (base,), {}) for name in names}


SYNC = classes(Record)
ASYNC = classes(AsyncRecord)


POLICY = """
allow(u: User, "read", d: Doc) if d.owner = u.name;
allow(u: User, action: String, d: Doc) if
    role in u.roles() and role.doc = d.id and action in role.actions;
allow(u: User, "admin", _d: Doc) if u.org matches Org{name: "acme"};
allow(_u: User{admin: true}, "delete", _d: Doc);
allow(u: User, "tagged", d: Doc) if tag in d.tags() and tag in u.tags;
allow(u: User, "boom", _d: Doc) if u.explode();
allow(u: User, "missing", _r: Request) if u.nothing = 1;
allow_request(u: User, req: Request) if req.path.startswith("/public") or req.owner = u.name;
allow_field(_u: User, "read", d: Doc, field) if field in d.public_fields;
allow_field(u: User, "write", d: Doc, "title") if d.owner = u.name;
allow_field(u: User, "any", _d: Doc, _field) if u.admin = true;
"""


def world(kind):
    """Users, docs and requests built from the `kind` classes (SYNC or ASYNC)."""
    C = kind
    acme, other = C["Org"](name="acme"), C["Org"](name="other")

    def roles(*pairs):
        items = [C["Role"](doc=doc, actions=actions) for doc, actions in pairs]
        return lambda: items

    def tags(*names):
        return lambda: iter(names)   # a host iterator (not a list)

    users = [
        C["User"](name="alice", roles=roles((1, ["edit", "share"])), org=acme, admin=False, tags=["x"],
                  explode=lambda: True),
        C["User"](name="bob", roles=roles(), org=other, admin=True, tags=["y"], explode=lambda: 1 / 0),
        C["User"](name="carol", roles=roles((2, ["edit"]), (1, ["comment"])), org=acme, admin=False,
                  tags=[], explode=lambda: 1),   # not a boolean: a type error
    ]
    docs = [C["Doc"](id=1, owner="alice", public_fields=["title"], tags=tags("x", "y")),
            C["Doc"](id=2, owner="bob", public_fields=[], tags=tags())]
    requests = [C["Request"](path="/public/a", owner="nobody"), C["Request"](path="/private", owner="bob")]
    return users, docs, requests


def make_oso(kind, policy=POLICY):
    oso = Oso()
    for name, cls in kind.items():
        oso.register_class(cls, name=name)
    oso.load_str(policy)
    return oso


def outcome(thunk):
    """('ok', value) or ('error', type, message), messages without object reprs/addresses."""
    try:
        value = thunk()
    except Exception as e:   # noqa: BLE001
        message = str(e).split("\n")
        return ("error", type(e).__name__, [m for m in message if "Record(" not in m and "User(" not in m])
    if isinstance(value, set):
        value = sorted(value)
    return ("ok", value)


def _reraise(error):
    raise error


async def async_outcome(coro):
    """`outcome` of an awaited call."""
    try:
        value = await coro
    except Exception as e:   # noqa: BLE001
        error = e
        return outcome(lambda: _reraise(error))
    return outcome(lambda: value)


ACTIONS = ["read", "edit", "share", "comment", "admin", "delete", "tagged", "boom", "missing", "nope"]


# The API ------------------------------------------------------------------------------------

@pytest.mark.asyncio
async def test_every_decision_method_equals_sync():
    sync_oso, async_oso = make_oso(SYNC), make_oso(ASYNC)
    s_users, s_docs, s_reqs = world(SYNC)
    a_users, a_docs, a_reqs = world(ASYNC)
    AWAITS["count"] = 0
    compared = 0
    for (su, au) in zip(s_users, a_users):
        for (sd, ad) in zip(s_docs, a_docs):
            for action in ACTIONS:
                pairs = [
                    (lambda: sync_oso.is_allowed(su, action, sd), async_oso.is_allowed_async(au, action, ad)),
                    (lambda: sync_oso.authorize(su, action, sd), async_oso.authorize_async(au, action, ad)),
                    (lambda: sync_oso.authorize(su, action, sd, check_read=False),
                     async_oso.authorize_async(au, action, ad, check_read=False)),
                    (lambda: sync_oso.authorize_field(su, action, sd, "title"),
                     async_oso.authorize_field_async(au, action, ad, "title")),
                    (lambda: sync_oso.authorized_fields(su, action, sd),
                     async_oso.authorized_fields_async(au, action, ad)),
                    (lambda: sync_oso.authorized_fields(su, action, sd, allow_wildcard=True),
                     async_oso.authorized_fields_async(au, action, ad, allow_wildcard=True)),
                ]
                for sync_call, async_call in pairs:
                    assert await async_outcome(async_call) == outcome(sync_call), (su, action, sd)
                    compared += 1
            for sync_call, async_call in [
                    (lambda: sync_oso.authorized_actions(su, sd), async_oso.authorized_actions_async(au, ad)),
                    (lambda: sync_oso.authorized_actions(su, sd, True), async_oso.authorized_actions_async(au, ad, True))]:
                assert await async_outcome(async_call) == outcome(sync_call)
                compared += 1
        for (sr, ar) in zip(s_reqs, a_reqs):
            assert (await async_outcome(async_oso.authorize_request_async(au, ar))
                    == outcome(lambda: sync_oso.authorize_request(su, sr)))
            assert (await async_outcome(async_oso.is_allowed_async(au, "missing", ar))
                    == outcome(lambda: sync_oso.is_allowed(su, "missing", sr)))
            compared += 2
    assert compared == 3 * 2 * len(ACTIONS) * 6 + 3 * 2 * 2 + 3 * 2 * 2
    assert AWAITS["count"] > 500
    assert await async_outcome(async_oso.is_allowed_async(a_users[1], "boom", a_docs[0])) == (
        "error", "ZeroDivisionError", ["division by zero"])


@pytest.mark.asyncio
async def test_results_and_errors_in_detail():
    oso = make_oso(ASYNC)
    (alice, bob, carol), (doc1, doc2), (public, private) = world(ASYNC)
    assert await oso.is_allowed_async(alice, "read", doc1) is True
    assert await oso.is_allowed_async(bob, "read", doc1) is False
    assert await oso.authorized_actions_async(alice, doc1) == {"read", "edit", "share", "admin", "tagged", "boom"}
    with pytest.raises(exc.PolarTypeError, match="1 isn't something that is true or false"):
        await oso.authorized_actions_async(carol, doc1)   # her `explode()` is 1
    with pytest.raises(exc.NotFoundError):
        await oso.authorize_async(bob, "edit", doc1)
    with pytest.raises(exc.ForbiddenError):
        await oso.authorize_async(alice, "nope", doc1)   # she may read it
    with pytest.raises(exc.ForbiddenError):
        await oso.authorize_async(carol, "edit", doc1, check_read=False)
    await oso.authorize_async(carol, "comment", doc1, check_read=False)
    await oso.authorize_request_async(alice, public)
    with pytest.raises(exc.ForbiddenError):
        await oso.authorize_request_async(alice, private)
    assert await oso.authorized_fields_async(alice, "read", doc1) == {"title"}
    assert await oso.authorized_fields_async(bob, "any", doc1, allow_wildcard=True) == {"*"}
    with pytest.raises(exc.OsoError, match="unconstrained"):
        await oso.authorized_fields_async(bob, "any", doc1)
    # A host error raised by an awaited method surfaces as itself, as in sync.
    with pytest.raises(ZeroDivisionError):
        await oso.is_allowed_async(bob, "boom", doc1)
    # A missing attribute raised when awaited is an application error, as a sync property's.
    with pytest.raises(exc.PolarRuntimeError, match="Application error: 'User' object has no attribute 'nothing'"):
        await oso.is_allowed_async(alice, "missing", public)


@pytest.mark.asyncio
async def test_polar_query_async():
    polar = Polar()
    for name, cls in ASYNC.items():
        polar.register_class(cls, name=name)
    polar.load_str("f(u, x) if x in u.items; g(u, x) if x in u.gen(); h(x) if x = 1 or x = 2;")
    user = ASYNC["User"](items=[3, 1, 2], gen=lambda: iter([5, 6]))
    results = polar.query_rule_async("f", user, Variable("x"))
    assert [r["bindings"]["x"] async for r in results] == [3, 1, 2]
    assert [r["bindings"] async for r in polar.query_async("h(x)")] == [{"x": 1}, {"x": 2}]
    assert [r["bindings"]["x"] async for r in polar.query_rule_async("g", user, Variable("x"))] == [5, 6]
    assert await polar.query_rule_once_async("f", user, 2) is True
    assert await polar.query_rule_once_async("f", user, 9) is False
    assert await polar.query_rule_once_async("f", user, 2, bindings={}) is True
    with pytest.raises(exc.InvalidQueryTypeError):
        [r async for r in polar.query_async(42)]
    with pytest.raises(exc.ParserError):
        [r async for r in polar.query_async("f(")]


# Where awaitables may appear -------------------------------------------------------------------

class Props:
    def __init__(self):
        self.log = []

    @property
    async def name(self):
        await asyncio.sleep(0)
        return "alice"

    async def roles(self, kind="all"):
        await asyncio.sleep(0)
        return ["admin"] if kind == "all" else []

    @classmethod
    async def default_role(cls):
        await asyncio.sleep(0)
        return "admin"

    async def role_stream(self):
        try:
            for r in ["reader", "admin", "owner"]:
                await asyncio.sleep(0)
                self.log.append(r)
                yield r
        finally:
            self.log.append("closed")

    def awaitable_items(self):
        return iter([later("reader"), later("admin")])


class AsyncCounter:
    """An async iterator object (`__aiter__` / `__anext__`), not a generator."""

    def __init__(self, n):
        self.n = n
        self.i = 0

    def __aiter__(self):
        return self

    async def __anext__(self):
        await asyncio.sleep(0)
        if self.i >= self.n:
            raise StopAsyncIteration
        self.i += 1
        return self.i


@pytest.mark.asyncio
async def test_awaitable_host_values_everywhere():
    polar = Polar()
    polar.register_class(Props)
    polar.register_class(AsyncCounter)
    polar.load_str("""
        name(p: Props, n) if n = p.name;
        role(p: Props, r) if r in p.roles();
        kw_role(p: Props, r) if r in p.roles(kind: "none");
        default(r) if r = Props.default_role();
        streamed(p: Props, r) if r in p.role_stream();
        first_admin(p: Props) if "admin" in p.role_stream();
        awaited_items(p: Props, r) if r in p.awaitable_items();
        counted(c: AsyncCounter, x) if x in c;
        matched(p) if p matches Props{name: "alice"};
        spec(_p: Props{name: "alice"});
    """)
    p = Props()

    async def all_of(name, *args):
        return [r["bindings"] async for r in polar.query_rule_async(name, *args)]

    assert await all_of("name", p, Variable("n")) == [{"n": "alice"}]
    assert await all_of("role", p, Variable("r")) == [{"r": "admin"}]
    assert await all_of("kw_role", p, Variable("r")) == []
    assert await all_of("default", Variable("r")) == [{"r": "admin"}]
    assert await all_of("streamed", p, Variable("r")) == [{"r": "reader"}, {"r": "admin"}, {"r": "owner"}]
    assert p.log == ["reader", "admin", "owner", "closed"]
    p.log.clear()
    # The first solution is enough: the async generator is closed (aclose awaited) right away.
    assert await polar.query_rule_once_async("first_admin", p) is True
    assert p.log == ["reader", "admin", "closed"]
    assert await all_of("awaited_items", p, Variable("r")) == [{"r": "reader"}, {"r": "admin"}]
    assert await all_of("counted", AsyncCounter(3), Variable("x")) == [{"x": 1}, {"x": 2}, {"x": 3}]
    assert await all_of("matched", p) == [{}]
    assert await all_of("spec", p) == [{}]


@pytest.mark.asyncio
async def test_sync_calls_are_unchanged():
    """The sync API never awaits: a coroutine attribute is a value (as before this feature)."""
    polar = Polar()
    polar.register_class(Props)
    polar.load_str('name(p: Props) if p.name = "alice";')
    with pytest.warns(RuntimeWarning, match="never awaited"):
        assert polar.query_rule_once("name", Props()) is False
        gc.collect()
    assert await polar.query_rule_once_async("name", Props()) is True
    assert Query(polar._current_kb()).awaiter is None   # created outside an async call


# Errors ----------------------------------------------------------------------------------------

class Failing:
    @property
    async def attr(self):
        await asyncio.sleep(0)
        raise KeyError("attr")

    @property
    async def missing(self):
        await asyncio.sleep(0)
        raise AttributeError("no such thing")

    async def method(self):
        await asyncio.sleep(0)
        raise ValueError("method failed")

    async def items(self):
        yield 1
        await asyncio.sleep(0)
        raise RuntimeError("iteration failed")


@pytest.mark.asyncio
async def test_awaited_exceptions_surface_like_sync_ones():
    oso = Oso()
    oso.register_class(Failing)
    oso.load_str("""
        allow(f: Failing, "attr", _) if f.attr = 1;
        allow(f: Failing, "missing", _) if f.missing = 1;
        allow(f: Failing, "method", _) if f.method();
        allow(f: Failing, "items", _) if x in f.items() and x = 2;
    """)
    f = Failing()
    with pytest.raises(KeyError, match="attr"):
        await oso.is_allowed_async(f, "attr", 1)
    with pytest.raises(exc.PolarRuntimeError, match="Application error: no such thing"):
        await oso.is_allowed_async(f, "missing", 1)
    with pytest.raises(ValueError, match="method failed"):
        await oso.is_allowed_async(f, "method", 1)
    with pytest.raises(RuntimeError, match="iteration failed"):
        await oso.is_allowed_async(f, "items", 1)
    # The engine is fine afterwards, and nothing is left running.
    assert await oso.is_allowed_async(f, "other", 1) is False
    assert live_engine_greenlets() == 0


def live_engine_greenlets():
    """Engine greenlets running or suspended in a call (idle pooled ones do not count)."""
    gc.collect()
    return async_bridge.busy_engine_greenlets()


class Slow:
    def __init__(self):
        self.state = []

    async def check(self):
        self.state.append("started")
        try:
            await asyncio.sleep(10)
        finally:
            self.state.append("cleaned")
        return True

    async def stream(self):
        try:
            yield 1
            await asyncio.sleep(10)
            yield 2
        finally:
            self.state.append("stream closed")


@pytest.mark.asyncio
async def test_cancellation_unwinds_the_engine():
    oso = Oso()
    oso.register_class(Slow)
    oso.load_str("""
        allow(s: Slow, "check", _) if s.check();
        allow(s: Slow, "stream", _) if x in s.stream() and x = 2;
    """)
    s = Slow()
    task = asyncio.ensure_future(oso.is_allowed_async(s, "check", 1))
    await asyncio.sleep(0.01)
    assert s.state == ["started"]
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert s.state == ["started", "cleaned"]
    # wait_for's timeout cancels the decision the same way.
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(oso.is_allowed_async(s, "stream", 1), 0.01)
    assert s.state[-1] == "stream closed"
    assert live_engine_greenlets() == 0
    # The engine and the loop are fine afterwards.
    assert await oso.is_allowed_async(s, "other", 1) is False


@pytest.mark.asyncio
async def test_leaving_a_query_early_closes_it():
    polar = Polar()
    polar.register_class(Slow)
    polar.load_str("f(s, x) if x in s.stream();")
    s = Slow()
    results = polar.query_rule_async("f", s, Variable("x"))
    first = await results.__anext__()
    assert first["bindings"] == {"x": 1}
    assert live_engine_greenlets() == 1   # suspended until closed
    await results.aclose()
    assert s.state == ["stream closed"]
    assert live_engine_greenlets() == 0


@pytest.mark.asyncio
async def test_cancelling_an_async_query():
    polar = Polar()
    polar.register_class(Slow)
    polar.load_str("f(s, x) if x in s.stream();")
    s = Slow()

    async def consume():
        return [r async for r in polar.query_rule_async("f", s, Variable("x"))]
    task = asyncio.ensure_future(consume())
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert s.state == ["stream closed"]
    assert live_engine_greenlets() == 0


# Host code inside async calls ----------------------------------------------------------------------

REQUEST_USER = contextvars.ContextVar("request_user", default=None)


class Ctx:
    def __init__(self, oso=None):
        self.oso = oso

    def current_user(self):
        return REQUEST_USER.get()

    def blocking_style(self):
        # Synchronous host code awaiting through the bridge.
        assert in_async_call()
        return await_(asyncio.sleep(0, result="awaited"))

    async def nested(self):
        # An awaited host coroutine making its own async decision.
        return await self.oso.is_allowed_async(Ctx(self.oso), "user", "alice")


@pytest.mark.asyncio
async def test_host_code_sees_context_and_may_await():
    oso = Oso()
    oso.register_class(Ctx)
    oso.load_str("""
        allow(c: Ctx, "user", name) if c.current_user() = name;
        allow(c: Ctx, "await", _) if c.blocking_style() = "awaited";
        allow(c: Ctx, "nested", _) if c.nested();
    """)
    ctx = Ctx(oso)
    REQUEST_USER.set("alice")
    assert await oso.is_allowed_async(ctx, "user", "alice") is True
    assert oso.is_allowed(ctx, "user", "alice") is True
    assert await oso.is_allowed_async(ctx, "await", None) is True
    assert await oso.is_allowed_async(ctx, "nested", None) is True
    assert not in_async_call()
    with pytest.raises(exc.OsoError, match="outside an async call"):
        await_(asyncio.sleep(0))
    coro = asyncio.sleep(0)
    with pytest.raises(exc.OsoError):
        await_(coro)
    assert coro.cr_frame is None   # closed, no "never awaited" warning


@pytest.mark.asyncio
async def test_decision_logger_records_async_decisions():
    decisions = []
    oso = make_oso(ASYNC)
    oso.set_decision_logger(decisions.append)
    (alice, bob, _), (doc1, _), _ = world(ASYNC)
    assert await oso.is_allowed_async(alice, "read", doc1) is True
    with pytest.raises(exc.NotFoundError):
        await oso.authorize_async(bob, "edit", doc1)
    assert [(d.method, d.allowed) for d in decisions] == [("is_allowed", True), ("authorize", False)]


@pytest.mark.asyncio
async def test_stack_overflow_is_the_same_error():
    oso = Oso()
    oso.load_str("deep(0); deep(n) if deep(n - 1);")
    with pytest.raises(exc.StackOverflowError) as sync_error:
        oso.query_rule_once("deep", 100000)
    with pytest.raises(exc.StackOverflowError) as async_error:
        await oso.query_rule_once_async("deep", 100000)
    assert str(async_error.value) == str(sync_error.value)
    assert await oso.query_rule_once_async("deep", 50) is True


def test_sync_and_async_in_threads_at_once():
    """Async mode belongs to the query (its greenlet): sync decisions in other threads, and
    event loops in other threads, run at the same time without seeing each other's mode."""
    sync_oso, async_oso = make_oso(SYNC), make_oso(ASYNC)
    s_users, s_docs, _ = world(SYNC)
    a_users, a_docs, _ = world(ASYNC)
    expected = [outcome(lambda: sync_oso.is_allowed(u, a, d)) for u in s_users for d in s_docs for a in ACTIONS]
    errors = []

    def sync_worker():
        for _ in range(20):
            got = [outcome(lambda: sync_oso.is_allowed(u, a, d)) for u in s_users for d in s_docs for a in ACTIONS]
            if got != expected:
                errors.append("sync differs")

    def async_worker():
        async def main():
            for _ in range(5):
                got = await asyncio.gather(*[async_outcome(async_oso.is_allowed_async(u, a, d))
                                             for u in a_users for d in a_docs for a in ACTIONS])
                if list(got) != expected:
                    errors.append("async differs")
        asyncio.run(main())

    threads = [threading.Thread(target=w) for w in (sync_worker, async_worker, sync_worker, async_worker)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_missing_greenlet_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(async_bridge, "_EngineGreenlet", None)
    monkeypatch.setitem(sys.modules, "greenlet", None)   # `import greenlet` raises ImportError
    oso = Oso()
    oso.load_str("allow(_, _, _);")
    assert oso.is_allowed(1, 2, 3) is True   # the sync API does not need greenlet
    with pytest.raises(ImportError, match=r"pip install 'oso-core\[asyncio\]'"):
        asyncio.run(oso.is_allowed_async(1, 2, 3))
    assert "greenlet" not in sys.modules or sys.modules["greenlet"] is None


def test_importing_oso_core_does_not_import_greenlet():
    import subprocess
    code = ("import sys, oso_core, oso_core.oso, oso_core.polar, oso_core.runtime.async_bridge; "
            "oso = oso_core.Oso(); oso.load_str('allow(_, _, _);'); assert oso.is_allowed(1, 2, 3); "
            "print('greenlet' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


class AsyncListAdapter:
    """A custom data-filtering adapter (legacy protocol) whose `execute_query` is `async def`."""

    def __init__(self, rows):
        self.rows = rows
        self.filters = []

    def build_query(self, data_filter):
        self.filters.append(data_filter)
        return data_filter

    async def execute_query(self, query):
        await asyncio.sleep(0)
        return [r for r in self.rows if r.owner == "alice"]


@pytest.mark.asyncio
async def test_async_custom_adapter_and_awaitable_actor_in_filtering():
    oso = Oso()
    oso.register_class(SYNC["Doc"], name="Doc")
    oso.register_class(ASYNC["User"], name="User")
    oso.load_str('allow(u: User, "read", d: Doc) if d.owner = u.name;')
    docs = [SYNC["Doc"](owner="alice"), SYNC["Doc"](owner="bob")]
    adapter = AsyncListAdapter(docs)
    oso.set_data_filtering_adapter(adapter)
    alice = ASYNC["User"](name="alice")
    AWAITS["count"] = 0
    assert await oso.authorized_resources_async(alice, "read", SYNC["Doc"]) == [docs[0]]
    assert AWAITS["count"] == 1   # the actor's name, read while building the filter
    condition = adapter.filters[-1].conditions[0][0]
    assert (condition.left.field, condition.cmp, condition.right) == ("owner", "Eq", "alice")
    query = await oso.authorized_query_async(alice, "read", SYNC["Doc"])
    assert query is adapter.filters[-1]
