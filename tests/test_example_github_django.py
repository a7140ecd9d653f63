"""The GitHub-like example project (example_apps/github_django), through Django's test client:
what each seeded user sees (data-filtered lists, one SQL query each) and may do (403/404)."""

# ruff: noqa: E402
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("django")

from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from example_apps.github_django.github import seed as demo
from github_example_expectations import ISSUES_OF, LISTINGS, USERS

REPO_ROOT = Path(__file__).resolve().parents[1]
MIDDLEWARE = [
    "django.middleware.common.CommonMiddleware",
    "example_apps.github_django.github.middleware.DemoUserMiddleware",
    "django_oso.middleware.RequireAuthorization",
]

pytestmark = [pytest.mark.urls("example_apps.github_django.urls"), pytest.mark.django_db]

# What each user reads: the same as in the Flask and FastAPI apps (same seed, same read rules).
REPOS = {user: LISTINGS[user]["repos"] for user in USERS}
# Closing and deleting differ here (issue assignees may close: bob on issue 1), so they are local.
CLOSE = {"alice": {1, 2, 3, 4, 5}, "bob": {1, 4, 5}, "carol": {2, 7}, "dave": {6, 7}, "erin": {3}}
DELETE = {"alice": {1, 2, 3}, "bob": set(), "carol": set(), "dave": {4, 5}, "erin": set()}


@pytest.fixture
def api(client, settings):
    settings.MIDDLEWARE = MIDDLEWARE
    call_command("seed", stdout=open("/dev/null", "w"))

    def request(method, path, user, **kwargs):
        headers = {"X-User": user} if user else {}
        return getattr(client, method)(path, headers=headers, **kwargs)

    return request


@pytest.mark.parametrize("user", list(REPOS))
def test_lists_are_filtered_in_one_query(api, user):
    with CaptureQueriesContext(connection) as queries:
        repos = api("get", "/repos", user)
    assert repos.status_code == 200
    assert [r["name"] for r in repos.json()] == REPOS[user]
    assert len(queries) == 2    # the user (demo header), then the repos: one query
    issues = api("get", "/issues", user).json()
    assert sorted(i["id"] for i in issues) == sorted(i for r in REPOS[user] for i in ISSUES_OF[r])
    orgs = [o["name"] for o in api("get", "/orgs", user).json()]
    assert orgs == LISTINGS[user]["orgs"]


@pytest.mark.parametrize("user", list(REPOS))
def test_detail_views_answer_404_or_403(api, user):
    for repo_id, name in enumerate(["anvil", "rocket", "tnt", "hammock", "zeppelin"], start=1):
        response = api("get", f"/repos/{repo_id}", user)
        assert response.status_code == (200 if name in REPOS[user] else 404)
        issues = api("get", f"/repos/{repo_id}/issues", user)
        if name in REPOS[user]:
            assert [i["id"] for i in issues.json()] == ISSUES_OF[name]
        else:
            assert issues.status_code == 404
    for issue_id in range(1, 8):
        readable = any(issue_id in ISSUES_OF[r] for r in REPOS[user])
        assert api("get", f"/issues/{issue_id}", user).status_code == (200 if readable else 404)


@pytest.mark.parametrize("user", list(REPOS))
def test_closing_issues(api, user):
    readable = {i for r in REPOS[user] for i in ISSUES_OF[r]}
    for issue_id in range(1, 8):
        response = api("post", f"/issues/{issue_id}/close", user)
        expected = 200 if issue_id in CLOSE[user] else 403 if issue_id in readable else 404
        assert response.status_code == expected, (user, issue_id)


@pytest.mark.parametrize("user", list(REPOS))
def test_deleting_repos(api, user):
    for repo_id in sorted(DELETE[user]) + [r for r in range(1, 6) if r not in DELETE[user]]:
        response = api("delete", f"/repos/{repo_id}", user)
        name = ["anvil", "rocket", "tnt", "hammock", "zeppelin"][repo_id - 1]
        if repo_id in DELETE[user]:
            assert response.status_code == 204
        else:
            assert response.status_code == (403 if name in REPOS[user] else 404)


def test_creating_issues(api):
    body = json.dumps({"title": "New"})
    created = api("post", "/repos/2/issues", "erin", data=body, content_type="application/json")
    assert created.status_code == 201 and created.json()["creator"] == "erin"
    assert api("post", "/repos/1/issues", "erin", data=body, content_type="application/json").status_code == 404
    assert api("post", "/repos/2/issues", "erin", data="{}", content_type="application/json").status_code == 400


def test_anonymous_requests(api):
    assert api("get", "/repos", None).status_code == 401
    index = api("get", "/", None)
    assert index.status_code == 200 and index.json()["user"] is None
    assert api("get", "/", "bob").json()["user"] == "bob"


def test_policy_is_the_shared_file_plus_assignees():
    """The project loads the policy of the Flask and FastAPI apps (github.polar links to it) and
    only adds the rule for its issue assignees; the checker finds nothing in the two."""
    from django.apps import apps

    from django_oso.oso import Oso
    from example_apps.github_domain import POLICY
    from oso_core.frontend.source import Source
    from oso_core.tooling.check import check_sources

    policy_dir = REPO_ROOT / "example_apps" / "github_django" / "github" / "policy"
    ours = sorted(Path(f) for f in apps.get_app_config("django_oso").loaded_files
                  if Path(f).parent == policy_dir)
    assert [f.name for f in ours] == ["assignees.polar", "github.polar"]
    assert ours[1].resolve() == POLICY.resolve()
    assert "has_permission" in ours[0].read_text(encoding="utf-8")
    assert "resource" not in ours[0].read_text(encoding="utf-8").split("\n\n", 1)[1]
    assert check_sources([Source(f.read_text(encoding="utf-8"), str(f)) for f in ours], Oso.host) == []


def test_seed_is_idempotent_and_resettable(api):
    assert not demo.seed_if_empty()
    demo.reset()
    assert api("get", "/repos", "erin").json()[0]["name"] == "rocket"


def test_demo_command_runs_from_a_clean_state(tmp_path):
    """`manage.py demo --no-serve` migrates and seeds a fresh SQLite file (a subprocess)."""
    env = {"GITHUB_DJANGO_DB": str(tmp_path / "demo.sqlite3"), "PYTHONDONTWRITEBYTECODE": "1",
           "PATH": "/usr/bin:/bin"}
    result = subprocess.run([sys.executable, "example_apps/github_django/manage.py", "demo", "--no-serve"],
                            cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "seeded just now" in result.stdout and "X-User: bob" in result.stdout
    again = subprocess.run([sys.executable, "-m", "example_apps.github_django", "--no-serve"],
                           cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    assert "already seeded" in again.stdout
