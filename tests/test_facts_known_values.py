"""Values a store has committed are not sent again (oso_core.facts.known_values); a value is
remembered only once its transaction committed, and a colliding value is never taken for a
remembered one."""

from __future__ import annotations

import pytest
from sqlalchemy import select

import fixtures.fact_stores as fact_stores
from oso_core.facts import FactStoreError
from oso_core.facts.known_values import KnownValues
from oso_core.facts.schema import value_id, values_table
from oso_core.values import Value

database, make_store = fact_stores.database, fact_stores.make_store   # pytest fixtures

POLICY = 'declare has_role(User, String, Repo);\nallow(u, "read", r: Repo) if has_role(u, "member", r);\n'
ALICE, ANVIL = Value("User", "alice"), Value("Repo", "anvil")


def test_unknown_keeps_new_values_and_values_whose_id_collides_with_a_known_one():
    known = KnownValues()
    known.remember([{1: ("Repo", "a"), 2: ("User", "b")}])
    assert known.unknown({1: ("Repo", "a"), 2: ("User", "b")}) == {}
    assert known.unknown({1: ("Repo", "other"), 3: ("Org", "c")}) == {1: ("Repo", "other"), 3: ("Org", "c")}


def test_the_memory_is_bounded():
    known = KnownValues(limit=2)
    known.remember([{1: ("A", "1"), 2: ("A", "2")}])
    known.remember([{3: ("A", "3")}])            # over the limit: the old ids are dropped
    assert known.unknown({1: ("A", "1"), 3: ("A", "3")}) == {1: ("A", "1")}
    known.remember([{i: ("A", str(i)) for i in range(10)}])   # larger than the limit: not kept
    assert len(known.unknown({i: ("A", str(i)) for i in range(10)})) == 10


def value_rows(store) -> list[str]:
    with store.engine.connect() as conn:
        return sorted(conn.execute(select(values_table.c.id)).scalars())


def test_values_of_a_failed_batch_are_sent_by_the_next_one(make_store):
    store = make_store()
    store.policy(POLICY, **fact_stores.LEGACY)
    with pytest.raises(RuntimeError):
        with store.batch() as tx:
            tx.insert(("has_role", ALICE, "member", ANVIL))
            raise RuntimeError("abandon the batch")
    assert value_rows(store) == []
    store.insert(("has_role", ALICE, "member", ANVIL))
    assert value_rows(store) == ["alice", "anvil", "member"]
    assert store.get(("has_role", ALICE, None, None)) == [("has_role", ALICE, "member", ANVIL)]


def test_a_second_batch_does_not_send_committed_values(make_store):
    store = make_store()
    store.policy(POLICY, **fact_stores.LEGACY)
    store.insert(("has_role", ALICE, "member", ANVIL))
    # The store never deletes value rows; one deleted behind its back shows what it sends.
    with store.engine.begin() as conn:
        conn.execute(values_table.delete().where(values_table.c.id == "anvil"))
    with store.batch() as tx:
        tx.insert(("has_role", ALICE, "admin", ANVIL))     # "admin" is new and sent, "anvil" is known
    assert value_rows(store) == ["admin", "alice", "member"]
    other = make_store()                                   # another process knows nothing: sends all
    other.insert(("has_role", ALICE, "admin", ANVIL))
    assert value_rows(store) == ["admin", "alice", "anvil", "member"]


def test_a_collision_with_a_stored_value_is_refused_after_the_store_remembered_values(make_store):
    store = make_store()
    store.policy(POLICY, **fact_stores.LEGACY)
    store.insert(("has_role", ALICE, "member", ANVIL))
    with store.engine.begin() as conn:   # a different value under the id of Repo "rocket"
        conn.execute(values_table.insert().values(vid=value_id("Repo", "rocket"), type="Repo", id="other"))
    with pytest.raises(FactStoreError, match="collision"):
        store.insert(("has_role", ALICE, "member", Value("Repo", "rocket")))


def test_a_batch_refused_by_the_database_leaves_the_next_one_working(make_store):
    store = make_store()
    store.policy(POLICY, **fact_stores.LEGACY)
    with store.engine.begin() as conn:
        conn.execute(values_table.insert().values(vid=value_id("Repo", "rocket"), type="Repo", id="other"))
    for _ in range(2):
        with pytest.raises(FactStoreError, match="collision"):
            store.insert(("has_role", ALICE, "member", Value("Repo", "rocket")))
    store.insert(("has_role", ALICE, "member", ANVIL))
    assert store.get(("has_role", ALICE, None, None)) == [("has_role", ALICE, "member", ANVIL)]
