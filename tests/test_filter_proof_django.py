"""Proof that data filtering is exact on Django: for random data and several policies, the rows
`authorized_resources` returns are exactly those for which `is_allowed` is true.
Runs on SQLite and on PostgreSQL, and checks that each call is one SQL statement.

The Django twin of test_filter_proof_sqlalchemy.py: same policies and data (filter_scenarios.py),
with the `Scenario*` models of filter_django_app and the `DjangoAdapter`.
"""

# Django must be configured before its models are imported: imports follow code here.
# ruff: noqa: E402, RUF100

from __future__ import annotations

import pytest

django = pytest.importorskip("django")

from fixtures.django_settings import configure_django, create_pg_schema

configure_django()

from django.apps import apps

if not apps.is_installed("filter_django_app"):
    pytest.skip("Django settings were configured elsewhere without the filter_django_app test app",
                allow_module_level=True)

from django.db import connections
from django.test.utils import CaptureQueriesContext
from filter_django_app.models import SCENARIO_MODELS, SCENARIO_TABLES
from filter_scenarios import SCENARIOS, User, random_rows

from oso_core import Oso
from oso_core.data.adapter.django_adapter import DjangoAdapter
from oso_core.filtering.plan_cache import CACHE_KEY, Template


@pytest.fixture(scope="module", params=[("default", 1), ("default", 2), ("pg", 1), ("pg", 2)],
                ids=["sqlite-seed1", "sqlite-seed2", "postgresql-seed1", "postgresql-seed2"])
def database(request):
    """A database alias with the scenario tables created and seeded with `random_rows(seed)`."""
    alias, data_seed = request.param
    if alias == "pg":
        create_pg_schema()
    elif connections[alias].vendor != "sqlite":
        pytest.skip("the configured default database is not SQLite")
    models = [model for _, model in SCENARIO_TABLES]
    with connections[alias].schema_editor() as editor:
        for model in models:
            editor.create_model(model)
    try:
        seed(alias, random_rows(data_seed))
        yield alias
    finally:
        with connections[alias].schema_editor() as editor:
            for model in reversed(models):
                editor.delete_model(model)
        if alias != "default":  # closing in-memory SQLite would drop the test database
            connections[alias].close()


def seed(alias: str, rows: dict) -> None:
    for table, model in SCENARIO_TABLES:
        model._base_manager.using(alias).bulk_create(model(**r) for r in rows[table])


# What `is_allowed` reads of each resource, fetched along with it (a handful of queries instead
# of several per row: Django, unlike an ORM session, caches no reverse relations on its own).
RELATED = {
    "Org": ((), ("org_roles",)),
    "Repo": (("org",), ("repo_roles", "issues", "org__org_roles")),
    "Issue": (("repo__org",), ("repo__repo_roles", "repo__org__org_roles")),
}


def all_rows(alias: str, type_name: str) -> list:
    """Every row of the type's table, with the relations the policies read prefetched."""
    joined, prefetched = RELATED[type_name]
    rows = SCENARIO_MODELS[type_name]._base_manager.using(alias).order_by("pk")
    if joined:   # select_related() without fields is deprecated (Django 6.1)
        rows = rows.select_related(*joined)
    return list(rows.prefetch_related(*prefetched))


def make_oso(alias: str, policy: str) -> Oso:
    oso = Oso()
    oso.set_data_filtering_adapter(DjangoAdapter(using=alias))
    oso.register_class(User)
    for name, model in SCENARIO_MODELS.items():
        oso.register_class(model, name=name)
    oso.load_str(policy)
    return oso


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_authorized_rows_equal_allowed_rows(database, scenario):
    alias = database
    oso = make_oso(alias, scenario.policy)
    rows = {type_name: all_rows(alias, type_name) for type_name in {t for _, t in scenario.checks}}
    checked = 0
    for user_id in range(1, 7):
        user = User(user_id)
        for action, type_name in scenario.checks:
            model = SCENARIO_MODELS[type_name]
            with CaptureQueriesContext(connections[alias]) as queries:
                got = sorted(r.id for r in oso.authorized_resources(user, action, model))
            statements = [q["sql"] for q in queries.captured_queries]
            assert len(statements) == 1, statements
            expected = [r.id for r in rows[type_name] if oso.is_allowed(user, action, r)]
            assert got == expected, (scenario.name, user_id, action, type_name)
            checked += len(expected)
    assert checked > 0   # the data must let somebody see something
    # Users 2..6 were served from the plan cache: a template per check, bound per user
    # (the Django adapter has no prepared form: the bound plan is compiled each time).
    templates = oso._current_kb().derived[CACHE_KEY]
    assert len(templates) == len(scenario.checks)
    assert all(isinstance(t, Template) for t in templates.values())
