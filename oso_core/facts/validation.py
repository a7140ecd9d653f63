"""Checking facts and patterns before they reach SQL.

A fact is `(predicate, *args)` with `Value`/`str`/`int`/`bool` arguments; the policy's fact
signatures (`Oso.fact_signatures()`) say which predicates, arities and argument types it accepts.
Ids and strings holding NUL are refused (no database stores them faithfully, and compiled
decision queries use NUL to mark placeholder actors), and so are those holding a lone surrogate
(U+D800-U+DFFF, which JSON's `\\ud800` escapes can produce): it is not Unicode, so no database
driver can encode it.
"""

from __future__ import annotations

import re
from typing import Iterable, Mapping, Optional, Sequence

from ..values import Value, ValueOfType
from .errors import InvalidFactError
from .schema import BOOLEAN, INTEGER, MAX_ARITY, STRING

#: Signature types standing for any entity of an actor / resource block type.
ACTOR_UNION, RESOURCE_UNION = "Actor", "Resource"
_SHOWN_ID = 40  # characters of an id quoted in an error message
_SURROGATE_ALL = re.compile("[\ud800-\udfff]")
_SURROGATE = _SURROGATE_ALL.search


def _unstorable(text: str) -> bool:
    """Whether `text` holds NUL or a lone surrogate (ASCII text is checked for NUL only)."""
    return "\x00" in text or (not text.isascii() and _SURROGATE(text) is not None)


def show_arg(arg: object) -> str:
    """An argument as Polar writes it (`User{"alice"}`, `"admin"`, `3`), long ids cut."""
    if isinstance(arg, Value):
        return f"{_printable(arg.type)}{{{_quote(arg.id)}}}"
    if isinstance(arg, ValueOfType):
        return f"<any {arg.type}>"
    if arg is None:
        return "_"
    if isinstance(arg, bool):
        return "true" if arg else "false"
    if isinstance(arg, str):
        return _quote(arg)
    return repr(arg)


def _quote(text: str) -> str:
    shown = text if len(text) <= _SHOWN_ID else text[:_SHOWN_ID] + "..."
    shown = shown.replace("\\", "\\\\").replace('"', '\\"').replace("\x00", "\\0")
    return '"' + _printable(shown) + '"'


def _printable(text: str) -> str:
    """`text` with each lone surrogate written as its escape, so that a message can be printed."""
    if text.isascii():
        return text
    return _SURROGATE_ALL.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def show_fact(predicate: str, args: Sequence[object]) -> str:
    return f"{predicate}({', '.join(show_arg(a) for a in args)})"


def show_signature(predicate: str, signature: Sequence[str]) -> str:
    return f"{predicate}({', '.join(signature)})"


def arg_type(arg: object) -> str:
    """The Polar type of a concrete argument."""
    if isinstance(arg, Value):
        return arg.type
    if isinstance(arg, bool):
        return BOOLEAN
    return INTEGER if isinstance(arg, int) else STRING


def split_fact(fact: object) -> tuple[str, tuple]:
    """`(predicate, args)` of a concrete fact, its shape and ids checked (not its signature)."""
    predicate, args = _split(fact, "fact")
    for position, arg in enumerate(args):
        if isinstance(arg, Value):
            if _unstorable(arg.id) or _unstorable(arg.type):
                raise _nul(predicate, args)
        elif isinstance(arg, str):
            if _unstorable(arg):
                raise _nul(predicate, args)
        elif arg is None or isinstance(arg, ValueOfType):
            raise InvalidFactError(f"{show_fact(predicate, args)}: argument {position + 1} is a wildcard; a fact "
                                   "to insert has concrete arguments (Value, str, int or bool)")
    return predicate, args


def split_pattern(pattern: object) -> tuple[str, tuple]:
    """`(predicate, args)` of a pattern (arguments may also be None or ValueOfType)."""
    return _split(pattern, "pattern")


def _split(item: object, what: str) -> tuple[str, tuple]:
    if not isinstance(item, (tuple, list)) or not item or not isinstance(item[0], str) or not item[0]:
        raise InvalidFactError(f"A {what} is a tuple (predicate name, *arguments), got {item!r:.200}")
    predicate, args = item[0], tuple(item[1:])
    if "\x00" in predicate:
        raise InvalidFactError(f"A predicate name cannot contain NUL: {predicate!r:.80}")
    if len(args) > MAX_ARITY:
        raise InvalidFactError(f"{show_fact(predicate, args)}: the store holds facts of at most {MAX_ARITY} "
                               f"arguments, this one has {len(args)}")
    for position, arg in enumerate(args):
        if not (arg is None or isinstance(arg, (Value, ValueOfType, str, int))):
            raise InvalidFactError(f"{predicate}: argument {position + 1} must be a Value, str, int or bool, "
                                   f"got {type(arg).__name__} {arg!r:.80}")
    return predicate, args


def _nul(predicate: str, args: tuple) -> InvalidFactError:
    texts = [t for a in args for t in ((a.id, a.type) if isinstance(a, Value) else (a,)) if isinstance(t, str)]
    if any("\x00" in text for text in texts):
        return InvalidFactError(f"{show_fact(predicate, args)}: ids, types and strings of facts cannot contain "
                                "the NUL character (\\0)")
    return InvalidFactError(f"{show_fact(predicate, args)}: ids, types and strings of facts cannot contain "
                            "a lone surrogate (U+D800-U+DFFF): it is not valid Unicode")


def _plain_shape(fact: object) -> Optional[tuple[str, tuple[str, ...]]]:
    """(predicate, argument types) of a tuple fact of exact Value/str/int/bool arguments
    without NUL, else None (then the full check runs and explains what is wrong)."""
    if type(fact) is not tuple or not fact or type(fact[0]) is not str:
        return None
    types = []
    for arg in fact[1:]:
        kind = type(arg)
        if kind is Value:
            if _unstorable(arg.id) or _unstorable(arg.type):
                return None
            types.append(arg.type)
        elif kind is str:
            if _unstorable(arg):
                return None
            types.append(STRING)
        elif kind is int:
            types.append(INTEGER)
        elif kind is bool:
            types.append(BOOLEAN)
        else:
            return None
    return fact[0], tuple(types)


class FactValidator:
    """The facts one loaded policy accepts."""

    def __init__(self, signatures: Mapping[str, Sequence[Sequence[str]]],
                 actors: Iterable[str] = (), resources: Iterable[str] = ()) -> None:
        self.signatures = {name: [tuple(s) for s in sigs] for name, sigs in signatures.items()}
        self.actors = frozenset(actors)
        self.resources = frozenset(resources) | self.actors
        # (predicate, argument types) already accepted: a batch checks each shape once.
        self._accepted: set[tuple[str, tuple[str, ...]]] = set()

    def validate(self, fact: object) -> tuple[str, tuple]:
        """`(predicate, args)` of an accepted fact; InvalidFactError naming the predicate and
        the signatures it expected otherwise."""
        shape = _plain_shape(fact)
        if shape is not None and shape in self._accepted:
            return fact[0], fact[1:]  # type: ignore[index]
        return self._validate(fact)

    def _validate(self, fact: object) -> tuple[str, tuple]:
        predicate, args = split_fact(fact)
        shape = (predicate, tuple(map(arg_type, args)))
        signatures = self.signatures.get(predicate)
        if not signatures:
            known = ", ".join(sorted(self.signatures)) or "none"
            raise InvalidFactError(f"{show_fact(predicate, args)}: the policy declares no fact predicate "
                                   f"{predicate} (fact predicates: {known})")
        same_arity = [s for s in signatures if len(s) == len(args)]
        if not any(self._fits(s, args) for s in same_arity):
            expected = " or ".join(show_signature(predicate, s) for s in signatures)
            reason = "matches no signature of" if same_arity else f"has {len(args)} arguments; no signature of"
            raise InvalidFactError(f"{show_fact(predicate, args)} {reason} {predicate}: expected {expected}")
        self._accepted.add(shape)
        return predicate, args

    def validate_all(self, facts: Iterable[object]) -> list[tuple[str, tuple]]:
        return [self.validate(f) for f in facts]

    def _fits(self, signature: Sequence[str], args: tuple) -> bool:
        return all(self._fits_type(t, a) for t, a in zip(signature, args))

    def _fits_type(self, wanted: str, arg: object) -> bool:
        have = arg_type(arg)
        if have == wanted:
            return True
        if isinstance(arg, Value):
            return (wanted == ACTOR_UNION and have in self.actors) or (wanted == RESOURCE_UNION and have in self.resources)
        return False

