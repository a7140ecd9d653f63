"""django_oso: the app (registration, policy loading), request authorization, decorators,
middleware and the legacy modules' surface. Data filtering: test_django_oso_filtering.py;
permission backend and admin: test_django_oso_backend.py; async: test_django_oso_async.py.
"""

# ruff: noqa: E402
from __future__ import annotations

import importlib

import pytest

pytest.importorskip("django")

from django.apps import apps
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import HttpRequest
from django.test import RequestFactory
from django_oso_app.models import Author, Post
from django_oso_app.testing import extra_policy

import django_oso
from django_oso import decorators, middleware
from django_oso.auth import (
    authorize,
    authorize_request,
    enforce,
    request_authorized,
    skip_authorization,
)
from django_oso.oso import (
    Oso,
    django_model_name,
    init_oso,
    load_policy_files,
    polar_model_name,
    policy_files,
    reset_oso,
)
from oso_core import Oso as CoreOso
from oso_core import Variable
from oso_core.exceptions import OsoError, PolarRuntimeError

SIMPLE = """
allow("user", "read", "resource");
allow("other_user", "read", "other_resource");
allow("user", "GET", "action_resource");
"""


@pytest.fixture
def simple_policy():
    with extra_policy(SIMPLE):
        yield


@pytest.fixture
def rf():
    return RequestFactory()


# --- the app -------------------------------------------------------------------------------------

def test_public_surface():
    assert isinstance(django_oso.Oso, CoreOso)
    assert django_oso.Oso is Oso
    for module, names in {
        "django_oso.oso": ["Oso", "polar_model_name", "django_model_name", "init_oso",
                           "load_policy_files", "reset_oso"],
        "django_oso.auth": ["authorize", "authorize_model", "skip_authorization", "request_authorized"],
        "django_oso.decorators": ["authorize", "authorize_request", "skip_authorization"],
        "django_oso.middleware": ["RequireAuthorization", "RouteAuthorization",
                                  "ReloadPolicyMiddleware", "WHITELIST_STATUSES_DEFAULT"],
        "django_oso.models": ["AuthorizedModel", "AuthorizedQuerySet", "authorize_model"],
        "django_oso.partial": ["TRUE_FILTER", "partial_to_query_filter", "FilterBuilder", "COMPARISONS"],
        "django_oso.settings": ["OSO_RELOAD_SERVER"],
        "django_oso.apps": ["DjangoOsoConfig"],
        "django_oso.test_urls": ["urlpatterns"],
    }.items():
        loaded = importlib.import_module(module)
        for name in names:
            assert hasattr(loaded, name), f"{module}.{name}"
    assert middleware.WHITELIST_STATUSES_DEFAULT == {401, 403, 404, 405, 500}
    assert apps.get_app_config("django_oso").name == "django_oso"


def test_settings_module_reads_project_settings():
    from django_oso import settings as oso_settings
    assert oso_settings.OSO_RELOAD_SERVER is False   # tests/fixtures/django_settings.py


def test_model_names():
    assert polar_model_name(Post) == "django_oso_app::Post"
    from django.contrib.auth.models import User
    assert polar_model_name(User) == "auth::User"
    assert django_model_name("django_oso_app::Post") == "django_oso_app.Post"
    assert django_model_name("a::b::C") == "a.b.C"


def test_every_model_is_registered():
    for model in apps.get_models():
        assert Oso.get_class(polar_model_name(model)) is model
    assert Oso.get_class("auth::AnonymousUser") is AnonymousUser
    assert Oso.get_class("django::contrib::auth::AnonymousUser") is AnonymousUser
    assert Oso.get_class("HttpRequest") is HttpRequest


def test_models_specialize_rules():
    from django_oso_app2.models import Note
    result = next(Oso.query_rule("models", Author(), Variable("x")))
    assert result["bindings"]["x"] == 1
    assert next(Oso.query_rule("models", Post(), Variable("x")))["bindings"]["x"] == 2
    assert next(Oso.query_rule("models", Note(), Variable("x")))["bindings"]["x"] == 3


def test_policy_files_of_every_app_are_loaded():
    """Every *.polar under each installed app's policy/ folder (sub-folders too), in one load."""
    files = policy_files()
    names = [f.replace("\\", "/").split("/tests/")[-1] for f in files if "/tests/" in f.replace("\\", "/")]
    assert "django_oso_app/policy/base.polar" in names
    assert "django_oso_app/policy/nested/more.polar" in names
    assert "django_oso_app2/policy/app2.polar" in names
    assert any(f.endswith("github.polar") for f in files)
    for n in (1, 2, 3):
        assert Oso.query_rule_once("policy_load_test", n)
    assert not Oso.query_rule_once("policy_load_test", 4)
    assert apps.get_app_config("django_oso").loaded_files == files


def test_reset_oso_reloads_and_drops_other_rules():
    with extra_policy("policy_load_test(4);"):
        assert Oso.query_rule_once("policy_load_test", 4)
    assert not Oso.query_rule_once("policy_load_test", 4)   # reset_oso ran
    assert reset_oso() == policy_files()
    assert Oso.query_rule_once("policy_load_test", 1)


def test_reset_oso_keeps_the_old_policy_when_the_new_one_is_broken(tmp_path, monkeypatch):
    broken = tmp_path / "broken.polar"
    broken.write_text("allow(x, y, z) if;")
    monkeypatch.setattr("django_oso.oso.policy_files", lambda: [str(broken)])
    with pytest.raises(OsoError):
        reset_oso()
    assert Oso.query_rule_once("policy_load_test", 1)


def test_load_policy_files_is_a_second_load():
    with pytest.raises(PolarRuntimeError, match="Cannot load additional Polar code"):
        load_policy_files()


def test_init_oso_twice_is_harmless():
    Oso.clear_rules()
    try:
        assert init_oso() == policy_files()
    finally:
        reset_oso()
    assert Oso.query_rule_once("policy_load_test", 1)


def test_autoreload_watches_policy_folders():
    from django_oso.apps import watch_policies
    from django_oso.oso import policy_dirs

    watched = []

    class Reloader:
        def watch_dir(self, path, glob):
            watched.append((str(path), glob))

    watch_policies(Reloader())
    assert watched == [(d, "**/*.polar") for d in policy_dirs()]
    assert any(d.endswith("django_oso_app/policy") for d, _ in watched)


def test_typed_paths_follow_django_fields():
    get_field = Oso.host.get_field
    assert get_field(Post, "created_by") is Author
    assert get_field(Post, "tags").__name__ == "Tag"          # many-to-many: the related model
    assert get_field(Post, "comments").__name__ == "Comment"  # reverse FK accessor
    assert get_field(Author, "readable_posts") is Post        # reverse many-to-many
    assert get_field(Post, "title") is None                   # a column
    assert get_field(Post, "no_such_field") is None


# --- authorize -----------------------------------------------------------------------------------

def test_authorize(rf, simple_policy):
    request = rf.get("/")
    authorize(request, actor="user", action="read", resource="resource")
    authorize(request, actor="user", resource="action_resource")    # action: request.method
    request.user = "user"
    authorize(request, resource="action_resource")                  # actor: request.user
    with pytest.raises(PermissionDenied):
        authorize(request, "resource", actor="other", action="read")


def test_authorize_marks_the_request_even_when_denied(rf, simple_policy):
    request = rf.get("/")
    assert not request_authorized(request)
    with pytest.raises(PermissionDenied):
        authorize(request, "resource", actor="nobody", action="read")
    assert request_authorized(request)
    other = rf.get("/")
    skip_authorization(other)
    assert request_authorized(other)


def test_authorize_request_uses_allow_request(rf):
    with extra_policy('allow_request("user", r: HttpRequest) if r.path = "/ok/";'):
        request = rf.get("/ok/")
        authorize_request(request, actor="user")
        assert request_authorized(request)
        with pytest.raises(PermissionDenied):
            authorize_request(rf.get("/no/"), actor="user")
        request = rf.get("/ok/")
        request.user = "user"
        authorize_request(request)


def test_enforce_maps_not_found_and_forbidden(rf):
    from django.http import Http404
    with extra_policy('allow("u", "read", "doc"); allow("u", "read", "other");'
                      'allow("u", "edit", "doc");'):
        request = rf.get("/")
        enforce(request, "doc", actor="u", action="edit")
        with pytest.raises(PermissionDenied):
            enforce(request, "other", actor="u", action="edit")      # may read: 403
        with pytest.raises(Http404):
            enforce(request, "secret", actor="u", action="edit")     # may not read: 404
        assert request_authorized(request)


# --- decorators ----------------------------------------------------------------------------------

def test_decorators_bare_and_called(rf, simple_policy):
    @decorators.authorize(actor="user", action="read", resource="resource")
    def ok(request):
        return "ok"

    @decorators.authorize(resource="resource", action="read")
    def default_actor(request):
        return "default"

    @decorators.authorize_request(actor="user")
    def request_resource(request):
        return "never"

    @decorators.authorize_request
    def bare_request(request):
        return "never"

    @decorators.skip_authorization
    def skipped(request):
        return "skipped"

    assert ok.__name__ == "ok"
    assert ok(rf.get("/")) == "ok"
    request = rf.get("/")
    request.user = "user"
    assert default_actor(request) == "default"
    with pytest.raises(PermissionDenied):
        request_resource(rf.get("/"))
    request = rf.get("/")
    request.user = "user"
    with pytest.raises(PermissionDenied):
        bare_request(request)
    request = rf.get("/")
    assert skipped(request) == "skipped" and request_authorized(request)
    with extra_policy('allow("user", "GET", r: HttpRequest) if r.path = "/yes/";'):
        assert request_resource(rf.get("/yes/")) == "never"


# --- middleware ------------------------------------------------------------------------------------

@pytest.mark.urls("django_oso.test_urls")
def test_require_authorization(client, settings, simple_policy):
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, "django_oso.middleware.RequireAuthorization"]
    with pytest.raises(OsoError, match="authorize was not called during processing request"):
        client.get("/")
    assert client.get("/auth/").status_code == 200
    assert client.get("/auth_decorated_fail/").status_code == 403
    assert client.get("/auth_decorated/").status_code == 200
    assert client.get("/notfound/").status_code == 404
    assert client.get("/error/").status_code == 500


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/secret/", "/secret-stream/", "/async/secret/"])
def test_require_authorization_never_sends_the_body(client, settings, path):
    """A view that authorized nothing answers 500, without its content (also streamed)."""
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, "django_oso.middleware.RequireAuthorization"]
    client.raise_request_exception = False
    response = client.get(path)
    assert response.status_code == 500
    body = b"".join(response.streaming_content) if response.streaming else response.content
    assert b"secret" not in body


@pytest.mark.urls("django_oso.test_urls")
def test_route_authorization(client, settings, simple_policy):
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, "django_oso.middleware.RouteAuthorization"]
    assert client.get("/a/").status_code == 403
    assert client.get("/b/").status_code == 403
    with extra_policy('allow(_, "GET", _: HttpRequest{path: "/a/"});'):
        assert client.get("/a/").status_code == 200
        assert client.get("/a/").content == b"a"
        assert client.post("/a/").status_code == 403
        assert client.get("/b/").status_code == 403
        # URL resolution happens after middleware: an unknown URL is denied, not a 404.
        assert client.get("/notfound/").status_code == 403


@pytest.mark.urls("django_oso.test_urls")
def test_allow_request_authorization(client, settings):
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, "django_oso.middleware.AllowRequestAuthorization",
                           "django_oso.middleware.RequireAuthorization"]
    with extra_policy('allow_request(_: auth::AnonymousUser, r: HttpRequest) if r.path = "/a/";'):
        assert client.get("/a/").status_code == 200
        assert client.get("/b/").status_code == 403
        assert client.post("/a/").status_code == 200   # allow_request has no action


@pytest.mark.urls("django_oso.test_urls")
def test_reload_policy_middleware(client, settings, tmp_path, monkeypatch):
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, "django_oso.middleware.ReloadPolicyMiddleware",
                           "django_oso.middleware.RouteAuthorization"]
    policy = tmp_path / "live.polar"
    policy.write_text('allow(_, "GET", _: HttpRequest{path: "/a/"});')
    monkeypatch.setattr("django_oso.oso.policy_files", lambda: [str(policy)])
    try:
        settings.DEBUG = False
        assert client.get("/a/").status_code == 403      # not reloaded without DEBUG
        settings.DEBUG = True
        assert client.get("/a/").status_code == 200      # reloaded before the request
        policy.write_text('allow(_, "GET", _: HttpRequest{path: "/b/"});')
        assert client.get("/a/").status_code == 403
        assert client.get("/b/").status_code == 200
    finally:
        monkeypatch.undo()
        reset_oso()


def test_middleware_is_sync_and_async_capable():
    for factory in (middleware.RequireAuthorization, middleware.RouteAuthorization,
                    middleware.AllowRequestAuthorization, middleware.ReloadPolicyMiddleware):
        assert factory.sync_capable and factory.async_capable


# --- legacy data-filtering surface -------------------------------------------------------------

def test_true_filter_and_comparisons():
    from django_oso.partial import COMPARISONS, TRUE_FILTER
    assert str(TRUE_FILTER) == "(NOT (AND: ('pk__in', [])))"
    assert COMPARISONS["Eq"]("a", 1) == Q(a=1)
    assert COMPARISONS["Unify"]("a", 1) == Q(a=1)
    assert COMPARISONS["Neq"]("a", 1) == ~Q(a=1)
    assert COMPARISONS["Gt"]("a", 1) == Q(a__gt=1)
    assert COMPARISONS["Geq"]("a", 1) == Q(a__gte=1)
    assert COMPARISONS["Lt"]("a", 1) == Q(a__lt=1)
    assert COMPARISONS["Leq"]("a", 1) == Q(a__lte=1)
