"""flask_oso: the legacy flask-oso 0.27 surface on Flask 3 (integrations.md §1), plus the additions
(404/403 mapping of oso_core's authorization errors, ``FlaskOso.authorize_request``)."""

from __future__ import annotations

import threading

import flask
import pytest
from flask import Flask, g, request
from werkzeug.exceptions import Forbidden

import flask_oso
import flask_oso.context
import flask_oso.decorators
import flask_oso.flask_oso
from flask_oso import FlaskOso, authorize, skip_authorization
from oso_core import Oso
from oso_core.exceptions import (
    AuthorizationError,
    DuplicateClassAliasError,
    ForbiddenError,
    NotFoundError,
    OsoError,
)

SIMPLE_POLICY = """
allow("user", "read", "resource");
allow("other_user", "read", "other_resource");
allow(_actor, "GET", "action_resource");
"""

ACTOR_ERROR = ("Getting the current actor failed. You may need to override the current actor "
               "function with FlaskOso#set_get_actor")
APP_CONTEXT_ERROR = (
    "Application context doesn't exist. Did you use oso outside the context of a request? "
    "See https://flask.palletsprojects.com/en/1.1.x/appcontext/#manually-push-a-context")
INIT_APP_ERROR = "No oso instance on current application. Did you forget to call init_app?"


@pytest.fixture
def app():
    return Flask("test")


@pytest.fixture
def oso():
    return Oso()


@pytest.fixture
def fo(app, oso):
    ext = FlaskOso(oso=oso, app=app)
    ext.set_get_actor(lambda: "user")
    return ext


@pytest.fixture
def simple_policy(oso):
    oso.load_str(SIMPLE_POLICY)


@pytest.fixture
def app_ctx(app):
    with app.app_context():
        yield


def message(error: OsoError) -> str:
    return error.message


# Public surface ------------------------------------------------------------------------------

def test_public_surface():
    assert flask_oso.__all__ == ["FlaskOso", "authorize", "skip_authorization"]
    assert flask_oso.FlaskOso is flask_oso.flask_oso.FlaskOso
    assert flask_oso.authorize is flask_oso.decorators.authorize
    assert flask_oso.skip_authorization is flask_oso.decorators.skip_authorization
    assert callable(flask_oso.context._app_context) and callable(flask_oso.context._app_oso)
    for name in ("init_app", "set_oso", "set_get_actor", "set_unauthorized_action",
                 "require_authorization", "perform_route_authorization", "skip_authorization",
                 "authorize", "authorize_request", "teardown"):
        assert callable(getattr(FlaskOso, name))
    for name in ("app", "oso", "current_actor"):
        assert isinstance(getattr(FlaskOso, name), property)


# Initialization ------------------------------------------------------------------------------

def test_initialization_with_set(app, oso, simple_policy, app_ctx):
    ext = FlaskOso()
    ext.set_get_actor(lambda: "user")
    assert ext.oso is None
    with pytest.raises(OsoError) as e:
        ext.authorize(action="read", resource="resource")
    assert message(e.value) == "Cannot perform authorization without oso instance"
    ext.set_oso(oso)
    assert ext.oso is oso
    ext.authorize(action="read", resource="resource")


def test_initialization_with_constructor(oso, simple_policy, app_ctx):
    ext = FlaskOso(oso=oso)
    ext.set_get_actor(lambda: "user")
    ext.authorize(action="read", resource="resource")


def test_set_oso_registers_request(oso):
    FlaskOso(oso=oso)
    assert oso.get_class("Request") is flask.wrappers.Request
    ext = FlaskOso(oso=oso)  # a second extension on the same Oso is fine
    ext.set_oso(oso)  # same object: no-op
    assert ext.oso is oso

    other = Oso()

    class Request:
        pass

    other.register_class(Request)
    with pytest.raises(DuplicateClassAliasError):
        FlaskOso(oso=other)


def test_init_app(app, oso):
    ext = FlaskOso(oso=oso)
    ext.init_app(app)
    assert app.extensions["flask_oso"] is ext
    assert ext._provide_oso in app.before_request_funcs[None]
    assert ext.teardown in app.teardown_appcontext_funcs
    assert ext.teardown(None) is None
    # The instance is made available on the app context during requests.
    seen = {}

    @app.route("/")
    def index():
        seen["ext"] = flask_oso.context._app_oso()
        seen["g"] = g.oso_flask_oso
        return "ok"

    assert app.test_client().get("/").status_code == 200
    assert seen == {"ext": ext, "g": ext}


def test_app_property(app, oso):
    assert FlaskOso(oso=oso, app=app).app is app
    ext = FlaskOso(oso=oso)
    with app.app_context():
        assert ext.app is app
    assert ext.app is flask.current_app  # no context: the (unbound) proxy, as in legacy


# authorize ----------------------------------------------------------------------------------

def test_authorize(app, fo, simple_policy, app_ctx):
    fo.authorize("resource", action="read")  # actor defaults to current actor
    with pytest.raises(Forbidden) as e:
        fo.authorize("resource", actor="other", action="read")
    assert e.value.description == "Unauthorized"
    fo.authorize("other_resource", actor="other_user", action="read")

    with app.test_request_context(method="GET"):  # action defaults to the request method
        fo.authorize("action_resource")
    with app.test_request_context(method="POST"), pytest.raises(Forbidden):
        fo.authorize("action_resource")

    fo.set_get_actor(lambda: "other_user")
    assert fo.current_actor == "other_user"
    fo.authorize("other_resource", action="read")


def test_authorize_uses_allow_not_allow_request(fo, oso, app_ctx):
    oso.load_str('allow_request("user", _);')
    with pytest.raises(OsoError, match="Query for undefined rule `allow`"):
        fo.authorize("x", action="read")


def test_authorize_request_proxy_is_unwrapped(app, fo, oso, app_ctx):
    seen = []

    class Recorder:
        def check(self, r):
            seen.append(r)
            return True

    oso.register_constant(Recorder(), "recorder")
    oso.load_str('allow(_, _, r: Request) if recorder.check(r);')
    with app.test_request_context("/path"):
        fo.authorize(request)
        assert seen == [request._get_current_object()]
        assert type(seen[0]) is flask.wrappers.Request


def test_current_actor_default_and_errors(app, oso, simple_policy, app_ctx):
    ext = FlaskOso(oso=oso, app=app)
    g.current_user = "user"
    assert ext.current_actor == "user"
    ext.authorize("resource", action="read")
    del g.current_user
    with pytest.raises(AttributeError):
        ext.current_actor  # noqa: B018 - the property itself does not translate the error
    with pytest.raises(OsoError) as e:
        ext.authorize("resource", action="read")
    assert message(e.value) == ACTOR_ERROR
    assert isinstance(e.value.__cause__, AttributeError)

    def broken():
        raise AttributeError("nope")

    ext.set_get_actor(broken)
    with pytest.raises(OsoError) as e:
        ext.authorize_request(object())
    assert message(e.value) == ACTOR_ERROR
    # Other exceptions from the getter are not translated.
    ext.set_get_actor(lambda: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        ext.authorize("resource", action="read")


def test_custom_unauthorized_action(fo, oso, app_ctx):
    failed = []
    fo.set_unauthorized_action(lambda: failed.append(True) or "ignored")
    oso.load_str('allow(_, "not bad", _);')
    assert fo.authorize(resource="fail!", action="bad") is None  # return value ignored
    assert failed == [True]
    fo.authorize(resource="fine", action="not bad")
    assert failed == [True]


# require_authorization ----------------------------------------------------------------------

def test_require_authorization_needs_app(oso):
    with pytest.raises(OsoError) as e:
        FlaskOso(oso=oso).require_authorization()
    assert message(e.value) == "Cannot require authorization without Flask app object"
    with pytest.raises(OsoError) as e:
        FlaskOso(oso=oso).perform_route_authorization()
    assert message(e.value) == "Cannot perform route authorization without Flask app object"


def _require_app(app, fo):
    """An app with require_authorization and one route per case (routes must exist before the
    first request in Flask >= 2.3)."""
    fo.require_authorization()  # defaults to the constructor's app

    @app.route("/")
    def unauthorized():
        return "SECRET CONTENT"

    @app.route("/stream")
    def stream():
        def generate():
            yield "SECRET "
            yield "STREAM"
        return app.response_class(generate())

    @app.route("/auth")
    def auth():
        fo.authorize("resource", action="read")
        return "Hello"

    @app.route("/denied")
    def denied():
        fo.authorize("resource", actor="other", action="read")
        return "SECRET CONTENT"

    @app.route("/decorator")
    @authorize(action="read", resource="resource")
    def decorated():
        return "Hello"

    @app.route("/open")
    @skip_authorization
    def open_():
        return "open"

    @app.route("/open2")
    @skip_authorization(reason="public")
    def open2():
        return "open"

    @app.route("/skip-method")
    def skip_method():
        fo.skip_authorization("public")
        return "open"

    @app.route("/500")
    def server_error():
        raise RuntimeError("You messed this one up")

    @app.route("/post-only", methods=["POST"])
    def post_only():
        return "SECRET CONTENT"

    return app


def test_require_authorization_testing_propagates(app, fo, simple_policy):
    _require_app(app, fo).testing = True
    c = app.test_client()
    with pytest.raises(OsoError) as e:
        c.get("/")
    assert message(e.value) == "Authorize not called."
    for path in ("/auth", "/decorator", "/open", "/open2", "/skip-method"):
        assert c.get(path).status_code == 200, path
    assert c.get("/denied").status_code == 403
    assert c.get("/nonexistent").status_code == 404
    assert c.get("/post-only").status_code == 405


def test_require_authorization_never_leaks_content(app, fo, simple_policy, caplog):
    _require_app(app, fo)  # not testing: errors become responses
    c = app.test_client()
    for path in ("/", "/stream"):
        resp = c.get(path)
        assert resp.status_code == 500, path
        assert b"SECRET" not in resp.data
    # The error is logged once, not a second time while rendering the 500 page.
    assert [r.getMessage() for r in caplog.records].count("Exception on / [GET]") == 1
    assert not any("finalizing failed" in r.getMessage() for r in caplog.records)
    resp = c.get("/denied")
    assert resp.status_code == 403 and b"SECRET" not in resp.data
    assert c.get("/500").status_code == 500
    assert c.get("/auth").data == b"Hello"


def test_require_authorization_uses_app_500_handler(app, fo, simple_policy):
    _require_app(app, fo)
    caught = []

    @app.errorhandler(500)
    def on_500(e):
        caught.append(e.original_exception)
        return "custom error page", 500

    resp = app.test_client().get("/")
    assert (resp.status_code, resp.data) == (500, b"custom error page")
    assert isinstance(caught[0], OsoError)


def test_require_authorization_flag_is_per_request(app, fo, simple_policy, app_ctx):
    """Flask 3 reuses a pushed app context for requests: the flag must not leak between them."""
    _require_app(app, fo).testing = True
    c = app.test_client()
    assert c.get("/auth").status_code == 200
    with pytest.raises(OsoError, match="Authorize not called"):
        c.get("/")


def test_require_authorization_threads(app, fo, simple_policy):
    """Concurrent requests keep separate flags (state is context-local, never on FlaskOso)."""
    fo.require_authorization()
    app.testing = True
    barrier = threading.Barrier(2, timeout=5)

    @app.route("/a")
    def a():
        fo.authorize("resource", action="read")
        barrier.wait()  # the other request is in flight
        barrier.wait()  # ... and has finished its view
        return "a"

    @app.route("/b")
    def b():
        barrier.wait()
        barrier.wait()
        return "b"

    results = {}

    def run(path):
        try:
            results[path] = app.test_client().get(path).status_code
        except OsoError as e:
            results[path] = e.message

    threads = [threading.Thread(target=run, args=(p,)) for p in ("/a", "/b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert results == {"/a": 200, "/b": "Authorize not called."}


# perform_route_authorization -----------------------------------------------------------------

def test_route_authorization(fo, oso, app, app_ctx):
    fo.perform_route_authorization(app=app)
    app.testing = True

    @app.route("/test_route", methods=("GET",))
    def test():
        return "Test"

    c = app.test_client()
    with pytest.raises(OsoError) as e:
        c.get("/test_route")
    assert "Query for undefined rule `allow`" in str(e.value)

    oso.load_str('allow("user", "GET", _: Request{path: "/test_route"});')
    fo.set_get_actor(lambda: "other_user")
    assert c.get("/test_route").status_code == 403
    fo.set_get_actor(lambda: "user")
    resp = c.get("/test_route")
    assert (resp.status_code, resp.data) == (200, b"Test")
    assert c.get("/not_a_route").status_code == 404
    assert c.post("/test_route").status_code == 405


def test_route_authorization_with_require(app, fo, oso):
    fo.perform_route_authorization()
    fo.require_authorization()
    oso.load_str('allow(_, "GET", r: Request) if r.path.startswith("/public");')

    @app.route("/public/x")
    def public():
        return "public"

    @app.route("/private")
    def private():
        return "SECRET"

    c = app.test_client()
    assert c.get("/public/x").status_code == 200
    resp = c.get("/private")
    assert resp.status_code == 403 and b"SECRET" not in resp.data


def test_route_authorization_manual(fo, oso, app, app_ctx):
    app.testing = True

    @app.route("/test_route")
    @authorize(resource=request)
    def auth():
        return "authed"

    c = app.test_client()
    with pytest.raises(OsoError, match="Query for undefined rule `allow`"):
        c.get("/test_route")
    oso.load_str('allow("user", "GET", _: Request{path: "/test_route"});')
    fo.set_get_actor(lambda: "other_user")
    assert c.get("/test_route").status_code == 403
    fo.set_get_actor(lambda: "user")
    assert c.get("/test_route").status_code == 200


# Decorators ---------------------------------------------------------------------------------

def test_decorator_call_styles(app, fo, oso):
    calls = []

    class Spy:
        def allow(self, actor, action, resource):
            calls.append((actor, action, resource))
            return True

    oso.register_constant(Spy(), "spy")
    oso.load_str("allow(actor, action, resource) if spy.allow(actor, action, resource);")

    @app.route("/bare", methods=["PUT"])
    @authorize
    def bare():
        return "bare"

    @app.route("/called/<int:n>")
    @authorize(resource="doc", actor="alice", action="read")
    def called(n):
        """Doc string kept."""
        return f"called {n}"

    c = app.test_client()
    assert c.put("/bare").data == b"bare"
    assert c.get("/called/3").data == b"called 3"
    assert calls == [("user", "PUT", None), ("alice", "read", "doc")]
    assert called.__name__ == "called" and called.__doc__ == "Doc string kept."


def test_decorator_denied_skips_view(app, fo, simple_policy):
    ran = []

    @app.route("/")
    @authorize(resource="resource", actor="other", action="read")
    def view():
        ran.append(True)
        return "SECRET"

    resp = app.test_client().get("/")
    assert resp.status_code == 403 and not ran


def test_decorators_on_async_views(app, fo, simple_policy):
    pytest.importorskip("asgiref")
    fo.require_authorization()

    @app.route("/a")
    @authorize(resource="resource", action="read")
    async def a():
        return "async ok"

    @app.route("/s")
    @skip_authorization
    async def s():
        return "async skip"

    c = app.test_client()
    assert c.get("/a").data == b"async ok"
    assert c.get("/s").data == b"async skip"


def test_no_oso_error(app, oso):
    @authorize(resource="test")
    def orm_function():
        return "model"

    with pytest.raises(OsoError) as e:
        orm_function()
    assert message(e.value) == APP_CONTEXT_ERROR

    @skip_authorization
    def skipped():
        return "x"

    with pytest.raises(OsoError, match="Application context"):
        skipped()

    @app.route("/")
    @authorize(resource="test")
    def route():
        return "test"

    app.testing = True
    with app.app_context():
        with pytest.raises(OsoError) as e:
            app.test_client().get("/")
        assert message(e.value) == INIT_APP_ERROR


def test_decorator_outside_request_after_init_app(app, fo, simple_policy):
    """init_app records the extension on the app, so decorated functions work in a bare app
    context too (legacy needed a request's before_request hook)."""

    @authorize(resource="resource", action="read")
    def helper():
        return "ok"

    with app.app_context():
        assert helper() == "ok"


# 404 / 403 mapping of oso_core authorization errors -------------------------------------------

GITHUB_POLICY = """
allow(actor, "read", doc: Doc) if doc.owner = actor or doc.public;
allow(actor, "write", doc: Doc) if doc.owner = actor;
"""


class Doc:
    def __init__(self, owner, public=False):
        self.owner = owner
        self.public = public


DOCS = {"mine": Doc("user"), "public": Doc("alice", True), "private": Doc("alice")}


def _doc_app(app, oso):
    oso.register_class(Doc)
    oso.load_str(GITHUB_POLICY)

    @app.route("/docs/<name>", methods=["GET", "POST"])
    def doc(name):
        action = "read" if request.method == "GET" else "write"
        oso.authorize(g.user, action, DOCS[name])
        return f"SECRET {name}"

    @app.before_request
    def load_user():
        g.user = "user"

    return app


def test_not_found_and_forbidden_mapping(app, fo, oso):
    c = _doc_app(app, oso).test_client()
    assert c.get("/docs/mine").status_code == 200
    assert c.post("/docs/mine").status_code == 200
    assert c.get("/docs/public").status_code == 200
    resp = c.post("/docs/public")  # may read, may not write
    assert resp.status_code == 403 and b"SECRET" not in resp.data
    resp = c.get("/docs/private")  # may not even read
    assert resp.status_code == 404 and b"SECRET" not in resp.data
    assert c.post("/docs/private").status_code == 404


def test_mapping_with_require_authorization(app, fo, oso):
    """A denial by oso.authorize is an authorization: require_authorization keeps the 404/403."""
    fo.require_authorization()
    c = _doc_app(app, oso).test_client()
    assert c.get("/docs/private").status_code == 404
    assert c.post("/docs/public").status_code == 403


def test_mapping_uses_app_http_error_pages(app, fo, oso):
    _doc_app(app, oso)
    app.register_error_handler(404, lambda e: ("custom 404", 404))
    assert app.test_client().get("/docs/private").data == b"custom 404"


def test_mapping_does_not_override_app_handlers(oso):
    before = Flask("before")
    before.register_error_handler(NotFoundError, lambda e: ("mine before", 410))
    FlaskOso(oso=oso, app=before)
    _doc_app(before, oso)
    c = before.test_client()
    assert c.get("/docs/private").status_code == 410
    assert c.post("/docs/public").status_code == 403  # the other mapping is still installed

    after = Flask("after")
    FlaskOso(oso=Oso(), app=after)
    after.register_error_handler(ForbiddenError, lambda e: ("mine after", 418))
    _doc_app(after, Oso())
    assert after.test_client().post("/docs/public").status_code == 418

    general = Flask("general")
    FlaskOso(oso=Oso(), app=general)
    general.register_error_handler(AuthorizationError, lambda e: (type(e).__name__, 499))
    _doc_app(general, Oso())
    resp = general.test_client().get("/docs/private")
    assert (resp.status_code, resp.data) == (499, b"NotFoundError")


def test_no_mapping_without_flask_oso(oso):
    app = _doc_app(Flask("plain"), oso)
    assert app.test_client().get("/docs/private").status_code == 500


# authorize_request (addition) ----------------------------------------------------------------

REQUEST_POLICY = """
allow_request("user", r: Request) if r.path.startswith("/api");
allow_request("admin", _: Request);
"""


def test_authorize_request(app, fo, oso):
    oso.load_str(REQUEST_POLICY)
    fo.require_authorization()

    @app.route("/api/x")
    @app.route("/admin")
    def view():
        fo.authorize_request()
        return "ok"

    @app.route("/as/<actor>")
    def as_actor(actor):
        fo.authorize_request(request, actor=actor)
        return "ok"

    c = app.test_client()
    assert c.get("/api/x").status_code == 200
    resp = c.get("/admin")
    assert resp.status_code == 403 and b"Unauthorized" in resp.data
    assert c.get("/as/admin").status_code == 200
    assert c.get("/as/user").status_code == 403


def test_authorize_request_explicit_request_and_custom_action(app, fo, oso, app_ctx):
    oso.load_str(REQUEST_POLICY)
    failed = []
    fo.set_unauthorized_action(lambda: failed.append(True))
    with app.test_request_context("/api/v1"):
        fo.authorize_request()
        assert failed == []
    with app.test_request_context("/other"):
        fo.authorize_request()
        assert failed == [True]
        with app.test_request_context("/api/v2"):
            fo.authorize_request(request._get_current_object(), actor="user")
    assert failed == [True]


def test_authorize_request_custom_forbidden_error(app):
    class Denied(Exception):
        pass

    oso = Oso(forbidden_error=Denied)
    ext = FlaskOso(oso=oso, app=app)
    ext.set_get_actor(lambda: "user")
    oso.load_str(REQUEST_POLICY)
    with app.test_request_context("/nope"), pytest.raises(Forbidden):
        ext.authorize_request()


def test_authorize_request_without_oso(app, app_ctx):
    ext = FlaskOso()
    no_oso = "Cannot perform authorization without oso instance"
    with app.test_request_context("/"), pytest.raises(OsoError, match=no_oso):
        ext.authorize_request(actor="user")
