"""Property test of the SQL decisions: on random facts over small id universes, for several
policies, on SQLite and PostgreSQL, for every actor and action:

    list(actor, action, T) == sorted({id | authorize(actor, action, T{id})})
                           == the engine's answers (`is_allowed`) over the same facts in memory
    actions(actor, r)      == {a | authorize(actor, a, r)}
    build_query(allow(actor, a: String, r: T)).evaluate((a, r)) == {(a, r) | authorize(actor, a, r)}

Seeded (`random.Random(seed)`), so a failure names a reproducible case."""

from __future__ import annotations

import random

import pytest

from fixtures.facts_sql import ENGINES, decisions, engine_oso, fact_engine, seed
from oso_core.facts.errors import UnboundedResultError
from oso_core.facts.query_builder import typed_var
from oso_core.values import Value
from test_facts_sql import FOLDERS, GITHUB, LEVELS

USERS = [Value("User", f"u{i}") for i in range(4)] + [Value("User", "stranger")]
ORGS = [Value("Org", f"o{i}") for i in range(3)]
REPOS = [Value("Repo", f"r{i}") for i in range(5)]
FOLDER_IDS = [Value("Folder", f"f{i}") for i in range(6)]

MIXED = """
declare has_role(User, String, Repo);
declare has_relation(Repo, String, Org);
declare has_role(User, String, Org);
declare is_public(Repo);
declare is_archived(Repo);
allow(u, "read", r: Repo) if is_public(r) or has_role(u, "member", r);
allow(u, "read", r: Repo) if has_relation(r, "parent", o) and has_role(u, "owner", o);
allow(u, "write", r: Repo) if allow(u, "read", r) and not is_archived(r) and has_role(u, "member", r);
allow(u, "audit", r: Repo) if has_relation(r, "parent", o) and not has_role(u, "member", o) and is_public(r);
"""

# Negated disjunctions, membership in a list, (in)equalities, booleans and integer arguments.
SINK = """
declare has_role(User, String, Repo);
declare is_public(Repo);
declare is_archived(Repo);
declare flagged(Repo, Boolean);
declare stars(Repo, Integer);
declare quota(User, Integer);
allow(u, "read", r: Repo) if has_role(u, role, r) and role in ["reader", "writer"];
allow(_u, "read", r: Repo) if is_public(r) and not (is_archived(r) or flagged(r, true));
allow(u, "star", r: Repo) if stars(r, n) and quota(u, q) and n != q and n <= q;
allow(u, "same", r: Repo) if stars(r, n) and quota(u, q) and n == q;
allow(u, "three", r: Repo) if stars(r, 3) and has_role(u, "writer", r);
allow(u, "plain", r: Repo) if has_role(u, _, r) and not flagged(r, false) and not is_public(r);
"""

# A recursive rule that also holds for every folder for an admin (a global role).
FOLDERS_ADMIN = FOLDERS + """
declare is_admin(User);
allow(u: User, "read", _f: Folder) if is_admin(u);
"""


def _github_facts(rng: random.Random) -> list:
    facts = []
    for u in USERS[:4]:
        for o in ORGS:
            if rng.random() < 0.3:
                facts.append(("has_role", u, rng.choice(["member", "owner"]), o))
        for r in REPOS:
            if rng.random() < 0.2:
                facts.append(("has_role", u, rng.choice(["member", "owner"]), r))
        if rng.random() < 0.3:
            facts.append(("is_banned", u))
    for r in REPOS:
        if rng.random() < 0.7:
            facts.append(("has_relation", r, "parent", rng.choice(ORGS)))
        if rng.random() < 0.3:
            facts.append(("is_public", r))
        if rng.random() < 0.3:
            facts.append(("is_archived", r))
    return facts


def _sink_facts(rng: random.Random) -> list:
    facts = []
    for r in REPOS:
        for u in USERS[:4]:
            if rng.random() < 0.25:
                facts.append(("has_role", u, rng.choice(["reader", "writer", "guest"]), r))
        for pred in ("is_public", "is_archived"):
            if rng.random() < 0.4:
                facts.append((pred, r))
        if rng.random() < 0.5:
            facts.append(("flagged", r, rng.random() < 0.5))
        if rng.random() < 0.7:
            facts.append(("stars", r, rng.randint(0, 4)))
    for u in USERS[:4]:
        if rng.random() < 0.8:
            facts.append(("quota", u, rng.randint(0, 4)))
    return facts


def _folder_facts(rng: random.Random) -> list:
    facts = []
    for i, f in enumerate(FOLDER_IDS[1:], start=1):
        # Parents have smaller numbers: no cycles, so the engine's own recursion terminates.
        for p in FOLDER_IDS[:i]:
            if rng.random() < 0.3:
                facts.append(("has_relation", f, "parent", p))
    for u in USERS[:4]:
        for f in FOLDER_IDS:
            if rng.random() < 0.12:
                facts.append(("has_role", u, rng.choice(["viewer", "editor"]), f))
    return facts


def _folder_admin_facts(rng: random.Random) -> list:
    return _folder_facts(rng) + [("is_admin", u) for u in USERS[:4] if rng.random() < 0.3]


def _level_facts(rng: random.Random) -> list:
    facts = []
    for u in USERS[:4]:
        if rng.random() < 0.8:
            facts.append(("has_level", u, rng.randint(0, 9)))
        for r in REPOS:
            if rng.random() < 0.5:
                facts.append(("in_repo", u, r))
    for r in REPOS:
        if rng.random() < 0.8:
            facts.append(("min_level", r, rng.randint(0, 9)))
    return facts


CASES = [
    ("github", GITHUB, _github_facts, {"Repo": REPOS, "Org": ORGS}, ["read", "push", "delete", "nope"]),
    ("mixed", MIXED, _github_facts, {"Repo": REPOS}, ["read", "write", "audit", "nope"]),
    ("folders", FOLDERS, _folder_facts, {"Folder": FOLDER_IDS}, ["read", "edit", "nope"]),
    ("folders-admin", FOLDERS_ADMIN, _folder_admin_facts, {"Folder": FOLDER_IDS}, ["read", "edit"]),
    ("levels", LEVELS, _level_facts, {"Repo": REPOS}, ["read", "admin", "nope"]),
    ("sink", SINK, _sink_facts, {"Repo": REPOS}, ["read", "star", "same", "three", "plain"]),
]


# "sqlite-file" too: its decisions take the driver-cursor path, in-memory SQLite's do not.
@pytest.mark.parametrize("kind", [*ENGINES, "sqlite-file"])
@pytest.mark.parametrize("name,policy,make_facts,resources,actions", CASES, ids=[c[0] for c in CASES])
def test_list_equals_authorize_equals_engine(kind, name, policy, make_facts, resources, actions):
    seen = set()
    for seed_number in range(3):
        rng = random.Random(f"{name}-{seed_number}")
        facts = make_facts(rng)
        with fact_engine(kind) as engine:
            seed(engine, facts)
            d = decisions(engine, policy)
            oso = engine_oso(policy, facts)
            for actor in USERS:
                allowed_actions: dict = {}
                for type_name, universe in resources.items():
                    for action in actions:
                        authorized = [r.id for r in universe if d.authorize(actor, action, r)]
                        expected = [r.id for r in universe if oso.is_allowed(actor, action, r)]
                        where = f"seed {seed_number}: {actor} {action} {type_name}, facts {facts}"
                        assert authorized == expected, where
                        seen.update(r.id in authorized for r in universe)
                        try:
                            listed = d.list(actor, action, type_name)
                        except UnboundedResultError:
                            # Only where a rule allows every resource of the type: all of ours.
                            assert authorized == [r.id for r in universe], where
                        else:
                            assert listed == sorted(authorized), where
                        for r in universe:
                            if r.id in authorized:
                                allowed_actions.setdefault(r, set()).add(action)
                    for r in universe:
                        assert d.actions(actor, r) == sorted(allowed_actions.get(r, set())), (seed_number, actor, r)
                    # The query builder's conjunction over two variables gives the same pairs.
                    action, resource = typed_var("String"), typed_var(type_name)
                    pairs = d.build_query(("allow", actor, action, resource)).evaluate((action, resource))
                    expected_pairs = {(a, r.id) for r in universe for a in allowed_actions.get(r, ())}
                    ids = [r.id for r in universe]   # "*": any resource (every one of ours)
                    expanded = {(a, i) for a, rid in pairs for i in (ids if rid == "*" else [rid])}
                    assert expanded == expected_pairs, (seed_number, actor, type_name)
    assert seen == {True, False}, "the random facts must produce both allows and denies"
