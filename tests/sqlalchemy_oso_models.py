"""Models for the sqlalchemy_oso tests: to-one, to-many, many-to-many, self-referential.

    Org 1--* User            User *--* Tag (user_tags)
    Org 1--* Repo            Repo *--* Tag (repo_tags)
    Repo 1--* Issue *--1 User (author)
    Repo 1--* Membership *--1 User (roles for resource blocks)
    Folder *--1 Folder (parent: recursive rules)
"""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Integer, String, Table
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship


class Base(DeclarativeBase):
    pass


repo_tags = Table(
    "repo_tags", Base.metadata,
    Column("repo_id", ForeignKey("repos.id"), primary_key=True),
    Column("tag_id", ForeignKey("tags.id"), primary_key=True),
)

user_tags = Table(
    "user_tags", Base.metadata,
    Column("user_id", ForeignKey("users.id"), primary_key=True),
    Column("tag_id", ForeignKey("tags.id"), primary_key=True),
)


class Org(Base):
    __tablename__ = "orgs"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str]
    users: Mapped[list[User]] = relationship(back_populates="org")
    repos: Mapped[list[Repo]] = relationship(back_populates="org")


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str]
    is_admin: Mapped[bool] = mapped_column(default=False)
    org_id: Mapped[int | None] = mapped_column(ForeignKey("orgs.id"))
    org: Mapped[Org | None] = relationship(back_populates="users")
    tags: Mapped[list[Tag]] = relationship(secondary=user_tags, back_populates="users")
    issues: Mapped[list[Issue]] = relationship(back_populates="author")


class Tag(Base):
    __tablename__ = "tags"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str]
    is_public: Mapped[bool] = mapped_column(default=False)
    repos: Mapped[list[Repo]] = relationship(secondary=repo_tags, back_populates="tags")
    users: Mapped[list[User]] = relationship(secondary=user_tags, back_populates="tags")


class Repo(Base):
    __tablename__ = "repos"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str]
    is_public: Mapped[bool] = mapped_column(default=False)
    stars: Mapped[int | None]
    description: Mapped[str | None]
    org_id: Mapped[int | None] = mapped_column(ForeignKey("orgs.id"))
    org: Mapped[Org | None] = relationship(back_populates="repos")
    tags: Mapped[list[Tag]] = relationship(secondary=repo_tags, back_populates="repos")
    issues: Mapped[list[Issue]] = relationship(back_populates="repo")
    memberships: Mapped[list[Membership]] = relationship(back_populates="repo")


class Issue(Base):
    __tablename__ = "issues"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str]
    closed: Mapped[bool | None]
    repo_id: Mapped[int] = mapped_column(ForeignKey("repos.id"))
    repo: Mapped[Repo] = relationship(back_populates="issues")
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    author: Mapped[User | None] = relationship(back_populates="issues")


class Membership(Base):
    __tablename__ = "memberships"
    id: Mapped[int] = mapped_column(primary_key=True)
    role: Mapped[str] = mapped_column(String(20))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    user: Mapped[User] = relationship()
    repo_id: Mapped[int] = mapped_column(ForeignKey("repos.id"))
    repo: Mapped[Repo] = relationship(back_populates="memberships")


class Folder(Base):
    __tablename__ = "folders"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str]
    owner_id: Mapped[int | None] = mapped_column(Integer)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("folders.id"))
    parent: Mapped[Folder | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[Folder]] = relationship(back_populates="parent")


def populate(session: Session) -> dict:
    """A small data set; returns the objects by name (ids are fixed)."""
    acme = Org(id=1, name="acme")
    globex = Org(id=2, name="globex")
    alice = User(id=1, name="alice", org=acme)
    bob = User(id=2, name="bob", org=globex)
    carol = User(id=3, name="carol", is_admin=True)           # no org
    python = Tag(id=1, name="python", is_public=True)
    rust = Tag(id=2, name="rust")
    secret = Tag(id=3, name="secret")
    alice.tags = [python, secret]
    bob.tags = [rust]
    anvil = Repo(id=1, name="anvil", is_public=True, stars=10, org=acme, tags=[python])
    rocket = Repo(id=2, name="rocket", is_public=False, stars=3, org=acme, tags=[rust, secret],
                  description="fast")
    widget = Repo(id=3, name="widget", is_public=False, stars=None, org=globex, tags=[])
    orphan = Repo(id=4, name="orphan", is_public=True, stars=7, org=None, tags=[python, rust])
    issues = [
        Issue(id=1, title="bug", repo=anvil, author=alice, closed=False),
        Issue(id=2, title="feature", repo=rocket, author=bob, closed=True),
        Issue(id=3, title="question", repo=widget, author=bob, closed=None),
        Issue(id=4, title="anonymous", repo=orphan, author=None, closed=False),
    ]
    memberships = [
        Membership(id=1, role="writer", user=bob, repo=rocket),
        Membership(id=2, role="reader", user=carol, repo=widget),
    ]
    root = Folder(id=1, name="root", owner_id=1)
    docs = Folder(id=2, name="docs", parent=root)
    deep = Folder(id=3, name="deep", parent=docs)
    other = Folder(id=4, name="other", owner_id=2)
    objects = {"acme": acme, "globex": globex, "alice": alice, "bob": bob, "carol": carol,
               "python": python, "rust": rust, "secret": secret, "anvil": anvil, "rocket": rocket,
               "widget": widget, "orphan": orphan, "root": root, "docs": docs, "deep": deep,
               "other": other}
    session.add_all([*objects.values(), *issues, *memberships])
    session.commit()
    return objects
