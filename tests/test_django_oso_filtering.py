"""django_oso data filtering: `authorize_model`, `AuthorizedQuerySet.authorize`, the legacy `Q`
shapes, and everything legacy could not filter (many-to-many, reverse foreign keys, `or`, `not`,
`forall`, field comparisons, recursive resource blocks), each as one SQL query, on SQLite and
on PostgreSQL (the "pg" alias of tests/fixtures/django_settings.py, in this process's schema).
"""

# ruff: noqa: E402
from __future__ import annotations

from dataclasses import dataclass

import pytest

pytest.importorskip("django")

from django.core.exceptions import PermissionDenied
from django.db import connections
from django.db.models import Q
from django.test.utils import CaptureQueriesContext
from django_oso_app.models import Author, Comment, Folder, Post, Tag
from django_oso_app.testing import extra_policy
from fixtures.django_settings import create_pg_schema

from django_oso.auth import authorize_model
from django_oso.filtering import authorized_q, relations_of
from django_oso.models import AuthorizedQuerySet
from django_oso.oso import Oso
from django_oso.partial import TRUE_FILTER, FilterBuilder, partial_to_query_filter
from oso_core import Variable
from oso_core.exceptions import UnsupportedError

P = "django_oso_app::"

# --- data --------------------------------------------------------------------------------------


def seed(alias: str) -> None:
    def mk(model, **kw):
        return model.objects.using(alias).create(**kw)

    a = {n: mk(Author, name=n, is_banned=(n == "carol"), is_moderator=(n == "mod"))
         for n in ["alice", "bob", "carol", "mod"]}
    t = {
        "eng": mk(Tag, name="eng", created_by=a["alice"]),
        "random": mk(Tag, name="random", is_public=True, created_by=a["bob"]),
        "secret": mk(Tag, name="secret", created_by=a["carol"]),
    }
    t["eng"].followers.set([a["bob"]])
    t["random"].followers.set([a["alice"], a["bob"]])
    posts = [  # title, access, creator, tags, readers, is_private, timestamp, option
        ("alice public", "public", "alice", ["eng"], ["bob"], False, 1, None),
        ("alice private", "private", "alice", ["eng", "secret"], [], True, 1, None),
        ("bob public", "public", "bob", ["random"], ["alice", "carol"], False, -1, None),
        ("bob private", "private", "bob", ["random", "eng"], ["alice"], True, 1, None),
        ("carol public", "public", "carol", [], [], False, 1, True),
        ("orphan", "private", None, ["secret"], ["mod"], None, None, None),
    ]
    p = {}
    for title, access, creator, tags, readers, private, ts, option in posts:
        post = mk(Post, title=title, access_level=access, created_by=a.get(creator),
                  is_private=private, timestamp=ts, option=option)
        post.tags.set([t[x] for x in tags])
        post.readers.set([a[x] for x in readers])
        p[title] = post
    for post, author, flagged in [("alice public", "bob", False), ("alice private", "alice", True),
                                  ("bob public", "alice", False), ("bob private", "bob", False),
                                  ("carol public", "mod", True)]:
        mk(Comment, post=p[post], author=a[author], flagged=flagged)
    root = mk(Folder, name="root", owner=a["alice"])
    sub = mk(Folder, name="sub", parent=root)
    mk(Folder, name="subsub", parent=sub)
    other = mk(Folder, name="other", owner=a["bob"])
    mk(Folder, name="other-child", parent=other)
    mk(Folder, name="lonely")


PG_MODELS = [Author, Tag, Post, Comment, Folder]


@pytest.fixture(scope="module")
def pg_database(django_db_blocker):
    """The test app's tables in this process's PostgreSQL schema, seeded once."""
    create_pg_schema()
    with django_db_blocker.unblock():
        with connections["pg"].schema_editor() as editor:
            for model in PG_MODELS:
                editor.create_model(model)
        try:
            seed("pg")
            yield "pg"
        finally:
            with connections["pg"].schema_editor() as editor:
                for model in reversed(PG_MODELS):
                    editor.delete_model(model)


@pytest.fixture
def pg(pg_database, django_db_blocker):
    with django_db_blocker.unblock():
        yield "pg"


@pytest.fixture
def sqlite(db):
    seed("default")
    return "default"


def author(alias: str, name: str) -> Author:
    return Author.objects.using(alias).get(name=name)


# --- policies and what they permit ----------------------------------------------------------------

FOLDERS = f"""
actor {P}Author {{}}
resource {P}Folder {{
  roles = ["viewer"];
  permissions = ["read"];
  relations = {{ parent: {P}Folder }};
  "read" if "viewer";
  "viewer" if "viewer" on "parent";
}}
has_relation(parent: {P}Folder, "parent", folder: {P}Folder) if folder.parent = parent;
has_role(a: {P}Author, "viewer", folder: {P}Folder) if folder.owner = a;
allow(a, action, r) if has_permission(a, action, r);
"""


@dataclass
class Case:
    id: str
    policy: str
    model: type
    actor: str
    expected: list
    action: str = "read"


CASES = [
    Case("fk-path", f"""allow(_, "read", post: {P}Post) if
            post.access_level = "public" and post.created_by.is_banned = false;""",
         Post, "alice", ["alice public", "bob public"]),
    Case("reverse-fk", f"""allow(_, "read", post: {P}Post) if
            c in post.comments and c.flagged = true;""",
         Post, "alice", ["alice private", "carol public"]),
    Case("reverse-fk-actor", f"""allow(a: {P}Author, "read", post: {P}Post) if
            c in post.comments and c.author = a;""",
         Post, "bob", ["alice public", "bob private"]),
    Case("many-to-many", f"""allow(_, "read", post: {P}Post) if
            tag in post.tags and tag.is_public = true;""",
         Post, "alice", ["bob public", "bob private"]),
    Case("many-to-many-chain", f"""allow(a: {P}Author, "read", post: {P}Post) if
            tag in post.tags and a in tag.followers;""",
         Post, "bob", ["alice public", "alice private", "bob public", "bob private"]),
    Case("reverse-many-to-many", f"""allow(_, "read", tag: {P}Tag) if
            post in tag.posts and post.access_level = "public";""",
         Tag, "alice", ["eng", "random"]),
    Case("actor-in-many-to-many", f"""allow(a: {P}Author, "read", post: {P}Post) if
            a in post.readers;""",
         Post, "alice", ["bob public", "bob private"]),
    Case("not", f"""allow(_, "read", post: {P}Post) if post.access_level = "public" and
            not (tag in post.tags and tag.name = "eng");""",
         Post, "alice", ["bob public", "carol public"]),
    Case("or", f"""allow(a: {P}Author, "read", post: {P}Post) if
            (post.access_level = "public" or post.created_by = a) and
            post.created_by.is_banned = false;""",
         Post, "alice", ["alice public", "alice private", "bob public"]),
    Case("forall", f"""allow(_, "read", post: {P}Post) if
            forall(tag in post.tags, tag.is_public = true);""",
         Post, "alice", ["bob public", "carol public"]),
    Case("two-tags", f"""allow(_, "read", post: {P}Post) if
            t1 in post.tags and t2 in post.tags and t1.name = "eng" and t2.is_public = true;""",
         Post, "alice", ["bob private"]),
    Case("field-comparison", f"""allow(_, "read", c: {P}Comment) if
            c.author = c.post.created_by;""",
         Comment, "alice", ["alice private/alice", "bob private/bob"]),
    Case("resource-blocks-recursive", FOLDERS, Folder, "alice", ["root", "sub", "subsub"]),
    Case("resource-blocks-recursive-2", FOLDERS, Folder, "bob", ["other", "other-child"]),
]


def label(obj) -> str:
    if isinstance(obj, Comment):
        return f"{obj.post.title}/{obj.author.name}"
    return getattr(obj, "title", None) or obj.name


def check_case(case: Case, alias: str) -> None:
    """The rows `authorize()` returns are exactly the permitted ones, in one SQL query, and each
    agrees with `is_allowed` on every row."""
    actor = author(alias, case.actor)
    with extra_policy(case.policy):
        with CaptureQueriesContext(connections[alias]) as queries:
            rows = list(case.model.objects.using(alias).authorize(None, actor=actor, action=case.action)
                        .order_by("pk"))
        assert len(queries) == 1, [q["sql"] for q in queries]
        assert sorted(label(r) for r in rows) == sorted(case.expected)
        everything = case.model.objects.using(alias).all()
        assert {r.pk for r in rows} == {r.pk for r in everything if Oso.is_allowed(actor, case.action, r)}


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_filtering_sqlite(case, sqlite):
    check_case(case, sqlite)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_filtering_postgresql(case, pg):
    check_case(case, pg)


def test_authorize_model_returns_a_q_for_every_case(sqlite):
    for case in CASES:
        actor = author("default", case.actor)
        with extra_policy(case.policy):
            q = authorize_model(None, case.model, actor=actor, action=case.action)
            assert isinstance(q, Q)
            rows = case.model.objects.filter(q)
            assert sorted(label(r) for r in rows) == sorted(case.expected), case.id


# --- legacy Q shapes ---------------------------------------------------------------------------

PARTIAL = f"""
allow("test_user", "get", post: {P}Post) if
    post.is_private = false and
    post.timestamp > 0 and
    post.option = nil;
allow("test_admin", "get", _: {P}Post);
"""


def titles(queryset) -> list:
    return sorted(p.title for p in queryset)


def test_legacy_q_for_comparisons(sqlite, rf):
    with extra_policy(PARTIAL):
        request = rf.get("/")
        request.user = "test_user"
        q = authorize_model(request, action="get", model=Post)
        assert str(q) == "(AND: ('is_private', False), ('timestamp__gt', 0), ('option', None))"
        assert titles(Post.objects.filter(q)) == ["alice public"]
        sql = str(Post.objects.filter(q).query)
        assert sql.endswith('WHERE (NOT "django_oso_app_post"."is_private" AND '
                            '"django_oso_app_post"."timestamp" > 0 AND '
                            '"django_oso_app_post"."option" IS NULL)') or "= False" in sql
        request.user = "test_admin"
        assert authorize_model(request, action="get", model=Post) is TRUE_FILTER
        assert Post.objects.authorize(request, action="get").count() == 6
        assert "WHERE" not in str(Post.objects.filter(TRUE_FILTER).query)
        # the model may be given by its Polar name
        assert authorize_model(request, "django_oso_app::Post", action="get") is TRUE_FILTER


def test_legacy_q_shapes(sqlite):
    alice = author("default", "alice")
    Oso.register_constant(Post.objects.get(title="bob public"), "VALUE_POST")
    with extra_policy(f"""
        allow(u, "read", post: {P}Post) if u in ["admin", "user"] and post.access_level = "public";
        allow("user", "write", post: {P}Post) if post.access_level = "private";
        allow("admin", "read", _post: {P}Post);
        allow("moderator", "read", post: {P}Post) if
            (post.access_level = "private" or post.access_level = "public") and
            post.option = true;
        allow(_, "isa", post: {P}Post) if check(post.created_by);
        check(a: {P}Author) if a.name = "alice";
        check(post: {P}Post) if post.title = "never";
        allow(a: {P}Author, "reader", post: {P}Post) if a in post.readers;
        allow(_, "value", post: {P}Post) if post = VALUE_POST;
        allow(_, "lt", post: {P}Post) if 0 >= post.timestamp;
        """):
        assert str(authorize_model(None, Post, actor="user", action="read")) == \
            "(AND: ('access_level', 'public'))"
        assert str(authorize_model(None, Post, actor="user", action="write")) == \
            "(AND: ('access_level', 'private'))"
        assert authorize_model(None, Post, actor="admin", action="read") is TRUE_FILTER
        assert str(authorize_model(None, Post, actor="moderator", action="read")) == (
            "(OR: (AND: ('access_level', 'private'), ('option', True)), "
            "(AND: ('access_level', 'public'), ('option', True)))")
        with pytest.raises(PermissionDenied):
            authorize_model(None, Post, actor="guest", action="read")
        q = authorize_model(None, Post, actor="x", action="isa")
        assert str(q) == "(AND: ('created_by__name', 'alice'))"
        assert titles(Post.objects.filter(q)) == ["alice private", "alice public"]
        q = authorize_model(None, Post, actor=alice, action="reader")
        assert str(q) == "(AND: ('readers', <Author alice>))"
        assert titles(Post.objects.filter(q)) == ["bob private", "bob public"]
        q = authorize_model(None, Post, actor="x", action="value")
        assert q == Q(pk=Post.objects.get(title="bob public").pk)
        q = authorize_model(None, Post, actor="x", action="lt")
        assert str(q) == "(AND: ('timestamp__lte', 0))"   # a value on the left is mirrored


def test_negated_matches(sqlite):
    with extra_policy(f"""
        allow(2, _, post) if not post matches {P}Author;
        allow(3, _, post) if not post.created_by matches {P}Author;
        allow(4, _, post) if not post.created_by matches {P}Post;
        allow(5, _, post) if not post matches {P}Post;
        """):
        assert authorize_model(None, Post, actor=2, action="a") is TRUE_FILTER
        q = authorize_model(None, Post, actor=3, action="a")
        assert str(q) == f"(NOT (AND: {TRUE_FILTER}))"
        assert Post.objects.filter(q).count() == 0
        assert authorize_model(None, Post, actor=4, action="a") is TRUE_FILTER
        with pytest.raises(PermissionDenied):   # the engine already knows it never holds
            authorize_model(None, Post, actor=5, action="a")


def test_nil_and_instances(sqlite):
    with extra_policy(f"allow(_, _, post: {P}Post) if post.option = nil;"):
        q = authorize_model(None, Post, actor="u", action="a")
        assert str(q) == "(AND: ('option', None))"
        assert 'IS NULL' in str(Post.objects.filter(q).query)
        assert Post.objects.filter(q).count() == 5
    with extra_policy(f"allow(a: {P}Author, _, post: {P}Post) if post in a.readable_posts;"):
        alice = author("default", "alice")
        q = authorize_model(None, Post, actor=alice, action="a")   # concrete rows: pk equalities
        assert titles(Post.objects.filter(q)) == ["bob private", "bob public"]


# --- AuthorizedQuerySet ---------------------------------------------------------------------------

def test_queryset_no_rules_is_empty(sqlite):
    with extra_policy(f"allow(_, _, _: {P}Author);"):
        queryset = Post.objects.authorize(None, actor="u", action="read")
        assert queryset.count() == 0
        assert repr(queryset) == "<AuthorizedQuerySet (no rows)>"


def test_queryset_chains_and_never_duplicates(sqlite):
    """A to-many alternative OR-ed with another one does not repeat rows."""
    alice = author("default", "alice")
    with extra_policy(f"""
        allow(a: {P}Author, "read", post: {P}Post) if a in post.readers;
        allow(_, "read", post: {P}Post) if post.access_level = "public";
        allow(_, "read", post: {P}Post) if tag in post.tags and tag.name = "eng";
        """):
        queryset = Post.objects.authorize(None, actor=alice, action="read")
        assert isinstance(queryset, AuthorizedQuerySet)
        assert repr(queryset).startswith("<AuthorizedQuerySet SELECT")
        expected = ["alice private", "alice public", "bob private", "bob public", "carol public"]
        assert titles(queryset) == expected
        assert titles(queryset.filter(access_level="private")) == ["alice private", "bob private"]
        assert queryset.filter(tags__name="eng").distinct().count() == 3
        q = authorize_model(None, Post, actor=alice, action="read")
        assert titles(Post.objects.filter(q)) == expected     # no duplicates from joins


def test_queryset_respects_the_existing_filter(sqlite):
    with extra_policy(f'allow(_, "read", post: {P}Post) if post.access_level = "public";'):
        queryset = Post.objects.filter(created_by__name="bob").authorize(None, actor="u", action="read")
        assert titles(queryset) == ["bob public"]


def test_request_defaults(sqlite, rf):
    with extra_policy(f'allow("me", "GET", post: {P}Post) if post.access_level = "public";'):
        request = rf.get("/")
        request.user = "me"
        assert titles(Post.objects.authorize(request)) == ["alice public", "bob public", "carol public"]
        assert request._oso_authorized


# --- the translation itself --------------------------------------------------------------------

def partial_of(rule: str, model: type):
    resource = Variable("resource")
    from oso_core.partial import TypeConstraint
    result = next(Oso.query_rule(rule, resource, bindings={
        resource: TypeConstraint(resource, f"{P}{model.__name__}")}, accept_expression=True))
    return result["bindings"]["resource"]


def test_partial_to_query_filter(sqlite):
    with extra_policy(f"""
        ok(_: {P}Author{{name: "bob"}});
        tagged(post: {P}Post) if tag in post.tags and tag.name = "eng";
        two_vars(post: {P}Post) if t1 in post.tags and t2 in post.tags and t1.name = "eng" and t2.is_public;
        linked(post: {P}Post) if a in post.readers and t in post.tags and a in t.followers;
        negated(post: {P}Post) if post.title = post.access_level;
        """):
        q = partial_to_query_filter(partial_of("ok", Author), Author)
        assert [a.name for a in Author.objects.filter(q)] == ["bob"]
        assert partial_to_query_filter(partial_of("ok", Author), f"{P}Author") == q
        q = partial_to_query_filter(partial_of("tagged", Post), Post)   # legacy: nested builders
        assert titles(Post.objects.filter(q)) == ["alice private", "alice public", "bob private"]
        for rule in ("two_vars", "linked"):
            # Legacy translated these wrongly (shared join row / lost link): refused now.
            with pytest.raises(UnsupportedError):
                partial_to_query_filter(partial_of(rule, Post), Post)
        with pytest.raises(UnsupportedError, match="Unsupported partial expression"):
            partial_to_query_filter(partial_of("negated", Post), Post)
        builder = FilterBuilder(Post)
        assert builder.translate_expr(partial_of("tagged", Post)) is builder
        assert len(builder.variables) == 1   # the rule's `tag`


def test_plan_q_and_relations(sqlite):
    rels = relations_of(Post)
    assert rels["created_by"][0] == "one"
    assert rels["comments"][0] == "many"
    assert rels["tags"][:2] == ("many", Tag)
    assert relations_of(Author)["readable_posts"][:2] == ("many", Post)
    bob = author("default", "bob")
    with extra_policy(f'allow(a: {P}Author, "read", post: {P}Post) if tag in post.tags and a in tag.followers;'):
        q = authorized_q(bob, "read", Post)
        assert titles(Post.objects.filter(q)) == ["alice private", "alice public", "bob private", "bob public"]
        # oso_core's own data-filtering API works on the singleton, many-to-many included
        assert titles(Oso.authorized_resources(bob, "read", Post)) == \
            ["alice private", "alice public", "bob private", "bob public"]


def test_unsupported_policies_raise(sqlite):
    with extra_policy(f'allow(_, "read", post: {P}Post) if post.title.upper() = "X";'):
        with pytest.raises(UnsupportedError):
            authorize_model(None, Post, actor="u", action="read")
