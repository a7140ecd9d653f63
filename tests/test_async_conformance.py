"""Every conformance case (tests/conformance/oso-spec), run through the async API with the fixture
classes' attribute reads, method calls and iteration turned into awaitables, gives the same
results and the same errors as the synchronous engine with the plain fixture classes.

How the host becomes async: each fixture class `C` gets an *async twin*, a subclass registered
under the same name (twins of subclasses derive from the twins of their bases, so `matches` and
rule ordering see the same hierarchy). When the engine reads an attribute of a twin instance or
class (`x.attr`, `x.method(...)`, `Class.method(...)`, a field of a `Class{field: ...}` pattern),
it gets a coroutine instead of the value: a data attribute is a coroutine resolving to the value
(after a real suspension, `asyncio.sleep(0)`), a method is a function returning such a coroutine
(results that are fixture instances become twins), a missing attribute is a coroutine raising the
same AttributeError when awaited. `IterableClass` twins are not iterable synchronously
(`__iter__ = None`); they are async iterables (an async generator). The fixtures' own code, and
dunder methods (`__eq__`, `__lt__`, `__repr__`...), see plain attributes.

Cases: the 7 spec files hold 84 cases. All 80 with a `query` run, through `query_rule_async`
(cases with `input`) or `query_async` (the others), and the outcome -- the list of results, or
the error's type and message -- must equal the sync engine's. The 4 excluded cases are
errors.yml::0-3: they have no query (each is a policy that fails to load, and loading is
synchronous; there is nothing to run asynchronously). The sync engine is the reference for every
case, so the two parse-error cases and `is_integer(false)` (special-cased in test_conformance.py
against the YAML) need no special handling here; test_conformance.py checks the sync engine
against the YAML. 36 of the 80 cases actually await host values (`test_host_cases_awaited`);
the rest touch no host attribute, method or iterator (data_types.yml, basic.yml: values only;
`new X()` with nothing read; class specializers without fields).
"""
from __future__ import annotations

import asyncio
import gc
import re
import sys

import pytest

pytest.importorskip("greenlet")

from engine_under_test import LEGACY, Oso, exceptions  # noqa: E402
from fixtures.conformance_classes import CLASSES  # noqa: E402
from test_conformance import CASES, _policy_text, _to_input  # noqa: E402

pytestmark = pytest.mark.skipif(LEGACY, reason="async decisions are an oso_core API")


# Async twins of the fixture classes ----------------------------------------------------------

AWAITED = {"count": 0}   # awaitables the engine awaited (reset per case)


def _engine_reads() -> bool:
    """Is the attribute read done by the engine (not by fixture code or the test itself)?"""
    return sys._getframe(2).f_globals.get("__name__", "").startswith("oso_core")


async def _later(value):
    await asyncio.sleep(0)
    AWAITED["count"] += 1
    return _twin(value)


async def _raise_later(error):
    await asyncio.sleep(0)
    AWAITED["count"] += 1
    raise error


def _async_callable(fn):
    def call(*args, **kwargs):
        async def run():
            await asyncio.sleep(0)
            AWAITED["count"] += 1
            return _twin(fn(*args, **kwargs))
        return run()
    return call


def _asyncify(value):
    return _async_callable(value) if callable(value) else _later(value)


class AsyncMeta(type):
    def __getattribute__(cls, name):
        if name.startswith("_") or not _engine_reads():
            return type.__getattribute__(cls, name)
        try:
            value = type.__getattribute__(cls, name)
        except AttributeError as e:
            return _raise_later(e)
        return _asyncify(value)


def _instance_getattribute(self, name):
    if name.startswith("_") or not _engine_reads():
        return object.__getattribute__(self, name)
    try:
        value = object.__getattribute__(self, name)
    except AttributeError as e:
        return _raise_later(e)
    return _asyncify(value)


async def _async_elems(self):
    for x in self.elems:
        await asyncio.sleep(0)
        AWAITED["count"] += 1
        yield x


TWINS: dict = {}


def _make_twin(cls):
    if cls in TWINS:
        return TWINS[cls]
    bases = tuple(_make_twin(b) for b in cls.__bases__ if b in CLASSES.values()) + (cls,)
    namespace = {"__getattribute__": _instance_getattribute, "__qualname__": cls.__qualname__,
                 "__module__": cls.__module__}
    if "__iter__" in cls.__dict__:
        namespace["__iter__"] = None          # not iterable synchronously ...
        namespace["__aiter__"] = _async_elems  # ... only asynchronously
    twin = AsyncMeta(cls.__name__, bases, namespace)
    TWINS[cls] = twin
    return twin


for _cls in CLASSES.values():
    _make_twin(_cls)

ASYNC_CLASSES = {name: TWINS[cls] for name, cls in CLASSES.items()}


def _twin(value):
    """A fixture instance returned by fixture code, as its twin (same object, twin class)."""
    twin = TWINS.get(type(value))
    if twin is not None:
        value.__class__ = twin
    return value


def _to_async_input(value):
    if isinstance(value, dict) and "type" in value:
        return ASYNC_CLASSES[value["type"]](*(value.get("args") or []), **(value.get("kwargs") or {}))
    return _to_input(value)


# Running a case both ways ---------------------------------------------------------------------

_ADDRESS = re.compile(r"0x[0-9a-fA-F]+")


def _normal(value):
    """Results compared by value; host objects by type name and repr (twin vs plain instance)."""
    if isinstance(value, (list, tuple)):
        return [_normal(v) for v in value]
    if isinstance(value, dict):
        return {k: _normal(v) for k, v in value.items()}
    if value is None or isinstance(value, (bool, int, float, str)):
        return (type(value).__name__, value)
    return (type(value).__name__, _ADDRESS.sub("0x", repr(value)))


def _outcome(thunk):
    try:
        return ("ok", _normal(thunk()))
    except Exception as e:   # noqa: BLE001 -- any error must be the same error
        return ("error", type(e).__name__, _ADDRESS.sub("0x", str(e)))


def _oso(classes, spec, case):
    oso = Oso()
    for name, cls in classes.items():
        oso.register_class(cls, name=name)
    oso.load_str(_policy_text(spec, case))
    return oso


def _sync(spec, case):
    oso = _oso(CLASSES, spec, case)
    if "input" in case:
        results = oso.query_rule(case["query"], *[_to_input(v) for v in case["input"]])
    else:
        results = oso.query(case["query"])
    return [r["bindings"] for r in results]


def _async(spec, case):
    oso = _oso(ASYNC_CLASSES, spec, case)

    async def run():
        if "input" in case:
            results = oso.query_rule_async(case["query"], *[_to_async_input(v) for v in case["input"]])
        else:
            results = oso.query_async(case["query"])
        return [r["bindings"] async for r in results]
    return asyncio.run(run())


QUERY_CASES = [p for p in CASES if p.values[1].get("query") is not None]
LOAD_ONLY_CASES = [p for p in CASES if p.values[1].get("query") is None]
AWAITING_CASES: set = set()   # ids of the cases whose async run awaited host values
RAN_CASES: set = set()


@pytest.mark.parametrize("spec,case", [pytest.param(*p.values, id=p.id) for p in QUERY_CASES])
def test_case_async_equals_sync(spec, case, request):
    expected = _outcome(lambda: _sync(spec, case))
    AWAITED["count"] = 0
    actual = _outcome(lambda: _async(spec, case))
    assert actual == expected
    RAN_CASES.add(request.node.callspec.id)
    if AWAITED["count"]:
        AWAITING_CASES.add(request.node.callspec.id)


def test_case_selection():
    """All cases run except the load-only ones, which have no query to run."""
    assert len(CASES) == 84
    assert [p.id for p in LOAD_ONLY_CASES] == [f"errors.yml::{i}" for i in range(4)]
    assert len(QUERY_CASES) == 80
    for p in LOAD_ONLY_CASES:
        assert "err" in p.values[1], p.id   # a load error: nothing asynchronous in it


def test_twins_are_async():
    """The twins really are async: the engine must await to read them; sync evaluation cannot."""
    oso = _oso(ASYNC_CLASSES, {}, {"load": 'eq(x) if x.StringAttr = "abc";\nf(c) if _x in c;'})
    vf = ASYNC_CLASSES["ValueFactory"]()
    with pytest.warns(RuntimeWarning, match="never awaited"):
        assert list(oso.query_rule("eq", vf)) == []   # the sync engine sees a coroutine
        gc.collect()
    it = ASYNC_CLASSES["IterableClass"]([1, 2])
    with pytest.raises(exceptions.OsoError, match="is not iterable"):
        list(oso.query_rule("f", it))

    async def collect(results):
        return [r["bindings"] async for r in results]
    assert asyncio.run(collect(oso.query_rule_async("eq", vf))) == [{}]
    assert asyncio.run(collect(oso.query_rule_async("f", it))) == [{}, {}]


def test_host_cases_awaited():
    """Runs after the case tests (same module, defined later): every case that reads a host
    attribute, calls a host method or iterates a host object awaited. The others (data_types,
    basic: values only; `new X()` with no read; class specializers without fields) need not."""
    if len(RAN_CASES) < len(QUERY_CASES):
        pytest.skip("not every case ran in this session")
    by_file: dict = {}
    for case_id in AWAITING_CASES:
        name = case_id.split("::")[0]
        by_file[name] = by_file.get(name, 0) + 1
    assert by_file == {"errors.yml": 1, "host_classes.yml": 9, "host_specializers.yml": 9,
                       "iterators.yml": 4, "operators.yml": 13}
