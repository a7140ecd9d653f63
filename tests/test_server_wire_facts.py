"""The fast path of fact parsing (`wire.parse_fact_items`) answers exactly as `wire.parse_fact`:
the same facts for well-formed input, the same 400 message for everything else."""

from __future__ import annotations

import pytest

from oso_core.values import Value
from oso_server.errors import BadRequest
from oso_server.wire import parse_fact, parse_fact_items


def v(type_, id_):
    return {"type": type_, "id": id_}


GOOD = [
    {"predicate": "has_role", "args": [v("User", "alice"), v("String", "admin"), v("Org", "acme")]},
    {"predicate": "has_quota", "args": [v("Repo", "r"), v("Integer", "-9223372036854775808")]},
    {"predicate": "is_public", "args": [v("Repo", "r"), v("Boolean", "false"), v("Boolean", "true")]},
    {"predicate": "p", "args": [v("User", ""), v("String", ""), v("T", "tab\tnew\nline\\"), v("A", "1"), v("B", "2")],
     "extra": "ignored"},
    {"predicate": "p", "args": [{"type": "User", "id": "x", "more": 1}]},
]
BAD = [
    "not an object", None, [], {"args": [v("User", "a")]}, {"predicate": "", "args": [v("User", "a")]},
    {"predicate": 3, "args": [v("User", "a")]}, {"predicate": "a\x00b", "args": [v("User", "a")]},
    {"predicate": "p"}, {"predicate": "p", "args": {}}, {"predicate": "p", "args": []},
    {"predicate": "p", "args": [v("User", "a")] * 6}, {"predicate": "p", "args": [None]},
    {"predicate": "p", "args": [v(None, "a")]}, {"predicate": "p", "args": [v("User", None)]},
    {"predicate": "p", "args": [v("", "a")]}, {"predicate": "p", "args": [v("User", 7)]},
    {"predicate": "p", "args": [v(7, "a")]}, {"predicate": "p", "args": [v("Us\x00er", "a")]},
    {"predicate": "p", "args": [v("User", "a\x00")]}, {"predicate": "p", "args": [v("Integer", "3.0")]},
    {"predicate": "p", "args": [v("Integer", str(2 ** 63))]}, {"predicate": "p", "args": [v("Boolean", "True")]},
    {"predicate": "p", "args": [{"id": "a"}]},
]


@pytest.mark.parametrize("item", GOOD)
def test_well_formed_facts_parse_as_parse_fact_does(item):
    assert parse_fact_items([item], "inserts") == [parse_fact(item, "inserts[0]")]


def test_one_entity_is_shared_and_equal_to_a_fresh_one():
    items = [{"predicate": "p", "args": [v("User", "a"), v("User", "a")]}] * 2
    facts = parse_fact_items(items, "inserts")
    assert facts == [("p", Value("User", "a"), Value("User", "a"))] * 2
    assert facts[0][1] is facts[1][2]


@pytest.mark.parametrize("item", BAD)
def test_bad_facts_get_parse_fact_s_message(item):
    with pytest.raises(BadRequest) as expected:
        parse_fact(item, "inserts[1]")
    with pytest.raises(BadRequest) as got:
        parse_fact_items([GOOD[0], item], "inserts")
    assert str(got.value) == str(expected.value)
