"""The options of the one SQL compiler (`oso_core.data.adapter.sqlalchemy_compiler`).

The adapter (no options) and sqlalchemy_oso (`relationships=True`, `legacy_shape` on or off) use
the same compiler; these tests pin what each option changes in the SQL, on plans built by hand.
Results are checked on SQLite against the rows the options must all select.
"""

from __future__ import annotations

import pytest

pytest.importorskip("sqlalchemy")

import sqlalchemy as sa  # noqa: E402
from sqlalchemy.dialects import sqlite  # noqa: E402
from sqlalchemy.orm import Session, aliased  # noqa: E402
from sqlalchemy_oso_models import Base, Issue, Repo, Tag, populate  # noqa: E402

from oso_core.data.adapter.sqlalchemy_compiler import compile_plan  # noqa: E402
from oso_core.exceptions import UnsupportedError  # noqa: E402
from oso_core.filtering.plan import (  # noqa: E402
    TRUE, Compare, Exists, Field, FilterPlan, In, Not, RelationInfo, Row, Value,
)

ISSUES = RelationInfo("issues", "many", Issue, "Issue", "id", "repo_id")
# A many-to-many relation: the plan cannot name its columns, the ORM relationship can.
TAGS = RelationInfo("tags", "many", Tag, "Tag", "<relationship tags>", "<relationship tags>")

MODES = {
    "adapter": {},
    "legacy": {"relationships": True, "legacy_shape": True},
    "sessions": {"relationships": True},
}


def sql(clause) -> str:
    return str(clause.compile(dialect=sqlite.dialect()))


@pytest.fixture(scope="module")
def session():
    engine = sa.create_engine("sqlite://")
    Base.metadata.create_all(engine)
    with Session(engine) as s:
        populate(s)
        s.commit()
        yield s


def ids(session: Session, clause, entity=Repo) -> list:
    return sorted(session.scalars(sa.select(entity.id).where(clause)))


def closed_issue_plan() -> FilterPlan:
    repo = Row(Repo, "Repo", "repo")
    issue = Row(Issue, "Issue", "issue")
    return FilterPlan(repo, Exists(repo, ISSUES, issue, Compare("Eq", Field(issue, "closed"), Value(True))), {})


def test_adapter_mode_uses_an_uncorrelated_in_subquery(session):
    text = sql(compile_plan(closed_issue_plan()))
    assert "repos.id IN (SELECT" in text and "EXISTS" not in text


@pytest.mark.parametrize("mode", ["legacy", "sessions"])
def test_relationship_modes_keep_a_correlated_exists(session, mode):
    text = sql(compile_plan(closed_issue_plan(), **MODES[mode]))
    assert text.startswith("EXISTS (SELECT 1")


def test_all_modes_select_the_same_rows(session):
    answers = {mode: ids(session, compile_plan(closed_issue_plan(), **options))
               for mode, options in MODES.items()}
    assert len(set(map(tuple, answers.values()))) == 1
    assert answers["adapter"] == [2]


def tagged_plan() -> FilterPlan:
    repo = Row(Repo, "Repo", "repo")
    return FilterPlan(repo, Exists(repo, TAGS, Row(Tag, "Tag", "tag"), TRUE), {})


def test_legacy_shape_names_the_secondary_table_first_with_plain_names(session):
    text = sql(sa.select(Repo.id).where(compile_plan(tagged_plan(), relationships=True, legacy_shape=True)))
    assert text.endswith("WHERE EXISTS (SELECT 1 \nFROM repo_tags, tags \n"
                    "WHERE repos.id = repo_tags.repo_id AND tags.id = repo_tags.tag_id AND 1 = 1)")


def test_without_legacy_shape_related_rows_are_anonymous_aliases(session):
    text = sql(sa.select(Repo.id).where(compile_plan(tagged_plan(), relationships=True)))
    assert "FROM repo_tags AS repo_tags_1, tags AS tags_1" in text
    assert "tags.id" not in text


def test_many_to_many_needs_relationships(session):
    with pytest.raises(UnsupportedError, match="is not a mapped column of Tag"):
        compile_plan(tagged_plan())
    assert ids(session, compile_plan(tagged_plan(), relationships=True)) == \
        ids(session, compile_plan(tagged_plan(), relationships=True, legacy_shape=True))


def test_an_alias_of_the_root_class_is_filtered(session):
    alias = aliased(Repo)
    clause = compile_plan(closed_issue_plan(), alias, relationships=True)
    assert sorted(session.scalars(sa.select(alias.id).where(clause))) == [2]


def test_not_null_columns_get_the_plain_operators_only_with_relationships():
    repo = Row(Repo, "Repo", "repo")
    plan = FilterPlan(repo, Not(Compare("Eq", Field(repo, "name"), Value("anvil"))), {})
    assert sql(compile_plan(plan)) == "repos.name IS NOT ?"   # SQLite's IS DISTINCT FROM
    assert sql(compile_plan(plan, relationships=True)) == "repos.name != ?"
    plan = FilterPlan(repo, Not(In(Field(repo, "name"), Value(["anvil"]))), {})
    assert sql(compile_plan(plan, relationships=True)) == "(repos.name NOT IN (__[POSTCOMPILE_name_1]))"


@pytest.mark.parametrize("mode", list(MODES))
def test_incomparable_constants_are_an_error_not_an_allow(mode):
    # `not (1 < "a")`: a False for the comparison would become an allow under the negation.
    repo = Row(Repo, "Repo", "repo")
    plan = FilterPlan(repo, Not(Compare("Lt", Value(1), Value("a"))), {})
    with pytest.raises(UnsupportedError, match="cannot compare 1 Lt 'a'"):
        compile_plan(plan, **MODES[mode])


def test_a_row_compared_with_an_unrelated_object_is_false_with_relationships(session):
    repo = Row(Repo, "Repo", "repo")
    tag = session.scalars(sa.select(Tag)).first()
    plan = FilterPlan(repo, Compare("Eq", Field(repo, None), Value(tag)), {})
    assert ids(session, compile_plan(plan, relationships=True)) == []
