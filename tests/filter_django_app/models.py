"""Models of the Django filter-adapter tests: orgs own repos, repos have issues and roles.

`Org` ... `Label` serve the hand-built plans of test_filter_django.py. The `Scenario*` models are
the schema of tests/filter_scenarios.py (tables orgs, repos, issues, org_roles, repo_roles, as in
tests/filter_sqlalchemy_models.py) for the random-data proof; they are registered with Polar as
Org, Repo, Issue, OrgRole and RepoRole, and their relation names (fields and `related_name`s) are
the attribute names the scenario policies use.

Tables are created by the tests with `schema_editor().create_model` (there are no migrations).
"""

from django.db import models


class Org(models.Model):
    name = models.CharField(max_length=50)
    is_public = models.BooleanField(default=False)

    class Meta:
        app_label = "filter_django_app"
        ordering = ("name",)   # a default ordering the adapter must not carry into set SQL


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


# --- the schema of tests/filter_scenarios.py ------------------------------------------------------

class ScenarioOrg(models.Model):
    name = models.CharField(max_length=40)

    class Meta:
        app_label = "filter_django_app"
        db_table = "orgs"


class ScenarioRepo(models.Model):
    name = models.CharField(max_length=40)
    org = models.ForeignKey(ScenarioOrg, on_delete=models.CASCADE, related_name="repos")
    parent = models.ForeignKey("self", null=True, on_delete=models.CASCADE, related_name="children")
    owner_id = models.IntegerField(null=True)
    is_public = models.BooleanField()
    is_archived = models.BooleanField()

    class Meta:
        app_label = "filter_django_app"
        db_table = "repos"


class ScenarioIssue(models.Model):
    repo = models.ForeignKey(ScenarioRepo, on_delete=models.CASCADE, related_name="issues")
    creator_id = models.IntegerField()
    title = models.CharField(max_length=40)
    closed = models.BooleanField()

    class Meta:
        app_label = "filter_django_app"
        db_table = "issues"


class ScenarioOrgRole(models.Model):
    user_id = models.IntegerField(db_index=True)
    org = models.ForeignKey(ScenarioOrg, on_delete=models.CASCADE, related_name="org_roles")
    name = models.CharField(max_length=20)

    class Meta:
        app_label = "filter_django_app"
        db_table = "org_roles"


class ScenarioRepoRole(models.Model):
    user_id = models.IntegerField(db_index=True)
    repo = models.ForeignKey(ScenarioRepo, on_delete=models.CASCADE, related_name="repo_roles")
    name = models.CharField(max_length=20)

    class Meta:
        app_label = "filter_django_app"
        db_table = "repo_roles"


# Polar name -> model, and the tables of filter_scenarios.random_rows in insertion order.
SCENARIO_MODELS = {"Org": ScenarioOrg, "Repo": ScenarioRepo, "Issue": ScenarioIssue,
                   "OrgRole": ScenarioOrgRole, "RepoRole": ScenarioRepoRole}
SCENARIO_TABLES = [("orgs", ScenarioOrg), ("repos", ScenarioRepo), ("issues", ScenarioIssue),
                   ("org_roles", ScenarioOrgRole), ("repo_roles", ScenarioRepoRole)]


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
