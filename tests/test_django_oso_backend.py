"""django_oso.backends.OsoBackend: `user.has_perm` and the Django admin ask the policy
(rules in tests/django_oso_app/policy/base.polar)."""

# ruff: noqa: E402
from __future__ import annotations

import pytest

pytest.importorskip("django")

from django.contrib.auth.models import AnonymousUser, User
from django_oso_app.models import Article

from django_oso.backends import OsoBackend, permission_query


@pytest.fixture
def people(db):
    staff = User.objects.create_user("staff", is_staff=True)
    writer = User.objects.create_user("writer")
    exporter = User.objects.create_user("exporter")
    boss = User.objects.create_superuser("boss")
    own = Article.objects.create(title="own", author=writer)
    other = Article.objects.create(title="other", author=staff, published=True)
    return {"staff": staff, "writer": writer, "exporter": exporter, "boss": boss, "own": own,
            "other": other}


def test_permission_query():
    article = Article(title="x")
    assert permission_query("django_oso_app.change_article", article) == ("change", article)
    assert permission_query("django_oso_app.change_article") == ("change", Article)
    assert permission_query("django_oso_app.publish", article) == ("publish", article)
    assert permission_query("django_oso_app.export") == ("export", "django_oso_app")
    assert permission_query("auth.view_article", article) == ("view_article", article)


def test_has_perm_with_an_object(people):
    writer, staff = people["writer"], people["staff"]
    assert writer.has_perm("django_oso_app.change_article", people["own"])
    assert not writer.has_perm("django_oso_app.change_article", people["other"])
    assert staff.has_perm("django_oso_app.view_article", people["own"])
    assert not writer.has_perm("django_oso_app.view_article", people["own"])
    assert staff.has_perm("django_oso_app.publish", people["other"])
    assert not writer.has_perm("django_oso_app.publish", people["own"])


def test_has_perm_without_an_object_asks_about_the_model(people):
    assert people["staff"].has_perm("django_oso_app.change_article")
    assert not people["writer"].has_perm("django_oso_app.change_article")
    assert people["exporter"].has_perm("django_oso_app.export")
    assert not people["writer"].has_perm("django_oso_app.export")
    assert people["boss"].has_perm("django_oso_app.anything")   # Django: superusers have all


def test_anonymous_and_inactive_users(people):
    anonymous = AnonymousUser()
    assert anonymous.has_perm("django_oso_app.view_article", people["other"])
    assert not anonymous.has_perm("django_oso_app.view_article", people["own"])
    writer = people["writer"]
    writer.is_active = False
    assert not OsoBackend().has_perm(writer, "django_oso_app.change_article", people["own"])


def test_module_perms(people):
    assert people["staff"].has_module_perms("django_oso_app")
    assert not people["writer"].has_module_perms("django_oso_app")
    assert not OsoBackend().has_module_perms(people["staff"], "no_such_app")
    assert OsoBackend().authenticate(None, username="staff") is None


def test_admin_goes_through_the_policy(client, people):
    client.force_login(people["staff"])
    index = client.get("/admin/")
    assert index.status_code == 200 and b"Articles" in index.content
    changelist = client.get("/admin/django_oso_app/article/")
    assert changelist.status_code == 200
    assert b"own" in changelist.content and b"other" in changelist.content
    assert client.get(f"/admin/django_oso_app/article/{people['own'].pk}/change/").status_code == 200
    # Authors: the policy grants the staff nothing on them.
    assert client.get("/admin/django_oso_app/author/").status_code == 403

    client.force_login(people["writer"])   # not staff: the admin turns them away
    assert client.get("/admin/django_oso_app/article/").status_code == 302


def test_admin_mixin_passes_the_object(rf, people):
    from django.contrib import admin
    model_admin = admin.site._registry[Article]
    request = rf.get("/")
    request.user = people["writer"]
    assert model_admin.has_change_permission(request, people["own"])
    assert not model_admin.has_change_permission(request, people["other"])
    assert not model_admin.has_delete_permission(request, people["own"])
    request.user = people["staff"]
    assert [a.title for a in model_admin.get_queryset(request).order_by("title")] == ["other", "own"]
    request.user = people["boss"]
    assert model_admin.get_queryset(request).count() == 2
