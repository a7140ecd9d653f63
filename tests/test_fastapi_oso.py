"""fastapi_oso: the FastAPI integration, driven through httpx's ASGI transport.

* the actor dependencies (`current_actor`: 401 without an actor; `optional_actor`), with async
  and sync `get_actor` dependencies that depend on other dependencies;
* `authorized(action, loader)`: 200 / 403 / 404 exactly like `Oso.authorize`, a missing object
  answered exactly like a hidden one; `authorize()`, `is_allowed()`, `authorized_actions()`;
* `authorize_request()` (allow_request) on a route and on a whole router;
* awaitable host attributes are awaited in the event loop: a slow decision does not hold up
  other requests;
* `authorized_select`: the policy as one SQLAlchemy `Select` on an AsyncSession (aiosqlite);
* failing closed: policy errors, untranslatable policies, a missing `init_app`, a failing
  `get_actor` are 500s (or exceptions), never an allow.
"""

from __future__ import annotations

import asyncio
import logging

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("greenlet")
pytest_asyncio = pytest.importorskip("pytest_asyncio")
pytest.importorskip("aiosqlite")
httpx = pytest.importorskip("httpx")

from engine_under_test import LEGACY
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request
from sqlalchemy import ForeignKey, Select, event, select
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from fastapi_oso import FastAPIOso
from oso_core import Oso
from oso_core.exceptions import ForbiddenError, NotFoundError, OsoError, UnsupportedError
from sqlalchemy_oso import register_models

pytestmark = pytest.mark.skipif(LEGACY, reason="fastapi_oso is built on oso_core's async API")


# A small in-memory domain ----------------------------------------------------------------------

class User:
    def __init__(self, name: str, delay: float = 0.0) -> None:
        self.name = name
        self.delay = delay


class Document:
    """`owner` is read by the policy; with `delay`, reading it gives a coroutine (awaited by the
    engine) that takes that long."""

    def __init__(self, id: int, owner: str, public: bool = False, delay: float | None = None) -> None:
        self.id = id
        self._owner = owner
        self.public = public
        self.delay = delay

    @property
    def owner(self):
        if self.delay is None:
            return self._owner

        async def later():
            await asyncio.sleep(self.delay)
            return self._owner
        return later()


DOCUMENTS = {1: Document(1, "alice"), 2: Document(2, "bob", public=True), 3: Document(3, "alice", delay=0.001)}

POLICY = """
allow(user: User, "read", doc: Document) if doc.owner = user.name;
allow(_user: User, "read", doc: Document) if doc.public = true;
allow(user: User, "edit", doc: Document) if doc.owner = user.name;
allow(user: User, "broken", doc: Document) if doc.id = 1 and doc.no_such_attribute = user.name;
allow_request(user: User, request: Request) if request.method = "GET" and user.name != "mallory";
allow_request(user: User, _request: Request) if user.name = "alice";
"""


def make_oso(**options) -> Oso:
    oso = Oso(**options)
    oso.register_class(User)
    oso.register_class(Document)
    return oso


async def users_header(request: Request) -> str | None:
    return request.headers.get("x-user")


async def get_actor(name: str | None = Depends(users_header)) -> User | None:
    """An async get_actor depending on another dependency."""
    return User(name) if name else None


def sync_get_actor(request: Request) -> User | None:
    """A sync get_actor (FastAPI runs it in its thread pool)."""
    name = request.headers.get("x-user")
    return User(name) if name else None


async def load_document(doc_id: int) -> Document | None:
    return DOCUMENTS.get(doc_id)


def make_app(oso: Oso | None = None, actor_dependency=get_actor, *, init: bool = True) -> tuple[FastAPI, FastAPIOso]:
    if oso is None:
        oso = make_oso()
    integration = FastAPIOso(oso, actor_dependency)   # registers Request before the policy loads
    oso.load_str(POLICY)
    app = FastAPI()
    if init:
        integration.init_app(app)

    @app.get("/me")
    async def me(user: User = Depends(integration.current_actor)):
        return {"name": user.name}

    @app.get("/maybe-me")
    async def maybe_me(user: User | None = Depends(integration.optional_actor)):
        return {"name": user.name if user else None}

    for action in ("read", "edit", "broken"):
        def route(action=action):
            @app.get(f"/docs/{{doc_id}}/{action}", name=f"doc_{action}")
            async def doc(document: Document = Depends(integration.authorized(action, load_document))):
                return {"id": document.id, "action": action}
        route()

    @app.get("/check/{doc_id}")
    async def check(doc_id: int, user: User = Depends(integration.current_actor)):
        document = DOCUMENTS.get(doc_id)
        await integration.authorize(user, "edit", document)
        return {"ok": True}

    @app.get("/actions/{doc_id}")
    async def actions(doc_id: int, user: User = Depends(integration.current_actor)):
        document = DOCUMENTS[doc_id]
        return {"allowed": await integration.is_allowed(user, "edit", document),
                "actions": sorted(await integration.authorized_actions(user, document))}

    @app.api_route("/request-checked", methods=["GET", "POST"])
    async def request_checked(user: User = Depends(integration.authorize_request())):
        return {"name": user.name}

    guarded = APIRouter(prefix="/guarded", dependencies=[Depends(integration.authorize_request())])

    @guarded.api_route("/thing", methods=["GET", "DELETE"])
    async def thing():
        return {"thing": True}

    app.include_router(guarded)
    return app, integration


def client_for(app: FastAPI, user: str | None = None, raise_app_exceptions: bool = True) -> httpx.AsyncClient:
    headers = {"x-user": user} if user else {}
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, raise_app_exceptions=raise_app_exceptions),
                             base_url="http://test", headers=headers)


# The actor -------------------------------------------------------------------------------------------

@pytest.mark.asyncio
@pytest.mark.parametrize("actor_dependency", [get_actor, sync_get_actor], ids=["async", "sync"])
async def test_current_and_optional_actor(actor_dependency):
    app, _ = make_app(actor_dependency=actor_dependency)
    async with client_for(app, "alice") as alice, client_for(app) as anonymous:
        assert (await alice.get("/me")).json() == {"name": "alice"}
        assert (await alice.get("/maybe-me")).json() == {"name": "alice"}
        response = await anonymous.get("/me")
        assert response.status_code == 401 and response.json() == {"detail": "Not authenticated"}
        assert (await anonymous.get("/maybe-me")).json() == {"name": None}


# authorized(action, loader) and authorize() ---------------------------------------------------------

# (path, status for alice, bob, anonymous)
DOC_STATUSES = [
    ("/docs/1/read", 200, 404, 401),      # alice's private document
    ("/docs/2/read", 200, 200, 401),      # bob's public document
    ("/docs/3/read", 200, 404, 401),      # alice's, owner read through a coroutine
    ("/docs/1/edit", 200, 404, 401),
    ("/docs/2/edit", 403, 200, 401),      # alice may read bob's document, not edit it
    ("/docs/3/edit", 200, 404, 401),
    ("/docs/9/read", 404, 404, 401),      # no such document: the same 404 as a hidden one
    ("/docs/9/edit", 404, 404, 401),
    ("/check/1", 200, 404, 401),          # integration.authorize(...)
    ("/check/2", 403, 200, 401),
    ("/check/9", 404, 404, 401),          # authorize(user, action, None): 404
]


@pytest.mark.asyncio
async def test_authorized_dependency_and_authorize_give_oso_statuses():
    app, _ = make_app()
    async with client_for(app, "alice") as alice, client_for(app, "bob") as bob, client_for(app) as anonymous:
        for path, *statuses in DOC_STATUSES:
            for client, status in zip((alice, bob, anonymous), statuses):
                response = await client.get(path)
                assert response.status_code == status, (path, client.headers.get("x-user"), response.text)
        hidden, missing = await bob.get("/docs/1/read"), await bob.get("/docs/9/read")
        assert hidden.json() == missing.json() == {"detail": "Not Found"}
        assert hidden.headers == missing.headers
        assert (await alice.get("/docs/2/edit")).json() == {"detail": "Forbidden"}
        assert (await alice.get("/docs/3/read")).json() == {"id": 3, "action": "read"}


@pytest.mark.asyncio
async def test_is_allowed_and_authorized_actions():
    app, _ = make_app()
    async with client_for(app, "alice") as alice:
        assert (await alice.get("/actions/2")).json() == {"allowed": False, "actions": ["read"]}
        assert (await alice.get("/actions/3")).json() == {"allowed": True, "actions": ["edit", "read"]}
        # Document 1 reaches the broken rule: an error, not a partial list of actions.
        assert (await alice.get("/actions/1")).status_code == 500


@pytest.mark.asyncio
async def test_authorize_request_on_a_route_and_on_a_router():
    app, _ = make_app()
    async with (client_for(app, "alice") as alice, client_for(app, "bob") as bob,
                client_for(app, "mallory") as mallory, client_for(app) as anonymous):
        assert (await bob.get("/request-checked")).json() == {"name": "bob"}
        assert (await bob.post("/request-checked")).status_code == 403
        assert (await alice.post("/request-checked")).status_code == 200
        assert (await mallory.get("/request-checked")).status_code == 403
        assert (await anonymous.get("/request-checked")).status_code == 401
        assert (await bob.get("/guarded/thing")).json() == {"thing": True}
        assert (await bob.delete("/guarded/thing")).status_code == 403
        assert (await alice.delete("/guarded/thing")).status_code == 200
        assert (await mallory.get("/guarded/thing")).status_code == 403
        assert (await anonymous.get("/guarded/thing")).status_code == 401


def test_request_is_registered_once_per_oso():
    oso = make_oso()
    FastAPIOso(oso, get_actor)
    FastAPIOso(oso, get_actor)      # a second integration on the same Oso
    oso.load_str(POLICY)
    assert oso.host.get_class("Request") is Request


# Not blocking the event loop ---------------------------------------------------------------------------

@pytest.mark.asyncio
async def test_a_slow_decision_does_not_hold_up_other_requests():
    slow = Document(10, "alice", delay=0.3)
    DOCUMENTS[10] = slow
    try:
        app, _ = make_app()
        finished: list = []

        async def get(client, path):
            response = await client.get(path)
            finished.append(path)
            return response

        async with client_for(app, "alice") as alice:
            slow_task = asyncio.create_task(get(alice, "/docs/10/read"))
            await asyncio.sleep(0.05)      # the slow decision is now awaiting `doc.owner`
            fast = [await get(alice, "/docs/1/read") for _ in range(5)]
            assert not slow_task.done()
            assert (await slow_task).status_code == 200
        assert all(r.status_code == 200 for r in fast)
        assert finished == ["/docs/1/read"] * 5 + ["/docs/10/read"]
    finally:
        del DOCUMENTS[10]


@pytest.mark.asyncio
async def test_concurrent_requests_of_different_users_do_not_interfere():
    for doc in (4, 5, 6, 7):
        DOCUMENTS[doc] = Document(doc, ["alice", "bob", "carol", "dave"][doc - 4], delay=0.002 * (doc % 3))
    try:
        app, _ = make_app()
        names = ["alice", "bob", "carol", "dave"]
        clients = {name: client_for(app, name) for name in names}
        requests = [(names[i % 4], 4 + (i * 7) % 4) for i in range(100)]
        responses = await asyncio.gather(*(clients[name].get(f"/docs/{doc}/edit") for name, doc in requests))
        for (name, doc), response in zip(requests, responses):
            expected = 200 if DOCUMENTS[doc]._owner == name else 404
            assert response.status_code == expected, (name, doc)
        for client in clients.values():
            await client.aclose()
    finally:
        for doc in (4, 5, 6, 7):
            del DOCUMENTS[doc]


# Failing closed ---------------------------------------------------------------------------------------

@pytest.mark.asyncio
async def test_policy_errors_are_500s(caplog):
    app, _ = make_app()
    async with client_for(app, "alice") as alice:
        with caplog.at_level(logging.ERROR, logger="fastapi_oso"):
            response = await alice.get("/docs/1/broken")
        assert response.status_code == 500
        assert response.json() == {"detail": "Internal Server Error"}
        assert "no_such_attribute" not in response.text
        assert "authorization failed" in caplog.text


@pytest.mark.asyncio
async def test_without_init_app_authorization_errors_are_not_answers():
    app, _ = make_app(init=False)
    async with client_for(app, "bob") as bob:
        with pytest.raises(NotFoundError):
            await bob.get("/docs/1/read")
        with pytest.raises(OsoError):
            await bob.get("/docs/1/broken")
    async with client_for(app, "bob", raise_app_exceptions=False) as bob:
        assert (await bob.get("/docs/1/read")).status_code == 500
        assert (await bob.get("/docs/2/read")).status_code == 200


@pytest.mark.asyncio
async def test_a_failing_get_actor_is_an_error():
    async def broken_actor(request: Request):
        raise RuntimeError("session store down")

    app, _ = make_app(actor_dependency=broken_actor)
    async with client_for(app, "alice", raise_app_exceptions=False) as alice:
        assert (await alice.get("/docs/2/read")).status_code == 500
        assert (await alice.get("/request-checked")).status_code == 500


@pytest.mark.asyncio
async def test_custom_oso_errors_are_mapped_too():
    class Hidden(Exception):
        pass

    class Refused(Exception):
        pass

    app, _ = make_app(make_oso(not_found_error=Hidden, forbidden_error=Refused))
    async with client_for(app, "alice") as alice:
        assert (await alice.get("/docs/2/edit")).status_code == 403
        assert (await alice.get("/docs/9/read")).status_code == 404
    async with client_for(app, "bob") as bob:
        assert (await bob.get("/docs/1/read")).status_code == 404

    def http_not_found():
        return HTTPException(404, detail="nope")

    app, _ = make_app(make_oso(not_found_error=http_not_found))
    async with client_for(app, "bob") as bob:
        response = await bob.get("/docs/1/read")
        assert response.status_code == 404 and response.json() == {"detail": "nope"}


# authorized_select ------------------------------------------------------------------------------------

class Base(DeclarativeBase):
    pass


class Team(Base):
    __tablename__ = "teams"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str]


class Post(Base):
    __tablename__ = "posts"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str]
    author: Mapped[str]
    published: Mapped[bool]
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"))
    team: Mapped[Team] = relationship()


class Member:
    """An actor whose `team` is read through a coroutine (as from an async user store)."""

    def __init__(self, name: str, team: str) -> None:
        self.name = name
        self._team = team

    @property
    def team(self):
        async def later():
            await asyncio.sleep(0)
            return self._team
        return later()


SELECT_POLICY = """
allow(_user: Member, "read", post: Post) if post.published = true;
allow(user: Member, "read", post: Post) if post.author = user.name;
allow(user: Member, "read", post: Post) if post.team.name = user.team;
allow(user: Member, "edit", post: Post) if post.author = user.name;
allow(_user: Member, "weird", post: Post) if post.title.upper() = "X";
"""

POSTS = [  # (title, author, published, team)
    ("a", "alice", False, "red"),
    ("b", "bob", False, "blue"),
    ("c", "carol", True, "blue"),
    ("d", "dave", False, "red"),
]


@pytest_asyncio.fixture
async def posts_database(tmp_path):
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'posts.sqlite3'}")
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    async with AsyncSession(engine) as session:
        teams = {name: Team(name=name) for name in ("red", "blue")}
        session.add_all(Post(title=t, author=a, published=p, team=teams[team]) for t, a, p, team in POSTS)
        await session.commit()
    yield engine
    await engine.dispose()


def posts_app(engine) -> tuple[FastAPI, FastAPIOso]:
    oso = Oso()
    oso.register_class(Member)
    register_models(oso, Base)
    oso.load_str(SELECT_POLICY)

    async def get_session():
        async with AsyncSession(engine) as session:
            yield session

    async def member(request: Request) -> Member | None:
        name, _, team = request.headers.get("x-user", "").partition("@")
        return Member(name, team) if name else None

    integration = FastAPIOso(oso, member)
    app = FastAPI()
    integration.init_app(app)

    @app.get("/posts")
    async def posts(action: str = "read", user: Member = Depends(integration.current_actor),
                    session: AsyncSession = Depends(get_session)):
        stmt = await integration.authorized_select(user, action, Post)
        assert isinstance(stmt, Select)
        return [post.title for post in await session.scalars(stmt.order_by(Post.title))]

    return app, integration


@pytest.mark.asyncio
@pytest.mark.parametrize("user, action, titles", [
    ("alice@red", "read", ["a", "c", "d"]),
    ("bob@blue", "read", ["b", "c"]),
    ("erin@green", "read", ["c"]),
    ("alice@red", "edit", ["a"]),
    ("erin@green", "edit", []),
    ("alice@red", "delete", []),      # no rule: no rows
])
async def test_authorized_select_filters_in_one_statement(posts_database, user, action, titles):
    app, _ = posts_app(posts_database)
    statements: list = []
    event.listen(posts_database.sync_engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    async with client_for(app, user) as client:
        response = await client.get("/posts", params={"action": action})
    assert response.status_code == 200 and response.json() == titles
    assert len(statements) == 1, statements


@pytest.mark.asyncio
async def test_authorized_select_agrees_with_is_allowed(posts_database):
    app, integration = posts_app(posts_database)
    async with AsyncSession(posts_database) as session:
        posts = (await session.scalars(select(Post).order_by(Post.title))).all()
        for user in (Member("alice", "red"), Member("bob", "blue"), Member("zed", "blue")):
            stmt = await integration.authorized_select(user, "read", Post)
            selected = [p.title for p in await session.scalars(stmt.order_by(Post.title))]
            allowed = [p.title for p in posts if await integration.is_allowed(user, "read", p)]
            assert selected == allowed


@pytest.mark.asyncio
async def test_an_untranslatable_policy_is_a_500_not_every_row(posts_database):
    app, integration = posts_app(posts_database)
    with pytest.raises(UnsupportedError):
        await integration.authorized_select(Member("alice", "red"), "weird", Post)
    async with client_for(app, "alice@red") as client:
        response = await client.get("/posts", params={"action": "weird"})
    assert response.status_code == 500 and response.json() == {"detail": "Internal Server Error"}


# Module surface ----------------------------------------------------------------------------------------

def test_public_names():
    import fastapi_oso
    assert fastapi_oso.__all__ == ["FastAPIOso"]
    assert issubclass(NotFoundError, OsoError) and issubclass(ForbiddenError, OsoError)
