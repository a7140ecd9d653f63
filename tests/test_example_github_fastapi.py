"""The async GitHub-like example app (example_apps/github_fastapi), driven through httpx's ASGI
transport on one event loop.

For each seeded user: exactly which orgs, repos and issues every listing returns, and the status
of each detail and write endpoint: the expectations of tests/test_example_github_flask.py (same
policy, same seed). Listings are one SQL statement each (on SQLite and PostgreSQL) and agree with
`is_allowed_async` row by row; a hundred concurrent requests of different users each get their
own answers; the policy's relationship reads are lazy loads awaited in the event loop.
"""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("greenlet")
pytest_asyncio = pytest.importorskip("pytest_asyncio")
pytest.importorskip("aiosqlite")
httpx = pytest.importorskip("httpx")

from engine_under_test import LEGACY
from fixtures.databases import fresh_schema_name, postgres_url, require_postgres
from sqlalchemy import event, select, text
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from example_apps.github_fastapi import __main__ as github_main
from example_apps.github_fastapi import config as github_config
from example_apps.github_fastapi import create_app, seed
from example_apps.github_fastapi.authorization import POLICY, oso, sign_user_id, signed_user_id
from example_apps.github_domain.models import Issue, Org, Repo, User

pytestmark = pytest.mark.skipif(LEGACY, reason="the async example runs on oso_core's async API")

# The expectations of tests/test_example_github_flask.py (the same policy and seed), shared.
from github_example_expectations import ACTIONS, LISTINGS, REPO_ID, USERS

LISTING_PATHS = ["/orgs", "/repos", "/orgs/1/repos", "/orgs/2/repos", "/issues", "/issues?state=open",
                 "/issues?state=closed", "/repos/1/issues", "/repos/2/issues", "/repos/4/issues"]


def expected_listing(username: str, path: str):
    """(status, names or ids) that `path` returns for `username`."""
    e = LISTINGS[username]
    closed = [i for i in e["issues"] if i not in e["open_issues"]]
    simple = {"/orgs": e["orgs"], "/repos": e["repos"], "/orgs/1/repos": e["acme_repos"],
              "/orgs/2/repos": e["globex_repos"], "/issues": e["issues"], "/issues?state=open": e["open_issues"],
              "/issues?state=closed": closed}
    if path in simple:
        return 200, simple[path]
    repo = {REPO_ID[name]: name for name in REPO_ID}.get(int(path.split("/")[2]))
    issues = e["repo_issues"].get(repo, 404)
    return (404, None) if issues == 404 else (200, issues)


def listed(response) -> list:
    """Names of orgs and repos, ids of issues."""
    return [row["name"] if "name" in row else row["id"] for row in response.json()]


# Fixtures ------------------------------------------------------------------------------------------

async def seeded_app(url: str, **engine_options):
    app = create_app(url, seed=False, secret_key="test-secret", engine_options=engine_options)
    await seed.create_and_seed(app.state.database.engine)
    return app


@pytest_asyncio.fixture
async def make_app(tmp_path):
    """`await make_app()` -> a seeded app on a fresh SQLite file."""
    apps = []

    async def make():
        app = await seeded_app(f"sqlite+aiosqlite:///{tmp_path / f'github{len(apps)}.sqlite3'}")
        apps.append(app)
        return app

    yield make
    for app in apps:
        await app.state.database.engine.dispose()


@pytest_asyncio.fixture(params=["sqlite", "postgresql"])
async def backend_app(request, tmp_path):
    """A seeded app on a fresh SQLite file, or in a fresh PostgreSQL schema (psycopg 3, async)."""
    if request.param == "sqlite":
        app = await seeded_app(f"sqlite+aiosqlite:///{tmp_path / 'github.sqlite3'}")
        yield app
        await app.state.database.engine.dispose()
        return
    require_postgres()
    url = github_config.database_url(postgres_url())    # its async driver: psycopg 3
    schema = fresh_schema_name()
    admin = create_async_engine(url)
    async with admin.begin() as conn:
        await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        app = await seeded_app(url, connect_args={"options": f"-csearch_path={schema}"})
        yield app
        await app.state.database.engine.dispose()
    finally:
        async with admin.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await admin.dispose()


def client(app) -> httpx.AsyncClient:
    """A client of `app` (the FastAPI app, or any ASGI app wrapping it)."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")


@asynccontextmanager
async def logged_in(app, username: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client of `app` with `username` logged in."""
    async with client(app) as c:
        response = await c.post("/login", json={"username": username})
        assert response.status_code == 200, response.text
        assert response.json()["user"]["username"] == username
        yield c


# Listings ------------------------------------------------------------------------------------------

async def check_listings(app, username, statements: list):
    """Every listing of `username`: its rows, and one SQL statement for them (after the one that
    loads the logged-in user)."""
    async with logged_in(app, username) as c:
        for path in LISTING_PATHS + ["/repos/3/issues", "/repos/5/issues", "/repos/99/issues"]:
            status, rows = expected_listing(username, path)
            statements.clear()
            response = await c.get(path)
            assert response.status_code == status, (username, path, response.text)
            if status == 200:
                assert listed(response) == rows, (username, path)
            assert len(statements) == 2, (username, path, statements)
            assert re.search(r"\bFROM users\b", statements[0]), statements[0]


@pytest.mark.asyncio
async def test_listings_are_one_sql_statement_on_both_databases(backend_app):
    statements: list = []

    def record(conn, cursor, statement, *args):
        statements.append(statement)

    engine = backend_app.state.database.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        for username in USERS:
            await check_listings(backend_app, username, statements)
    finally:
        event.remove(engine, "before_cursor_execute", record)


@pytest.mark.asyncio
async def test_listings_agree_with_is_allowed_async(make_app):
    """The rows data filtering returns are exactly those `is_allowed_async` accepts, one by one
    (the decisions load the relationships they read lazily, in the event loop)."""
    app = await make_app()
    async with AsyncSession(app.state.database.engine) as session:
        for username in USERS:
            user = await session.scalar(select(User).where(User.username == username))
            async with logged_in(app, username) as c:
                for path, model in [("/orgs", Org), ("/repos", Repo), ("/issues", Issue)]:
                    allowed = [row.id for row in await session.scalars(select(model).order_by(model.id))
                               if await oso.is_allowed_async(user, "read", row)]
                    assert [row["id"] for row in (await c.get(path)).json()] == allowed, (username, path)


# Actions ---------------------------------------------------------------------------------------------

@pytest.mark.asyncio
@pytest.mark.parametrize("username", USERS)
async def test_actions_per_user(make_app, username):
    column = USERS.index(username)
    async with logged_in(await make_app(), username) as c:
        for method, path, body, statuses in ACTIONS:
            response = await c.request(method, path, json=body)
            assert response.status_code == statuses[column], (username, method, path, body, response.text)


@pytest.mark.asyncio
async def test_decisions_await_the_relationships_the_policy_reads(make_app):
    """GET /repos/1 for bob: the user, the repo, then the policy's reads of `repo.repo_roles`,
    `repo.org` and `org.org_roles`, each a lazy load awaited while the decision is suspended."""
    app = await make_app()
    statements: list = []
    engine = app.state.database.engine.sync_engine
    event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    async with logged_in(app, "bob") as bob:
        statements.clear()
        assert (await bob.get("/repos/1")).status_code == 200
    tables = [re.search(r"\bFROM (\w+)", s).group(1) for s in statements]
    assert tables[:2] == ["users", "repos"]
    assert {"orgs", "org_roles"} <= set(tables[2:]), tables


@pytest.mark.asyncio
async def test_writes_take_effect(make_app):
    app = await make_app()
    async with logged_in(app, "alice") as alice, logged_in(app, "erin") as erin:
        async def names(c, path="/repos"):
            response = await c.get(path)
            assert response.status_code == 200, response.text
            return [row["name"] for row in response.json()]

        assert await names(erin) == ["rocket"]
        # alice makes erin a reader of anvil: erin now sees anvil and its issues.
        response = await alice.post("/repos/1/roles", json={"username": "erin", "role": "reader"})
        assert response.status_code == 201
        assert response.json() == {"user_id": 5, "username": "erin", "repo_id": 1, "role": "reader"}
        assert await names(erin) == ["anvil", "rocket"]
        assert [i["id"] for i in (await erin.get("/issues")).json()] == [1, 2, 3, 4]
        assert [r["username"] for r in (await alice.get("/repos/1/roles")).json()] == ["carol", "erin"]
        # erin opens an issue on anvil and, as its creator, closes it; she cannot close the others.
        issue = (await erin.post("/repos/1/issues", json={"title": "  Dent on top  "})).json()
        assert issue == {"id": 8, "repo_id": 1, "creator_id": 5, "title": "Dent on top", "closed": False}
        assert (await erin.post("/issues/8/close")).json()["closed"] is True
        assert (await erin.post("/issues/1/close")).status_code == 403
        # A new repo is private: only acme's members see it.
        repo = (await alice.post("/repos", json={"org_id": 1, "name": "dynamite"})).json()
        assert repo == {"id": 6, "org_id": 1, "name": "dynamite", "is_public": False}
        async with logged_in(app, "bob") as bob:
            assert await names(bob) == ["anvil", "rocket", "tnt", "dynamite"]
        assert await names(erin) == ["anvil", "rocket"]
        # Taking the role away hides anvil again; deleting a repo takes its issues with it.
        assert (await alice.delete("/repos/1/roles/erin")).status_code == 204
        assert await names(erin) == ["rocket"]
        assert (await alice.delete("/repos/2")).status_code == 204
        assert (await erin.get("/repos")).json() == [] and (await erin.get("/issues")).json() == []
        assert (await alice.get("/repos/2")).status_code == 404


# Concurrency -----------------------------------------------------------------------------------------

@pytest.mark.asyncio
async def test_concurrent_requests_of_different_users_do_not_interfere(make_app):
    """~100 requests of the five users at once on one event loop (listings, details, 404s and
    403s): each gets its own user's answer, and requests really overlap."""
    app = await make_app()
    in_flight = {"now": 0, "max": 0}

    async def counting(scope, receive, send):
        in_flight["now"] += 1
        in_flight["max"] = max(in_flight["max"], in_flight["now"])
        try:
            await app(scope, receive, send)
        finally:
            in_flight["now"] -= 1

    stack = AsyncExitStack()
    clients = {name: await stack.enter_async_context(logged_in(counting, name)) for name in USERS}
    details = [(method, path, statuses) for method, path, body, statuses in ACTIONS[:13] if "?" not in path]
    requests = []
    for i in range(100):
        username = USERS[i % 5]
        if i % 2:
            path = LISTING_PATHS[(i // 2) % len(LISTING_PATHS)]
            requests.append((username, path, expected_listing(username, path)))
        else:
            method, path, statuses = details[(i // 2) % len(details)]
            requests.append((username, path, (statuses[USERS.index(username)], None)))
    async with stack:
        responses = await asyncio.gather(*(clients[u].get(path) for u, path, _ in requests))
    for (username, path, (status, rows)), response in zip(requests, responses):
        assert response.status_code == status, (username, path, response.text)
        if rows is not None:
            assert listed(response) == rows, (username, path)
    assert in_flight["max"] > 5, in_flight


# Sessions and failing closed ---------------------------------------------------------------------

@pytest.mark.asyncio
async def test_anonymous_requests(make_app):
    app = await make_app()
    async with client(app) as c:
        assert (await c.get("/")).status_code == 200
        assert (await c.get("/whoami")).json() == {"user": None}
        for method, path in [("GET", "/orgs"), ("GET", "/repos"), ("GET", "/issues"), ("GET", "/repos/2"),
                             ("GET", "/repos/2/issues"), ("POST", "/repos/2/issues"), ("POST", "/issues/3/close"),
                             ("DELETE", "/repos/1"), ("GET", "/orgs/1/repos"), ("POST", "/repos")]:
            response = await c.request(method, path)
            assert response.status_code == 401, (method, path, response.text)
        assert (await c.post("/login", json={"username": "mallory"})).status_code == 401
        assert (await c.post("/login", json=["alice"])).status_code == 400
        assert (await c.post("/login", content=b"not json", headers={"content-type": "application/json"})
                ).status_code == 400
        assert (await c.get("/nope")).status_code == 404
        assert (await c.put("/repos")).status_code == 405
        # A forged cookie is no login.
        c.cookies.set("github_session", "1.0123abcd")
        assert (await c.get("/whoami")).json() == {"user": None}
        assert (await c.get("/repos")).status_code == 401


@pytest.mark.asyncio
async def test_login_logout_whoami(make_app):
    async with logged_in(await make_app(), "carol") as c:
        assert (await c.get("/whoami")).json() == {"user": {"id": 3, "username": "carol"}}
        assert (await c.post("/logout")).json() == {"user": None}
        assert (await c.get("/whoami")).json() == {"user": None}
        assert (await c.get("/repos")).status_code == 401


def test_signed_cookies():
    cookie = sign_user_id(3, "k")
    assert signed_user_id(cookie, "k") == 3
    assert signed_user_id(cookie, "other key") is None
    assert signed_user_id("3." + "0" * 64, "k") is None
    for bad in (None, "", "3", "x.y", "-1." + cookie.split(".")[1]):
        assert signed_user_id(bad, "k") is None


# The app shares the Flask app's policy, seed and expectations --------------------------------------

def test_policy_is_the_shared_one_of_the_flask_app():
    pytest.importorskip("flask_sqlalchemy")
    from example_apps.github_flask.authorization import POLICY as FLASK_POLICY
    assert POLICY == FLASK_POLICY == REPO_ROOT / "example_apps" / "github_domain" / "policy.polar"
    assert POLICY.is_file()


def test_models_are_the_flask_apps():
    """One set of SQLAlchemy models (example_apps/github_domain/models.py) for both apps."""
    pytest.importorskip("flask_sqlalchemy")
    from example_apps.github_fastapi import authorization
    from example_apps.github_flask import models as flask_models
    assert authorization.Base is flask_models.Base
    for model in (User, Org, Repo, Issue):
        assert getattr(flask_models, model.__name__) is model
        assert oso.get_class(model.__name__) is model
    assert flask_models.db.Model.metadata is flask_models.Base.metadata


def test_seed_and_expectations_are_the_shared_ones():
    """Both apps seed the rows of example_apps/github_domain/data.py (no copy of them to drift), and the
    shared expectations describe those rows: issue ids per repo, closed issues, users, orgs."""
    pytest.importorskip("flask_sqlalchemy")
    from example_apps.github_domain import data as github_data
    from example_apps.github_flask import seed as flask_seed
    for name in ("USERS", "ORGS", "ACCESS", "REPOS", "ORG_ROLES", "REPO_ROLES", "ISSUES"):
        assert getattr(seed, name) is getattr(github_data, name), name
        assert getattr(flask_seed, name) is getattr(github_data, name), name
    import test_example_github_flask as flask_tests
    assert flask_tests.LISTINGS is LISTINGS and flask_tests.ACTIONS is ACTIONS
    from github_example_expectations import ISSUES_OF, ORG_ID
    assert USERS == github_data.USERS == list(LISTINGS)
    assert ORG_ID == {"acme": 1, "globex": 2}
    assert REPO_ID == {"anvil": 1, "rocket": 2, "tnt": 3, "hammock": 4, "zeppelin": 5}
    assert ISSUES_OF == {repo: [i for i, issue in enumerate(github_data.ISSUES, 1) if issue[0] == repo]
                         for repo in REPO_ID}
    closed = {i for i, issue in enumerate(github_data.ISSUES, 1) if issue[3]}
    for username, e in LISTINGS.items():
        for repo, issues in e["repo_issues"].items():
            assert issues in (404, ISSUES_OF[repo]), (username, repo)
        assert e["issues"] == sorted(i for repo in e["repos"] for i in ISSUES_OF[repo]), username
        assert e["open_issues"] == [i for i in e["issues"] if i not in closed], username


# Configuration and the demo command ----------------------------------------------------------------

def test_database_urls_get_async_drivers(monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert github_config.database_url() == f"sqlite+aiosqlite:///{github_config.DEFAULT_SQLITE_PATH}"
    assert github_config.database_url("sqlite:///x.db") == "sqlite+aiosqlite:///x.db"
    assert github_config.database_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert github_config.database_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert github_config.database_url("postgresql+asyncpg://u@h/db") == "postgresql+asyncpg://u@h/db"
    monkeypatch.setenv("DATABASE_URL", "postgresql://env/db")
    assert github_config.database_url() == "postgresql+psycopg://env/db"


def test_main_creates_seeds_and_would_serve(tmp_path, monkeypatch, capsys):
    """`python -m example_apps.github_fastapi` from a clean state: the default SQLite file is
    created and seeded, the banner printed, and uvicorn started on 127.0.0.1:8000."""
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setattr(github_config, "DEFAULT_SQLITE_PATH", tmp_path / "demo.sqlite3")
    served = []
    app = github_main.main([], serve=lambda app, **kw: served.append((app, kw)))
    assert served == [(app, {"host": "127.0.0.1", "port": 8000})]
    out = capsys.readouterr().out
    assert "seeded just now" in out and str(tmp_path / "demo.sqlite3") in out
    assert all(name in out for name in USERS) and "curl -c" in out

    async def first_user():
        async with AsyncSession(app.state.database.engine) as session:
            name = await session.scalar(select(User.username).where(User.id == 1))
        await app.state.database.engine.dispose()
        return name

    assert asyncio.run(first_user()) == "alice"
    # A second start finds the data; --reset seeds it afresh.
    github_main.main([], serve=lambda app, **kw: None)
    assert "already seeded" in capsys.readouterr().out
    github_main.main(["--reset", "--port", "8001"], serve=lambda app, **kw: served.append((app, kw)))
    assert "seeded just now" in capsys.readouterr().out and served[-1][1]["port"] == 8001


def test_the_lifespan_seeds_and_disposes(tmp_path):
    """Served by uvicorn (`create_app()` with seeding on), the app seeds when it starts."""
    app = create_app(f"sqlite:///{tmp_path / 'lifespan.sqlite3'}")

    async def run():
        async with app.router.lifespan_context(app):
            async with logged_in(app, "dave") as dave:
                return [r["name"] for r in (await dave.get("/repos")).json()]

    assert asyncio.run(run()) == ["rocket", "hammock", "zeppelin"]


def test_module_is_runnable_with_python_dash_m():
    result = subprocess.run([sys.executable, "-m", "example_apps.github_fastapi", "--help"], cwd=REPO_ROOT,
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert "--database-url" in result.stdout
