"""django_oso in async views: `authorize_async`, async-aware decorators and middleware,
`AuthorizedQuerySet.authorize_async`, through Django's async test client."""

# ruff: noqa: E402
from __future__ import annotations

import pytest

pytest.importorskip("django")

from asgiref.sync import iscoroutinefunction, sync_to_async
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.test import AsyncClient, RequestFactory
from django_oso_app import views
from django_oso_app.models import Article, Author, Post
from django_oso_app.testing import extra_policy

from django_oso.auth import authorize_async, authorize_request_async, request_authorized
from oso_core.exceptions import OsoError

SIMPLE = 'allow("user", "read", "resource"); allow("user", "GET", r: HttpRequest) if r.path = "/async/request/";'
POSTS = 'allow(a: django_oso_app::Author, "read", post: django_oso_app::Post) if a in post.readers;'

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def policy():
    with extra_policy(SIMPLE + POSTS + 'allow_request("user", _);'):
        yield


@pytest.fixture
def async_client():
    return AsyncClient()


def test_decorated_async_views_stay_async():
    for view in (views.async_decorated, views.async_request_decorated, views.async_skipped):
        assert iscoroutinefunction(view)


@pytest.mark.asyncio
async def test_authorize_async(policy):
    request = RequestFactory().get("/")
    await authorize_async(request, "resource", actor="user", action="read")
    assert request_authorized(request)
    with pytest.raises(PermissionDenied):
        await authorize_async(request, "resource", actor="other", action="read")
    await authorize_request_async(request, actor="user")


@pytest.mark.asyncio
async def test_async_views(async_client, policy):
    response = await async_client.get("/async/resource/")
    assert response.status_code == 200 and response.content == b"async authorized"
    assert (await async_client.get("/async/resource/?action=write")).status_code == 403
    assert (await async_client.get("/async/decorated/")).status_code == 200
    assert (await async_client.get("/async/request/")).status_code == 200


@pytest.mark.asyncio
async def test_async_data_filtering(async_client, policy):
    def seed():
        alice, bob = Author.objects.create(name="alice"), Author.objects.create(name="bob")
        for title, readers in [("one", [alice]), ("two", [alice, bob]), ("three", [])]:
            Post.objects.create(title=title).readers.set(readers)
    await sync_to_async(seed)()
    response = await async_client.get("/async/posts/?as=alice")
    assert response.json() == {"posts": ["one", "two"], "count": 2}
    response = await async_client.get("/async/posts/?as=bob")
    assert response.json() == {"posts": ["two"], "count": 1}


@pytest.mark.asyncio
async def test_async_default_actor_is_the_logged_in_user(async_client):
    def seed():
        staff = User.objects.create_user("staff", is_staff=True)
        return staff, Article.objects.create(title="draft", author=staff)
    staff, article = await sync_to_async(seed)()
    assert (await async_client.get(f"/async/article/?id={article.pk}")).status_code == 403
    await async_client.aforce_login(staff)
    response = await async_client.get(f"/async/article/?id={article.pk}")
    assert response.status_code == 200 and response.content == b"draft"


@pytest.mark.asyncio
async def test_async_middleware(async_client, settings, policy):
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, "django_oso.middleware.RequireAuthorization"]
    assert (await async_client.get("/async/decorated/")).status_code == 200
    assert (await async_client.get("/async/skipped/")).status_code == 200
    with pytest.raises(OsoError):
        await async_client.get("/async/secret/")
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, "django_oso.middleware.RouteAuthorization"]
    async_client = AsyncClient()   # a client loads the middleware once
    assert (await async_client.get("/async/decorated/")).status_code == 403   # no route rule
    with extra_policy('allow(_, "GET", r: HttpRequest) if r.path = "/async/skipped/";'):
        assert (await async_client.get("/async/skipped/")).status_code == 200
