"""Data bindings for local authorization: which fact predicates live in the caller's own tables.

A binding maps a fact signature to a SQL query over the caller's database, as in Oso Cloud's
data-bindings YAML (docs/server-local-authorization.md), already parsed to a mapping:

    {"facts": {"has_role(User:_, String:_, Org:_)": {"query": "SELECT user_id, role, org_id FROM org_roles"}},
     "sql_types": {"User": "integer", "Org": "integer"}}

Each argument of a signature is `Type:_` (filled by the query's next column, in order),
`Type:literal` (a fixed value) or a bare `literal` (a fixed String, as in `owner`).
`sql_types` names the SQL type of an entity type's ids in the caller's tables (integer, uuid,
text): request and stored ids are normalized as that type would print them, and `list`
casts the ids it returns to it. This module only parses; `local_sql` compiles.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any, Mapping

from .errors import FactStoreError
from .schema import BOOLEAN, INTEGER, MAX_ARITY, PRIMITIVE_TYPES, STRING

_SIGNATURE = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*(?:::[A-Za-z_][A-Za-z0-9_]*)*)\s*\((.*)\)\s*$", re.DOTALL)
_TYPED_ARG = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*(?:::[A-Za-z_][A-Za-z0-9_]*)*):(.*)$", re.DOTALL)
_BARE_LITERAL = re.compile(r"^[A-Za-z0-9_.\-]+$")
_INTEGER_ID = re.compile(r"^[+-]?[0-9]+$")

#: `sql_types` values accepted, lowercased, and the SQL type `list` casts ids to.
SQL_TYPES = {"integer": "integer", "int": "integer", "int4": "integer", "bigint": "bigint", "int8": "bigint",
             "smallint": "smallint", "int2": "smallint", "uuid": "uuid", "text": "text", "varchar": "text",
             "string": "text"}
INTEGER_SQL_TYPES = ("integer", "bigint", "smallint")


class InvalidBindingsError(FactStoreError):
    """The data bindings are malformed or do not fit the policy (the message names the key)."""


@dataclass(frozen=True)
class FactBinding:
    """One signature bound to a query: `types[i]` of each argument, `fixed[i]` its literal id
    (None for a placeholder filled by the query's next column)."""

    key: str
    predicate: str
    types: tuple
    fixed: tuple
    query: str

    @property
    def placeholders(self) -> int:
        """How many columns the query fills."""
        return sum(1 for f in self.fixed if f is None)

    def covers(self, predicate: str, args: tuple) -> bool:
        """Is the fact `predicate(*args)` ((type, id) pairs) one this binding's table holds?"""
        if predicate != self.predicate or len(args) != len(self.types):
            return False
        return all(t == want and (fixed is None or i == fixed)
                   for (t, i), want, fixed in zip(args, self.types, self.fixed))


@dataclass(frozen=True)
class LocalBindings:
    """Parsed data bindings: the fact bindings in file order and the SQL id type per entity type."""

    facts: tuple
    sql_types: Mapping[str, str]

    def for_predicate(self, predicate: str, arity: int) -> list:
        """The bindings of `predicate` with `arity` arguments."""
        return [b for b in self.facts if b.predicate == predicate and len(b.types) == arity]

    def covers(self, predicate: str, args: tuple) -> bool:
        """Does some binding hold the fact `predicate(*args)` ((type, id) pairs)?"""
        return any(b.covers(predicate, args) for b in self.facts)

    def canonical_id(self, type_name: str, id_text: str) -> str:
        """The id as the caller's database prints a value of the type's `sql_types` type
        (`007` -> `7` for integer, upper-case uuids lowered); an id that is not of that type
        stays as it is (it then equals no id of the caller's tables)."""
        sql_type = self.sql_types.get(type_name)
        if sql_type in INTEGER_SQL_TYPES and _INTEGER_ID.match(id_text):
            return str(int(id_text))
        if sql_type == "uuid":
            try:
                return str(uuid.UUID(id_text))
            except ValueError:
                return id_text
        return id_text


def parse_bindings(data: Any) -> LocalBindings:
    """`LocalBindings` from the parsed YAML mapping (`facts` and optional `sql_types`);
    InvalidBindingsError naming the key that is wrong."""
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise InvalidBindingsError("data_bindings must be a mapping with the keys `facts` and `sql_types`")
    unknown = sorted(str(k) for k in data if k not in ("facts", "sql_types"))
    if unknown:
        raise InvalidBindingsError(f"data_bindings has an unknown key {unknown[0]!r} (expected `facts`, `sql_types`)")
    sql_types = _sql_types(data.get("sql_types") or {})
    facts = data.get("facts") or {}
    if not isinstance(facts, Mapping):
        raise InvalidBindingsError("data_bindings `facts` must be a mapping of fact signatures to {query: SQL}")
    bindings = [_binding(key, value) for key, value in facts.items()]
    return LocalBindings(tuple(bindings), sql_types)


def _sql_types(raw: Any) -> dict:
    if not isinstance(raw, Mapping):
        raise InvalidBindingsError("data_bindings `sql_types` must be a mapping of type names to SQL types")
    out = {}
    for type_name, sql_type in raw.items():
        if not isinstance(type_name, str) or not _TYPED_ARG.match(type_name + ":"):
            raise InvalidBindingsError(f"sql_types key {type_name!r} is not a type name")
        if type_name in PRIMITIVE_TYPES:
            raise InvalidBindingsError(f"sql_types.{type_name}: only entity types take a SQL type")
        normalized = SQL_TYPES.get(str(sql_type).strip().lower()) if isinstance(sql_type, str) else None
        if normalized is None:
            raise InvalidBindingsError(f"sql_types.{type_name}: unsupported SQL type {sql_type!r} "
                                       f"(supported: {', '.join(sorted(SQL_TYPES))})")
        out[type_name] = normalized
    return out


def _binding(key: Any, value: Any) -> FactBinding:
    if not isinstance(key, str):
        raise InvalidBindingsError(f"facts key {key!r} is not a fact signature string")
    m = _SIGNATURE.match(key)
    if m is None:
        raise InvalidBindingsError(f"facts key {key!r} is not a fact signature like `has_role(User:_, String:_, Org:_)`")
    predicate, inside = m.group(1), m.group(2)
    args = [a.strip() for a in _split_args(inside, key)]
    if not args or len(args) > MAX_ARITY:
        raise InvalidBindingsError(f"facts key {key!r}: a fact has 1 to {MAX_ARITY} arguments")
    types, fixed = [], []
    for arg in args:
        type_name, literal_id = _argument(arg, key)
        types.append(type_name)
        fixed.append(literal_id)
    if not isinstance(value, Mapping) or not isinstance(value.get("query"), str) or not value["query"].strip():
        raise InvalidBindingsError(f"facts.{key!r} must be a mapping with a non-empty `query` string")
    extra = sorted(str(k) for k in value if k != "query")
    if extra:
        raise InvalidBindingsError(f"facts.{key!r} has an unknown key {extra[0]!r} (expected `query`)")
    query = value["query"].strip().rstrip(";").strip()
    if "\x00" in query:
        raise InvalidBindingsError(f"facts.{key!r}: the query contains a NUL character")
    return FactBinding(key, predicate, tuple(types), tuple(fixed), query)


def _split_args(inside: str, key: str) -> list:
    """The arguments between the parentheses, split at commas outside double quotes."""
    args, current, quoted = [], [], False
    for ch in inside:
        if ch == '"':
            quoted = not quoted
        if ch == "," and not quoted:
            args.append("".join(current))
            current = []
        else:
            current.append(ch)
    if quoted:
        raise InvalidBindingsError(f"facts key {key!r} has an unclosed double quote")
    args.append("".join(current))
    return args


def _argument(arg: str, key: str) -> tuple:
    """(type, fixed id or None) of one signature argument."""
    m = _TYPED_ARG.match(arg)
    if m is None:
        literal_id = _unquote(arg)
        if not literal_id or (literal_id == arg and not _BARE_LITERAL.match(arg)) or arg == "_":
            raise InvalidBindingsError(f"facts key {key!r}: argument {arg!r} is neither `Type:_`, `Type:value` "
                                       "nor a bare string value")
        return STRING, literal_id
    type_name, rest = m.group(1), m.group(2).strip()
    if rest == "_":
        return type_name, None
    literal_id = _unquote(rest)
    if not literal_id:
        raise InvalidBindingsError(f"facts key {key!r}: argument {arg!r} has an empty value")
    if type_name == BOOLEAN and literal_id not in ("true", "false"):
        raise InvalidBindingsError(f"facts key {key!r}: a Boolean value is true or false, not {literal_id!r}")
    if type_name == INTEGER:
        if not _INTEGER_ID.match(literal_id):
            raise InvalidBindingsError(f"facts key {key!r}: {literal_id!r} is not an Integer")
        literal_id = str(int(literal_id))
    return type_name, literal_id


def _unquote(text: str) -> str:
    if len(text) >= 2 and text[0] == text[-1] == '"':
        return text[1:-1]
    return text


def binding_type_matches(binding_type: str, declared: str, type_isa: Any) -> bool:
    """Does a bound argument of `binding_type` fit a declared argument type (equal, or a
    member of the Actor/Resource union)?"""
    return binding_type == declared or bool(type_isa(binding_type, declared))


__all__ = ["FactBinding", "LocalBindings", "InvalidBindingsError", "parse_bindings", "SQL_TYPES",
           "binding_type_matches"]
