"""Type constraints on related rows: an element of a to-many relation (or the target of a
to-one relation) has a known class, so `x: C` on it is decided while building the plan — an
incompatible class makes that alternative false, a compatible one adds no condition."""

from __future__ import annotations

import pytest

sa = pytest.importorskip("sqlalchemy")

from sqlalchemy import Boolean, Column, ForeignKey, Integer, String, Table, create_engine  # noqa: E402
from sqlalchemy.orm import Session, declarative_base, relationship  # noqa: E402

from oso_core import Oso  # noqa: E402
from oso_core.data_filtering import Relation  # noqa: E402
from oso_core.filtering import build_filter_plan  # noqa: E402
from oso_core.filtering.plan import render_condition  # noqa: E402
from sqlalchemy_oso.auth import authorize_model, register_models  # noqa: E402

Base = declarative_base()

label_links = Table("te_label_links", Base.metadata,
                    Column("note_id", Integer, ForeignKey("te_notes.id")),
                    Column("label_name", String, ForeignKey("te_labels.name")))


class Person(Base):
    __tablename__ = "te_people"
    id = Column(Integer, primary_key=True)
    name = Column(String)


class Label(Base):
    __tablename__ = "te_labels"
    name = Column(String, primary_key=True)
    is_public = Column(Boolean, default=False, nullable=False)


class Note(Base):
    __tablename__ = "te_notes"
    id = Column(Integer, primary_key=True)
    author_id = Column(Integer, ForeignKey("te_people.id"))
    author = relationship(Person)
    labels = relationship(Label, secondary=label_links, backref="notes")


POLICY = """
allow(p, _, label: Label) if note in label.notes and check(p, note);
check(p: Person, note: Note) if note.author = p;
check(_: Person, label: Label) if label.is_public;
check(_: Person, person: Person) if person.name = "someone";
"""


@pytest.fixture
def session():
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    with Session(engine) as s:
        alice, bob = Person(id=1, name="alice"), Person(id=2, name="bob")
        a, b, c = Label(name="a", is_public=True), Label(name="b", is_public=True), Label(name="c")
        s.add_all([alice, bob, a, b, c,
                   Note(id=1, author=alice, labels=[a]), Note(id=2, author=bob, labels=[b, c]),
                   Note(id=3, author=alice, labels=[c])])
        s.commit()
        yield s


def orm_oso(policy: str) -> Oso:
    oso = Oso()
    register_models(oso, Base)
    oso.load_str(policy)
    return oso


def test_rule_for_another_class_on_a_to_many_element_is_dropped(session):
    oso = orm_oso(POLICY)
    alice = session.get(Person, 1)
    text = render_condition(build_filter_plan(oso, alice, "read", Label).condition)
    assert "is_public" not in text
    labels = session.query(Label).filter(authorize_model(oso, alice, "read", session, Label)).all()
    assert sorted(x.name for x in labels) == ["a", "c"]


def test_only_incompatible_alternatives_become_false(session):
    oso = orm_oso("""
        allow(_, _, label: Label) if note in label.notes and ok(note);
        ok(n: Note) if n.id = 2;
        ok(l: Label) if l.is_public;
        ok(_: Person);
    """)
    bob = session.get(Person, 2)
    labels = session.query(Label).filter(authorize_model(oso, bob, "read", session, Label)).all()
    assert sorted(x.name for x in labels) == ["b", "c"]


def test_type_check_on_a_to_one_relation_target(session):
    oso = orm_oso("""
        allow(_, _, note: Note) if ok(note.author);
        ok(l: Label) if l.is_public;
        ok(p: Person) if p.name = "alice";
    """)
    alice = session.get(Person, 1)
    notes = session.query(Note).filter(authorize_model(oso, alice, "read", session, Note)).all()
    assert sorted(n.id for n in notes) == [1, 3]


def test_incompatible_type_inside_not_negates_to_true(session):
    oso = orm_oso("""
        allow(_, _, label: Label) if note in label.notes and not is_label(note);
        is_label(l: Label) if l.is_public;
    """)
    alice = session.get(Person, 1)
    labels = session.query(Label).filter(authorize_model(oso, alice, "read", session, Label)).all()
    assert sorted(x.name for x in labels) == ["a", "b", "c"]


class Doc:
    def __init__(self, id, folder_id):
        self.id, self.folder_id = id, folder_id


class Folder:
    def __init__(self, id, shared):
        self.id, self.shared = id, shared


def declared_oso(policy: str) -> Oso:
    oso = Oso()
    oso.register_class(Folder, fields={"id": int, "shared": bool,
                                       "docs": Relation(kind="many", other_type="Doc", my_field="id",
                                                        other_field="folder_id")})
    oso.register_class(Doc, fields={"id": int, "folder_id": int})
    oso.load_str(policy)
    return oso


def test_declared_relation_element_type_is_its_other_type():
    oso = declared_oso("""
        allow(_, _, f: Folder) if d in f.docs and ok(d);
        ok(d: Doc) if d.id = 7;
        ok(f: Folder) if f.shared;
    """)
    text = render_condition(build_filter_plan(oso, "u", "read", Folder).condition)
    assert "shared" not in text and "7" in text
