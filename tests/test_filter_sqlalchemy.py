"""The SQLAlchemy 2.x filter-plan adapter (`oso_core.data.adapter.sqlalchemy_adapter`).

Plans are built by hand and run on SQLite (in memory) and PostgreSQL (a fresh schema); the ids
each returns are compared with ids computed in plain Python from the same seeded data.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace
from typing import Callable, Optional

import pytest

sa = pytest.importorskip("sqlalchemy")

from sqlalchemy import JSON, Boolean, ForeignKey, ForeignKeyConstraint, Integer, String, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import (
    DeclarativeBase, Mapped, Query, Session, mapped_column, relationship,
    with_loader_criteria,
)

from fixtures.databases import postgres_engine
from oso_core.data.adapter.adapter import DataAdapter
from oso_core.data.adapter.sqlalchemy_adapter import (
    SqlAlchemyAdapter, build_select, filter_clause, relations_of,
)
from oso_core.exceptions import UnsupportedError
from oso_core.filtering.plan import (
    COMPARISONS, FALSE, TRUE, And, Compare, Contains, Exists, FilterPlan, Field, Hop, In, InSet,
    Not, Or, RecursiveStep, RelationInfo, Row, RowSet, Value,
)


# ---------------------------------------------------------------------------------------------
# Schema


class Base(DeclarativeBase):
    pass


class Org(Base):
    __tablename__ = "orgs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(50))
    is_public: Mapped[bool] = mapped_column(Boolean)
    repos: Mapped[list["Repo"]] = relationship(back_populates="org")


class Repo(Base):
    __tablename__ = "repos"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(50))
    org_id: Mapped[int] = mapped_column(ForeignKey("orgs.id"))
    parent_id: Mapped[Optional[int]] = mapped_column(ForeignKey("repos.id"), nullable=True)
    is_public: Mapped[bool] = mapped_column(Boolean)
    owner_id: Mapped[Optional[int]] = mapped_column(Integer, nullable=True)
    tags = mapped_column(JSON(none_as_null=True), nullable=True)

    org: Mapped[Org] = relationship(back_populates="repos")
    issues: Mapped[list["Issue"]] = relationship()
    roles: Mapped[list["RepoRole"]] = relationship()
    parent: Mapped[Optional["Repo"]] = relationship(remote_side=[id])
    # Extra join criteria: relations_of must leave it out rather than drop the criteria.
    open_issues: Mapped[list["Issue"]] = relationship(
        primaryjoin="and_(Repo.id == Issue.repo_id, Issue.closed == False)", viewonly=True)


class Issue(Base):
    __tablename__ = "issues"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # The attribute name differs from the column name on purpose.
    repo_id: Mapped[int] = mapped_column("repo_fk", ForeignKey("repos.id"))
    title: Mapped[str] = mapped_column(String(50))
    closed: Mapped[bool] = mapped_column(Boolean)


class RepoRole(Base):
    __tablename__ = "repo_roles"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(Integer)
    repo_id: Mapped[int] = mapped_column(ForeignKey("repos.id"))
    name: Mapped[str] = mapped_column(String(50))


class OtherBase(DeclarativeBase):
    """Mappings only inspected (never created): shapes relations_of must skip."""


team_members = sa.Table(
    "team_members", OtherBase.metadata,
    sa.Column("team_id", ForeignKey("teams.id"), primary_key=True),
    sa.Column("member_id", ForeignKey("members.id"), primary_key=True),
)


class Member(OtherBase):
    __tablename__ = "members"
    id: Mapped[int] = mapped_column(primary_key=True)


class Team(OtherBase):
    __tablename__ = "teams"
    id: Mapped[int] = mapped_column(primary_key=True)
    members: Mapped[list[Member]] = relationship(secondary=team_members)


class Pair(OtherBase):
    __tablename__ = "pairs"
    a: Mapped[int] = mapped_column(primary_key=True)
    b: Mapped[int] = mapped_column(primary_key=True)
    label: Mapped[str] = mapped_column(String(10))


class PairRef(OtherBase):
    __tablename__ = "pair_refs"
    id: Mapped[int] = mapped_column(primary_key=True)
    pa: Mapped[int] = mapped_column()
    pb: Mapped[int] = mapped_column()
    pair: Mapped[Pair] = relationship()
    __table_args__ = (ForeignKeyConstraint(["pa", "pb"], ["pairs.a", "pairs.b"]),)


class PgBase(DeclarativeBase):
    """PostgreSQL-only tables (ARRAY columns)."""


class Tagged(PgBase):
    __tablename__ = "tagged"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    labels = mapped_column(postgresql.ARRAY(String), nullable=True)
    nums = mapped_column(postgresql.ARRAY(Integer), nullable=True)


class NotMapped:
    pass


# ---------------------------------------------------------------------------------------------
# Data (plain Python; seeded into each database)

ORGS = [
    dict(id=1, name="acme", is_public=True),
    dict(id=2, name="beta", is_public=False),
    dict(id=3, name="gamma", is_public=False),
]
# Parent chain 10 -> 6 -> 5 -> 4 -> 3 -> 2 -> 1 (depth 6), and 9 -> 8 -> 7; no cycles.
REPOS = [
    dict(id=1, name="root", org_id=1, parent_id=None, is_public=True, owner_id=1, tags=["a", "b"]),
    dict(id=2, name="r2", org_id=1, parent_id=1, is_public=False, owner_id=None, tags=[]),
    dict(id=3, name="r3", org_id=1, parent_id=2, is_public=False, owner_id=3, tags=["b", 2]),
    dict(id=4, name="r4", org_id=2, parent_id=3, is_public=True, owner_id=None, tags=["2", "c"]),
    dict(id=5, name="r5", org_id=2, parent_id=4, is_public=False, owner_id=4, tags=[4, "x"]),
    dict(id=6, name="r6", org_id=2, parent_id=5, is_public=False, owner_id=None, tags=None),
    dict(id=7, name="r7", org_id=3, parent_id=None, is_public=False, owner_id=3, tags=["a"]),
    dict(id=8, name="r8", org_id=3, parent_id=7, is_public=True, owner_id=None, tags=["c"]),
    dict(id=9, name="r9", org_id=3, parent_id=8, is_public=False, owner_id=1, tags=["1"]),
    dict(id=10, name="r10", org_id=1, parent_id=6, is_public=False, owner_id=None, tags=["d"]),
    dict(id=11, name="r11", org_id=2, parent_id=None, is_public=False, owner_id=4, tags=None),
]
ISSUES = [
    dict(id=1, repo_id=1, title="bug", closed=False),
    dict(id=2, repo_id=1, title="feature", closed=True),
    dict(id=3, repo_id=3, title="bug", closed=True),
    dict(id=4, repo_id=5, title="crash", closed=False),
    dict(id=5, repo_id=8, title="bug", closed=False),
    dict(id=6, repo_id=9, title="docs", closed=True),
]
ROLES = [
    dict(id=1, user_id=1, repo_id=1, name="admin"),
    dict(id=2, user_id=1, repo_id=7, name="reader"),
    dict(id=3, user_id=2, repo_id=4, name="reader"),
    dict(id=4, user_id=2, repo_id=10, name="admin"),
    dict(id=5, user_id=3, repo_id=9, name="reader"),
]
TAGGED = [
    dict(id=1, labels=["a", "b"], nums=[1, 2]),
    dict(id=2, labels=[], nums=[]),
    dict(id=3, labels=None, nums=None),
    dict(id=4, labels=["b", None], nums=[3, 4]),
]

P_ORGS = [SimpleNamespace(**o) for o in ORGS]
P_REPOS = [SimpleNamespace(**r) for r in REPOS]
P_ISSUES = [SimpleNamespace(**i) for i in ISSUES]
P_ROLES = [SimpleNamespace(**r) for r in ROLES]
P_TAGGED = [SimpleNamespace(**t) for t in TAGGED]
REPO = {r.id: r for r in P_REPOS}
ORG = {o.id: o for o in P_ORGS}


def org_of(r):
    return ORG[r.org_id]


def parent_of(r):
    return REPO.get(r.parent_id)


def repos_of(o):
    return [r for r in P_REPOS if r.org_id == o.id]


def issues_of(r):
    return [i for i in P_ISSUES if i.repo_id == r.id]


def roles_of(r):
    return [x for x in P_ROLES if x.repo_id == r.id]


def children_of(r):
    return [c for c in P_REPOS if c.parent_id == r.id]


def least_set(rows, base, steps) -> set:
    """The least set of ids holding `base` rows and closed under `steps(row, ids) -> bool`."""
    members = {r.id for r in rows if base(r)}
    while True:
        new = {r.id for r in rows if r.id not in members and any(s(r, members) for s in steps)}
        if not new:
            return members
        members |= new


def lt(a, b):  # SQL ordering: a comparison with NULL is not true
    return a is not None and b is not None and a < b


PY_ORDER = {
    "Eq": lambda a, b: a is not None and a == b,
    "Neq": lambda a, b: a != b,
    "Lt": lt,
    "Leq": lambda a, b: a is not None and b is not None and a <= b,
    "Gt": lambda a, b: lt(b, a),
    "Geq": lambda a, b: a is not None and b is not None and a >= b,
}


# ---------------------------------------------------------------------------------------------
# Plan building helpers

def row(cls, label: str) -> Row:
    return Row(cls, cls.__name__, label)


def eq(a, b):
    return Compare("Eq", a, b)


def F(r, name=None):
    return Field(r, name)


def V(v):
    return Value(v)


R_ORG = RelationInfo("org", "one", Org, "Org", "org_id", "id")
R_REPOS = RelationInfo("repos", "many", Repo, "Repo", "id", "org_id")
R_ISSUES = RelationInfo("issues", "many", Issue, "Issue", "id", "repo_id")
R_ROLES = RelationInfo("roles", "many", RepoRole, "RepoRole", "id", "repo_id")
R_PARENT = RelationInfo("parent", "one", Repo, "Repo", "parent_id", "id")
R_CHILDREN = RelationInfo("children", "many", Repo, "Repo", "id", "parent_id")


@dataclass
class Case:
    """A plan over `model` (built from its root row) and the Python predicate it must match."""

    id: str
    model: type
    build: Callable  # root row -> condition, or (condition, sets)
    expect: Callable  # plain Python row -> bool (Repo/Org) or the expected id set

    def plan(self) -> FilterPlan:
        root = row(self.model, self.model.__name__.lower())
        built = self.build(root)
        condition, sets = built if isinstance(built, tuple) else (built, {})
        return FilterPlan(root, condition, sets)

    def expected_ids(self) -> set:
        rows = {Repo: P_REPOS, Org: P_ORGS, Tagged: P_TAGGED}[self.model]
        if isinstance(self.expect, set):
            return self.expect
        return {r.id for r in rows if self.expect(r)}


def _comparison_cases() -> list[Case]:
    cases = []
    for op in COMPARISONS:
        cases.append(Case(f"{op}-field-value", Repo, lambda r, op=op: Compare(op, F(r, "owner_id"), V(3)),
                          lambda p, op=op: PY_ORDER[op](p.owner_id, 3)))
        mirrored = {"Lt": "Gt", "Gt": "Lt", "Leq": "Geq", "Geq": "Leq"}.get(op, op)
        cases.append(Case(f"{op}-value-field", Repo, lambda r, op=op: Compare(op, V(3), F(r, "owner_id")),
                          lambda p, m=mirrored: PY_ORDER[m](p.owner_id, 3)))
        # Not is the exact complement: rows with a NULL owner_id pass `not (owner_id < 3)`.
        cases.append(Case(f"not-{op}-field-value", Repo, lambda r, op=op: Not(Compare(op, F(r, "owner_id"), V(3))),
                          lambda p, op=op: not PY_ORDER[op](p.owner_id, 3)))
        cases.append(Case(f"{op}-field-field", Repo, lambda r, op=op: Compare(op, F(r, "parent_id"), F(r, "owner_id")),
                          lambda p, op=op: PY_ORDER[op](p.parent_id, p.owner_id)))
        cases.append(Case(f"not-{op}-field-field", Repo,
                          lambda r, op=op: Not(Compare(op, F(r, "parent_id"), F(r, "owner_id"))),
                          lambda p, op=op: not PY_ORDER[op](p.parent_id, p.owner_id)))
        cases.append(Case(f"{op}-value-value", Repo, lambda r, op=op: Compare(op, V(2), V(3)),
                          lambda p, op=op: PY_ORDER[op](2, 3)))
    cases += [
        Case("eq-none", Repo, lambda r: eq(F(r, "owner_id"), V(None)), lambda p: p.owner_id is None),
        Case("eq-none-mirrored", Repo, lambda r: eq(V(None), F(r, "owner_id")), lambda p: p.owner_id is None),
        Case("neq-none", Repo, lambda r: Compare("Neq", F(r, "owner_id"), V(None)), lambda p: p.owner_id is not None),
        Case("neq-none-mirrored", Repo, lambda r: Compare("Neq", V(None), F(r, "owner_id")),
             lambda p: p.owner_id is not None),
        Case("not-eq-none", Repo, lambda r: Not(eq(F(r, "owner_id"), V(None))), lambda p: p.owner_id is not None),
        Case("not-neq-none", Repo, lambda r: Not(Compare("Neq", F(r, "owner_id"), V(None))),
             lambda p: p.owner_id is None),
        Case("neq-null-safe", Repo, lambda r: Compare("Neq", F(r, "owner_id"), V(1)), lambda p: p.owner_id != 1),
        Case("not-not-neq", Repo, lambda r: Not(Not(Compare("Neq", F(r, "owner_id"), V(1)))),
             lambda p: p.owner_id != 1),
        Case("eq-string", Repo, lambda r: eq(F(r, "name"), V("r5")), lambda p: p.name == "r5"),
        Case("eq-bool", Repo, lambda r: eq(F(r, "is_public"), V(True)), lambda p: p.is_public),
        Case("pk-eq-instance", Repo, lambda r: eq(F(r), V(Repo(id=3))), lambda p: p.id == 3),
        Case("fk-eq-instance", Repo, lambda r: eq(F(r, "org_id"), V(Org(id=2))), lambda p: p.org_id == 2),
        Case("pk-neq-instance-mirrored", Repo, lambda r: Compare("Neq", V(Repo(id=3)), F(r)), lambda p: p.id != 3),
    ]
    return cases


def _membership_cases() -> list[Case]:
    return [
        Case("in", Repo, lambda r: In(F(r, "owner_id"), V([1, 3])), lambda p: p.owner_id in (1, 3)),
        Case("in-empty", Repo, lambda r: In(F(r, "owner_id"), V([])), lambda p: False),
        Case("not-in-empty", Repo, lambda r: Not(In(F(r, "owner_id"), V([]))), lambda p: True),
        Case("not-in-nullable", Repo, lambda r: Not(In(F(r, "owner_id"), V([1, 3]))),
             lambda p: p.owner_id not in (1, 3)),
        Case("in-with-none", Repo, lambda r: In(F(r, "owner_id"), V([None, 4])), lambda p: p.owner_id in (None, 4)),
        Case("not-in-with-none", Repo, lambda r: Not(In(F(r, "owner_id"), V([None, 4]))),
             lambda p: p.owner_id not in (None, 4)),
        Case("in-instances", Repo, lambda r: In(F(r), V([Repo(id=2), Repo(id=7), 9])), lambda p: p.id in (2, 7, 9)),
        Case("in-fk-instances", Repo, lambda r: In(F(r, "org_id"), V([Org(id=3)])), lambda p: p.org_id == 3),
        Case("contains-json-str", Repo, lambda r: Contains(F(r, "tags"), V("b")),
             lambda p: p.tags is not None and "b" in p.tags),
        Case("contains-json-int-not-str", Repo, lambda r: Contains(F(r, "tags"), V(2)),
             lambda p: p.tags is not None and 2 in p.tags),
        Case("contains-json-str-not-int", Repo, lambda r: Contains(F(r, "tags"), V("2")),
             lambda p: p.tags is not None and "2" in p.tags),
        Case("not-contains-json", Repo, lambda r: Not(Contains(F(r, "tags"), V("a"))),
             lambda p: not (p.tags is not None and "a" in p.tags)),
        Case("contains-json-field-item", Repo, lambda r: Contains(F(r, "tags"), F(r, "owner_id")),
             lambda p: p.tags is not None and p.owner_id in p.tags),
        Case("contains-value-list", Repo, lambda r: Contains(V([2, 5]), F(r)), lambda p: p.id in (2, 5)),
        Case("contains-instance-item", Repo, lambda r: Contains(F(r, "tags"), V(Repo(id=4))),
             lambda p: p.tags is not None and 4 in p.tags),
    ]


def _exists_cases() -> list[Case]:
    def nested_root_ref(r):
        o, r2 = row(Org, "org_1"), row(Repo, "repo_2")
        inner = And((eq(F(r2, "owner_id"), F(r, "owner_id")), Compare("Neq", F(r2), F(r))))
        return Exists(r, R_ORG, o, Exists(o, R_REPOS, r2, inner))

    def three_levels(o):
        r, i = row(Repo, "repo_1"), row(Issue, "issue_1")
        cond = And((eq(F(i, "title"), V("bug")), eq(F(r, "is_public"), F(o, "is_public")),
                    eq(F(o, "is_public"), V(True))))
        return Exists(o, R_REPOS, r, Exists(r, R_ISSUES, i, cond))

    def org_bug_repos(o):
        r, i = row(Repo, "repo_1"), row(Issue, "issue_1")
        return Exists(o, R_REPOS, r, And((eq(F(r, "is_public"), V(False)),
                                          Exists(r, R_ISSUES, i, eq(F(i, "closed"), V(False))))))

    return [
        Case("exists-one", Repo, lambda r: Exists(r, R_ORG, ORG_ROW, eq(F(ORG_ROW, "name"), V("acme"))),
             lambda p: org_of(p).name == "acme"),
        Case("exists-many", Repo, lambda r: _issue_exists(r, eq(F(ISSUE_ROW, "closed"), V(False))),
             lambda p: any(not i.closed for i in issues_of(p))),
        Case("not-exists-many", Repo, lambda r: Not(_issue_exists(r, eq(F(ISSUE_ROW, "closed"), V(False)))),
             lambda p: not any(not i.closed for i in issues_of(p))),
        Case("exists-true", Repo, lambda r: _issue_exists(r, TRUE), lambda p: bool(issues_of(p))),
        Case("exists-roles", Repo,
             lambda r: Exists(r, R_ROLES, ROLE_ROW, And((eq(F(ROLE_ROW, "user_id"), V(2)),
                                                          eq(F(ROLE_ROW, "name"), V("admin"))))),
             lambda p: any(x.user_id == 2 and x.name == "admin" for x in roles_of(p))),
        Case("exists-parent-one", Repo, lambda r: Exists(r, R_PARENT, PARENT_ROW, eq(F(PARENT_ROW, "owner_id"), V(3))),
             lambda p: parent_of(p) is not None and parent_of(p).owner_id == 3),
        Case("nested-exists-root-ref", Repo, nested_root_ref,
             lambda p: any(x.owner_id is not None and x.owner_id == p.owner_id and x.id != p.id
                           for x in repos_of(org_of(p)))),
        Case("org-exists-many", Org, org_bug_repos,
             lambda o: any(not r.is_public and any(not i.closed for i in issues_of(r)) for r in repos_of(o))),
        Case("org-three-levels", Org, three_levels,
             lambda o: o.is_public and any(r.is_public == o.is_public and any(i.title == "bug" for i in issues_of(r))
                                           for r in repos_of(o))),
        Case("org-not-exists", Org, lambda o: Not(Exists(o, R_REPOS, REPO_ROW, eq(F(REPO_ROW, "owner_id"), V(1)))),
             lambda o: not any(r.owner_id == 1 for r in repos_of(o))),
    ]


# Rows reused across cases (each case's plan uses a row at most once per scope).
ISSUE_ROW = row(Issue, "issue")
ROLE_ROW = row(RepoRole, "role")
PARENT_ROW = row(Repo, "parent")
REPO_ROW = row(Repo, "repo_1")
ORG_ROW = row(Org, "org")


def _issue_exists(r: Row, cond):
    return Exists(r, R_ISSUES, ISSUE_ROW, cond)


def _logic_cases() -> list[Case]:
    public = lambda r: eq(F(r, "is_public"), V(True))  # noqa: E731
    owner1 = lambda r: eq(F(r, "owner_id"), V(1))  # noqa: E731
    return [
        Case("true", Repo, lambda r: TRUE, lambda p: True),
        Case("false", Repo, lambda r: FALSE, lambda p: False),
        Case("not-true", Repo, lambda r: Not(TRUE), lambda p: False),
        Case("not-false", Repo, lambda r: Not(FALSE), lambda p: True),
        Case("and", Repo, lambda r: And((public(r), Compare("Gt", F(r), V(3)))), lambda p: p.is_public and p.id > 3),
        Case("or", Repo, lambda r: Or((public(r), owner1(r))), lambda p: p.is_public or p.owner_id == 1),
        Case("and-with-false", Repo, lambda r: And((public(r), FALSE)), lambda p: False),
        Case("or-with-true", Repo, lambda r: Or((public(r), TRUE)), lambda p: True),
        Case("not-and", Repo, lambda r: Not(And((owner1(r), public(r)))),
             lambda p: not (p.owner_id == 1 and p.is_public)),
        Case("not-or", Repo, lambda r: Not(Or((owner1(r), public(r)))),
             lambda p: not (p.owner_id == 1 or p.is_public)),
        Case("or-of-exists-and-not", Repo,
             lambda r: Or((Not(_issue_exists(r, TRUE)), And((owner1(r), Not(public(r)))))),
             lambda p: not issues_of(p) or (p.owner_id == 1 and not p.is_public)),
    ]


def _ancestor_owned_by_3() -> RowSet:
    """Repos whose ancestor-or-self chain holds a repo owned by 3 (folder-like inheritance)."""
    s, p = row(Repo, "s"), row(Repo, "s_parent")
    return RowSet("owned3", s, eq(F(s, "owner_id"), V(3)), [RecursiveStep((Hop(s, R_PARENT, p),), p, TRUE)])


PY_OWNED3 = least_set(P_REPOS, lambda r: r.owner_id == 3, [lambda r, s: r.parent_id in s])


def _set_cases() -> list[Case]:
    def recursive(r):
        return InSet(r, "owned3"), {"owned3": _ancestor_owned_by_3()}

    def two_steps(r):
        s, p, c = row(Repo, "d"), row(Repo, "d_parent"), row(Repo, "d_child")
        steps = [RecursiveStep((Hop(s, R_PARENT, p),), p, TRUE),
                 RecursiveStep((Hop(s, R_CHILDREN, c),), c, eq(F(s, "org_id"), F(c, "org_id")))]
        return InSet(r, "d"), {"d": RowSet("d", s, eq(F(s, "name"), V("r5")), steps)}

    py_two_steps = least_set(P_REPOS, lambda r: r.name == "r5", [
        lambda r, s: r.parent_id in s,
        lambda r, s: any(c.id in s and c.org_id == r.org_id for c in children_of(r))])

    def two_hops(r):
        s, p, g = row(Repo, "e"), row(Repo, "e_parent"), row(Repo, "e_grand")
        step = RecursiveStep((Hop(s, R_PARENT, p), Hop(p, R_PARENT, g)), g, TRUE)
        return InSet(r, "e"), {"e": RowSet("e", s, eq(F(s, "owner_id"), V(3)), [step])}

    py_two_hops = least_set(P_REPOS, lambda r: r.owner_id == 3, [
        lambda r, s: parent_of(r) is not None and parent_of(r).parent_id in s])

    def step_with_condition_on_earlier_set(r):
        s, p = row(Repo, "c"), row(Repo, "c_parent")
        step = RecursiveStep((Hop(s, R_PARENT, p),), p, Not(InSet(s, "owned3")))
        sets = {"owned3": _ancestor_owned_by_3(), "c": RowSet("c", s, eq(F(s, "name"), V("root")), [step])}
        return InSet(r, "c"), sets

    py_c = least_set(P_REPOS, lambda r: r.name == "root",
                     [lambda r, s: r.parent_id in s and r.id not in PY_OWNED3])

    def org_set_over_repo_set(r):
        b, r2, o = row(Org, "b"), row(Repo, "b_repo"), row(Org, "org_x")
        public_in_owned3 = And((InSet(r2, "owned3"), eq(F(r2, "is_public"), V(True))))
        sets = {"owned3": _ancestor_owned_by_3(), "b": RowSet("b", b, Exists(b, R_REPOS, r2, public_in_owned3))}
        return Exists(r, R_ORG, o, InSet(o, "b")), sets

    py_b = {o.id for o in P_ORGS if any(x.id in PY_OWNED3 and x.is_public for x in repos_of(o))}

    def non_recursive(r):
        f, g, o = row(Org, "f"), row(Repo, "g"), row(Org, "org_y")
        sets = {"f": RowSet("f", f, eq(F(f, "is_public"), V(False))),
                "g": RowSet("g", g, In(F(g, "owner_id"), V([1, 4])))}
        return And((Exists(r, R_ORG, o, InSet(o, "f")), Not(InSet(r, "g")))), sets

    def inset_inside_exists(o):
        r2 = row(Repo, "repo_z")
        return Exists(o, R_REPOS, r2, And((InSet(r2, "owned3"), eq(F(r2, "is_public"), V(True))))), \
            {"owned3": _ancestor_owned_by_3()}

    def set_used_twice(r):
        p = row(Repo, "pp")
        cond = Or((InSet(r, "owned3"), Exists(r, R_PARENT, p, InSet(p, "owned3"))))
        return cond, {"owned3": _ancestor_owned_by_3()}

    return [
        Case("set-recursive-ancestors", Repo, recursive, lambda p: p.id in PY_OWNED3),
        Case("set-not-in-recursive", Repo, lambda r: (Not(recursive(r)[0]), recursive(r)[1]),
             lambda p: p.id not in PY_OWNED3),
        Case("set-two-steps", Repo, two_steps, lambda p: p.id in py_two_steps),
        Case("set-two-hops", Repo, two_hops, lambda p: p.id in py_two_hops),
        Case("set-step-refers-earlier-set", Repo, step_with_condition_on_earlier_set, lambda p: p.id in py_c),
        Case("set-over-earlier-set", Repo, org_set_over_repo_set, lambda p: p.org_id in py_b),
        Case("set-non-recursive", Repo, non_recursive,
             lambda p: not org_of(p).is_public and p.owner_id not in (1, 4)),
        Case("set-inside-exists", Org, inset_inside_exists,
             lambda o: any(x.id in PY_OWNED3 and x.is_public for x in repos_of(o))),
        Case("set-used-twice", Repo, set_used_twice,
             lambda p: p.id in PY_OWNED3 or p.parent_id in PY_OWNED3),
    ]


CASES = _comparison_cases() + _membership_cases() + _exists_cases() + _logic_cases() + _set_cases()


CONSTANT_CASES = {"true", "false", "not-true", "not-false", "and-with-false", "or-with-true", "in-empty",
                  "not-in-empty"} | {f"{op}-value-value" for op in COMPARISONS}


def test_expected_results_are_not_trivial():
    """The data distinguishes the cases: each selects some but not all rows."""
    for case in CASES:
        if case.id not in CONSTANT_CASES:
            assert 0 < len(case.expected_ids()) < len({Repo: P_REPOS, Org: P_ORGS}[case.model]), case.id
    assert PY_OWNED3 == {3, 4, 5, 6, 10, 7, 8, 9}


# ---------------------------------------------------------------------------------------------
# Databases

def _seed(session: Session) -> None:
    session.add_all([Org(**o) for o in ORGS])
    session.flush()
    for r in sorted(REPOS, key=lambda r: r["id"]):  # parents first
        session.add(Repo(**r))
        session.flush()
    session.add_all([Issue(**i) for i in ISSUES] + [RepoRole(**x) for x in ROLES])
    session.commit()


def _sqlite_engine():
    engine = sa.create_engine("sqlite://")
    Base.metadata.create_all(engine)
    return engine, lambda: engine.dispose()


def _postgres_engine():
    engine, drop = postgres_engine(Base.metadata, PgBase.metadata)
    with Session(engine) as session:
        session.add_all([Tagged(**t) for t in TAGGED])
        session.commit()
    return engine, drop


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def engine(request):
    make = _sqlite_engine if request.param == "sqlite" else _postgres_engine
    engine, drop = make()
    try:
        with Session(engine) as session:
            _seed(session)
        yield engine
    finally:
        drop()


@pytest.fixture
def session(engine):
    with Session(engine) as session:
        yield session


class StatementCounter:
    """Counts the SQL statements an engine executes while active."""

    def __init__(self, engine):
        self.engine = engine
        self.statements: list[str] = []

    def _record(self, conn, cursor, statement, parameters, context, executemany):
        self.statements.append(statement)

    def __enter__(self):
        event.listen(self.engine, "before_cursor_execute", self._record)
        return self

    def __exit__(self, *exc):
        event.remove(self.engine, "before_cursor_execute", self._record)


def _ids(objects) -> set:
    return {o.id for o in objects}


# ---------------------------------------------------------------------------------------------
# Plans against the data

@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_plan_matches_python(case: Case, session, engine):
    adapter = SqlAlchemyAdapter(session)
    query = adapter.build_query_from_plan(case.plan())
    with StatementCounter(engine) as counter:
        result = adapter.execute_query(query)
    assert _ids(result) == case.expected_ids()
    assert len(counter.statements) == 1
    assert all(isinstance(o, case.model) for o in result)


@pytest.mark.parametrize("case", [c for c in CASES if c.id.startswith(("set-", "nested", "org-"))],
                         ids=lambda c: c.id)
def test_statement_path(case: Case, session, engine):
    adapter = SqlAlchemyAdapter(session, statement=True)
    query = adapter.build_query_from_plan(case.plan())
    assert isinstance(query, sa.Select)
    with StatementCounter(engine) as counter:
        result = adapter.execute_query(query)
    assert isinstance(result, list)
    assert _ids(result) == case.expected_ids()
    assert len(counter.statements) == 1


def _complex_plan() -> tuple[FilterPlan, set]:
    r = row(Repo, "repo")
    condition, sets = [c for c in CASES if c.id == "set-over-earlier-set"][0].build(r)
    cond = And((condition, Not(_issue_exists(r, eq(F(ISSUE_ROW, "closed"), V(True)))),
                Or((Contains(F(r, "tags"), V("c")), InSet(r, "owned3")))))
    py_b = {o.id for o in P_ORGS if any(x.id in PY_OWNED3 and x.is_public for x in repos_of(o))}
    expected = {p.id for p in P_REPOS
                if p.org_id in py_b and not any(i.closed for i in issues_of(p))
                and ((p.tags is not None and "c" in p.tags) or p.id in PY_OWNED3)}
    return FilterPlan(r, cond, sets), expected


def test_complex_plan_is_one_statement_with_ctes(session, engine):
    plan, expected = _complex_plan()
    assert 0 < len(expected) < len(P_REPOS)
    adapter = SqlAlchemyAdapter(session)
    with StatementCounter(engine) as counter:
        result = adapter.execute_query(adapter.build_query_from_plan(plan))
    assert _ids(result) == expected
    assert len(counter.statements) == 1
    sql = counter.statements[0].upper()
    assert sql.lstrip().startswith("WITH RECURSIVE") and sql.count("UNION") == 1


def test_legacy_query_object_keeps_working(session):
    plan = [c for c in CASES if c.id == "set-recursive-ancestors"][0].plan()
    query = SqlAlchemyAdapter(session).build_query_from_plan(plan)
    assert isinstance(query, Query)
    assert query.count() == len(PY_OWNED3)
    assert _ids(query.filter(Repo.id > 5).all()) == {i for i in PY_OWNED3 if i > 5}
    assert _ids(query.order_by(Repo.id).limit(2).all()) == set(sorted(PY_OWNED3)[:2])


def test_clause_in_loader_criteria(session):
    case = [c for c in CASES if c.id == "set-two-steps"][0]
    clause = filter_clause(case.plan())
    result = session.scalars(sa.select(Repo).options(with_loader_criteria(Repo, clause))).all()
    assert _ids(result) == case.expected_ids()


@pytest.mark.parametrize("loader", ["selectinload", "joinedload"])
@pytest.mark.parametrize("case_id", ["nested-exists-root-ref", "set-two-steps", "not-contains-json"])
def test_clause_in_loader_criteria_of_a_relationship(session, loader, case_id):
    """Loading Org.repos applies the clause to Repo; joinedload adapts it to an alias of Repo."""
    case = [c for c in CASES if c.id == case_id][0]
    clause = filter_clause(case.plan())
    load = getattr(sa.orm, loader)(Org.repos)
    stmt = sa.select(Org).options(load, with_loader_criteria(Repo, clause))
    orgs = session.scalars(stmt).unique().all()
    assert {o.id: _ids(o.repos) for o in orgs} == {
        o.id: {r.id for r in repos_of(o)} & case.expected_ids() for o in P_ORGS}


def test_combined_clauses_of_two_plans(session):
    """Two plans' clauses (each with its own CTEs) in one statement do not clash."""
    first = [c for c in CASES if c.id == "set-recursive-ancestors"][0]
    second = [c for c in CASES if c.id == "set-two-steps"][0]
    stmt = sa.select(Repo).where(filter_clause(first.plan()), filter_clause(second.plan()))
    assert _ids(session.scalars(stmt).all()) == first.expected_ids() & second.expected_ids()


# ---------------------------------------------------------------------------------------------
# PostgreSQL ARRAY columns

ARRAY_CASES = [
    Case("array-str", Tagged, lambda t: Contains(F(t, "labels"), V("b")),
         lambda p: p.labels is not None and "b" in p.labels),
    Case("array-int", Tagged, lambda t: Contains(F(t, "nums"), V(2)), lambda p: p.nums is not None and 2 in p.nums),
    Case("array-none", Tagged, lambda t: Contains(F(t, "labels"), V(None)),
         lambda p: p.labels is not None and None in p.labels),
    Case("array-not", Tagged, lambda t: Not(Contains(F(t, "labels"), V("a"))),
         lambda p: not (p.labels is not None and "a" in p.labels)),
    Case("array-field-item", Tagged, lambda t: Contains(F(t, "nums"), F(t)),
         lambda p: p.nums is not None and p.id in p.nums),
]


@pytest.mark.parametrize("case", ARRAY_CASES, ids=[c.id for c in ARRAY_CASES])
def test_postgres_array_contains(case: Case, session, engine):
    if engine.dialect.name != "postgresql":
        pytest.skip("ARRAY columns are PostgreSQL-only")
    result = SqlAlchemyAdapter(session).execute_query(SqlAlchemyAdapter(session).build_query_from_plan(case.plan()))
    expected = case.expected_ids()
    assert 0 < len(expected) < len(P_TAGGED)
    assert _ids(result) == expected


# ---------------------------------------------------------------------------------------------
# Compilation (no database)

DIALECTS = [sqlite.dialect(), postgresql.psycopg.dialect()]


@pytest.mark.parametrize("dialect", DIALECTS, ids=lambda d: d.name)
def test_values_are_bound_parameters(dialect):
    r, i, s, p = row(Repo, "repo"), row(Issue, "issue"), row(Repo, "s"), row(Repo, "sp")
    secret = "zq'); DROP TABLE repos; --"
    cond = And((
        eq(F(r, "name"), V(secret)),
        Compare("Neq", F(r, "owner_id"), V(987654321)),
        Compare("Lt", V(876543219), F(r, "owner_id")),
        In(F(r), V([Repo(id=765432198), 654321987])),
        Contains(F(r, "tags"), V("zq-tag-marker")),
        Exists(r, R_ISSUES, i, eq(F(i, "title"), V("zq-title-marker"))),
        InSet(r, "s"),
    ))
    sets = {"s": RowSet("s", s, eq(F(s, "name"), V("zq-base-marker")),
                        [RecursiveStep((Hop(s, R_PARENT, p),), p, eq(F(p, "name"), V("zq-step-marker")))])}
    compiled = build_select(FilterPlan(r, cond, sets)).compile(dialect=dialect)
    sql = str(compiled)
    for literal in [secret, "DROP TABLE", "987654321", "876543219", "765432198", "654321987",
                    "zq-tag-marker", "zq-title-marker", "zq-base-marker", "zq-step-marker"]:
        assert literal not in sql
    values = [v for v in compiled.params.values()]
    flat = [x for v in values for x in (v if isinstance(v, list) else [v])]
    for value in [secret, 987654321, 876543219, 765432198, 654321987, "zq-tag-marker",
                  "zq-title-marker", "zq-base-marker", "zq-step-marker"]:
        assert value in flat


def test_root_is_the_mapped_class_and_others_are_aliases():
    r, o = row(Repo, "repos"), row(Org, "orgs")  # labels equal to the table names
    clause = filter_clause(FilterPlan(r, Exists(r, R_ORG, o, eq(F(o, "name"), V("acme"))), {}))
    sql = str(sa.select(Repo).where(clause).compile(dialect=sqlite.dialect()))
    assert "FROM orgs AS " in sql and "repos.org_id IN (SELECT" in sql


def test_empty_and_or_compile_to_constants():
    r = row(Repo, "repo")
    assert str(filter_clause(FilterPlan(r, TRUE, {})).compile(dialect=postgresql.dialect())) == "true"
    assert str(filter_clause(FilterPlan(r, FALSE, {})).compile(dialect=postgresql.dialect())) == "false"


def test_multiple_steps_use_the_set_once():
    r = row(Repo, "repo")
    plan = [c for c in CASES if c.id == "set-two-steps"][0].build(r)
    sql = str(build_select(FilterPlan(r, *plan)).compile(dialect=postgresql.dialect()))
    cte_name = sql.split("WITH RECURSIVE ", 1)[1].split("(", 1)[0]
    assert sql.count(f"JOIN {cte_name} ON") == 1


# ---------------------------------------------------------------------------------------------
# Errors

def _compile(plan: FilterPlan, dialect=None) -> str:
    return str(build_select(plan).compile(dialect=dialect or sqlite.dialect()))


def test_contains_on_a_non_list_column_is_unsupported():
    r = row(Repo, "repo")
    with pytest.raises(UnsupportedError, match=r"Repo\.name.*not a list"):
        filter_clause(FilterPlan(r, Contains(F(r, "name"), V("x")), {}))
    with pytest.raises(UnsupportedError, match=r"Repo\.owner_id.*not a list"):
        filter_clause(FilterPlan(r, Not(Contains(F(r, "owner_id"), V(1))), {}))


def test_json_contains_on_another_dialect_is_unsupported():
    from sqlalchemy.dialects import mysql
    r = row(Repo, "repo")
    with pytest.raises(UnsupportedError, match=r"Repo\.tags.*mysql"):
        _compile(FilterPlan(r, Contains(F(r, "tags"), V("x")), {}), mysql.dialect())


def test_composite_primary_key_is_unsupported_when_identity_is_needed():
    pr = row(Pair, "pair")
    assert "pairs.label" in _compile(FilterPlan(pr, eq(F(pr, "label"), V("x")), {}))
    with pytest.raises(UnsupportedError, match="Pair"):
        filter_clause(FilterPlan(pr, eq(F(pr), V(1)), {}))
    r = row(Repo, "repo")
    with pytest.raises(UnsupportedError, match="Pair"):
        filter_clause(FilterPlan(r, eq(F(r, "owner_id"), V(Pair(a=1, b=2))), {}))


def test_unknown_field_is_unsupported():
    r = row(Repo, "repo")
    with pytest.raises(UnsupportedError, match=r"Repo\.nope"):
        filter_clause(FilterPlan(r, eq(F(r, "nope"), V(1)), {}))
    with pytest.raises(UnsupportedError, match=r"Repo\.org"):  # a relationship, not a column
        filter_clause(FilterPlan(r, eq(F(r, "org"), V(1)), {}))


def test_unmapped_class_is_unsupported():
    r = row(NotMapped, "thing")
    with pytest.raises(UnsupportedError, match="NotMapped"):
        filter_clause(FilterPlan(r, TRUE, {}))


def test_row_outside_its_scope_is_unsupported():
    r, s = row(Repo, "repo"), row(Repo, "s")
    # A set's condition may not reference the root: it would silently become a cross join.
    sets = {"s": RowSet("s", s, eq(F(s, "owner_id"), F(r, "owner_id")))}
    with pytest.raises(UnsupportedError, match="not bound"):
        filter_clause(FilterPlan(r, InSet(r, "s"), sets))
    i = row(Issue, "issue")
    with pytest.raises(UnsupportedError, match="not bound"):
        filter_clause(FilterPlan(r, eq(F(i, "title"), V("x")), {}))


def test_unknown_or_self_referencing_set_is_unsupported():
    r, s = row(Repo, "repo"), row(Repo, "s")
    with pytest.raises(UnsupportedError, match="missing"):
        filter_clause(FilterPlan(r, InSet(r, "missing"), {}))
    with pytest.raises(UnsupportedError, match="itself"):
        filter_clause(FilterPlan(r, InSet(r, "s"), {"s": RowSet("s", s, InSet(s, "s"))}))
    o = row(Org, "org")
    with pytest.raises(UnsupportedError, match="member"):
        filter_clause(FilterPlan(o, InSet(o, "s"), {"s": RowSet("s", s, TRUE)}))


def test_ordering_comparison_with_none_is_unsupported():
    r = row(Repo, "repo")
    with pytest.raises(UnsupportedError, match="None"):
        filter_clause(FilterPlan(r, Compare("Lt", F(r, "owner_id"), V(None)), {}))
    with pytest.raises(UnsupportedError, match="compare"):
        filter_clause(FilterPlan(r, Compare("Lt", V(1), V("a")), {}))


# ---------------------------------------------------------------------------------------------
# relations_of and the adapter object

def test_relations_of_models():
    assert relations_of(Repo) == {
        "org": ("one", Org, "org_id", "id"),
        "issues": ("many", Issue, "id", "repo_id"),  # attribute name, not the column "repo_fk"
        "roles": ("many", RepoRole, "id", "repo_id"),
        "parent": ("one", Repo, "parent_id", "id"),
    }
    assert relations_of(Org) == {"repos": ("many", Repo, "id", "org_id")}
    assert relations_of(Issue) == {}


def test_relations_of_skips_what_it_cannot_express():
    assert relations_of(Team) == {}        # secondary table
    assert relations_of(PairRef) == {}     # composite key
    assert "open_issues" not in relations_of(Repo)  # extra join criteria
    assert relations_of(NotMapped) == {}
    assert relations_of(int) == {}


def test_adapter_object(session):
    adapter = SqlAlchemyAdapter(session)
    assert isinstance(adapter, DataAdapter)
    assert adapter.relations_of(Repo) == relations_of(Repo)
    with pytest.raises(TypeError):
        adapter.execute_query("SELECT 1")
