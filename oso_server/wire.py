"""Oso Cloud's JSON wire format <-> the fact store's Python values (oso-cloud spec section 2).

On the wire every value is `{"type": T, "id": "<string>"}`, primitives included
(`{"type": "String", "id": "member"}`, `{"type": "Integer", "id": "3"}`, `{"type": "Boolean",
"id": "true"}`). The store wants primitives as Python `str` / `int` / `bool` and entities as
`Value`; in patterns `{"type": null, "id": null}` (or a bare `null`) is the wildcard `None` and
`{"type": T, "id": null}` is `ValueOfType(T)`.

Every parse error is a `BadRequest` naming the path of the offending piece
(`context_facts[2].args[1].id: expected a string, got 7`). Unknown keys are ignored, as newer
clients may send more.
"""

from __future__ import annotations

import re
from typing import Any, Optional, Sequence, Union

from oso_core.values import Arg, PatternArg, Value, ValueOfType

from .errors import BadRequest

STRING, INTEGER, BOOLEAN = "String", "Integer", "Boolean"
#: The store holds Polar Integers as 64-bit signed integers.
_INT_MIN, _INT_MAX = -(2 ** 63), 2 ** 63 - 1
_INTEGER_TEXT = re.compile(r"^-?[0-9]{1,20}$")
#: A fact has 1 to 5 arguments (Oso Cloud's limit, and the store's).
MAX_ARGS = 5
_SHOWN = 60  # characters of a bad value quoted in an error message
# A lone surrogate (JSON's "\\ud800" escapes decode to one) is not Unicode: no database can store it.
_SURROGATE = re.compile("[\ud800-\udfff]").search


def shown(value: Any) -> str:
    """A short JSON-ish rendering of a bad value for an error message."""
    text = repr(value)
    return text if len(text) <= _SHOWN else text[:_SHOWN] + "..."


def type_name(value: Any) -> str:
    """The JSON type of a parsed value, for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def bad(path: str, expected: str, value: Any) -> BadRequest:
    """`BadRequest("<path>: expected <expected>, got <what it was>")`."""
    return BadRequest(f"{path}: expected {expected}, got {type_name(value)} {shown(value)}")


# Fields ----------------------------------------------------------------------------------------

def require_object(value: Any, path: str) -> dict:
    """`value` if it is a JSON object, else 400."""
    if not isinstance(value, dict):
        raise bad(path, "a JSON object", value)
    return value


def require_list(value: Any, path: str) -> list:
    """`value` if it is a JSON array, else 400."""
    if not isinstance(value, list):
        raise bad(path, "a JSON array", value)
    return value


def text(value: Any, path: str, *, allow_empty: bool = False) -> str:
    """A string without NUL (and non-empty unless `allow_empty`), else 400."""
    if not isinstance(value, str):
        raise bad(path, "a string", value)
    if not value and not allow_empty:
        raise BadRequest(f"{path}: expected a non-empty string")
    if "\x00" in value:
        raise BadRequest(f"{path}: contains the NUL character (\\0), which no id, type or name may hold")
    if not value.isascii() and _SURROGATE(value):
        raise BadRequest(f"{path}: contains a lone surrogate (U+D800-U+DFFF), which is not valid Unicode")
    return value


def field(obj: dict, key: str, path: str) -> Any:
    """`obj[key]`, 400 naming `path.key` if it is missing."""
    if key not in obj:
        raise BadRequest(f"{_join(path, key)}: missing")
    return obj[key]


def text_field(obj: dict, key: str, path: str = "", *, allow_empty: bool = False) -> str:
    """The string field `key` of a request object."""
    return text(field(obj, key, path), _join(path, key), allow_empty=allow_empty)


def entity_field(obj: dict, prefix: str, path: str = "") -> Value:
    """The entity of the `<prefix>_type` / `<prefix>_id` fields (`actor_type`, `actor_id`)."""
    type_ = text_field(obj, f"{prefix}_type", path)
    id_ = text_field(obj, f"{prefix}_id", path, allow_empty=True)
    return Value(type_, id_)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


# Values ----------------------------------------------------------------------------------------

def is_integer_id(id_: str) -> bool:
    """Is `id_` the decimal text of a 64-bit signed integer (a Polar Integer)?"""
    return bool(_INTEGER_TEXT.match(id_)) and _INT_MIN <= int(id_) <= _INT_MAX


def primitive(type_: str, id_: str, path: str) -> Arg:
    """The store argument of a `{"type", "id"}` value whose type and id are already strings:
    `String` -> str, `Integer` -> int, `Boolean` -> bool, any other type -> `Value`."""
    if type_ == STRING:
        return id_
    if type_ == INTEGER:
        if not is_integer_id(id_):
            raise BadRequest(f"{path}.id: an Integer id is a 64-bit decimal integer, got {shown(id_)}")
        return int(id_)
    if type_ == BOOLEAN:
        if id_ not in ("true", "false"):
            raise BadRequest(f'{path}.id: a Boolean id is "true" or "false", got {shown(id_)}')
        return id_ == "true"
    return Value(type_, id_)


def parse_value(value: Any, path: str) -> Arg:
    """A concrete `{"type": T, "id": "<string>"}`."""
    obj = require_object(value, path)
    type_ = obj.get("type")
    id_ = obj.get("id")
    if type_ is None or id_ is None:
        missing = "type" if type_ is None else "id"
        raise BadRequest(f"{path}.{missing}: a concrete value needs a type and an id (wildcards are only "
                         "allowed in delete and get patterns)")
    return primitive(text(type_, f"{path}.type"), text(id_, f"{path}.id", allow_empty=True), path)


def parse_pattern_arg(value: Any, path: str) -> PatternArg:
    """A pattern argument: a concrete value, `null` / `{"type": null, "id": null}` (any value)
    or `{"type": T, "id": null}` (any value of type T)."""
    if value is None:
        return None
    obj = require_object(value, path)
    type_ = obj.get("type")
    id_ = obj.get("id")
    if type_ is None:
        if id_ is not None:
            raise BadRequest(f"{path}.type: a value with an id needs a type")
        return None
    type_ = text(type_, f"{path}.type")
    if id_ is None:
        return ValueOfType(type_)
    return primitive(type_, text(id_, f"{path}.id", allow_empty=True), path)


def _parse(value: Any, path: str, argument: Any) -> tuple:
    obj = require_object(value, path)
    predicate = text_field(obj, "predicate", path)
    args = require_list(field(obj, "args", path), f"{path}.args")
    if not 1 <= len(args) <= MAX_ARGS:
        raise BadRequest(f"{path}.args: a fact has 1 to {MAX_ARGS} arguments, got {len(args)}")
    return (predicate, *(argument(a, f"{path}.args[{i}]") for i, a in enumerate(args)))


def parse_fact(value: Any, path: str) -> tuple:
    """A concrete fact `{"predicate": P, "args": [value, ...]}` -> `(P, *args)`."""
    return _parse(value, path, parse_value)


def parse_pattern(value: Any, path: str) -> tuple:
    """A fact pattern (arguments may be wildcards) -> `(P, *args)`."""
    return _parse(value, path, parse_pattern_arg)


def parse_facts(value: Any, path: str) -> list[tuple]:
    """A JSON array of concrete facts."""
    return parse_fact_items(require_list(value, path), path)


def parse_fact_items(items: list, path: str) -> list[tuple]:
    """The concrete facts of a list (`path[i]` names an item in errors). Well-formed facts
    take `plain_fact`; any other item is parsed by `parse_fact`, which says what is wrong."""
    entities: dict[str, dict[str, Value]] = {}
    facts = []
    for i, item in enumerate(items):
        fact = plain_fact(item, entities)
        facts.append(parse_fact(item, f"{path}[{i}]") if fact is None else fact)
    return facts


def plain_fact(value: Any, entities: dict[str, dict[str, Value]]) -> Optional[tuple]:
    """`parse_fact`'s answer for a well-formed fact, computed without building error paths;
    None for anything else, including every input `parse_fact` refuses. `entities` (type ->
    id -> Value) shares one `Value` among the facts naming the same entity: building one costs
    more than finding it."""
    if value.__class__ is not dict:
        return None
    predicate = value.get("predicate")
    args = value.get("args")
    if (predicate.__class__ is not str or not predicate or "\x00" in predicate or args.__class__ is not list
            or not 1 <= len(args) <= MAX_ARGS or not (predicate.isascii() or _SURROGATE(predicate) is None)):
        return None
    fact = [predicate]
    for arg in args:
        if arg.__class__ is not dict:
            return None
        type_ = arg.get("type")
        id_ = arg.get("id")
        if type_.__class__ is not str or id_.__class__ is not str or not type_ or "\x00" in type_ or "\x00" in id_:
            return None
        if not (id_.isascii() or _SURROGATE(id_) is None) or not (type_.isascii() or _SURROGATE(type_) is None):
            return None
        if type_ == STRING:
            fact.append(id_)
        elif type_ == INTEGER:
            if not is_integer_id(id_):
                return None
            fact.append(int(id_))
        elif type_ == BOOLEAN:
            if id_ != "true" and id_ != "false":
                return None
            fact.append(id_ == "true")
        else:
            of_type = entities.get(type_)
            if of_type is None:
                of_type = entities[type_] = {}
            entity = of_type.get(id_)
            if entity is None:
                entity = of_type[id_] = Value(type_, id_)
            fact.append(entity)
    return tuple(fact)


def context_facts(body: dict) -> list[tuple]:
    """The `context_facts` of a decision request (absent or null: none)."""
    value = body.get("context_facts")
    return [] if value is None else parse_facts(value, "context_facts")


# Back to the wire ------------------------------------------------------------------------------

def value_json(arg: Union[Value, str, int, bool]) -> dict:
    """`{"type", "id"}` with a string id, for any store argument."""
    if isinstance(arg, Value):
        return {"type": arg.type, "id": arg.id}
    if isinstance(arg, bool):
        return {"type": BOOLEAN, "id": "true" if arg else "false"}
    if isinstance(arg, int):
        return {"type": INTEGER, "id": str(arg)}
    if isinstance(arg, str):
        return {"type": STRING, "id": arg}
    raise TypeError(f"not a fact argument: {arg!r}")


def fact_json(fact: Sequence[Any]) -> dict:
    """`{"predicate", "args"}` of a stored fact `(predicate, *args)`."""
    return {"predicate": fact[0], "args": [value_json(a) for a in fact[1:]]}
