"""Async decisions over Django models in an event loop: related managers and QuerySets are
iterated with `async for` (Django refuses synchronous queries inside an event loop), so a policy
reading `post.readers` or `author.readable_posts.filter(...)` works in `is_allowed_async` where
the sync `is_allowed` raises `SynchronousOnlyOperation`. A foreign key that is not loaded is read
synchronously by Django (a documented limit): it is `select_related` here."""

# ruff: noqa: E402
from __future__ import annotations

import pytest

pytest.importorskip("django")
pytest.importorskip("greenlet")
pytest.importorskip("pytest_asyncio")

from django.core.exceptions import SynchronousOnlyOperation
from django_oso_app.models import Author, Post

from engine_under_test import LEGACY
from oso_core import Oso
from oso_core.data.adapter.django_adapter import DjangoAdapter

pytestmark = [pytest.mark.django_db(transaction=True),
              pytest.mark.skipif(LEGACY, reason="async decisions are an oso_core API")]

POLICY = """
allow(author: Author, "read", post: Post) if author in post.readers;
allow(author: Author, "edit", post: Post) if post.created_by = author;
allow(author: Author, "review", post: Post) if p in author.readable_posts.filter(access_level: "public") and p = post;
"""


def make_oso() -> Oso:
    oso = Oso()
    # The Django adapter tells the engine how to iterate relation managers (`post.readers`).
    oso.set_data_filtering_adapter(DjangoAdapter())
    oso.register_class(Author)
    oso.register_class(Post)
    oso.load_str(POLICY)
    return oso


@pytest.mark.asyncio
async def test_managers_and_querysets_iterate_asynchronously():
    alice = await Author.objects.acreate(name="alice")
    bob = await Author.objects.acreate(name="bob")
    public = await Post.objects.acreate(title="public", access_level="public", created_by=alice)
    private = await Post.objects.acreate(title="private", created_by=bob)
    await public.readers.aadd(alice, bob)
    await private.readers.aadd(bob)
    oso = make_oso()
    posts = {p.title: p async for p in Post.objects.select_related("created_by")}
    authors = {a.name: a async for a in Author.objects.all()}

    with pytest.raises(SynchronousOnlyOperation):   # what the sync API meets in an event loop
        oso.is_allowed(authors["alice"], "read", posts["public"])

    expected = {
        ("alice", "read", "public"): True, ("alice", "read", "private"): False,
        ("bob", "read", "public"): True, ("bob", "read", "private"): True,
        ("alice", "edit", "public"): True, ("bob", "edit", "public"): False,
        ("bob", "edit", "private"): True,
        ("alice", "review", "public"): True, ("bob", "review", "public"): True,
        ("bob", "review", "private"): False,
    }
    for (author, action, post), allowed in expected.items():
        assert await oso.is_allowed_async(authors[author], action, posts[post]) is allowed, (author, action, post)
    assert await oso.authorized_actions_async(authors["bob"], posts["private"]) == {"read", "edit"}
