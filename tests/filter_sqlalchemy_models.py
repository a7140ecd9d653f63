"""SQLAlchemy models of the data-filtering test schema (see filter_scenarios.py)."""

from __future__ import annotations

from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    pass


class Org(Base):
    __tablename__ = "orgs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(40))
    org_roles: Mapped[list["OrgRole"]] = relationship(back_populates="org")


class Repo(Base):
    __tablename__ = "repos"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(40))
    org_id: Mapped[int] = mapped_column(ForeignKey("orgs.id"), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("repos.id"), nullable=True, index=True)
    owner_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    is_public: Mapped[bool] = mapped_column(Boolean)
    is_archived: Mapped[bool] = mapped_column(Boolean)
    org: Mapped[Org] = relationship()
    parent: Mapped["Repo | None"] = relationship(remote_side=[id])
    issues: Mapped[list["Issue"]] = relationship(back_populates="repo")
    repo_roles: Mapped[list["RepoRole"]] = relationship(back_populates="repo")


class Issue(Base):
    __tablename__ = "issues"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    repo_id: Mapped[int] = mapped_column(ForeignKey("repos.id"), index=True)
    creator_id: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(40))
    closed: Mapped[bool] = mapped_column(Boolean)
    repo: Mapped[Repo] = relationship(back_populates="issues")


class OrgRole(Base):
    __tablename__ = "org_roles"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(Integer, index=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("orgs.id"), index=True)
    name: Mapped[str] = mapped_column(String(20))
    org: Mapped[Org] = relationship(back_populates="org_roles")


class RepoRole(Base):
    __tablename__ = "repo_roles"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(Integer, index=True)
    repo_id: Mapped[int] = mapped_column(ForeignKey("repos.id"), index=True)
    name: Mapped[str] = mapped_column(String(20))
    repo: Mapped[Repo] = relationship(back_populates="repo_roles")


MODELS = {"Org": Org, "Repo": Repo, "Issue": Issue}
TABLES = [("orgs", Org), ("repos", Repo), ("issues", Issue), ("org_roles", OrgRole), ("repo_roles", RepoRole)]
