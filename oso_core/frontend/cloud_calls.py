"""The cloud dialect's check of rule-body calls against what the called predicate can answer
(docs/cloud-dialect.md, "Load-time checks").

A call to a predicate that has fact signatures (declared, block-implied or inferred) or rules
must fit one of them: the same arity, and every argument whose type is known here (a literal,
a specializer of the calling rule's head, `x matches T`) of a type the signature or the rule's
parameter admits. A call that fits none could never succeed, so the load fails naming the call,
its place and the expected signatures, instead of the decision failing or quietly denying.
Fully typed calls of predicates without rules have already added their own signature (Oso
Cloud's inference), so they always fit.
"""

from __future__ import annotations

from typing import Iterable, Optional, Sequence

from ..exceptions import OsoError
from ..values import Value as Entity
from .checks import walk
from .cloud_inference import DIALECT_PRIMITIVES, arg_types, variable_types
from .diagnostics import validation_error
from .syntax import CallTerm, PatternTerm, Rule, Value

__all__ = ["check_calls"]

Signatures = dict[str, list[tuple[str, ...]]]
#: How many expected signatures an error lists before "and N more".
_SHOWN = 8


def check_calls(rules: list[Rule], signatures: Signatures, actors: tuple[str, ...],
                resources: tuple[str, ...]) -> list[OsoError]:
    """One error per call (in rule order) that fits no signature and no rule of its predicate."""
    unions = {"Actor": actors, "Resource": resources}
    heads: dict[str, list[Rule]] = {}
    for rule in rules:
        heads.setdefault(rule.name, []).append(rule)
    # Calls repeat the same shape (is_public(Repo), has_role(User, ?, Org)) across rules: each
    # shape is decided once per load.
    fits: dict[tuple, bool] = {}
    errors: list[OsoError] = []
    for rule in rules:
        types: Optional[dict[str, list[str]]] = None
        for node in walk(rule.body):
            if not isinstance(node, CallTerm) or (node.name not in signatures and node.name not in heads):
                continue  # a call of an unknown predicate is reported by the undefined-call check
            if types is None:
                # Every `matches` counts (a variable typed differently in two `or` branches may be
                # either): the check must never refuse a call that some branch makes well typed.
                types = variable_types(rule, unions, every_match=True)
            known = tuple(_known(arg_types(a, types, unions)) for a in node.args)
            shape = (node.name, known)
            fit = fits.get(shape)
            if fit is None:
                fit = fits[shape] = (
                    any(_fits_signature(known, sig, unions) for sig in signatures.get(node.name, ()))
                    or any(_fits_rule(known, r, unions) for r in heads.get(node.name, ())))
            if not fit:
                errors.append(validation_error("UndefinedRuleCall", _message(
                    node, known, signatures.get(node.name, []), heads.get(node.name, [])), node.span))
    return errors


def _known(types: Optional[list[str]]) -> Optional[frozenset[str]]:
    return frozenset(types) if types else None


def _admits(declared: str, known: Optional[frozenset[str]], unions: dict) -> bool:
    if known is None or declared in known:
        return True
    return not known.isdisjoint(unions.get(declared, ()))


def _fits_signature(known: Sequence[Optional[frozenset[str]]], sig: tuple[str, ...], unions: dict) -> bool:
    return len(sig) == len(known) and all(_admits(s, k, unions) for s, k in zip(sig, known))


def _param_types(param: object, unions: dict) -> Optional[set[str]]:
    """The types a rule parameter admits; None: any."""
    term, spec = param.term, param.specializer  # type: ignore[attr-defined]
    if isinstance(term, Value):
        v = term.value
        if type(v) is Entity:
            return {v.type}  # type: ignore[attr-defined]
        name = DIALECT_PRIMITIVES.get(type(v))
        return {name} if name is not None else None
    if isinstance(spec, PatternTerm) and spec.tag and not spec.fields:
        return set(unions.get(spec.tag, ())) | {spec.tag}
    return None


def _fits_rule(known: Sequence[Optional[frozenset[str]]], rule: Rule, unions: dict) -> bool:
    if len(rule.params) != len(known):
        return False
    for param, k in zip(rule.params, known):
        admitted = _param_types(param, unions)
        if admitted is not None and k is not None and not (admitted & k):
            return False
    return True


def _message(call: CallTerm, known: Sequence[Optional[frozenset[str]]], sigs: Iterable[tuple[str, ...]],
             defs: list[Rule]) -> str:
    name = call.name
    expected = [f"{name}({', '.join(sig)})" for sig in sigs]
    expected += [f"rule {rule.head_str()}" for rule in defs]
    shown = "; ".join(expected[:_SHOWN]) + (f"; and {len(expected) - _SHOWN} more" if len(expected) > _SHOWN else "")
    here = ", ".join("|".join(sorted(k)) if k else "?" for k in known)
    return (f"Call {call} fits no signature or rule of `{name}`\n\tIts {len(known)} argument(s) have the types "
            f"({here}); expected {shown}. Fix the call, or `declare {name}(...)` the fact type it needs.")
