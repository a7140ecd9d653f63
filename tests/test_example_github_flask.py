"""The GitHub-like example app (example_apps/github_flask), driven through Flask's test client.

For each seeded user: exactly which orgs, repos and issues every listing endpoint returns, and
the status of each detail and write endpoint. Listings are also checked on PostgreSQL, to be
one SQL statement each, and to agree with `is_allowed` row by row.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("flask_sqlalchemy")

from fixtures.databases import postgres_schema, postgres_url, schema_connect_args
from sqlalchemy import event, select

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from example_apps.github_flask import __main__ as github_main
from example_apps.github_flask import config as github_config
from example_apps.github_flask import create_app
from example_apps.github_flask.authorization import EXTENSION_KEY
from example_apps.github_flask.models import Issue, Org, Repo, User, db
from oso_core.exceptions import OsoError

# Which orgs, repos and issues each user sees, and the status of each action per user: shared with
# tests/test_example_github_fastapi.py.
from github_example_expectations import ACTIONS, LISTINGS, ORG_ID, REPO_ID, USERS


# Fixtures ------------------------------------------------------------------------------------------

@pytest.fixture
def make_app(tmp_path):
    """`make_app()` -> a seeded app on a fresh SQLite file."""
    apps = []

    def make():
        app = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{tmp_path / f'github{len(apps)}.sqlite3'}"})
        apps.append(app)
        return app

    yield make
    for app in apps:
        with app.app_context():
            db.engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def backend_app(request, tmp_path):
    """A seeded app on a fresh SQLite file or in a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        app = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{tmp_path / 'github.sqlite3'}"})
        yield app
        with app.app_context():
            db.engine.dispose()
        return
    with postgres_schema() as schema:
        app = create_app({"TESTING": True, "DATABASE_URL": postgres_url(),
                          "SQLALCHEMY_ENGINE_OPTIONS": {"connect_args": schema_connect_args(schema)}})
        yield app
        with app.app_context():
            db.engine.dispose()


def login(app, username):
    client = app.test_client()
    response = client.post("/login", json={"username": username})
    assert response.status_code == 200, response.json
    assert response.json["user"]["username"] == username
    return client


def names(response) -> list:
    assert response.status_code == 200, (response.request.path, response.json)
    return [row["name"] for row in response.json]


def ids(response) -> list:
    assert response.status_code == 200, (response.request.path, response.json)
    return [row["id"] for row in response.json]


# Listings ------------------------------------------------------------------------------------------

def check_listings(app, username):
    client = login(app, username)
    expected = LISTINGS[username]
    assert names(client.get("/orgs")) == expected["orgs"]
    assert names(client.get("/repos")) == expected["repos"]
    assert names(client.get(f"/orgs/{ORG_ID['acme']}/repos")) == expected["acme_repos"]
    assert names(client.get(f"/orgs/{ORG_ID['globex']}/repos")) == expected["globex_repos"]
    assert ids(client.get("/issues")) == expected["issues"]
    assert ids(client.get("/issues?state=open")) == expected["open_issues"]
    assert ids(client.get("/issues?state=closed")) == [i for i in expected["issues"] if i not in expected["open_issues"]]
    for repo, issues in expected["repo_issues"].items():
        response = client.get(f"/repos/{REPO_ID[repo]}/issues")
        if issues == 404:
            assert response.status_code == 404, (username, repo)
        else:
            assert ids(response) == issues, (username, repo)
    assert client.get("/repos/99/issues").status_code == 404


@pytest.mark.parametrize("username", USERS)
def test_listings_per_user_on_sqlite(make_app, username):
    check_listings(make_app(), username)


def test_listings_on_both_databases(backend_app):
    for username in USERS:
        check_listings(backend_app, username)


def test_each_listing_is_one_sql_statement(backend_app):
    """Per request: one statement loads the logged-in user, exactly one more is the listing."""
    statements: list = []

    def record(conn, cursor, statement, *args):
        statements.append(statement)

    with backend_app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        for username in USERS:
            client = login(backend_app, username)
            for path in ["/orgs", "/repos", "/orgs/1/repos", "/issues", "/issues?state=open",
                         "/repos/1/issues", "/repos/2/issues", "/repos/4/issues"]:
                statements.clear()
                response = client.get(path)
                assert response.status_code in (200, 404)
                assert len(statements) == 2, (username, path, statements)
                assert re.search(r"\bFROM users\b", statements[0]), statements[0]
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_listings_agree_with_is_allowed(make_app):
    """The rows data filtering returns are exactly those `is_allowed` accepts, one by one."""
    app = make_app()
    oso = app.extensions[EXTENSION_KEY].oso
    with app.app_context():
        for username in USERS:
            user = db.session.scalar(select(User).where(User.username == username))
            client = login(app, username)
            for path, model in [("/orgs", Org), ("/repos", Repo), ("/issues", Issue)]:
                allowed = [row.id for row in db.session.scalars(select(model).order_by(model.id))
                           if oso.is_allowed(user, "read", row)]
                assert ids(client.get(path)) == allowed, (username, path)


# Actions ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("username", USERS)
def test_actions_per_user(make_app, username):
    client = login(make_app(), username)
    column = USERS.index(username)
    for method, path, body, statuses in ACTIONS:
        response = client.open(path, method=method, json=body)
        assert response.status_code == statuses[column], (username, method, path, body, response.json)


def test_writes_take_effect(make_app):
    app = make_app()
    alice, erin = login(app, "alice"), login(app, "erin")
    assert names(erin.get("/repos")) == ["rocket"]
    # alice makes erin a reader of anvil: erin now sees anvil and its issues.
    response = alice.post("/repos/1/roles", json={"username": "erin", "role": "reader"})
    assert response.status_code == 201
    assert response.json == {"user_id": 5, "username": "erin", "repo_id": 1, "role": "reader"}
    assert names(erin.get("/repos")) == ["anvil", "rocket"]
    assert ids(erin.get("/issues")) == [1, 2, 3, 4]
    assert [r["username"] for r in alice.get("/repos/1/roles").json] == ["carol", "erin"]
    # erin opens an issue on anvil and, as its creator, closes it; she cannot close the others.
    issue = erin.post("/repos/1/issues", json={"title": "  Dent on top  "}).json
    assert issue == {"id": 8, "repo_id": 1, "creator_id": 5, "title": "Dent on top", "closed": False}
    assert erin.post("/issues/8/close").json["closed"] is True
    assert erin.post("/issues/1/close").status_code == 403
    # A new repo is private: only acme's members see it.
    repo = alice.post("/repos", json={"org_id": 1, "name": "dynamite"}).json
    assert repo == {"id": 6, "org_id": 1, "name": "dynamite", "is_public": False}
    assert names(login(app, "bob").get("/repos")) == ["anvil", "rocket", "tnt", "dynamite"]
    assert names(erin.get("/repos")) == ["anvil", "rocket"]
    # Taking the role away hides anvil again; deleting a repo takes its issues with it.
    assert alice.delete("/repos/1/roles/erin").status_code == 204
    assert names(erin.get("/repos")) == ["rocket"]
    assert alice.delete("/repos/2").status_code == 204
    assert erin.get("/repos").json == [] and erin.get("/issues").json == []
    assert alice.get("/repos/2").status_code == 404


# Sessions and failing closed ---------------------------------------------------------------------

def test_anonymous_requests(make_app):
    app = make_app()
    client = app.test_client()
    assert client.get("/").status_code == 200
    assert client.get("/whoami").json == {"user": None}
    for method, path in [("GET", "/orgs"), ("GET", "/repos"), ("GET", "/issues"), ("GET", "/repos/2"),
                         ("GET", "/repos/2/issues"), ("POST", "/repos/2/issues"), ("POST", "/issues/3/close"),
                         ("DELETE", "/repos/1")]:
        response = client.open(path, method=method)
        assert response.status_code == 401, (method, path)
        assert response.json["error"] == "Unauthorized"
    assert client.post("/login", json={"username": "mallory"}).status_code == 401
    assert client.post("/login", data="not json").status_code == 401
    assert client.post("/login", json=["alice"]).status_code == 401
    assert client.get("/nope").status_code == 404
    assert client.put("/repos").status_code == 405


def test_login_logout_whoami(make_app):
    client = login(make_app(), "carol")
    assert client.get("/whoami").json == {"user": {"id": 3, "username": "carol"}}
    assert client.post("/logout").json == {"user": None}
    assert client.get("/whoami").json == {"user": None}
    assert client.get("/repos").status_code == 401


def test_a_view_that_forgets_to_authorize_fails_closed(make_app):
    app = make_app()

    @app.get("/leak")
    def leak():
        return {"repos": [r.name for r in db.session.scalars(select(Repo))]}

    client = login(app, "erin")
    with pytest.raises(OsoError, match="Authorize not called"):
        client.get("/leak")
    app.testing = False     # in production, a 500 instead of the data
    response = client.get("/leak")
    assert response.status_code == 500 and b"anvil" not in response.data


def test_policy_passes_the_checker():
    from example_apps.github_flask.authorization import POLICY, create_oso
    from oso_core.frontend.source import Source
    from oso_core.tooling.check import check_sources

    oso = create_oso()
    assert check_sources([Source(POLICY.read_text(encoding="utf-8"), str(POLICY))], oso.host) == []


# The demo command ----------------------------------------------------------------------------------

def test_readme_demo_command_runs_this_app():
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    first_block = readme.split("```")[1]
    assert "pip install -q -e '.[flask-sqlalchemy]'" in first_block
    assert ".venv/bin/python -m example_apps.github_flask" in first_block


def test_main_creates_seeds_and_would_serve(tmp_path, monkeypatch, capsys):
    """`python -m example_apps.github_flask` from a clean state: the default SQLite file is
    created and seeded, the banner printed, and the server started on 127.0.0.1:5000."""
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setattr(github_config, "DEFAULT_SQLITE_PATH", tmp_path / "demo.sqlite3")
    monkeypatch.chdir(tmp_path)
    served = []
    apps = [github_main.main([], serve=lambda app, **kw: served.append(kw))]
    app = apps[0]
    assert served == [{"host": "127.0.0.1", "port": 5000}]
    out = capsys.readouterr().out
    assert "seeded just now" in out and str(tmp_path / "demo.sqlite3") in out
    assert all(name in out for name in USERS) and "curl -c" in out
    with app.app_context():
        assert db.session.scalar(select(User.username).where(User.id == 1)) == "alice"
    # A second start finds the data; --reset seeds it afresh.
    apps.append(github_main.main([], serve=lambda app, **kw: None))
    assert "already seeded" in capsys.readouterr().out
    apps.append(github_main.main(["--reset", "--port", "5001"], serve=lambda app, **kw: served.append(kw)))
    assert "seeded just now" in capsys.readouterr().out and served[-1]["port"] == 5001
    for app in apps:
        with app.app_context():
            db.engine.dispose()


def test_module_is_runnable_with_python_dash_m():
    result = subprocess.run([sys.executable, "-m", "example_apps.github_flask", "--help"], cwd=REPO_ROOT,
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert "--database-url" in result.stdout
