"""Issues. `GET /issues` reads through an authorized session (sqlalchemy_oso): the query is plain
SQLAlchemy, and the session adds the policy's filter to it."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from example_apps.github_domain.models import Issue

from ..authorization import authorized_session, current_actor, load_issue, oso_fastapi
from ..database import get_session

router = APIRouter(tags=["issues"], dependencies=[Depends(current_actor)])

STATES = {"all": None, "open": False, "closed": True}


@router.get("/issues")
async def list_issues(state: Literal["all", "open", "closed"] = "all",
                      session: AsyncSession = Depends(authorized_session)) -> list[dict[str, Any]]:
    """Every issue the user may read; `?state=open` or `?state=closed` narrows it."""
    stmt = select(Issue).order_by(Issue.id)
    if STATES[state] is not None:
        stmt = stmt.where(Issue.closed == STATES[state])
    return [issue.to_json() for issue in await session.scalars(stmt)]


@router.get("/issues/{issue_id}")
async def get_issue(issue: Issue = Depends(oso_fastapi.authorized("read", load_issue))) -> dict[str, Any]:
    return issue.to_json()


@router.post("/issues/{issue_id}/close")
async def close_issue(issue: Issue = Depends(oso_fastapi.authorized("close", load_issue)),
                      session: AsyncSession = Depends(get_session)) -> dict[str, Any]:
    """Maintainers of the repo and the issue's creator may close it (closing twice is fine)."""
    issue.closed = True
    await session.commit()
    return issue.to_json()
