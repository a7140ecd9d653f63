"""Organizations, repositories, issues and role assignments: the Django models of the GitHub-like
domain. Users are Django's `auth.User`.

django_oso registers models as `app::Model` (`auth::User`, `github::Org`, ...); the shared policy
(example_apps/github_domain/policy.polar) names them `User`, `Org`, `Repo` and `Issue`, as the
SQLAlchemy apps do, so they are registered under those names too. The relations the policy
follows have its names: `org.org_roles`, `repo.repo_roles`, `issue.repo`, `issue.creator_id`.
"""

from django.conf import settings
from django.contrib.auth.models import User
from django.db import models

from django_oso.models import AuthorizedModel
from django_oso.oso import Oso

ORG_ROLES = ["member", "owner"]
REPO_ROLES = ["reader", "maintainer", "admin"]


class Org(AuthorizedModel):
    name = models.CharField(max_length=60, unique=True)

    def to_json(self) -> dict:
        return {"id": self.id, "name": self.name}


class Repo(AuthorizedModel):
    org = models.ForeignKey(Org, on_delete=models.CASCADE, related_name="repos")
    name = models.CharField(max_length=60)
    is_public = models.BooleanField(default=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["org", "name"], name="github_repo_org_name")]

    def to_json(self) -> dict:
        return {"id": self.id, "org": self.org.name, "name": self.name, "is_public": self.is_public}


class Issue(AuthorizedModel):
    repo = models.ForeignKey(Repo, on_delete=models.CASCADE, related_name="issues")
    creator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                related_name="created_issues")
    assignees = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="assigned_issues",
                                       blank=True)
    title = models.CharField(max_length=200)
    closed = models.BooleanField(default=False)

    def to_json(self) -> dict:
        return {"id": self.id, "repo": f"{self.repo.org.name}/{self.repo.name}", "title": self.title,
                "creator": self.creator.username, "closed": self.closed}


class OrgRole(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="org_roles")
    org = models.ForeignKey(Org, on_delete=models.CASCADE, related_name="org_roles")
    name = models.CharField(max_length=20, choices=[(r, r) for r in ORG_ROLES])


class RepoRole(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="repo_roles")
    repo = models.ForeignKey(Repo, on_delete=models.CASCADE, related_name="repo_roles")
    name = models.CharField(max_length=20, choices=[(r, r) for r in REPO_ROLES])


# Here, not in AppConfig.ready(): django_oso loads the policies in its own ready(), which runs
# first (it is installed first), and the policy needs these names.
for _model in (User, Org, Repo, Issue):
    Oso.register_class(_model, name=_model.__name__)
