"""Fact types of predicates a cloud-dialect policy calls but never defines (docs/cloud-dialect.md).

In Oso Cloud any predicate without rules is answered by stored facts. Its signature is inferred
from each call (and joins the `declare`d and block-implied ones: Oso Cloud accepts facts of any
declared or inferred type): an argument's type is known when it is a literal (String, Integer, Boolean, an
entity literal's type), or a variable typed by a specializer of the calling rule's head
(`Actor`/`Resource` stand for every actor/block type) or by `x matches T` in that rule's body.
Each call whose arguments are all typed contributes the product of those types; a predicate
none of whose calls is fully typed stays untyped and is reported with a hint to `declare` it.
"""

from __future__ import annotations

from itertools import product
from typing import Iterable, Optional

from ..exceptions import OsoError
from ..values import Value as Entity
from .checks import walk
from .diagnostics import validation_error
from .syntax import CallTerm, Op, PatternTerm, Rule, Sym, Value

__all__ = ["infer_fact_signatures", "DIALECT_PRIMITIVES", "variable_types", "arg_types"]

DIALECT_PRIMITIVES = {str: "String", int: "Integer", bool: "Boolean"}


def infer_fact_signatures(rules: Iterable[Rule], defined: set[str], actors: tuple[str, ...],
                          resources: tuple[str, ...], typed: frozenset[str] = frozenset()
                          ) -> tuple[dict[str, list[tuple[str, ...]]], list[OsoError]]:
    """(inferred signatures of the predicates not in `defined`, errors for the untyped ones);
    a predicate in `typed` already has signatures, so untyped calls of it are no error here."""
    inferred: dict[str, list[tuple[str, ...]]] = {}
    untyped: dict[str, CallTerm] = {}
    unions = {"Actor": actors, "Resource": resources}
    for rule in rules:
        types = variable_types(rule, unions)
        for node in walk(rule.body):
            if not isinstance(node, CallTerm) or node.name in defined:
                continue
            positions = [arg_types(a, types, unions) for a in node.args]
            if any(p is None or not p for p in positions):
                untyped.setdefault(node.name, node)
                continue
            known = inferred.setdefault(node.name, [])
            for sig in product(*positions):  # type: ignore[arg-type]
                if sig not in known:
                    known.append(sig)
    errors: list[OsoError] = []
    for name, call in untyped.items():
        if name not in inferred and name not in typed:
            errors.append(validation_error(
                "UndefinedRuleCall",
                f"Call to undefined rule: {call}\n\tIn the Oso Cloud dialect a predicate without rules is answered "
                f"by facts, but the type of some argument of `{name}` is not known here: give it a specializer or "
                f"`matches`, or declare it (`declare {name}(Type, ...);`).", call.span))
    return inferred, errors


def variable_types(rule: Rule, unions: dict, every_match: bool = False) -> dict[str, list[str]]:
    """Variable name -> its possible types in `rule`: from the head's specializers and the body's
    `x matches T` (`unions` maps `Actor`/`Resource` to their member types). A `matches` replaces
    what was known (the last one wins); with `every_match` the types of all of them are kept,
    which over-approximates a variable typed differently in two `or` branches."""
    types: dict[str, list[str]] = {}
    for param in rule.params:
        spec = param.specializer
        if isinstance(param.term, Sym) and isinstance(spec, PatternTerm) and spec.tag and not spec.fields:
            types.setdefault(param.term.name, []).extend(unions.get(spec.tag, (spec.tag,)))
    for node in walk(rule.body):
        if isinstance(node, Op) and node.op == "Isa" and isinstance(node.args[0], Sym):
            spec = node.args[1]
            if isinstance(spec, PatternTerm) and spec.tag and not spec.fields:
                matched = list(unions.get(spec.tag, (spec.tag,)))
                name = node.args[0].name
                types[name] = types.get(name, []) + matched if every_match else matched
    return types


def arg_types(arg: object, types: dict[str, list[str]], unions: dict) -> Optional[list[str]]:
    """The possible types of a call argument (a literal, or a variable typed in `types`); None
    (or empty) when unknown."""
    if isinstance(arg, Value):
        v = arg.value
        if type(v) is Entity:
            return [v.type]  # type: ignore[attr-defined]
        name = DIALECT_PRIMITIVES.get(type(v))
        return [name] if name is not None else None
    if isinstance(arg, Sym) and arg.name != "_":
        found = types.get(arg.name)
        return list(dict.fromkeys(found)) if found else None
    return None
