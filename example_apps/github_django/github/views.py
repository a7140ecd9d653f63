"""The JSON API. Lists are filtered by the policy (one SQL query each: `Model.objects.authorize`);
detail and write views check one object with `authorized` (`django_oso.auth.enforce`): 404 when
the user may not even read it, 403 when they may read it but not do this.

Every view authorizes or says why not (`skip_authorization`): the project runs
`django_oso.middleware.RequireAuthorization`.
"""

from __future__ import annotations

import functools
import json

from django.db.models import Model, QuerySet
from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_http_methods

from django_oso.auth import enforce
from django_oso.decorators import skip_authorization as skip_authorization_view

from .models import Issue, Org, Repo
from .seed import ACCESS


def json_error(status: int, message: str) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


def authorized(request, action: str, model: type[Model], pk: int) -> Model:
    """The `model` row `pk`, if the user may `action` it; else 404 (no such row, or one they may not
    read) or 403 (`enforce`)."""
    obj = get_object_or_404(model, pk=pk)
    enforce(request, obj, action=action)
    return obj


def issues_json(issues: QuerySet) -> JsonResponse:
    issues = issues.select_related("repo__org", "creator").order_by("id")
    return JsonResponse([issue.to_json() for issue in issues], safe=False)


def login_required(view):
    """401 for anonymous requests (the demo names its user in the `X-User` header)."""
    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return json_error(401, "name a user in the X-User header, e.g. X-User: bob")
        return view(request, *args, **kwargs)

    return wrapper


@skip_authorization_view
def index(request):
    return JsonResponse({
        "app": "GitHub-like example for django_oso",
        "user": request.user.username if request.user.is_authenticated else None,
        "users": ACCESS,
        "endpoints": ["GET /orgs", "GET /repos", "GET /repos/<id>", "DELETE /repos/<id>",
                      "GET /repos/<id>/issues", "POST /repos/<id>/issues", "GET /issues",
                      "GET /issues/<id>", "POST /issues/<id>/close"],
    })


@require_http_methods(["GET"])
@login_required
def list_orgs(request):
    orgs = Org.objects.authorize(request, action="read").order_by("id")
    return JsonResponse([org.to_json() for org in orgs], safe=False)


@require_http_methods(["GET"])
@login_required
def list_repos(request):
    repos = Repo.objects.authorize(request, action="read").select_related("org").order_by("id")
    return JsonResponse([repo.to_json() for repo in repos], safe=False)


@require_http_methods(["GET", "DELETE"])
@login_required
def repo_detail(request, repo_id: int):
    if request.method == "DELETE":
        authorized(request, "delete", Repo, repo_id).delete()
        return HttpResponse(status=204)
    return JsonResponse(authorized(request, "read", Repo, repo_id).to_json())


@require_http_methods(["GET", "POST"])
@login_required
def repo_issues(request, repo_id: int):
    if request.method == "POST":
        repo = authorized(request, "create_issue", Repo, repo_id)
        try:
            title = json.loads(request.body or b"{}").get("title")
        except (ValueError, AttributeError):
            title = None
        if not isinstance(title, str) or not 0 < len(title) <= 200:
            return json_error(400, "title (1-200 characters) is required")
        issue = Issue.objects.create(repo=repo, creator=request.user, title=title)
        return JsonResponse(issue.to_json(), status=201)
    repo = authorized(request, "read", Repo, repo_id)
    return issues_json(Issue.objects.filter(repo=repo).authorize(request, action="read"))


@require_http_methods(["GET"])
@login_required
def list_issues(request):
    return issues_json(Issue.objects.authorize(request, action="read"))


@require_http_methods(["GET"])
@login_required
def issue_detail(request, issue_id: int):
    return JsonResponse(authorized(request, "read", Issue, issue_id).to_json())


@require_http_methods(["POST"])
@login_required
def close_issue(request, issue_id: int):
    issue = authorized(request, "close", Issue, issue_id)
    issue.closed = True
    issue.save(update_fields=["closed"])
    return JsonResponse(issue.to_json())

