"""The SQLAlchemy tables of the GitHub-like domain (users, orgs, repos, issues, and the role tables
that say who may do what), shared by example_apps/github_flask and github_fastapi.

Relationships matter to authorization: the policy follows `repo.org`, `org.org_roles`,
`repo.repo_roles` and `issue.repo`, and data filtering turns each of them into a subquery.

`AsyncAttrs` (used by the FastAPI app) gives every object `awaitable_attrs`:
`await repo.awaitable_attrs.repo_roles` loads a lazy relationship in the event loop. The policy
reads the same relationships by their plain names during `oso.authorize_async(...)`: the engine
runs in a greenlet that SQLAlchemy recognizes, so each lazy load suspends the decision while the
event loop awaits the SELECT. The Flask app reads them as usual.
"""

from __future__ import annotations

from sqlalchemy import Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.ext.asyncio import AsyncAttrs
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

ORG_ROLES = ("member", "owner")
REPO_ROLES = ("reader", "maintainer", "admin")


class Base(AsyncAttrs, DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(40), unique=True)

    def to_json(self) -> dict:
        return {"id": self.id, "username": self.username}


class Org(Base):
    __tablename__ = "orgs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(40), unique=True)
    org_roles: Mapped[list[OrgRole]] = relationship(back_populates="org", cascade="all, delete-orphan")

    def to_json(self) -> dict:
        return {"id": self.id, "name": self.name}


class Repo(Base):
    __tablename__ = "repos"
    __table_args__ = (UniqueConstraint("org_id", "name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(60))
    org_id: Mapped[int] = mapped_column(ForeignKey("orgs.id"), index=True)
    is_public: Mapped[bool] = mapped_column(Boolean, default=False)
    org: Mapped[Org] = relationship()
    issues: Mapped[list[Issue]] = relationship(back_populates="repo", cascade="all, delete-orphan")
    repo_roles: Mapped[list[RepoRole]] = relationship(back_populates="repo", cascade="all, delete-orphan")

    def to_json(self) -> dict:
        return {"id": self.id, "org_id": self.org_id, "name": self.name, "is_public": self.is_public}


class Issue(Base):
    __tablename__ = "issues"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    repo_id: Mapped[int] = mapped_column(ForeignKey("repos.id"), index=True)
    creator_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    closed: Mapped[bool] = mapped_column(Boolean, default=False)
    repo: Mapped[Repo] = relationship(back_populates="issues")

    def to_json(self) -> dict:
        # Only columns: serializing never loads another row (listings stay one query).
        return {"id": self.id, "repo_id": self.repo_id, "creator_id": self.creator_id,
                "title": self.title, "closed": self.closed}


class RoleColumns:
    """What every role table has: an id, the user, and the role's `name` (`sort_order` keeps the
    columns in the order id, user_id, <resource>_id, name)."""
    id: Mapped[int] = mapped_column(Integer, primary_key=True, sort_order=-2)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True, sort_order=-1)
    name: Mapped[str] = mapped_column(String(20), sort_order=1)


class OrgRole(RoleColumns, Base):
    """`user` has role `name` ("member" or "owner") in `org`."""
    __tablename__ = "org_roles"
    __table_args__ = (UniqueConstraint("user_id", "org_id"),)
    org_id: Mapped[int] = mapped_column(ForeignKey("orgs.id"), index=True)
    org: Mapped[Org] = relationship(back_populates="org_roles")


class RepoRole(RoleColumns, Base):
    """`user` has role `name` ("reader", "maintainer" or "admin") on `repo`."""
    __tablename__ = "repo_roles"
    __table_args__ = (UniqueConstraint("user_id", "repo_id"),)
    repo_id: Mapped[int] = mapped_column(ForeignKey("repos.id"), index=True)
    repo: Mapped[Repo] = relationship(back_populates="repo_roles")
    user: Mapped[User] = relationship()

    def to_json(self) -> dict:
        """Reads `self.user` (async code awaits `awaitable_attrs.user` first)."""
        return {"user_id": self.user_id, "username": self.user.username, "repo_id": self.repo_id,
                "role": self.name}
