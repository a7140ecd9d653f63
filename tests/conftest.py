"""Shared pytest configuration.

* Puts ``tests/`` on ``sys.path`` so test modules can ``import engine_under_test`` and
  ``fixtures.*`` whatever pytest's import mode or package layout is.
* Registers the ``legacy_differs`` marker: a test of a place where our engine deliberately differs
  from legacy oso 0.27.3 (a fixed **[legacy bug]** of the spec).  Such tests describe *our*
  behaviour, so they are skipped when the suite runs against legacy
  (``OSO_TESTS_AGAINST_LEGACY=1``).

This file must not import the engine: other test modules (parser, loader ...) share it and must
keep working while ``oso_core`` is incomplete.
"""

from __future__ import annotations

import os
import sys

import pytest

TESTS_DIR = os.path.dirname(os.path.abspath(__file__))
if TESTS_DIR not in sys.path:
    sys.path.insert(0, TESTS_DIR)

AGAINST_LEGACY = os.environ.get("OSO_TESTS_AGAINST_LEGACY") == "1"


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config):
    _configure_django_settings()
    config.addinivalue_line(
        "markers",
        "legacy_differs(reason): our engine deliberately differs from legacy oso 0.27.3 here "
        "(a fixed legacy bug); skipped when OSO_TESTS_AGAINST_LEGACY=1",
    )
    config.addinivalue_line(
        "markers",
        "spec_data_override(reason): a conformance case whose expectation we override (the copied "
        "data encodes non-Python hosts); informational, runs against both engines",
    )


def pytest_collection_modifyitems(config, items):
    if not AGAINST_LEGACY:
        return
    for item in items:
        marker = item.get_closest_marker("legacy_differs")
        if marker is not None:
            reason = marker.args[0] if marker.args else marker.kwargs.get("reason", "")
            item.add_marker(pytest.mark.skip(reason=f"legacy differs on purpose: {reason}"))


def _configure_django_settings():
    """Give every Django test of the suite the settings of `fixtures/django_settings.py`.

    Configured here, before pytest-django's own `pytest_configure` (which then sets Django up and
    guards database access), rather than with a DJANGO_SETTINGS_MODULE that pytest-django would
    export to the environment of subprocesses (e.g. pytester runs elsewhere). Settings named by
    DJANGO_SETTINGS_MODULE or already configured win. Django itself is not set up here.
    """
    if os.environ.get("DJANGO_SETTINGS_MODULE"):
        return
    try:
        from django.conf import settings
    except ImportError:
        return
    if not settings.configured:
        from fixtures import django_settings
        settings.configure(**django_settings.settings_dict())


# Django: pytest-django (settings: fixtures/django_settings.py) blocks database access outside
# `django_db` tests. The data-filtering adapter tests create, seed and drop their own tables on
# the "default" and "pg" aliases in module fixtures, so their modules get database access.
_DJANGO_OWN_TABLES_MODULES = {"test_filter_django", "test_filter_proof_django"}


@pytest.fixture(autouse=True, scope="module")
def _django_db_for_own_table_modules(request):
    if request.module.__name__.rpartition(".")[2] not in _DJANGO_OWN_TABLES_MODULES:
        yield
        return
    blocker = request.getfixturevalue("django_db_blocker")
    if blocker is None:   # Django not configured by pytest-django: nothing is blocked
        yield
        return
    # The test databases first (as any `django_db` test would): otherwise these modules open the
    # plain ":memory:" database, and the test database created later for other modules is lost.
    request.getfixturevalue("django_db_setup")
    with blocker.unblock():
        yield
