"""Logging in and out. A demo: users log in by name, without a password."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from pydantic import BaseModel, StrictStr
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from example_apps.github_domain.demo import ENDPOINTS
from example_apps.github_domain.models import User

from ..authorization import SESSION_COOKIE, oso_fastapi, sign_user_id
from ..database import get_session

router = APIRouter(tags=["sessions"])


class Login(BaseModel):
    username: StrictStr


@router.get("/")
async def index() -> dict[str, Any]:
    return {"app": "GitHub-like example of oso_core, fastapi_oso and sqlalchemy_oso (asyncio)",
            "endpoints": ENDPOINTS}


@router.post("/login")
async def login(body: Login, request: Request, response: Response,
                session: AsyncSession = Depends(get_session)) -> dict[str, Any]:
    user = await session.scalar(select(User).where(User.username == body.username))
    if user is None:
        raise HTTPException(401, detail=f"unknown user {body.username!r}")
    response.set_cookie(SESSION_COOKIE, sign_user_id(user.id, request.app.state.secret_key),
                        httponly=True, samesite="lax")
    return {"user": user.to_json()}


@router.post("/logout")
async def logout(response: Response) -> dict[str, Any]:
    response.delete_cookie(SESSION_COOKIE)
    return {"user": None}


@router.get("/whoami")
async def whoami(user: User | None = Depends(oso_fastapi.optional_actor)) -> dict[str, Any]:
    return {"user": user.to_json() if user else None}
