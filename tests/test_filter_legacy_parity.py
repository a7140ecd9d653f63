"""Parity with legacy oso 0.27.3 on details its own data-filtering suite relies on.

A declared `Relation` field is read through the data-filtering adapter wherever Polar reads the
field of an instance: in `x.field` and also when an instance is matched against a pattern
specializer `Cls{field: ...}` (legacy looks pattern fields up with the same external call). Here the
Python attribute of the same name is a plain method, so a `getattr` would return a bound method and
the pattern could never match.
"""

from __future__ import annotations

import pytest

pytest.importorskip("sqlalchemy")

from sqlalchemy import ForeignKey, String, create_engine  # noqa: E402
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column  # noqa: E402

from oso_core import Oso, Relation  # noqa: E402
from oso_core.data.adapter.sqlalchemy_adapter import SqlAlchemyAdapter  # noqa: E402


class _Base(DeclarativeBase):
    pass


class Shelf(_Base):
    __tablename__ = "parity_shelves"
    code: Mapped[str] = mapped_column(String(10), primary_key=True)

    def books(self):  # shadows the declared relation of the same name
        return "not the relation"


class Book(_Base):
    __tablename__ = "parity_books"
    code: Mapped[str] = mapped_column(String(10), primary_key=True)
    shelf_code: Mapped[str] = mapped_column(ForeignKey("parity_shelves.code"))

    def shelf(self):  # shadows the declared relation of the same name
        return "not the relation"


@pytest.fixture
def setup():
    engine = create_engine("sqlite://")
    _Base.metadata.create_all(engine)
    session = Session(engine)
    shelves = [Shelf(code="s1"), Shelf(code="s2"), Shelf(code="s3")]
    books = [Book(code="b1", shelf_code="s1"), Book(code="b2", shelf_code="s1"),
             Book(code="b3", shelf_code="s2")]
    session.add_all(shelves + books)
    session.commit()
    oso = Oso()
    oso.set_data_filtering_adapter(SqlAlchemyAdapter(session))
    oso.register_class(Shelf, fields={
        "code": str,
        "books": Relation(kind="many", other_type="Book", my_field="code", other_field="shelf_code"),
    })
    oso.register_class(Book, fields={
        "code": str,
        "shelf_code": str,
        "shelf": Relation(kind="one", other_type="Shelf", my_field="shelf_code", other_field="code"),
    })
    yield oso, {s.code: s for s in shelves}, {b.code: b for b in books}
    session.close()


def _codes(rows):
    return sorted(r.code for r in rows)


def test_pattern_field_on_actor_reads_relation_one(setup):
    oso, shelves, books = setup
    oso.load_str("allow(_: Book{shelf: shelf}, \"see\", shelf: Shelf);")
    assert oso.is_allowed(books["b1"], "see", shelves["s1"])
    assert not oso.is_allowed(books["b1"], "see", shelves["s2"])
    assert _codes(oso.authorized_resources(books["b3"], "see", Shelf)) == ["s2"]


def test_pattern_field_on_actor_reads_relation_many(setup):
    oso, shelves, books = setup
    oso.load_str("allow(_: Shelf{books: bs}, \"own\", b: Book) if b in bs;")
    assert oso.is_allowed(shelves["s1"], "own", books["b2"])
    assert not oso.is_allowed(shelves["s1"], "own", books["b3"])
    assert _codes(oso.authorized_resources(shelves["s1"], "own", Book)) == ["b1", "b2"]
    assert _codes(oso.authorized_resources(shelves["s3"], "own", Book)) == []


def test_pattern_fields_on_both_sides(setup):
    oso, shelves, books = setup
    oso.load_str("allow(b: Book{shelf: s}, \"both\", s: Shelf{books: bs}) if b in bs;")
    for book in books.values():
        assert _codes(oso.authorized_resources(book, "both", Shelf)) == [book.shelf_code]
        assert oso.is_allowed(book, "both", shelves[book.shelf_code])


def test_matches_operator_reads_relation(setup):
    oso, shelves, books = setup
    oso.load_str("allow(b, \"m\", s: Shelf) if b matches Book{shelf: s};")
    assert oso.is_allowed(books["b3"], "m", shelves["s2"])
    assert not oso.is_allowed(books["b3"], "m", shelves["s1"])


def test_plain_attribute_pattern_unchanged(setup):
    oso, shelves, books = setup
    oso.load_str("allow(_: Book{shelf_code: c}, \"code\", s: Shelf) if s.code = c;")
    assert oso.is_allowed(books["b2"], "code", shelves["s1"])
    assert _codes(oso.authorized_resources(books["b2"], "code", Shelf)) == ["s1"]
