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
