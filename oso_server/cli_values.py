"""The `oso-cloud` CLI's argument syntax for values, facts and patterns, and Polar-syntax output.

    User:bob          {"type": "User", "id": "bob"}
    member            {"type": "String", "id": "member"}     (no type: a String)
    Integer:3         {"type": "Integer", "id": "3"}
    _   or  _:_       {"type": null, "id": null}            (patterns only: anything)
    Repo:_            {"type": "Repo", "id": null}          (patterns only: any Repo)

A value's type is the text before its first colon when that text is a type name (an identifier
such as `User` or `Repo_2`); otherwise the whole argument is a String, so `a b:c` or `:x` stay
strings. `String:User:bob` is the string `User:bob`. Wildcards are refused where a concrete value
is needed (`tell`, the actor and resource of decisions, context facts).
"""

from __future__ import annotations

import json
import re
import shlex
from typing import Optional, Sequence

WILDCARD = "_"
_TYPE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")
_PRIMITIVES = {"String", "Integer", "Boolean"}


class ArgumentSyntaxError(ValueError):
    """An argument the syntax does not accept; the message names it."""


def _split(text: str) -> tuple[Optional[str], str]:
    head, colon, tail = text.partition(":")
    if colon and (head == WILDCARD or _TYPE_NAME.match(head)):
        return head, tail
    return None, text


def _checked(type_name: str, id_: str, text: str) -> dict:
    if id_ == "":
        raise ArgumentSyntaxError(f"{text!r}: the id after the colon is empty")
    if type_name == "Integer" and not re.fullmatch(r"-?[0-9]+", id_):
        raise ArgumentSyntaxError(f"{text!r}: an Integer id is a whole number, not {id_!r}")
    if type_name == "Boolean" and id_ not in ("true", "false"):
        raise ArgumentSyntaxError(f"{text!r}: a Boolean id is true or false, not {id_!r}")
    return {"type": type_name, "id": id_}


def parse_value(text: str) -> dict:
    """A concrete value (`Type:id` or a plain string); wildcards are refused."""
    if text == "":
        raise ArgumentSyntaxError("an empty argument is not a value (give a string or Type:id)")
    type_name, id_ = _split(text)
    if text == WILDCARD or type_name == WILDCARD or (type_name is not None and id_ == WILDCARD):
        raise ArgumentSyntaxError(f"{text!r} is a wildcard; a concrete value (Type:id or a string) is needed here")
    if type_name is None:
        return {"type": "String", "id": text}
    return _checked(type_name, id_, text)


def parse_pattern(text: str) -> dict:
    """A value or a wildcard: `_`, `_:_`, `Type:_`. `_:id` (any type, one id) has no wire form."""
    if text in (WILDCARD, f"{WILDCARD}:{WILDCARD}"):
        return {"type": None, "id": None}
    type_name, id_ = _split(text)
    if type_name == WILDCARD:
        raise ArgumentSyntaxError(f"{text!r}: a wildcard type with a fixed id cannot be matched; "
                                  f"give the type (Type:{id_}) or use _ for anything")
    if type_name is not None and id_ == WILDCARD:
        return {"type": type_name, "id": None}
    return parse_value(text)


def parse_fact(predicate: str, args: Sequence[str]) -> dict:
    """A concrete fact from a predicate name and its arguments."""
    return {"predicate": _predicate(predicate), "args": [parse_value(a) for a in _arity(args)]}


def parse_fact_pattern(predicate: str, args: Sequence[str]) -> dict:
    """A fact pattern (wildcards allowed in the arguments, not in the predicate)."""
    return {"predicate": _predicate(predicate), "args": [parse_pattern(a) for a in _arity(args)]}


def parse_context_fact(text: str) -> dict:
    """One `-c` context fact: `"PRED ARG..."` as one shell word, split like a command line."""
    try:
        words = shlex.split(text)
    except ValueError as error:
        raise ArgumentSyntaxError(f"context fact {text!r}: {error}") from None
    if not words:
        raise ArgumentSyntaxError("an empty context fact (-c) names no predicate")
    return parse_fact(words[0], words[1:])


def _predicate(name: str) -> str:
    if name == WILDCARD:
        raise ArgumentSyntaxError("the predicate cannot be a wildcard (_) here: name it, e.g. has_role")
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*(::[A-Za-z_][A-Za-z0-9_]*)*", name):
        raise ArgumentSyntaxError(f"{name!r} is not a predicate name")
    return name


def _arity(args: Sequence[str]) -> Sequence[str]:
    if not 1 <= len(args) <= 5:
        raise ArgumentSyntaxError(f"a fact has 1 to 5 arguments, not {len(args)}")
    return args


def resource_type(text: str) -> str:
    """The resource type of `list` (a type name)."""
    if not _TYPE_NAME.match(text) or text in _PRIMITIVES:
        raise ArgumentSyntaxError(f"{text!r} is not a resource type name")
    return text


# Output -----------------------------------------------------------------------------------------

def polar_value(value: dict) -> str:
    """A wire value in Polar syntax: `"member"`, `3`, `true`, `User{"bob"}`."""
    type_name, id_ = value.get("type"), value.get("id")
    if type_name == "String":
        return json.dumps(id_, ensure_ascii=False)
    if type_name in ("Integer", "Boolean"):
        return str(id_)
    return f"{type_name}{{{json.dumps(id_, ensure_ascii=False)}}}"


def polar_fact(fact: dict) -> str:
    """A wire fact in Polar syntax: `has_role(User{"bob"}, "member", Repo{"anvil"})`."""
    return f"{fact['predicate']}({', '.join(polar_value(a) for a in fact['args'])})"
