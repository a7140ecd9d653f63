"""Organizations, repositories, issues and role assignments. Users are Django's `auth.User`
(`auth::User` in the policy); models are `github::Org`, `github::Repo`, ..."""

from django.conf import settings
from django.db import models

from django_oso.models import AuthorizedModel

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
    org = models.ForeignKey(Org, on_delete=models.CASCADE, related_name="roles")
    name = models.CharField(max_length=20, choices=[(r, r) for r in ORG_ROLES])


class RepoRole(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="repo_roles")
    repo = models.ForeignKey(Repo, on_delete=models.CASCADE, related_name="roles")
    name = models.CharField(max_length=20, choices=[(r, r) for r in REPO_ROLES])
