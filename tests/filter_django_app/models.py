"""Models of the Django filter-adapter tests: orgs own repos, repos have issues and roles.

Tables are created by the tests with `schema_editor().create_model` (there are no migrations).
"""

from django.db import models


class Org(models.Model):
    name = models.CharField(max_length=50)
    is_public = models.BooleanField(default=False)

    class Meta:
        app_label = "filter_django_app"
        ordering = ["name"]   # a default ordering the adapter must not carry into set SQL


class Repo(models.Model):
    name = models.CharField(max_length=50)
    org = models.ForeignKey(Org, on_delete=models.CASCADE)
    parent = models.ForeignKey("self", null=True, on_delete=models.SET_NULL, related_name="children")
    is_public = models.BooleanField(default=False)
    owner_id = models.IntegerField(null=True)
    tags = models.JSONField(null=True, default=list)

    class Meta:
        app_label = "filter_django_app"


class Issue(models.Model):
    repo = models.ForeignKey(Repo, on_delete=models.CASCADE)
    title = models.CharField(max_length=50)
    closed = models.BooleanField(default=False)

    class Meta:
        app_label = "filter_django_app"


class RepoRole(models.Model):
    user_id = models.IntegerField()
    repo = models.ForeignKey(Repo, on_delete=models.CASCADE, related_name="roles")
    name = models.CharField(max_length=20)

    class Meta:
        app_label = "filter_django_app"


class RepoSettings(models.Model):
    """A one-to-one companion of Repo (for reverse one-to-one relation discovery)."""

    repo = models.OneToOneField(Repo, on_delete=models.CASCADE, related_name="settings")
    archived = models.BooleanField(default=False)

    class Meta:
        app_label = "filter_django_app"


class Team(models.Model):
    """Has a many-to-many field, which relation discovery must skip."""

    name = models.CharField(max_length=50)
    repos = models.ManyToManyField(Repo, related_name="teams")

    class Meta:
        app_label = "filter_django_app"


if hasattr(models, "CompositePrimaryKey"):  # Django >= 5.2
    class Membership(models.Model):
        """A composite primary key: the adapter cannot use its identity."""

        pk = models.CompositePrimaryKey("user_id", "org_id")
        user_id = models.IntegerField()
        org_id = models.IntegerField()

        class Meta:
            app_label = "filter_django_app"


try:  # ArrayField needs a PostgreSQL driver; its table is only created on PostgreSQL
    from django.contrib.postgres.fields import ArrayField
except ImportError:  # pragma: no cover - psycopg is a test dependency
    ArrayField = None

if ArrayField is not None:
    class Label(models.Model):
        """A PostgreSQL ARRAY column, for `Contains` on arrays."""

        name = models.CharField(max_length=50)
        user_ids = ArrayField(models.IntegerField(), null=True)

        class Meta:
            app_label = "filter_django_app"
