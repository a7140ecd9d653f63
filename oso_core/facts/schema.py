"""The SQL schema of the fact store, one for SQLite and PostgreSQL (SQLAlchemy Core).

A fact `p(a0, ..., an)` (1 to 5 arguments) is one row of `oso_facts`: its environment, predicate,
arity, and one 64-bit value id per argument (0 for an absent argument). A value id is a hash of
the value's type and id string (`value_id`), so the store and compiled queries compute ids in
Python without a lookup; `oso_values` maps ids back to `(type, id)` for answers that return
values, and makes a hash collision an error at insert time instead of a wrong answer.

Long ids (10 kB) stay out of every index: only the 64-bit ids are indexed.
"""

from __future__ import annotations

import hashlib
from typing import Union

from sqlalchemy import (BigInteger, Column, Float, Index, Integer, MetaData, PrimaryKeyConstraint, SmallInteger,
                        Table, Text)

from ..values import Value

SCHEMA_VERSION = 1
MAX_ARITY = 5
ARG_COLUMNS = tuple(f"a{i}" for i in range(MAX_ARITY))

# Primitive arguments are stored as values of these built-in types.
STRING, INTEGER, BOOLEAN = "String", "Integer", "Boolean"
PRIMITIVE_TYPES = (STRING, INTEGER, BOOLEAN)

metadata = MetaData()

values_table = Table(
    "oso_values", metadata,
    Column("vid", BigInteger, primary_key=True, autoincrement=False),
    Column("type", Text, nullable=False),
    Column("id", Text, nullable=False),
)
Index("oso_values_by_type", values_table.c.type, values_table.c.vid)

facts_table = Table(
    "oso_facts", metadata,
    Column("env", Text, nullable=False),
    Column("predicate", Text, nullable=False),
    Column("arity", SmallInteger, nullable=False),
    *(Column(name, BigInteger, nullable=False, server_default="0") for name in ARG_COLUMNS),
    PrimaryKeyConstraint("env", "predicate", "arity", *ARG_COLUMNS, name="oso_facts_pk"),
)
# Lookups by the first argument use the primary key; these serve lookups by the second and third
# (`has_relation(repo, "parent", org)` from the org; `has_role(user, role, org)` from the org).
Index("oso_facts_by_a1", facts_table.c.env, facts_table.c.predicate, facts_table.c.a1, facts_table.c.a0)
Index("oso_facts_by_a2", facts_table.c.env, facts_table.c.predicate, facts_table.c.a2, facts_table.c.a1,
      facts_table.c.a0)

policies_table = Table(
    "oso_policies", metadata,
    Column("env", Text, nullable=False),
    Column("version", Integer, nullable=False),
    Column("filename", Text, nullable=True),
    Column("src", Text, nullable=False),
    Column("created_at", Float, nullable=False),
    PrimaryKeyConstraint("env", "version", name="oso_policies_pk"),
)

meta_table = Table(
    "oso_meta", metadata,
    Column("key", Text, primary_key=True),
    Column("value", Text, nullable=False),
)


def typed_parts(arg: Union[Value, str, int, bool]) -> tuple[str, str]:
    """The stored `(type, id)` of a fact argument: an entity, or a `String`/`Integer`/`Boolean`."""
    if isinstance(arg, Value):
        return arg.type, arg.id
    if isinstance(arg, bool):
        return BOOLEAN, "true" if arg else "false"
    if isinstance(arg, int):
        return INTEGER, str(arg)
    if isinstance(arg, str):
        return STRING, arg
    raise TypeError(f"a fact argument is a Value, str, int or bool, got {type(arg).__name__}: {arg!r}")


def value_id(type_name: str, id_text: str) -> int:
    """The 64-bit id of a value: a hash of its type and id, never 0 (0 marks an absent argument)."""
    digest = hashlib.blake2b(f"{type_name}\x00{id_text}".encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True) or 1


def arg_id(arg: Union[Value, str, int, bool]) -> int:
    """The value id of a fact argument (`value_id(*typed_parts(arg))`)."""
    return value_id(*typed_parts(arg))


def from_parts(type_name: str, id_text: str) -> Union[Value, str, int, bool]:
    """The argument a stored `(type, id)` stands for (inverse of `typed_parts`)."""
    if type_name == STRING:
        return id_text
    if type_name == INTEGER:
        return int(id_text)
    if type_name == BOOLEAN:
        return id_text == "true"
    return Value(type_name, id_text)
