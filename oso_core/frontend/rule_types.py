"""Rule types: the built-in ones, and checking rules against them (polar-language.md §9).

Checks run on rules and rule types in the form legacy's knowledge base holds them (see
rewrite.py), because the failure messages print them, sometimes with Rust `Debug` dumps.
"""

from __future__ import annotations

from typing import Iterable, Optional, Sequence, Union

from ..exceptions import OperationalError, OsoError
from .class_registry import ClassRegistry
from .diagnostics import validation_error
from .rewrite import LegacyRule
from .rust_debug import debug_dictionary, debug_list_elements, debug_pattern, debug_value
from .syntax import (CallTerm, DictTerm, ListTerm, Node, Op, Param, PatternTerm, Rule, RuleType, Sym, Value,
                     render_fields, render_value)

ACTOR_UNION = "Actor"
RESOURCE_UNION = "Resource"
UNIONS = (ACTOR_UNION, RESOURCE_UNION)


def _param(name: str, tag: Optional[str] = None) -> Param:
    return Param(Sym(name), None if tag is None else PatternTerm(tag, {}))


def default_rule_types() -> dict[str, list[RuleType]]:
    """The rule types every knowledge base starts with."""
    types = [
        RuleType("has_permission", [_param("actor", ACTOR_UNION), _param("_permission", "String"),
                                    _param("resource", RESOURCE_UNION)]),
        RuleType("allow", [_param("actor"), _param("_action"), _param("resource")]),
        RuleType("allow_field", [_param("actor"), _param("action"), _param("resource"), _param("field")]),
        RuleType("allow_request", [_param("actor"), _param("request")]),
    ]
    return {t.name: [t] for t in types}


class _Any:
    """The quick test of a bare-variable rule-type parameter: anything matches."""

    __slots__ = ()


_ANY = _Any()

# What a rule parameter plainly has to be to match a rule-type parameter (see `_quick_test`).
_QuickTest = Union[_Any, str, Value, None]


def _quick_test(param: Param) -> _QuickTest:
    """`_ANY` for a bare variable; the class name for `x: Class` (no fields); the literal for a
    literal; None when only the full check can tell."""
    term, spec = param.term, param.specializer
    if type(term) is Sym:
        if spec is None:
            return _ANY
        if type(spec) is PatternTerm and spec.tag is not None and not spec.fields:
            return spec.tag
        return None
    if type(term) is Value and spec is None:
        return term
    return None


class TypeEntry:
    """One rule type: as declared (`rule_type`), as legacy holds it (`legacy`), whether a rule
    implementing it is required, and a quick test per parameter for the common shapes."""

    __slots__ = ("rule_type", "legacy", "required", "quick", "plain")

    def __init__(self, rule_type: RuleType, legacy: Rule, required: bool = False) -> None:
        self.rule_type = rule_type
        self.legacy = legacy
        self.required = required
        self.quick = tuple(_quick_test(p) for p in legacy.params)
        self.plain = all(q is _ANY for q in self.quick)  # matches every rule of its arity


def as_rule(rule_type: RuleType) -> Rule:
    """A rule type as legacy holds it: a rule with an empty body."""
    return Rule(rule_type.name, rule_type.params, Op("And", []), rule_type.span)


# Built once: rule types and the entries made from them are never changed after they are made.
_DEFAULT_ENTRIES = {name: tuple(TypeEntry(t, as_rule(t)) for t in types)
                    for name, types in default_rule_types().items()}


def default_type_entries() -> dict[str, list[TypeEntry]]:
    """By name, the entries of the built-in rule types, in new lists (a load appends to them)."""
    return {name: list(entries) for name, entries in _DEFAULT_ENTRIES.items()}


class RuleTypeChecker:
    """Matches rules against rule types, given the registered classes and the union members."""

    def __init__(self, host: ClassRegistry, actors: Iterable[str], resources: Iterable[str]) -> None:
        self._host = host
        self._members = {ACTOR_UNION: tuple(actors), RESOURCE_UNION: tuple(resources)}

    def validate(self, rules: Sequence[LegacyRule], types: dict[str, list[TypeEntry]]) -> Optional[OsoError]:
        """The first rule-type error: a rule matching none of its name's types, else a missing
        required rule. A hard error (unregistered type class, rest variable in a type) wins when
        reached first."""
        # A plain rule type cannot fail hard, so for names with only plain types the arity decides.
        plain_arities: dict[str, set[int]] = {}
        for name, named in types.items():
            for entry in named:
                if not entry.plain:
                    break
            else:
                plain_arities[name] = {len(entry.legacy.params) for entry in named}
        implemented: set[TypeEntry] = set()  # matched by a rule checked against every type of its name
        mismatch = self.mismatch
        try:
            for rule in rules:
                entries = types.get(rule.name)
                if not entries:
                    continue
                params = rule.params
                arities = plain_arities.get(rule.name)
                if arities is not None and len(params) in arities:
                    continue
                matched = False
                for entry in entries:  # every one: a hard error anywhere wins
                    if mismatch(params, entry) is None:
                        implemented.add(entry)
                        matched = True
                if not matched:
                    # The same checks again (they raise nothing now), for the reasons.
                    message = "Must match one of the following rule types:\n" + "".join(
                        f"\n{entry.legacy}\n\tFailed to match because: {mismatch(params, entry)}\n"
                        for entry in entries)
                    return validation_error("InvalidRule", f"Invalid rule: {rule.rewritten()} {message}", rule.span)
            for entries in types.values():
                for entry in entries:
                    if entry.required and entry not in implemented and not self._implemented(entry, rules):
                        return validation_error("MissingRequiredRule",
                                                f"Missing implementation for required rule {entry.legacy}",
                                                entry.legacy.span)
        except OsoError as error:
            return error
        return None

    def _implemented(self, entry: TypeEntry, rules: Iterable[LegacyRule]) -> bool:
        name = entry.legacy.name
        return any(self.mismatch(rule.params, entry) is None for rule in rules if rule.name == name)

    def mismatch(self, params: list[Param], entry: TypeEntry) -> Optional[str]:
        """Why a rule with `params` does not match the rule type, or None if it does; raises hard errors."""
        rule_type = entry.legacy
        type_params = rule_type.params
        if len(params) != len(type_params):
            return (f"Different number of parameters. Rule has {len(params)} parameter(s) but rule type "
                    f"has {len(type_params)}.")
        # Every parameter is checked (a hard error anywhere wins); the first failure is reported.
        # The quick tests settle the common shapes, where `_param` would find a match.
        first = None
        members = self._members
        i = 0
        for rp, tp, want in zip(params, type_params, entry.quick):
            i += 1
            if want is _ANY:
                continue
            if want is not None:
                term, spec = rp.term, rp.specializer
                if type(want) is str:  # `x: want`: the same class, a member of that union, a literal of it
                    if type(term) is Sym:
                        if type(spec) is PatternTerm and (
                                spec.tag == want or (spec.tag not in UNIONS and spec.tag in members.get(want, ()))):
                            continue
                    elif spec is None and type(term) is Value and _LITERAL_TAGS[type(term.value)] == want:
                        continue
                elif spec is None and type(term) is Value and _same_literal(term, want):
                    continue
            reason = self._param(i, rp, tp, rule_type)
            if first is None:
                first = reason
        return first

    def _param(self, i: int, rp: Param, tp: Param, rule_type: Rule) -> Optional[str]:
        t_var, r_var = isinstance(tp.term, Sym), isinstance(rp.term, Sym)
        ts, rs = tp.specializer, rp.specializer
        if t_var and isinstance(ts, PatternTerm):
            if r_var and isinstance(rs, PatternTerm):
                return self._pattern(i, rs, ts)
            if r_var and rs is None:
                if ts.tag is not None:
                    assert isinstance(rp.term, Sym)
                    name = rp.term.name
                    return f"Parameter `{name}` expects a {ts.tag} type constraint.\n\n\t{name}: {ts.tag}"
                return f"Invalid rule parameter {i}. Rule type expected {debug_value(ts)}"
            rule_value = rs if r_var else rp.term
            assert rule_value is not None
            if ts.tag is not None:
                return self._pattern(i, _literal_instance(rule_value), ts)
            if isinstance(rule_value, DictTerm):
                if fields_match(ts.fields, rule_value.fields):
                    return None
                return (f"Invalid parameter {i}. Rule type expected Dictionary with fields "
                        f"{render_fields(ts.fields)}, got dictionary with fields {render_fields(rule_value.fields)}.")
            return f"Invalid parameter {i}. Rule type expected Dictionary, got {debug_value(rule_value)}."
        if t_var and ts is None:
            return None
        if t_var and r_var and rs is None:
            assert ts is not None
            return f"Invalid rule parameter {i}. Rule type expected {debug_value(ts)}"
        if t_var and r_var:
            assert ts is not None and rs is not None
            return self._value(i, rs, ts, rule_type)
        if t_var and rs is None:
            assert ts is not None
            return self._value(i, rp.term, ts, rule_type)
        if not t_var and ts is None and rs is None:
            return self._value(i, rp.term, tp.term, rule_type)
        return f"Invalid parameter {i}. Rule parameter {rp} does not match rule type parameter {tp}"

    def _value(self, i: int, rule_value: Node, type_value: Node, rule_type: Rule) -> Optional[str]:
        if isinstance(type_value, ListTerm) and isinstance(rule_value, ListTerm):
            if type_value.rest is not None:
                raise validation_error("InvalidRuleType", f"Invalid rule type: {rule_type}\n\tRule types cannot "
                                       "contain *rest variables.", rule_type.span)
            rule_elements = _elements(rule_value)
            if all(any(terms_equal(t, r) for r in rule_elements) for t in _elements(type_value)):
                return None
            return (f"Invalid parameter {i}. Rule type expected list {debug_list_elements(type_value)}, "
                    f"got list {debug_list_elements(rule_value)}.")
        if isinstance(type_value, DictTerm) and isinstance(rule_value, DictTerm):
            if fields_match(type_value.fields, rule_value.fields):
                return None
            return (f"Invalid parameter {i}. Rule type expected Dictionary with fields "
                    f"{debug_dictionary(type_value.fields)}, got Dictionary with fields "
                    f"{debug_dictionary(rule_value.fields)}")
        if terms_equal(type_value, rule_value):
            return None
        return f"Invalid parameter {i}. Rule value {debug_value(rule_value)} != rule type value {debug_value(type_value)}"

    def _pattern(self, i: int, rule: PatternTerm, rule_type: PatternTerm) -> Optional[str]:
        if rule_type.tag is not None and rule.tag is not None:
            if rule_type.tag == rule.tag:
                return None if fields_match(rule_type.fields, rule.fields) else _fields_mismatch(i, rule, rule_type)
            if rule_type.tag in UNIONS:
                return self._union(i, rule, rule_type)
            return self._subclass(i, rule, rule_type)
        if rule_type.tag is None or (rule_type.tag == "Dictionary" and rule.tag is None):
            if fields_match(rule_type.fields, rule.fields):
                return None
            return (f"Specializer mismatch on parameter {i}. Rule specializer fields {debug_dictionary(rule.fields)} "
                    f"do not match rule type specializer fields {debug_dictionary(rule_type.fields)}.")
        # Legacy prints the two patterns the other way round here.
        return (f"Mismatch on parameter {i}. Rule parameter {debug_pattern(rule_type)} does not match rule type "
                f"parameter {debug_pattern(rule)}.")

    def _union(self, i: int, rule: PatternTerm, rule_type: PatternTerm) -> Optional[str]:
        assert rule_type.tag is not None and rule.tag is not None
        if rule.tag in UNIONS:
            return f"Rule specializer {rule.tag} on parameter {i} does not match rule type specializer {rule_type.tag}"
        members = self._members[rule_type.tag]
        if rule.tag not in members:
            # Not a member itself, but maybe a subclass of one.
            results = [self._subclass(i, rule, PatternTerm(m, rule_type.fields)) for m in members]
            if not any(r is None for r in results):
                message = (f"Rule specializer {rule.tag} on parameter {i} must be a member of rule type "
                           f"specializer {rule_type.tag}")
                if rule_type.tag == ACTOR_UNION:
                    message += ("\n\n\tPerhaps you meant to add an actor block to the top of your policy, like "
                                f"this:\n\n\t  actor {rule.tag} {{}}")
                else:
                    message += ("\n\n\tPerhaps you meant to add a resource block to your policy, like this:"
                                f"\n\n\t  resource {rule.tag} {{ .. }}")
                return message
        return None if fields_match(rule_type.fields, rule.fields) else _fields_mismatch(i, rule, rule_type)

    def _subclass(self, i: int, rule: PatternTerm, rule_type: PatternTerm) -> Optional[str]:
        tag = rule_type.tag
        assert tag is not None and rule.tag is not None
        constants = self._host.constants
        if tag not in constants:
            raise validation_error("UnregisteredClass", f"Unregistered class: {tag}")
        value = constants[tag]
        if type(value) in (bool, int, float, str, list, dict):  # a Polar value, not a host object
            return (f"Rule type specializer {tag} on parameter {i} should be a registered class, but instead "
                    f"it's registered as a constant with value: {_render_constant(value)}")
        if not self._host.is_class_name(rule.tag):
            return f"Rule specializer {rule.tag} on parameter {i} is not registered as a class."
        mro_classes = [self._host.get_class(name) for name in self._host.registered_mro(rule.tag)]
        if not any(value is cls for cls in mro_classes):
            return f"Rule specializer {rule.tag} on parameter {i} must match rule type specializer {tag}"
        return None if fields_match(rule_type.fields, rule.fields) else _fields_mismatch(i, rule, rule_type)


def _fields_mismatch(i: int, rule: PatternTerm, rule_type: PatternTerm) -> str:
    return (f"Rule specializer {rule} on parameter {i} did not match rule type specializer {rule_type} "
            "because the specializer fields did not match.")


_LITERAL_TAGS = {bool: "Boolean", int: "Integer", float: "Float", str: "String"}


def _same_literal(value: Value, want: _QuickTest) -> bool:
    """Is `want` a literal of the same type and value (so `terms_equal` holds)?"""
    return type(want) is Value and type(value.value) is type(want.value) and value.value == want.value


def _literal_instance(value: Node) -> PatternTerm:
    """The class pattern a literal parameter stands for when checked against a class type."""
    if isinstance(value, Value):
        return PatternTerm(_LITERAL_TAGS[type(value.value)], {})
    if isinstance(value, ListTerm):
        return PatternTerm("List", {})
    if isinstance(value, DictTerm):
        return PatternTerm("Dictionary", value.fields)
    raise OperationalError(f"Invalid state: Value variant {value} cannot be a specializer")


def _render_constant(value: object) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_render_constant(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_render_constant(value[k])}" for k in sorted(value)) + "}"
    return render_value(value)


# Term equality ---------------------------------------------------------------------------------

class _RestElement:
    """A rest variable as the last element of a list (how legacy stores it)."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name


def _elements(node: ListTerm) -> list[Union[Node, _RestElement]]:
    items: list[Union[Node, _RestElement]] = list(node.items)
    if node.rest is not None:
        items.append(_RestElement(node.rest.name))
    return items


def fields_match(type_fields: dict[str, Node], rule_fields: dict[str, Node]) -> bool:
    """Does every field of the rule type occur in the rule with an equal value?"""
    if not type_fields:
        return True
    return all(k in rule_fields and terms_equal(rule_fields[k], v) for k, v in type_fields.items())


def terms_equal(a: Union[Node, _RestElement], b: Union[Node, _RestElement]) -> bool:
    """Legacy's structural term equality (numbers by value: `1` equals `1.0`; positions ignored)."""
    if isinstance(a, Value) and isinstance(b, Value):
        ta, tb = type(a.value), type(b.value)
        if ta is bool or tb is bool or ta is str or tb is str:
            return ta is tb and a.value == b.value
        return a.value == b.value
    if isinstance(a, _RestElement) and isinstance(b, _RestElement):
        return a.name == b.name
    if isinstance(a, Sym) and isinstance(b, Sym):
        return a.name == b.name
    if isinstance(a, ListTerm) and isinstance(b, ListTerm):
        ea, eb = _elements(a), _elements(b)
        return len(ea) == len(eb) and all(terms_equal(x, y) for x, y in zip(ea, eb))
    if isinstance(a, PatternTerm) and isinstance(b, PatternTerm) and a.tag != b.tag:
        return False
    if (isinstance(a, DictTerm) and isinstance(b, DictTerm)) or (isinstance(a, PatternTerm)
                                                                 and isinstance(b, PatternTerm)):
        return a.fields.keys() == b.fields.keys() and all(terms_equal(a.fields[k], b.fields[k]) for k in a.fields)
    if isinstance(a, CallTerm) and isinstance(b, CallTerm):
        return (a.name == b.name and len(a.args) == len(b.args)
                and all(terms_equal(x, y) for x, y in zip(a.args, b.args))
                and fields_match(a.kwargs or {}, b.kwargs or {}) and (a.kwargs or {}).keys() == (b.kwargs or {}).keys())
    if isinstance(a, Op) and isinstance(b, Op):
        return a.op == b.op and len(a.args) == len(b.args) and all(terms_equal(x, y) for x, y in zip(a.args, b.args))
    return False
