"""Repositories, their issues and their role assignments.

`GET /repos` filters with `Oso.authorized_query`; `GET /repos/<id>/issues` reads through an
authorized session (sqlalchemy_oso). Every other view checks one object with `authorize`.
"""

from __future__ import annotations

import re

from flask import Blueprint, abort, jsonify, request
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from ..authorization import (
    authorized,
    authorized_query,
    authorized_session,
    current_user,
)
from ..models import REPO_ROLES, Issue, Org, Repo, RepoRole, User, db

bp = Blueprint("repos", __name__)

REPO_NAME = re.compile(r"[A-Za-z0-9._-]{1,60}")


def _body() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        abort(400, description="expected a JSON object")
    return body


@bp.get("/repos")
def list_repos():
    repos = authorized_query("read", Repo).order_by(Repo.id)
    return jsonify([repo.to_json() for repo in repos])


@bp.post("/repos")
def create_repo():
    body = _body()
    org_id = body.get("org_id")
    if not isinstance(org_id, int):
        abort(400, description="org_id (an integer) is required")
    org = authorized("create_repo", Org, org_id)
    name, is_public = body.get("name"), body.get("is_public", False)
    if not isinstance(name, str) or not REPO_NAME.fullmatch(name):
        abort(400, description="name: 1-60 letters, digits, '.', '_' or '-'")
    if not isinstance(is_public, bool):
        abort(400, description="is_public must be true or false")
    if db.session.scalar(select(Repo.id).where(Repo.org_id == org.id, Repo.name == name)) is not None:
        abort(409, description=f"{org.name}/{name} already exists")
    return _created(Repo(org=org, name=name, is_public=is_public))


@bp.get("/repos/<int:repo_id>")
def get_repo(repo_id: int):
    return jsonify(authorized("read", Repo, repo_id).to_json())


@bp.delete("/repos/<int:repo_id>")
def delete_repo(repo_id: int):
    repo = authorized("delete", Repo, repo_id)
    db.session.delete(repo)      # its issues and role assignments go with it
    db.session.commit()
    return "", 204


@bp.get("/repos/<int:repo_id>/issues")
def list_repo_issues(repo_id: int):
    # One query: the repo with its issues joined in, both filtered by the policy. No row means the
    # user may not read the repo (or it does not exist): 404, as for GET /repos/<id>.
    with authorized_session() as s:
        stmt = select(Repo).where(Repo.id == repo_id).options(joinedload(Repo.issues))
        repo = s.scalars(stmt).unique().one_or_none()
        if repo is None:
            abort(404)
        return jsonify([issue.to_json() for issue in sorted(repo.issues, key=lambda i: i.id)])


@bp.post("/repos/<int:repo_id>/issues")
def create_issue(repo_id: int):
    repo = authorized("create_issue", Repo, repo_id)
    title = _body().get("title")
    if not isinstance(title, str) or not title.strip() or len(title) > 200:
        abort(400, description="title: a non-empty string of at most 200 characters")
    return _created(Issue(repo=repo, creator_id=current_user().id, title=title.strip()))


# Role assignments (admins only) --------------------------------------------------------------

@bp.get("/repos/<int:repo_id>/roles")
def list_repo_roles(repo_id: int):
    repo = authorized("manage_roles", Repo, repo_id)
    return jsonify([role.to_json() for role in sorted(repo.repo_roles, key=lambda r: r.user_id)])


@bp.post("/repos/<int:repo_id>/roles")
def assign_repo_role(repo_id: int):
    """Give `username` the role `role` on the repo (replacing the role they had)."""
    repo = authorized("manage_roles", Repo, repo_id)
    body = _body()
    role_name = body.get("role")
    if role_name not in REPO_ROLES:
        abort(400, description=f"role must be one of {', '.join(REPO_ROLES)}")
    user = _user_named(body.get("username"))
    role = _role_of(repo, user)
    created = role is None
    if created:
        role = RepoRole(repo=repo, user=user, name=role_name)
        db.session.add(role)
    else:
        role.name = role_name
    db.session.commit()
    return jsonify(role.to_json()), 201 if created else 200


@bp.delete("/repos/<int:repo_id>/roles/<username>")
def remove_repo_role(repo_id: int, username: str):
    repo = authorized("manage_roles", Repo, repo_id)
    role = _role_of(repo, _user_named(username))
    if role is None:
        abort(404, description=f"{username} has no role on this repository")
    db.session.delete(role)
    db.session.commit()
    return "", 204


def _created(row: Issue | Repo):
    """Insert `row`: 201 with its JSON."""
    db.session.add(row)
    db.session.commit()
    return jsonify(row.to_json()), 201


def _user_named(username: object) -> User:
    user = db.session.scalar(select(User).where(User.username == username)) if isinstance(username, str) else None
    if user is None:
        abort(400, description=f"unknown user {username!r}")
    return user


def _role_of(repo: Repo, user: User) -> RepoRole | None:
    return db.session.scalar(select(RepoRole).where(RepoRole.repo_id == repo.id, RepoRole.user_id == user.id))
