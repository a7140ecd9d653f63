"""Repositories, their issues and their role assignments.

`GET /repos` filters with `oso_fastapi.authorized_select`; `GET /repos/{id}/issues` reads through
an authorized session (sqlalchemy_oso). Every other endpoint checks one object with
`oso_fastapi.authorized(action, loader)` or `oso_fastapi.authorize(...)`: 404 if the user may not
read it, 403 if they may read it but not do that. Bodies are checked after the authorization
(a 404 stays a 404 whatever the body).
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Response
from pydantic import BaseModel, StrictInt
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from example_apps.github_domain.models import REPO_ROLES, Issue, Org, Repo, RepoRole, User

from ..authorization import authorized_session, current_actor, load_repo, oso, oso_fastapi
from ..database import get_session

router = APIRouter(tags=["repos"], dependencies=[Depends(current_actor)])

REPO_NAME = re.compile(r"[A-Za-z0-9._-]{1,60}")


class NewRepo(BaseModel):
    org_id: StrictInt
    name: Any = None          # checked after the authorization
    is_public: Any = False


class NewIssue(BaseModel):
    title: Any = None


class RoleAssignment(BaseModel):
    username: Any = None
    role: Any = None


def bad_request(message: str) -> HTTPException:
    return HTTPException(400, detail=message)


@router.get("/repos")
async def list_repos(user: User = Depends(current_actor),
                     session: AsyncSession = Depends(get_session)) -> list[dict[str, Any]]:
    stmt = (await oso_fastapi.authorized_select(user, "read", Repo)).order_by(Repo.id)
    return [repo.to_json() for repo in await session.scalars(stmt)]


@router.post("/repos", status_code=201)
async def create_repo(body: NewRepo, user: User = Depends(current_actor),
                      session: AsyncSession = Depends(get_session)) -> dict[str, Any]:
    org = await session.get(Org, body.org_id)
    await oso_fastapi.authorize(user, "create_repo", org)    # None (no such org): 404
    if not isinstance(body.name, str) or not REPO_NAME.fullmatch(body.name):
        raise bad_request("name: 1-60 letters, digits, '.', '_' or '-'")
    if not isinstance(body.is_public, bool):
        raise bad_request("is_public must be true or false")
    if await session.scalar(select(Repo.id).where(Repo.org_id == org.id, Repo.name == body.name)) is not None:
        raise HTTPException(409, detail=f"{org.name}/{body.name} already exists")
    repo = Repo(org=org, name=body.name, is_public=body.is_public)
    session.add(repo)
    await session.commit()
    return repo.to_json()


@router.get("/repos/{repo_id}")
async def get_repo(repo: Repo = Depends(oso_fastapi.authorized("read", load_repo))) -> dict[str, Any]:
    return repo.to_json()


@router.delete("/repos/{repo_id}", status_code=204)
async def delete_repo(repo: Repo = Depends(oso_fastapi.authorized("delete", load_repo)),
                      session: AsyncSession = Depends(get_session)) -> Response:
    await session.delete(repo)      # its issues and role assignments go with it
    await session.commit()
    return Response(status_code=204)


@router.get("/repos/{repo_id}/issues")
async def list_repo_issues(repo_id: int,
                           session: AsyncSession = Depends(authorized_session)) -> list[dict[str, Any]]:
    # One query: the repo with its issues joined in, both filtered by the policy. No row means the
    # user may not read the repo (or it does not exist): 404, as for GET /repos/{id}.
    stmt = select(Repo).where(Repo.id == repo_id).options(joinedload(Repo.issues))
    repo = (await session.scalars(stmt)).unique().one_or_none()
    if repo is None:
        raise oso.not_found_error()
    return [issue.to_json() for issue in sorted(repo.issues, key=lambda i: i.id)]


@router.post("/repos/{repo_id}/issues", status_code=201)
async def create_issue(body: NewIssue, user: User = Depends(current_actor),
                       repo: Repo = Depends(oso_fastapi.authorized("create_issue", load_repo)),
                       session: AsyncSession = Depends(get_session)) -> dict[str, Any]:
    title = body.title
    if not isinstance(title, str) or not title.strip() or len(title) > 200:
        raise bad_request("title: a non-empty string of at most 200 characters")
    issue = Issue(repo=repo, creator_id=user.id, title=title.strip())
    session.add(issue)
    await session.commit()
    return issue.to_json()


# Role assignments (admins only) --------------------------------------------------------------

@router.get("/repos/{repo_id}/roles")
async def list_repo_roles(repo: Repo = Depends(oso_fastapi.authorized("manage_roles", load_repo))
                          ) -> list[dict[str, Any]]:
    # The policy read `repo.repo_roles` to decide; awaiting it again costs no query.
    roles = await repo.awaitable_attrs.repo_roles
    return [await _role_json(role) for role in sorted(roles, key=lambda r: r.user_id)]


@router.post("/repos/{repo_id}/roles")
async def assign_repo_role(body: RoleAssignment, response: Response,
                           repo: Repo = Depends(oso_fastapi.authorized("manage_roles", load_repo)),
                           session: AsyncSession = Depends(get_session)) -> dict[str, Any]:
    """Give `username` the role `role` on the repo (replacing the role they had): 201 for a new
    assignment, 200 for a changed one."""
    if body.role not in REPO_ROLES:
        raise bad_request(f"role must be one of {', '.join(REPO_ROLES)}")
    user = await _user_named(session, body.username)
    role = await _role_of(session, repo, user)
    if role is None:
        role = RepoRole(repo=repo, user=user, name=body.role)
        session.add(role)
        response.status_code = 201
    else:
        role.name = body.role
    await session.commit()
    return await _role_json(role)


@router.delete("/repos/{repo_id}/roles/{username}", status_code=204)
async def remove_repo_role(username: str,
                           repo: Repo = Depends(oso_fastapi.authorized("manage_roles", load_repo)),
                           session: AsyncSession = Depends(get_session)) -> Response:
    role = await _role_of(session, repo, await _user_named(session, username))
    if role is None:
        raise HTTPException(404, detail=f"{username} has no role on this repository")
    await session.delete(role)
    await session.commit()
    return Response(status_code=204)


async def _role_json(role: RepoRole) -> dict[str, Any]:
    await role.awaitable_attrs.user   # lazy: loaded in the event loop (`to_json` reads it)
    return role.to_json()


async def _user_named(session: AsyncSession, username: object) -> User:
    user = (await session.scalar(select(User).where(User.username == username))
            if isinstance(username, str) else None)
    if user is None:
        raise bad_request(f"unknown user {username!r}")
    return user


async def _role_of(session: AsyncSession, repo: Repo, user: User) -> RepoRole | None:
    return await session.scalar(select(RepoRole).where(RepoRole.repo_id == repo.id, RepoRole.user_id == user.id))
