"""Decisions as driver SQL on the store's kept connections (oso_core.facts.driver_sql,
read_connections): the policy's constants are in the text and the request's value ids are the
only parameters, hostile environment names stay literals, event hooks added at any time see
every statement, and a read connection the server dropped is replaced."""

from __future__ import annotations

import pytest
from sqlalchemy import bindparam, create_engine, event, literal, select, text
from sqlalchemy.types import BigInteger, Text

from oso_core.facts.driver_sql import DriverStatement
from oso_core.facts.schema import value_id
from oso_core.values import Value
import fixtures.fact_stores as fact_stores

database, make_store = fact_stores.database, fact_stores.make_store   # pytest fixtures

POLICY = """
declare has_role(User, String, Repo);
allow(u: User, "read", r: Repo) if has_role(u, "reader", r);
allow(u: User, "read", r: Repo) if has_role(u, "writer", r);
"""
ALICE, BOB, ANVIL = Value("User", "alice"), Value("User", "bob"), Value("Repo", "anvil")


def _statement():
    return select(literal("it's 100%: \\x", Text).label("s"), literal(-7, BigInteger).label("n"),
                  bindparam("actor_vid", type_=BigInteger).label("a"), literal(2.5).label("f"))


def test_constants_are_written_in_and_inputs_stay_parameters():
    engine = create_engine("sqlite://")
    compiled = DriverStatement(_statement(), engine, ("actor_vid",))
    assert "it''s 100%: \\x" in compiled.sql and "(-7)" in compiled.sql
    assert compiled.sql.count("?") == 2           # the input, and the float kept as a parameter
    assert compiled.arguments({"actor_vid": 41}) == (41, 2.5)
    with engine.connect() as conn:
        assert conn.exec_driver_sql(compiled.sql, compiled.arguments({"actor_vid": 41})).one() == \
            ("it's 100%: \\x", -7, 41, 2.5)
    engine.dispose()


def test_postgresql_literals_hold_no_parameter_markers():
    from fixtures.databases import postgres_engine
    engine, drop = postgres_engine()
    try:
        compiled = DriverStatement(_statement(), engine, ("actor_vid",))
        assert "%(" not in compiled.sql and ":" not in compiled.sql.replace("::", "")
        with engine.connect() as conn:
            row = conn.exec_driver_sql(compiled.sql, compiled.arguments({"actor_vid": 41})).one()
        assert tuple(row) == ("it's 100%: \\x", -7, 41, 2.5)
    finally:
        drop()


@pytest.mark.parametrize("environment", ["it's 100%: \\x", "%(actor_vid)s", "?"])
def test_hostile_environment_names_select_their_own_facts(make_store, environment):
    store, other = make_store(environment), make_store("other")
    for s in (store, other):
        s.policy(POLICY, dialect="legacy")
    store.insert(("has_role", ALICE, "writer", ANVIL))
    other.insert(("has_role", BOB, "reader", ANVIL))
    for _ in range(7):          # past psycopg's prepare threshold too
        assert store.authorize(ALICE, "read", ANVIL)
        assert not store.authorize(BOB, "read", ANVIL)
        assert store.list(ALICE, "read", "Repo") == ["anvil"]
        assert other.list(BOB, "read", "Repo") == ["anvil"]
        assert other.list(ALICE, "read", "Repo") == []


def test_hooks_added_after_warm_up_see_every_decision(make_store):
    store = make_store()
    store.policy(POLICY, dialect="legacy")
    store.insert(("has_role", ALICE, "reader", ANVIL))
    for _ in range(3):
        assert store.authorize(ALICE, "read", ANVIL)
    seen = []

    def hook(conn, cursor, statement, parameters, context, executemany):
        seen.append(parameters)
    event.listen(store.engine, "before_cursor_execute", hook)
    try:
        assert store.authorize(ALICE, "read", ANVIL)
        assert not store.authorize(BOB, "read", ANVIL)
    finally:
        event.remove(store.engine, "before_cursor_execute", hook)
    vids = [value_id("User", "alice"), value_id("User", "bob")]
    assert [p[0] if isinstance(p, (tuple, list)) else p for p in seen] == vids


def test_a_read_connection_the_server_dropped_is_replaced():
    from fixtures.databases import postgres_url, postgres_schema
    from oso_core.facts import FactStore
    with postgres_schema() as schema:
        engine = create_engine(postgres_url(), connect_args={"options": f"-csearch_path={schema}"})
        store = FactStore(engine)
        try:
            store.policy(POLICY, dialect="legacy")
            store.insert(("has_role", ALICE, "reader", ANVIL))
            assert store.authorize(ALICE, "read", ANVIL)
            reader = store._readers._idle.get_nowait()
            pid = reader.connection.connection.dbapi_connection.info.backend_pid
            store._readers._idle.put(reader)
            with engine.connect() as admin:
                admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            assert store.authorize(ALICE, "read", ANVIL)
            assert not store.authorize(BOB, "read", ANVIL)
        finally:
            store.close()
            engine.dispose()


def test_prepared_statements_are_bounded_per_connection_and_errors_are_typed():
    from fixtures.databases import postgres_params, require_postgres
    require_postgres()
    import psycopg
    from oso_core.facts.pg_prepared import MAX_PREPARED, PreparedStatements
    p = postgres_params()
    with psycopg.connect(host=p["host"], port=p["port"], user=p["user"], password=p["password"],
                         dbname=p["dbname"], autocommit=True) as conn:
        prepared = PreparedStatements(conn)
        for n in range(MAX_PREPARED + 6):
            assert prepared.fetch_all(f"SELECT $1::bigint + {n}, 'x'::text", [n]) == [(2 * n, "x")]
        count = conn.execute("SELECT count(*) FROM pg_prepared_statements WHERE name LIKE 'oso_decision_%'").fetchone()
        assert count == (MAX_PREPARED,)
        assert prepared.fetch_all("SELECT $1::bigint + 0, 'x'::text", [5]) == [(5, "x")]   # prepared again
        with pytest.raises(psycopg.errors.DivisionByZero):
            prepared.fetch_all("SELECT 1 / $1::bigint", [0])
        assert prepared.fetch_all("SELECT 1 / $1::bigint", [1]) == [(1,)]


def test_prepared_decisions_survive_pooled_connections_and_deallocate_all():
    """A store's read connections go back to the engine's pool on close; a later store on the
    same engine gets the same server sessions (statements still prepared there), and psycopg
    may send DEALLOCATE ALL on a connection after a ROLLBACK: decisions go on either way."""
    from fixtures.databases import postgres_url, postgres_schema
    from oso_core.facts import FactStore
    with postgres_schema() as schema:
        engine = create_engine(postgres_url(), connect_args={"options": f"-csearch_path={schema}"})
        try:
            first = FactStore(engine)
            first.policy(POLICY, dialect="legacy")
            first.insert(("has_role", ALICE, "reader", ANVIL))
            assert first.authorize(ALICE, "read", ANVIL) and first.list(ALICE, "read", "Repo") == ["anvil"]
            first.close()
            second = FactStore(engine)
            try:
                assert second.authorize(ALICE, "read", ANVIL) and second.list(ALICE, "read", "Repo") == ["anvil"]
                reader = second._readers._idle.get_nowait()
                reader.connection.exec_driver_sql("DEALLOCATE ALL")
                second._readers._idle.put(reader)
                assert second.authorize(ALICE, "read", ANVIL) and not second.authorize(BOB, "read", ANVIL)
                assert second.list(ALICE, "read", "Repo") == ["anvil"]
            finally:
                second.close()
        finally:
            engine.dispose()


def test_threads_beyond_the_kept_connections_get_right_answers(make_store):
    import threading
    store = make_store()
    store.policy(POLICY, dialect="legacy")
    repos = [Value("Repo", f"r{i}") for i in range(6)]
    for i, repo in enumerate(repos):
        store.insert(("has_role", ALICE, "writer" if i % 2 else "reader", repo))
    wrong, failures = [], []

    def work(seed):
        try:
            for n in range(30):
                repo = repos[(seed + n) % len(repos)]
                if not store.authorize(ALICE, "read", repo) or store.authorize(BOB, "read", repo):
                    wrong.append(repo)
                if store.list(ALICE, "read", "Repo") != sorted(r.id for r in repos):
                    wrong.append("list")
        except Exception as error:   # noqa: BLE001 - reported below with the others
            failures.append(error)
    threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]   # more than MAX_IDLE
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == [] and wrong == []
