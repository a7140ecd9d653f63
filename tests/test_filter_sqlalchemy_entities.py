"""Related rows of mapped classes that are not a plain table (single-table inheritance, hybrid
attributes, SQL-expression columns) are read through ORM aliases, so their extra criteria and
expressions stay exact; plain tables use Core aliases (faster to build, same SQL)."""

from __future__ import annotations

import pytest

sa = pytest.importorskip("sqlalchemy")

from sqlalchemy import ForeignKey, Integer, String, create_engine, select  # noqa: E402
from sqlalchemy.ext.hybrid import hybrid_property  # noqa: E402
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, column_property, mapped_column  # noqa: E402

from oso_core.data.adapter.sqlalchemy_adapter import filter_clause  # noqa: E402
from oso_core.data.adapter.sqlalchemy_mapping import plain_columns as _plain_columns  # noqa: E402
from oso_core.filtering.plan import And, Compare, Exists, FilterPlan, Field, RelationInfo, Row, Value  # noqa: E402


class Base(DeclarativeBase):
    pass


class Team(Base):
    __tablename__ = "teams"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)


class Person(Base):
    __tablename__ = "people"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"))
    kind: Mapped[str] = mapped_column(String(20))
    first: Mapped[str] = mapped_column(String(20))
    last: Mapped[str] = mapped_column(String(20))
    name_length = column_property(sa.func.length(first) + sa.func.length(last))
    __mapper_args__ = {"polymorphic_on": kind, "polymorphic_identity": "person"}

    @hybrid_property
    def full(self) -> str:
        return self.first + " " + self.last


class Manager(Person):
    __mapper_args__ = {"polymorphic_identity": "manager"}


class Plain(Base):
    __tablename__ = "plain"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"))
    label_text: Mapped[str] = mapped_column("label", String(20))


@pytest.fixture(scope="module")
def session():
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    with Session(engine) as s:
        s.add_all([Team(id=1), Team(id=2), Team(id=3)])
        s.add_all([Person(id=1, team_id=1, first="ann", last="lee"),
                   Manager(id=2, team_id=2, first="bob", last="ray"),
                   Plain(id=1, team_id=3, label_text="x")])
        s.commit()
        yield s


def teams_with(session, cls, name, condition) -> list:
    team = Row(Team, "Team", "team")
    member = Row(cls, cls.__name__, "member")
    relation = RelationInfo("members", "many", cls, cls.__name__, "id", "team_id")
    plan = FilterPlan(team, Exists(team, relation, member, condition(member)))
    return sorted(session.scalars(select(Team.id).where(filter_clause(plan))))


def test_single_table_subclass_keeps_its_discriminator(session):
    assert _plain_columns(sa.inspect(Manager)) is None
    # every person row is in `people`; only Manager rows count as managers
    assert teams_with(session, Manager, "Manager", lambda m: And(())) == [2]
    assert teams_with(session, Person, "Person", lambda m: And(())) == [1, 2]


def test_hybrid_attribute_of_a_related_row(session):
    assert _plain_columns(sa.inspect(Person)) is None
    assert teams_with(session, Person, "Person",
                      lambda m: Compare("Eq", Field(m, "full"), Value("ann lee"))) == [1]


def test_sql_expression_column_of_a_related_row(session):
    assert teams_with(session, Person, "Person",
                      lambda m: Compare("Eq", Field(m, "name_length"), Value(6))) == [1, 2]
    assert teams_with(session, Person, "Person",
                      lambda m: Compare("Gt", Field(m, "name_length"), Value(6))) == []


def test_plain_table_uses_column_keys_not_attribute_names(session):
    assert _plain_columns(sa.inspect(Plain)) == {"id": "id", "team_id": "team_id", "label_text": "label"}
    assert teams_with(session, Plain, "Plain",
                      lambda m: Compare("Eq", Field(m, "label_text"), Value("x"))) == [3]
