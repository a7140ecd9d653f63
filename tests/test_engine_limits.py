"""oso_core-specific limits: recursion depth follows Python's recursion limit."""

import sys

import pytest

from engine_under_test import LEGACY, Oso, exceptions as E

pytestmark = pytest.mark.skipif(LEGACY, reason="oso_core's recursion limit, not legacy's goal stack")

COUNT = "count(0); count(n) if n > 0 and count(n - 1);"


def test_deep_recursion_is_a_stack_overflow_error_not_recursion_error(monkeypatch):
    monkeypatch.setenv("POLAR_IGNORE_NO_ALLOW_WARNING", "1")
    oso = Oso()
    oso.load_str(COUNT)
    assert oso.query_rule_once("count", 100)
    with pytest.raises(E.StackOverflowError) as info:
        oso.query_rule_once("count", 10_000)
    assert info.value.message.startswith("Goal stack overflow!")


def test_raising_the_recursion_limit_allows_deeper_recursion(monkeypatch):
    monkeypatch.setenv("POLAR_IGNORE_NO_ALLOW_WARNING", "1")
    oso = Oso()
    oso.load_str(COUNT)
    with pytest.raises(E.StackOverflowError):
        oso.query_rule_once("count", 600)
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(4000)
    try:
        assert oso.query_rule_once("count", 600)
    finally:
        sys.setrecursionlimit(old)


def test_traced_error_without_frames_formats_its_own_location():
    """A type error raised outside any rule call still gets a trace with its own term."""
    from oso_core.frontend.source import Source, Span
    from oso_core.runtime.errors import type_error

    source = Source("x = 1 and x.a", None)
    public = type_error("can only perform lookups on dicts and instances, this is 1",
                        Span(source, 10, 13)).to_public()
    assert isinstance(public, E.PolarTypeError)
    assert public.message.startswith("trace (most recent evaluation last):\n  000: x.a\n    in query at line 1, column 11\n")
    assert "Type error: can only perform lookups" in public.message
