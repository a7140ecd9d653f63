"""Organizations. Listings are `oso_fastapi.authorized_select`: the policy as one SQL query."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from sqlalchemy.ext.asyncio import AsyncSession

from example_apps.github_domain.models import Org, Repo, User

from ..authorization import current_actor, load_org, oso_fastapi
from ..database import get_session

router = APIRouter(tags=["orgs"], dependencies=[Depends(current_actor)])


@router.get("/orgs")
async def list_orgs(user: User = Depends(current_actor),
                    session: AsyncSession = Depends(get_session)) -> list[dict[str, Any]]:
    stmt = (await oso_fastapi.authorized_select(user, "read", Org)).order_by(Org.id)
    return [org.to_json() for org in await session.scalars(stmt)]


@router.get("/orgs/{org_id}")
async def get_org(org: Org = Depends(oso_fastapi.authorized("read", load_org))) -> dict[str, Any]:
    return org.to_json()


@router.get("/orgs/{org_id}/repos")
async def list_org_repos(org_id: int, user: User = Depends(current_actor),
                         session: AsyncSession = Depends(get_session)) -> list[dict[str, Any]]:
    # The org's repos the user may read: all of them for members, only the public ones for
    # everybody else (as on GitHub). An org without any such repo gives an empty list.
    stmt = await oso_fastapi.authorized_select(user, "read", Repo)
    stmt = stmt.where(Repo.org_id == org_id).order_by(Repo.id)
    return [repo.to_json() for repo in await session.scalars(stmt)]
