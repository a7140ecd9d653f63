"""The SQL fact store (oso_core.facts.FactStore): construction and schema, policies, writes,
reads, validation, hostile ids, the FactSource protocol under mixed policies, and metadata.
Data tests run on in-memory SQLite, a SQLite file and PostgreSQL (fixtures/fact_stores.py)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import event, select, text, update

from fixtures.databases import postgres_schema, postgres_url
import fixtures.fact_stores as fact_stores
from oso_core.exceptions import OsoError, ParserError, PolarRuntimeError
from oso_core.facts import (FactStore, FactStoreError, InvalidFactError, NoPolicyError, SchemaVersionError,
                            StoreQuery, typed_var)
from oso_core.facts.metadata import policy_metadata
from oso_core.facts.schema import SCHEMA_VERSION, meta_table, value_id, values_table
from oso_core.oso import Oso
from oso_core.values import Value, ValueOfType

# The fixtures this module uses (pytest finds fixtures among the module's names).
database, make_store, LEGACY = fact_stores.database, fact_stores.make_store, fact_stores.LEGACY

ALICE, BOB = Value("User", "alice"), Value("User", "bob")
ACME, GLOBEX = Value("Org", "acme"), Value("Org", "globex")
ANVIL, ROCKET = Value("Repo", "anvil"), Value("Repo", "rocket")

GITHUB = """
declare has_role(User, String, Org);
declare has_role(User, String, Repo);
declare has_relation(Repo, String, Org);
declare is_public(Repo);
declare stars(Repo, Integer);
declare archived(Repo, Boolean);
has_role(u: User, r: String, repo: Repo) if has_relation(repo, "parent", org) and has_role(u, r, org);
allow(u, "read", repo: Repo) if has_role(u, "member", repo);
allow(_u, "read", repo: Repo) if is_public(repo);
"""


def loaded(make_store, environment: str = "default", src: str = GITHUB) -> FactStore:
    store = make_store(environment)
    store.policy(src, **LEGACY)
    return store


def every_fact(store: FactStore) -> list[tuple]:
    out = []
    for predicate, arity in (("has_role", 3), ("has_relation", 3), ("is_public", 1), ("stars", 2), ("archived", 2)):
        out += store.get((predicate, *([None] * arity)))
    return sorted(out, key=repr)


# Construction and schema ------------------------------------------------------------------------

def test_errors_are_oso_errors():
    assert issubclass(FactStoreError, OsoError)
    for cls in (InvalidFactError, NoPolicyError, SchemaVersionError):
        assert issubclass(cls, FactStoreError)


def test_none_is_a_private_in_memory_database():
    a, b = FactStore(), FactStore()
    a.policy(GITHUB, **LEGACY)
    a.insert(("is_public", ANVIL))
    assert a.get(("is_public", None)) == [("is_public", ANVIL)]
    assert b.get(("is_public", None)) == [] and b.policy_version == 0


def test_a_path_or_path_string_is_a_sqlite_file_that_persists(tmp_path):
    path = tmp_path / "facts.db"
    store = FactStore(path)
    store.policy(GITHUB, "github.polar", **LEGACY)
    store.insert(("is_public", ANVIL))
    store.close()
    again = FactStore(str(path))
    assert again.policy_version == 1 and again.get_policy() == GITHUB
    assert again.get_policy_filename() == "github.polar"
    assert again.get(("is_public", None)) == [("is_public", ANVIL)]
    again.insert(("is_public", ROCKET))  # the reopened store validates with the stored policy
    again.close()


def test_a_url_string_opens_that_database(tmp_path):
    store = FactStore(f"sqlite:///{tmp_path / 'u.db'}")
    assert store.engine.dialect.name == "sqlite" and store.engine.url.database.endswith("u.db")
    store.close()


def test_a_postgresql_url_uses_psycopg():
    with postgres_schema() as schema:
        url = postgres_url().replace("postgresql+psycopg://", "postgresql://") + f"?options=-csearch_path%3D{schema}"
        store = FactStore(url)
        assert store.engine.driver == "psycopg"
        store.policy(GITHUB, **LEGACY)
        store.insert(("is_public", ANVIL))
        assert store.get(("is_public", None)) == [("is_public", ANVIL)]
        store.close()


def test_an_unsupported_database_argument_is_a_type_error():
    with pytest.raises(TypeError, match="None, a path, a URL or an Engine"):
        FactStore(42)


def test_schema_is_created_once_with_its_version(database):
    first = FactStore(database)
    second = FactStore(database)  # idempotent: the tables and version row exist
    with first.engine.connect() as conn:
        rows = conn.execute(select(meta_table.c.value).where(meta_table.c.key == "schema_version")).all()
    assert rows == [(str(SCHEMA_VERSION),)]
    first.close()
    second.close()


def test_a_newer_schema_version_is_refused(database):
    store = FactStore(database)
    with store.engine.begin() as conn:
        conn.execute(update(meta_table).where(meta_table.c.key == "schema_version").values(value="99"))
    store.close()
    with pytest.raises(SchemaVersionError, match="version 99"):
        FactStore(database)


def test_environment_must_be_a_non_empty_string():
    with pytest.raises(FactStoreError, match="environment"):
        FactStore(environment="")


# Policies ---------------------------------------------------------------------------------------

def test_policy_versions_increase_per_environment(make_store):
    a, b = make_store("a"), make_store("b")
    assert a.policy_version == 0 and a.get_policy() is None and a.get_policy_filename() is None
    assert a.policy(GITHUB, **LEGACY) == 1
    assert a.policy(GITHUB + "\n# v2", "v2.polar", **LEGACY) == 2
    assert b.policy(GITHUB, **LEGACY) == 1
    assert a.policy_version == 2 and a.get_policy().endswith("# v2")
    assert make_store("a").policy_version == 2  # a new store on the database reads the newest
    assert make_store("a").get_policy_filename() == "v2.polar" and b.get_policy_filename() is None


def test_a_policy_version_is_stored_with_its_file_name(make_store):
    from oso_core.facts.schema import policies_table
    store = make_store("named")
    store.policy(GITHUB, "github.polar", **LEGACY)
    with store.engine.connect() as conn:
        rows = conn.execute(select(policies_table.c.env, policies_table.c.version, policies_table.c.filename,
                                   policies_table.c.src)).all()
    assert rows == [("named", 1, "github.polar", GITHUB)]


def test_a_policy_that_fails_to_load_raises_its_error_and_the_previous_keeps_serving(make_store):
    store = loaded(make_store)
    oso = store.oso
    with pytest.raises(ParserError) as error:
        store.policy("allow(x, y, z) if", **LEGACY)
    with pytest.raises(ParserError) as plain:
        Oso().load_str("allow(x, y, z) if")
    assert str(error.value) == str(plain.value) and "line 1" in str(error.value)  # the engine's error as is
    assert store.policy_version == 1 and store.oso is oso and store.get_policy() == GITHUB
    store.insert(("is_public", ANVIL))
    assert make_store().policy_version == 1  # nothing was stored


def test_load_files_loads_and_stores_them(make_store, tmp_path: Path):
    decls = tmp_path / "decls.polar"
    rules = tmp_path / "rules.polar"
    decls.write_text("declare is_public(Repo);\n")
    rules.write_text("allow(_u, \"read\", r: Repo) if is_public(r);\n")
    store = make_store()
    assert store.load_files([decls, rules], **LEGACY) == 1
    assert store.oso.fact_signatures() == {"is_public": [("Repo",)]}
    assert "declare is_public(Repo);" in store.get_policy() and "allow(" in store.get_policy()
    bad = tmp_path / "bad.polar"
    bad.write_text("allow(x) if\n")
    with pytest.raises(ParserError, match="bad.polar"):
        store.load_files([bad], **LEGACY)
    assert store.policy_version == 1


def test_without_a_policy_inserts_and_validation_raise(make_store):
    store = make_store()
    with pytest.raises(NoPolicyError, match="store.policy"):
        store.insert(("is_public", ANVIL))
    with pytest.raises(NoPolicyError):
        store.validate_facts([("is_public", ANVIL)])
    with pytest.raises(NoPolicyError):
        store.oso
    assert store.get(("is_public", None)) == []


# Writes and reads -------------------------------------------------------------------------------

def test_insert_get_and_typed_primitives(make_store):
    store = loaded(make_store)
    store.insert(("has_role", ALICE, "admin", ACME))
    store.insert(("has_role", ALICE, "admin", ACME))  # twice is harmless
    store.insert(("stars", ANVIL, 42))
    store.insert(("archived", ANVIL, True))
    store.insert(("archived", ROCKET, False))
    assert store.get(("has_role", ALICE, None, None)) == [("has_role", ALICE, "admin", ACME)]
    assert store.get(("stars", None, None)) == [("stars", ANVIL, 42)]
    assert sorted(store.get(("archived", None, None)), key=repr) == [("archived", ANVIL, True),
                                                                     ("archived", ROCKET, False)]
    assert store.get(("archived", None, True)) == [("archived", ANVIL, True)]
    assert store.get(("stars", None, "42")) == []  # the string "42" is not the integer 42
    result = store.get(("stars", None, None))[0]
    assert type(result[2]) is int and type(result[1]) is Value


def test_get_with_value_of_type_and_arity(make_store):
    store = loaded(make_store)
    store.insert(("has_role", ALICE, "admin", ACME))
    store.insert(("has_role", ALICE, "member", ANVIL))
    assert store.get(("has_role", ALICE, None, ValueOfType("Repo"))) == [("has_role", ALICE, "member", ANVIL)]
    assert store.get(("has_role", ValueOfType("Org"), None, None)) == []
    assert store.get(("has_role", ALICE, None)) == []  # another arity is another predicate
    assert store.get(("nothing", None)) == []


def test_delete_with_wildcards_and_missing_facts(make_store):
    store = loaded(make_store)
    for f in [("has_role", ALICE, "admin", ACME), ("has_role", ALICE, "member", ANVIL),
              ("has_role", BOB, "member", ANVIL), ("is_public", ROCKET)]:
        store.insert(f)
    store.delete(("has_role", ALICE, "nope", ACME))  # missing: fine
    store.delete(("has_role", None, "member", ValueOfType("Repo")))
    assert every_fact(store) == sorted([("has_role", ALICE, "admin", ACME), ("is_public", ROCKET)], key=repr)
    store.delete(("has_role", None, None, None))
    assert every_fact(store) == [("is_public", ROCKET)]


def test_batch_is_ordered(make_store):
    store = loaded(make_store)
    with store.batch() as tx:
        tx.insert(("is_public", ANVIL))
        tx.delete(("is_public", ANVIL))
        tx.delete(("is_public", ROCKET))
        tx.insert(("is_public", ROCKET))
        tx.insert(("has_role", ALICE, "member", ANVIL))
    assert every_fact(store) == [("has_role", ALICE, "member", ANVIL), ("is_public", ROCKET)]


def test_an_exception_inside_a_batch_writes_nothing(make_store):
    store = loaded(make_store)
    store.insert(("is_public", ANVIL))
    with pytest.raises(RuntimeError):
        with store.batch() as tx:
            tx.insert(("is_public", ROCKET))
            tx.delete(("is_public", ANVIL))
            raise RuntimeError("boom")
    assert every_fact(store) == [("is_public", ANVIL)]


def test_an_invalid_fact_anywhere_in_a_batch_writes_nothing(make_store):
    store = loaded(make_store)
    with pytest.raises(InvalidFactError):
        with store.batch() as tx:
            tx.insert(("is_public", ROCKET))
            tx.insert(("is_public", ALICE))
            tx.insert(("is_public", ANVIL))
    assert every_fact(store) == []


def test_a_failing_write_in_the_database_writes_nothing(make_store):
    store = loaded(make_store)
    with store.engine.begin() as conn:  # the second value of the batch collides in the database
        conn.execute(values_table.insert().values(vid=value_id("Repo", "rocket"), type="Repo", id="other"))
    with pytest.raises(FactStoreError, match="collision"):
        with store.batch() as tx:
            tx.insert(("is_public", ANVIL))
            tx.insert(("is_public", ROCKET))
    assert every_fact(store) == []


def test_a_batch_cannot_be_used_after_it_ends(make_store):
    store = loaded(make_store)
    with store.batch() as tx:
        tx.insert(("is_public", ANVIL))
    with pytest.raises(FactStoreError, match="ended"):
        tx.insert(("is_public", ROCKET))


def test_environments_isolate_facts_policies_and_clear_data(make_store):
    a = loaded(make_store, "a")
    b = loaded(make_store, "b", "declare is_public(Repo);")
    a.insert(("has_role", ALICE, "admin", ACME))
    a.insert(("is_public", ANVIL))
    b.insert(("is_public", ROCKET))
    with pytest.raises(InvalidFactError):
        b.insert(("has_role", ALICE, "admin", ACME))  # b's policy does not declare it
    assert a.get(("is_public", None)) == [("is_public", ANVIL)]
    assert b.get(("is_public", None)) == [("is_public", ROCKET)]
    a.clear_data()
    assert every_fact(a) == [] and b.get(("is_public", None)) == [("is_public", ROCKET)]
    assert a.policy_version == 1


# Validation -------------------------------------------------------------------------------------

def test_unknown_predicate_names_it_and_the_declared_ones(make_store):
    store = loaded(make_store)
    with pytest.raises(InvalidFactError) as error:
        store.insert(("has_rol", ALICE, "admin", ACME))
    assert "has_rol(" in error.value.message and "has_role" in error.value.message


def test_wrong_arity_names_the_expected_signatures(make_store):
    store = loaded(make_store)
    with pytest.raises(InvalidFactError) as error:
        store.insert(("has_role", ALICE, "admin"))
    message = error.value.message
    assert "has 2 arguments" in message
    assert "has_role(User, String, Org) or has_role(User, String, Repo)" in message


def test_wrong_argument_type_names_the_expected_signatures(make_store):
    store = loaded(make_store)
    for bad in [("has_role", ALICE, "admin", BOB), ("has_role", ALICE, 3, ACME), ("stars", ANVIL, "3"),
                ("stars", ANVIL, True), ("archived", ANVIL, 1), ("is_public", "anvil")]:
        with pytest.raises(InvalidFactError) as error:
            store.insert(bad)
        assert f"expected {bad[0]}(" in error.value.message
    with pytest.raises(InvalidFactError, match=r'has_role\(User\{"alice"\}, "admin", User\{"bob"\}\) matches no '
                                               r'signature of has_role: expected has_role\(User, String, Org\)'):
        store.insert(("has_role", ALICE, "admin", BOB))
    assert every_fact(store) == []


def test_malformed_facts_are_invalid(make_store):
    store = loaded(make_store)
    for bad, message in [((), "tuple"), ("is_public", "tuple"), (("is_public", None), "wildcard"),
                         (("is_public", ValueOfType("Repo")), "wildcard"), (("stars", ANVIL, 1.5), "float"),
                         (("p", 1, 2, 3, 4, 5, 6), "at most 5")]:
        with pytest.raises(InvalidFactError, match=message):
            store.insert(bad)


def test_validate_facts_returns_the_facts_or_raises(make_store):
    store = loaded(make_store)
    assert store.validate_facts([["is_public", ANVIL], ("stars", ANVIL, 1)]) == [("is_public", ANVIL),
                                                                              ("stars", ANVIL, 1)]
    with pytest.raises(InvalidFactError, match="is_public"):
        store.validate_facts([("is_public", ANVIL), ("is_public", ALICE)])


HOSTILE_IDS = ["it's", 'say "hi"', "100%", "a_c", "back\\slash", "\\x00", "ünïcødé ✓ 日本", "x" * 10_000,
               "'; DROP TABLE oso_facts; --", "", " spaced "]


def test_hostile_ids_are_stored_and_matched_exactly(make_store):
    store = loaded(make_store)
    with store.batch() as tx:
        for i, hostile in enumerate(HOSTILE_IDS):
            tx.insert(("has_role", Value("User", hostile), hostile, Value("Org", f"o{i}")))
    for i, hostile in enumerate(HOSTILE_IDS):
        user = Value("User", hostile)
        assert store.get(("has_role", user, None, None)) == [("has_role", user, hostile, Value("Org", f"o{i}"))]
        assert store.match("has_role", [None, hostile, None]) == [(user, hostile, Value("Org", f"o{i}"))]
    # `_` and `%` are not wildcards: "abc" does not match "a_c", "100x" does not match "100%".
    assert store.get(("has_role", Value("User", "abc"), None, None)) == []
    assert store.get(("has_role", Value("User", "100x"), None, None)) == []
    assert store.get(("has_role", None, "a%", None)) == []
    long_one = store.get(("has_role", Value("User", "x" * 10_000), None, None))[0]
    assert len(long_one[1].id) == 10_000
    assert len(every_fact(store)) == len(HOSTILE_IDS)


def test_integer_ids_are_strings(make_store):
    store = loaded(make_store)
    store.insert(("is_public", Value("Repo", 7)))
    assert store.get(("is_public", Value("Repo", "7"))) == [("is_public", Value("Repo", "7"))]


def test_nul_is_refused_with_a_clear_error(make_store):
    store = loaded(make_store)
    for bad in [("is_public", Value("Repo", "a\x00b")), ("has_role", ALICE, "ad\x00min", ACME),
                ("has_role", Value("User\x00", "a"), "admin", ACME)]:
        with pytest.raises(InvalidFactError, match="NUL"):
            store.insert(bad)
    with pytest.raises(InvalidFactError, match="NUL"):
        store.validate_facts([("is_public", Value("Repo", "\x00"))])
    assert every_fact(store) == []


def test_a_lone_surrogate_is_refused_with_a_clear_error(make_store):
    """JSON's "\\ud800" escapes decode to lone surrogates, which no database driver can encode."""
    store = loaded(make_store)
    for bad in [("is_public", Value("Repo", "a\ud800b")), ("has_role", ALICE, "ad\udfffmin", ACME),
                ("has_role", Value("User\ud800", "a"), "admin", ACME)]:
        with pytest.raises(InvalidFactError, match="lone surrogate") as raised:
            store.insert(bad)
        str(raised.value).encode("utf-8")  # the message shows the id escaped, so it can be printed
    with pytest.raises(InvalidFactError, match=r'lone surrogate'):
        store.validate_facts([("is_public", Value("Repo", "\udc80"))])
    store.insert(("is_public", Value("Repo", "caf\u00e9 \U0001f600")))  # other non-ASCII is stored
    assert every_fact(store) == [("is_public", Value("Repo", "caf\u00e9 \U0001f600"))]


def test_a_value_id_collision_raises(make_store):
    store = loaded(make_store)
    with store.engine.begin() as conn:  # pretend another value hashed to Repo "anvil"'s id
        conn.execute(values_table.insert().values(vid=value_id("Repo", "anvil"), type="Repo", id="not anvil"))
    with pytest.raises(FactStoreError, match="collision"):
        store.insert(("is_public", ANVIL))
    assert every_fact(store) == []


# The FactSource protocol and mixed policies -------------------------------------------------------

def count_statements(engine):
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)
    event.listen(engine, "before_cursor_execute", record)
    return statements


def test_match_is_one_query_and_returns_argument_tuples(make_store):
    store = loaded(make_store)
    with store.batch() as tx:
        tx.insert(("has_role", ALICE, "admin", ACME))
        tx.insert(("has_role", BOB, "member", ACME))
        tx.insert(("has_role", ALICE, "member", ANVIL))
    statements = count_statements(store.engine)
    assert sorted(store.match("has_role", [None, None, ACME]), key=repr) == [(ALICE, "admin", ACME),
                                                                           (BOB, "member", ACME)]
    assert store.match("has_role", [ALICE, "admin", ACME]) == [(ALICE, "admin", ACME)]
    assert store.match("has_role", [ALICE, "owner", ACME]) == []
    assert store.match("has_role", [ALICE, None, ValueOfType("Repo")]) == [(ALICE, "member", ANVIL)]
    assert store.match("has_role", [1, 2, 3, 4, 5, 6]) == []
    assert len(statements) == 4


def test_match_reads_through_an_index_on_sqlite():
    store = FactStore()
    store.policy(GITHUB, **LEGACY)
    statements = count_statements(store.engine)
    store.match("has_role", [None, "admin", ACME])  # by a2 (by_a2 index)
    store.match("has_role", [ALICE, None, None])     # by a0 (primary key)
    store.match("has_role", [None, "admin", None])   # by a1 (by_a1 index)
    assert len(statements) == 3
    with store.engine.connect() as conn:
        for statement in list(statements):
            # Any values will do for a plan: bind zeros positionally.
            rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", tuple([0] * statement.count("?")))
            plan = [str(r[-1]) for r in rows]
            facts_step = [step for step in plan if "oso_facts" in step]
            assert facts_step and all("USING" in step for step in facts_step), plan


def test_match_can_read_through_an_index_on_postgresql():
    from fixtures.databases import postgres_engine
    engine, drop = postgres_engine()
    try:
        store = FactStore(engine)
        store.policy(GITHUB, **LEGACY)
        executed: list[tuple] = []
        event.listen(engine, "before_cursor_execute",
                     lambda conn, cursor, statement, parameters, context, many: executed.append((statement, parameters)))
        for pattern in ([None, "admin", ACME], [ALICE, None, None], [None, "admin", None]):
            store.match("has_role", pattern)
        recorded = list(executed)
        assert len(recorded) == 3
        with engine.connect() as conn:
            # Tiny tables are scanned whatever the indexes; forbidding scans shows an index serves.
            conn.exec_driver_sql("SET enable_seqscan = off")
            for statement, parameters in recorded:
                plan = " ".join(r[0] for r in conn.exec_driver_sql(f"EXPLAIN {statement}", parameters))
                assert "Seq Scan on oso_facts" not in plan, plan
                assert "Index" in plan, plan
        store.close()
    finally:
        drop()


@dataclass
class User:
    id: str


@dataclass
class Document:
    id: str
    public: bool = False


MIXED = """
declare has_role(User, String, Document);
allow(u: User, "read", d: Document) if d.public or has_role(u, "reader", d);
allow(u: User, "edit", d: Document) if not d.public and has_role(u, "editor", d);
"""


def mixed_oso(store: FactStore) -> Oso:
    oso = Oso()
    oso.register_class(User)
    oso.register_class(Document)
    oso.load_str(MIXED)
    oso.attach_facts(store)
    return oso


def test_mixed_policy_reads_facts_from_the_store(make_store):
    store = make_store()
    store.policy(MIXED, **LEGACY)
    store.insert(("has_role", Value("User", "ann"), "reader", Value("Document", "1")))
    store.insert(("has_role", Value("User", "ann"), "editor", Value("Document", "2")))
    oso = mixed_oso(store)
    ann, bob = User("ann"), User("bob")
    assert oso.is_allowed(ann, "read", Document("1"))
    assert not oso.is_allowed(bob, "read", Document("1"))
    assert oso.is_allowed(bob, "read", Document("3", public=True))  # the host attribute alone
    assert oso.is_allowed(ann, "edit", Document("2"))
    assert not oso.is_allowed(ann, "edit", Document("2", public=True))
    assert not oso.is_allowed(ann, "edit", Document("1"))
    store.delete(("has_role", Value("User", "ann"), None, None))
    assert not oso.is_allowed(ann, "read", Document("1"))


def test_a_store_failure_raises_and_never_allows(make_store):
    store = make_store()
    store.policy(MIXED, **LEGACY)
    store.insert(("has_role", Value("User", "ann"), "reader", Value("Document", "1")))
    oso = mixed_oso(store)
    assert oso.is_allowed(User("ann"), "read", Document("1"))
    with store.engine.begin() as conn:
        conn.execute(text("DROP TABLE oso_facts"))
    with pytest.raises(PolarRuntimeError, match="has_role"):
        oso.is_allowed(User("ann"), "read", Document("1"))
    assert oso.is_allowed(User("ann"), "read", Document("1", public=True))  # no fact needed: still answers


# Policy metadata ----------------------------------------------------------------------------------

BLOCKS = """
actor User {}
resource Repo {
    roles = ["member", "admin"];
    permissions = ["read", "add_member", "repository.create"];
    relations = { organization: Org, owner: User };
    "read" if "member";
}
resource Org { roles = ["owner"]; }
has_relation(_o: Org, "organization", _r: Repo);
has_relation(_u: User, "owner", _r: Repo);
has_role(_u: User, _n: String, _r: Repo);
has_role(_u: User, _n: String, _o: Org);
allow(a, b, c) if has_permission(a, b, c);
"""


class Org:
    pass


class Repo:
    pass


def test_policy_metadata_lists_every_block_and_global_sorted():
    oso = Oso()
    for cls in (User, Repo, Org):
        oso.register_class(cls)
    oso.load_str(BLOCKS)
    assert policy_metadata(oso.resource_blocks()) == {"resources": {
        "User": {"roles": [], "permissions": [], "relations": {}},
        "Repo": {"roles": ["admin", "member"], "permissions": ["add_member", "read", "repository.create"],
                 "relations": {"organization": "Org", "owner": "User"}},
        "Org": {"roles": ["owner"], "permissions": [], "relations": {}},
        "global": {"roles": [], "permissions": [], "relations": {}},
    }}
    assert oso.resource_blocks()["actors"] == ["User"]


def test_store_policy_metadata(make_store):
    store = loaded(make_store)
    assert store.get_policy_metadata() == {"resources": {"global": {"roles": [], "permissions": [], "relations": {}}}}
    with pytest.raises(NoPolicyError):
        make_store("empty").get_policy_metadata()


# Large batches (PostgreSQL: COPY through temporary tables) ---------------------------------------

@pytest.fixture
def copy_everything(monkeypatch):
    """Send every insert through the large-batch path (PostgreSQL COPY)."""
    from oso_core.facts import writes
    monkeypatch.setattr(writes, "COPY_THRESHOLD", 1)


#: Ids that COPY text format would misread unescaped: its field and row separators, its escapes
#: and its end-of-data and NULL markers.
COPY_HOSTILE_IDS = HOSTILE_IDS + ["tab\tinside", "new\nline", "carriage\rreturn", "\r\n", "\\.", "\\N",
                                  "\\t literally", "ends with \\", "\\\\", "\t", "\n\\.\n", "\x7f\x01\x1f"]


def test_large_batch_path_stores_hostile_ids_exactly(make_store, copy_everything):
    store = loaded(make_store)
    with store.batch() as tx:
        for i, hostile in enumerate(COPY_HOSTILE_IDS):
            tx.insert(("has_role", Value("User", hostile), hostile, Value("Org", f"o{i}")))
        tx.insert(("stars", ANVIL, -7))
        tx.insert(("archived", ANVIL, True))
    assert len(store.get(("has_role", None, None, None))) == len(COPY_HOSTILE_IDS)
    for i, hostile in enumerate(COPY_HOSTILE_IDS):
        user = Value("User", hostile)
        assert store.get(("has_role", user, None, None)) == [("has_role", user, hostile, Value("Org", f"o{i}"))]
    assert store.get(("stars", None, None)) == [("stars", ANVIL, -7)]
    assert store.get(("archived", None, None)) == [("archived", ANVIL, True)]
    with store.batch() as tx:  # again: every row conflicts, nothing changes, a second COPY in one process
        tx.insert(("stars", ANVIL, -7))
        tx.insert(("stars", ROCKET, 1))
    assert len(store.get(("stars", None, None))) == 2


def test_large_batch_path_turns_database_errors_into_fact_store_errors(make_store, copy_everything):
    store = loaded(make_store)
    with store.engine.begin() as conn:
        conn.execute(text("DROP TABLE oso_facts"))
    with pytest.raises(FactStoreError, match="nothing was written"):
        store.insert(("is_public", ANVIL))


def test_large_batch_path_refuses_collisions_and_writes_nothing(make_store, copy_everything):
    store = loaded(make_store)
    with store.engine.begin() as conn:
        conn.execute(values_table.insert().values(vid=value_id("Repo", "rocket"), type="Repo", id="other"))
    with pytest.raises(FactStoreError, match="collision"):
        with store.batch() as tx:
            tx.insert(("is_public", ANVIL))
            tx.insert(("is_public", ROCKET))
    assert every_fact(store) == []
    with store.engine.connect() as conn:  # the values of the failed batch were not kept either
        assert conn.execute(select(values_table.c.vid).where(values_table.c.id == "anvil")).all() == []


# Decisions through the store (oso_core.facts.decisions) ------------------------------------------

def github_store(make_store) -> FactStore:
    store = loaded(make_store)
    with store.batch() as tx:
        tx.insert(("has_relation", ANVIL, "parent", ACME))
        tx.insert(("has_role", ALICE, "member", ACME))
        tx.insert(("is_public", ROCKET))
    return store


def test_authorize_list_and_actions_over_stored_facts(make_store):
    store = github_store(make_store)
    assert store.authorize(ALICE, "read", ANVIL)       # through the org
    assert not store.authorize(BOB, "read", ANVIL)
    assert store.authorize(BOB, "read", ROCKET)        # public
    assert not store.authorize(ALICE, "write", ANVIL)
    assert store.list(ALICE, "read", "Repo") == ["anvil", "rocket"]
    assert store.list(BOB, "read", "Repo") == ["rocket"]
    assert store.actions(ALICE, ANVIL) == ["read"] and store.actions(BOB, ANVIL) == []
    store.delete(("has_role", ALICE, None, None))
    assert not store.authorize(ALICE, "read", ANVIL)


def test_each_decision_is_one_sql_statement(make_store):
    store = github_store(make_store)
    store.authorize(ALICE, "read", ANVIL)  # compile and cache first
    store.list(ALICE, "read", "Repo")
    store.actions(ALICE, ANVIL)
    statements = count_statements(store.engine)
    store.authorize(ALICE, "read", ANVIL)
    store.list(ALICE, "read", "Repo", [("has_role", BOB, "member", ANVIL)])
    store.actions(ALICE, ANVIL)
    assert len(statements) == 3


def test_context_facts_count_for_one_decision_and_are_validated(make_store):
    store = github_store(make_store)
    context = [("has_role", BOB, "member", ACME)]
    assert store.authorize(BOB, "read", ANVIL, context)
    assert store.list(BOB, "read", "Repo", context) == ["anvil", "rocket"]
    assert store.actions(BOB, ANVIL, context) == ["read"]
    assert not store.authorize(BOB, "read", ANVIL)  # never stored
    assert store.get(("has_role", BOB, None, None)) == []
    for bad in [[("has_role", BOB, "member", BOB)], [("nope", BOB)], [("is_public", Value("Repo", "a\x00"))]]:
        with pytest.raises(InvalidFactError):
            store.authorize(BOB, "read", ANVIL, bad)
    with pytest.raises(InvalidFactError, match="list of facts"):
        store.list(BOB, "read", "Repo", "has_role")


def test_decisions_follow_the_newest_policy_and_need_one(make_store):
    store = github_store(make_store)
    assert store.authorize(BOB, "read", ROCKET)
    store.policy(GITHUB.replace('allow(_u, "read", repo: Repo) if is_public(repo);', ""), **LEGACY)
    assert not store.authorize(BOB, "read", ROCKET)
    empty = make_store("empty")
    with pytest.raises(NoPolicyError):
        empty.authorize(ALICE, "read", ANVIL)
    with pytest.raises(NoPolicyError):
        empty.list(ALICE, "read", "Repo")


def test_decisions_refuse_nul_ids_and_a_database_failure_raises(make_store):
    store = github_store(make_store)
    with pytest.raises(InvalidFactError, match="NUL"):
        store.authorize(Value("User", "alice\x00"), "read", ANVIL)
    with store.engine.begin() as conn:
        conn.execute(text("DROP TABLE oso_facts"))
    with pytest.raises(FactStoreError):
        store.authorize(ALICE, "read", ANVIL)


def test_build_query_through_the_store(make_store):
    store = github_store(make_store)
    repo, org, user = typed_var("Repo"), typed_var("Org"), typed_var("User")
    query = store.build_query(("allow", ALICE, "read", repo))
    assert isinstance(query, StoreQuery)
    assert query.evaluate(repo) == ["anvil", "rocket"]
    assert query.in_(repo, ["anvil"]).evaluate(repo) == ["anvil"]
    assert query.and_(("has_relation", repo, "parent", org)).evaluate((repo, org)) == [("anvil", "acme")]
    assert store.build_query(("allow", user, "read", ANVIL)).evaluate(user) == ["alice"]
    assert store.build_query(("allow", BOB, "read", ANVIL)).evaluate() is False
    with_context = store.build_query(("allow", BOB, "read", repo)).with_context_facts([("has_role", BOB, "member", ACME)])
    assert with_context.evaluate(repo) == ["anvil", "rocket"]
    assert store.build_query(("allow", BOB, "read", repo)).evaluate(repo) == ["rocket"]
    with pytest.raises(InvalidFactError, match="expected has_role"):
        query.with_context_facts([("has_role", BOB, "member", BOB)])
    with pytest.raises(NoPolicyError):
        make_store("empty").build_query(("allow", ALICE, "read", repo))


def test_the_private_in_memory_database_serializes_threads():
    import threading
    store = FactStore()
    store.policy(GITHUB, **LEGACY)
    problems: list = []
    stop = threading.Event()

    def write(worker: int) -> None:
        try:
            for i in range(60):
                pair = [("is_public", Value("Repo", f"{worker}-{i}-{side}")) for side in "ab"]
                with store.batch() as tx:
                    for fact in pair:
                        tx.insert(fact)
                with store.batch() as tx:
                    for fact in pair:
                        tx.delete(fact)
        except Exception as error:  # reported below: any failure of a writer fails the test
            problems.append(error)

    def read() -> None:
        try:
            while not stop.is_set():
                ids = {f[1].id for f in store.get(("is_public", None))}
                halves = {i[:-2] for i in ids if {i[:-2] + "-a", i[:-2] + "-b"} - ids}
                if halves:
                    problems.append(f"half a batch visible: {sorted(halves)}")
                store.authorize(ALICE, "read", ANVIL)
        except Exception as error:
            problems.append(error)

    writers = [threading.Thread(target=write, args=(n,)) for n in range(3)]
    readers = [threading.Thread(target=read) for _ in range(2)]
    for t in writers + readers:
        t.start()
    for t in writers:
        t.join()
    stop.set()
    for t in readers:
        t.join()
    assert problems == []
    assert store.get(("is_public", None)) == []
