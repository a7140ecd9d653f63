"""The fact store with an Oso Cloud dialect policy: metadata from cloud blocks (global included),
decisions on the kept read connections (they see every committed write, are reused rather than
opened per call, and close with the store)."""

from __future__ import annotations

import threading

from sqlalchemy import event
from sqlalchemy.pool import StaticPool

from oso_core.values import Value
import fixtures.fact_stores as fact_stores

database, make_store = fact_stores.database, fact_stores.make_store   # pytest fixtures

POLICY = """
actor User {}
global { roles = ["admin"]; }
resource Org { roles = ["member", "owner"]; permissions = ["read", "delete"];
               "read" if "member"; "member" if "owner"; "delete" if "owner"; "owner" if global "admin"; }
resource Repo { permissions = ["read"]; relations = { parent: Org }; "read" if "read" on "parent"; }
"""
ALICE, BOB, ACME, ANVIL = Value("User", "alice"), Value("User", "bob"), Value("Org", "acme"), Value("Repo", "anvil")


def test_cloud_policy_metadata_lists_every_block_and_global(make_store):
    store = make_store()
    store.policy(POLICY)
    assert store.get_policy_metadata() == {"resources": {
        "User": {"roles": [], "permissions": [], "relations": {}},
        "Org": {"roles": ["member", "owner"], "permissions": ["delete", "read"], "relations": {}},
        "Repo": {"roles": [], "permissions": ["read"], "relations": {"parent": "Org"}},
        "global": {"roles": ["admin"], "permissions": [], "relations": {}},
    }}


def test_decisions_see_each_write_at_once(make_store):
    store = make_store()
    store.policy(POLICY)
    store.insert(("has_relation", ANVIL, "parent", ACME))
    assert not store.authorize(ALICE, "read", ANVIL)
    store.insert(("has_role", ALICE, "member", ACME))
    assert store.authorize(ALICE, "read", ANVIL)
    assert store.actions(ALICE, ACME) == ["read"]
    store.insert(("has_role", BOB, "admin"))
    assert store.actions(BOB, ACME) == ["delete", "read"]
    store.delete(("has_role", ALICE, None, None))
    assert not store.authorize(ALICE, "read", ANVIL)
    assert store.list(BOB, "read", "Repo") == ["anvil"]


def test_read_connections_are_reused_not_opened_per_decision(make_store):
    store = make_store()
    store.policy(POLICY)
    store.insert(("has_role", ALICE, "member", ACME))
    opened = []
    event.listen(store.engine.pool, "connect", lambda *args: opened.append(1))
    checkouts = []
    event.listen(store.engine.pool, "checkout", lambda *args: checkouts.append(1))
    for _ in range(3):           # compile and cache, then open the read connection
        store.authorize(ALICE, "read", ACME)
    before = len(checkouts)
    threads = [threading.Thread(target=lambda: [store.authorize(ALICE, "read", ACME) for _ in range(40)])
               for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if isinstance(store.engine.pool, StaticPool):
        # In-memory SQLite is one connection shared by every thread: decisions use the pool.
        assert len(checkouts) - before == 160
    else:
        # 160 decisions on 4 threads: at most one new checkout per thread, not one per call.
        assert len(checkouts) - before <= 4
        assert len(opened) <= 5
    store.close()
    assert store._readers._idle.empty()
