"""Lints for Polar policies: problems that loading accepts but that make part of a policy useless.

Each lint reads the parsed policy (`PolicyIndex`) and yields `Diagnostic`s. The lints are meant
to be sound: they only report what is true of the policy text, never a guess (see
docs/policy-tooling.md for the table of codes). Loading-time problems are not found here; the
`check` command gets those from the loader itself (`oso_core.frontend.loader.diagnose_program`).
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from ..frontend.checks import children, misspelling_hint
from ..frontend.rule_types import UNIONS
from ..frontend.source import Span
from ..frontend.syntax import (
    CallTerm,
    Declaration,
    InlineQuery,
    Item,
    Name,
    Node,
    Op,
    PatternTerm,
    ResourceBlock,
    Rule,
    RuleType,
    ShorthandRule,
    Sym,
    Value,
)

ERROR, WARNING = "error", "warning"

# Rules the API queries itself: `Oso.is_allowed`/`authorize*` and resource blocks' generated rules.
ENTRY_POINTS = ("allow", "allow_request", "allow_field", "has_permission", "has_role", "has_relation")
_ALLOW_RULES = frozenset(("allow", "allow_request", "allow_field"))

ROLE, PERMISSION, RELATION = "role", "permission", "relation"
_KIND_OF_RULE = {"has_role": ROLE, "has_permission": PERMISSION, "has_relation": RELATION}
_RULE_OF_KIND = {kind: rule for rule, kind in _KIND_OF_RULE.items()}
_DECLARATION_KINDS = {"roles": ROLE, "permissions": PERMISSION, "relations": RELATION}


@dataclass(frozen=True)
class Diagnostic:
    """One problem found in a policy, located at a 1-based line and column of a file.

    `message` is a single line; `detail` is the full text when it has more (e.g. a loader
    error with its rule-type explanations), else empty.
    """

    file: str
    line: int
    column: int
    severity: str  # ERROR or WARNING
    code: str
    message: str
    detail: str = ""

    def format(self) -> str:
        """`FILE:LINE:COLUMN: severity: message [code]`, the form editors and CI tools parse."""
        return f"{self.file}:{self.line}:{self.column}: {self.severity}: {self.message} [{self.code}]"

    def to_json(self) -> dict:
        return {"file": self.file, "line": self.line, "column": self.column, "severity": self.severity,
                "code": self.code, "message": self.message, "detail": self.detail}

    def sort_key(self) -> tuple:
        return (self.file, self.line, self.column, self.severity != ERROR, self.code, self.message)


def span_location(span: Span | None, fallback: tuple[str, int, int]) -> tuple[str, int, int]:
    """(file, line, column) of a span, or `fallback` when it has none or its source is unnamed."""
    if span is None or span.source.filename is None:
        return fallback
    line, column = span.source.line_col(span.start)
    return span.source.filename, line, column


# The parsed policy --------------------------------------------------------------------------------

class PolicyIndex:
    """The items of all sources of one load, sorted by kind, plus what resource blocks declare."""

    def __init__(self, items: Iterable[Item]) -> None:
        self.rules: list[Rule] = []
        self.rule_types: list[RuleType] = []
        self.inline_queries: list[InlineQuery] = []
        self.blocks: list[ResourceBlock] = []
        for item in items:
            if isinstance(item, Rule):
                self.rules.append(item)
            elif isinstance(item, RuleType):
                self.rule_types.append(item)
            elif isinstance(item, InlineQuery):
                self.inline_queries.append(item)
            elif isinstance(item, ResourceBlock):
                self.blocks.append(item)
        # resource -> declared name -> (kind, relation type or None); merged over repeated blocks
        self.declared: dict[str, dict[str, tuple[str, str | None]]] = {}
        # every declaration, in source order: (resource, kind, name term)
        self.declarations: list[tuple[str, str, Name]] = []
        for block in self.blocks:
            resource = block.resource.value
            table = self.declared.setdefault(resource, {})
            for production in block.productions:
                if not isinstance(production, Declaration):
                    continue
                kind = _DECLARATION_KINDS.get(production.name.value)
                value = production.value
                # Malformed declarations are the loader's errors; lints skip them.
                if kind == RELATION and isinstance(value, dict):
                    for key, type_name in value.items():
                        table.setdefault(key.value, (kind, type_name.value))
                        self.declarations.append((resource, kind, key))
                elif kind in (ROLE, PERMISSION) and isinstance(value, list):
                    for term in value:
                        table.setdefault(term.value, (kind, None))
                        self.declarations.append((resource, kind, term))

    def shorthand_rules(self) -> Iterator[tuple[str, ShorthandRule]]:
        for block in self.blocks:
            for production in block.productions:
                if isinstance(production, ShorthandRule):
                    yield block.resource.value, production

    def declared_names(self, kind: str) -> set[str]:
        """Every name declared as `kind` in any block."""
        return {name for table in self.declared.values() for name, (k, _) in table.items() if k == kind}

    def defined_arities(self) -> dict[str, set[int]]:
        """By rule name, the arities of the written rules and of the rules shorthand rules generate."""
        arities: dict[str, set[int]] = {}
        for rule in self.rules:
            arities.setdefault(rule.name, set()).add(len(rule.params))
        for resource, shorthand in self.shorthand_rules():
            declared = self.declared.get(resource, {}).get(shorthand.head.value)
            if declared is not None:
                arities.setdefault(_RULE_OF_KIND[declared[0]], set()).add(3)
        return arities


def rule_calls(node: Node) -> Iterator[CallTerm]:
    """The rule calls in a term: call terms outside method calls/lookups (`.`) and `new`."""
    if isinstance(node, Op) and node.op in ("Dot", "New"):
        return
    if isinstance(node, CallTerm):
        yield node
    for child in children(node):
        yield from rule_calls(child)


def _walk(node: Node) -> Iterator[Node]:
    yield node
    for child in children(node):
        yield from _walk(child)


def _rule_nodes(rule: Rule | RuleType) -> Iterator[Node]:
    """Every term of a rule or rule type: parameters, specializers, then the body."""
    for param in rule.params:
        yield from _walk(param.term)
        if param.specializer is not None:
            yield from _walk(param.specializer)
    if isinstance(rule, Rule):
        yield from _walk(rule.body)


def _string_literals(index: PolicyIndex) -> set[str]:
    """Every string literal in written rules and inline queries."""
    found: set[str] = set()
    nodes: list[Iterable[Node]] = [_rule_nodes(rule) for rule in index.rules]
    nodes += [_walk(query.term) for query in index.inline_queries]
    for group in nodes:
        for node in group:
            if isinstance(node, Value) and isinstance(node.value, str):
                found.add(node.value)
    return found


def _quoted(name: str) -> str:
    return f'"{name}"'


# Lints ------------------------------------------------------------------------------------------

def lint_declarations(index: PolicyIndex, fallback: tuple[str, int, int]) -> Iterator[Diagnostic]:
    """`unused-declaration`: a declared role/permission/relation no shorthand rule or rule mentions;
    `undeclared-name`: a string literal naming a role/permission/relation in a `has_role`,
    `has_permission` or `has_relation` call (or written rule head) that no block declares."""
    literals = _string_literals(index)
    used: set[tuple[str, str]] = set()  # (resource, name) mentioned by shorthand rules
    used_anywhere: set[str] = set()     # names whose resource could not be resolved
    for resource, shorthand in index.shorthand_rules():
        table = index.declared.get(resource, {})
        used.add((resource, shorthand.head.value))
        if shorthand.relation is None:
            used.add((resource, shorthand.implier.value))
        else:
            used.add((resource, shorthand.relation.value))
            relation = table.get(shorthand.relation.value)
            if relation is not None and relation[1] is not None:
                used.add((relation[1], shorthand.implier.value))
            else:
                used_anywhere.add(shorthand.implier.value)
    # A written has_permission rule whose permission is not a literal may grant any permission
    # of the resources it covers ("*" = any resource: no specializer, or a union).
    granted_by_variable: set[str] = set()
    for rule in index.rules:
        if rule.name == "has_permission" and len(rule.params) == 3 and not _literal_param(rule, 1):
            spec = rule.params[2].specializer
            tag = spec.tag if isinstance(spec, PatternTerm) and spec.tag else None
            granted_by_variable.add("*" if tag is None or tag in UNIONS else tag)

    for resource, kind, term in index.declarations:
        name = term.value
        if (resource, name) in used or name in used_anywhere or name in literals:
            continue
        if kind == PERMISSION and ("*" in granted_by_variable or resource in granted_by_variable):
            continue
        file, line, column = span_location(term.span, fallback)
        yield Diagnostic(file, line, column, WARNING, "unused-declaration",
                         f"{kind} {_quoted(name)} is declared in resource {resource} but no shorthand rule "
                         "or rule mentions it")

    yield from _undeclared(index, fallback)


def _literal_param(rule: Rule, i: int) -> str | None:
    """The string a rule's i-th parameter is, if it is a string literal."""
    param = rule.params[i]
    for node in (param.term, param.specializer):
        if isinstance(node, Value) and isinstance(node.value, str):
            return node.value
    return None


def _undeclared(index: PolicyIndex, fallback: tuple[str, int, int]) -> Iterator[Diagnostic]:
    head_literals: dict[str, set[str]] = {}
    heads: list[tuple[Rule, str, Node]] = []
    for rule in index.rules:
        if rule.name in _KIND_OF_RULE and len(rule.params) == 3:
            literal = _literal_param(rule, 1)
            if literal is not None:
                head_literals.setdefault(rule.name, set()).add(literal)
                node = rule.params[1].term if isinstance(rule.params[1].term, Value) else rule.params[1].specializer
                assert node is not None
                heads.append((rule, literal, node))
    calls: list[CallTerm] = []
    for rule in index.rules:
        calls += [c for c in rule_calls(rule.body) if c.name in _KIND_OF_RULE and len(c.args) == 3]
    call_literals: dict[str, set[str]] = {}
    for call in calls:
        arg = call.args[1]
        if isinstance(arg, Value) and isinstance(arg.value, str):
            call_literals.setdefault(call.name, set()).add(arg.value)

    for call in calls:
        arg = call.args[1]
        if not (isinstance(arg, Value) and isinstance(arg.value, str)):
            continue
        kind = _KIND_OF_RULE[call.name]
        declared = index.declared_names(kind)
        # Only a policy that declares names of this kind says which names exist; a literal a
        # written rule head matches is defined there.
        if not declared or arg.value in declared or arg.value in head_literals.get(call.name, ()):
            continue
        file, line, column = span_location(arg.span, fallback)
        yield Diagnostic(file, line, column, WARNING, "undeclared-name",
                         f"{kind} {_quoted(arg.value)} is not declared in any resource block{_suggest(arg.value, declared)}")

    for rule, literal, node in heads:
        kind = _KIND_OF_RULE[rule.name]
        spec = rule.params[2].specializer
        resource = spec.tag if isinstance(spec, PatternTerm) else None
        table = index.declared.get(resource or "")
        if not table or literal in call_literals.get(rule.name, ()):
            continue
        declared = {name for name, (k, _) in table.items() if k == kind}
        if not declared or literal in declared:
            continue
        file, line, column = span_location(node.span, fallback)
        yield Diagnostic(file, line, column, WARNING, "undeclared-name",
                         f"{kind} {_quoted(literal)} is not declared in resource {resource}{_suggest(literal, declared)}")


def _suggest(name: str, candidates: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, sorted(candidates), n=1)
    return f"; did you mean {_quoted(close[0])}?" if close else ""


def lint_calls(index: PolicyIndex, fallback: tuple[str, int, int]) -> Iterator[Diagnostic]:
    """`wrong-arity`: a call to a rule that exists, but with no rule of that many arguments (the
    call always fails); `undefined-rule` in inline queries, which loading runs (and then fails)."""
    arities = index.defined_arities()
    for rule in index.rules:
        for call in rule_calls(rule.body):
            defined = arities.get(call.name)
            if defined and len(call.args) not in defined:
                file, line, column = span_location(call.span, fallback)
                yield Diagnostic(file, line, column, WARNING, "wrong-arity",
                                 f"no {call.name} rule takes {len(call.args)} argument(s) "
                                 f"(defined: {_arities(call.name, defined)}): this call always fails")
    for query in index.inline_queries:
        for call in rule_calls(query.term):
            defined = arities.get(call.name)
            file, line, column = span_location(call.span, fallback)
            if not defined:
                yield Diagnostic(file, line, column, ERROR, "undefined-rule",
                                 f"inline query calls undefined rule {call.name}: loading the policy fails")
            elif len(call.args) not in defined:
                yield Diagnostic(file, line, column, ERROR, "wrong-arity",
                                 f"inline query calls {call.name} with {len(call.args)} argument(s) "
                                 f"(defined: {_arities(call.name, defined)}): loading the policy fails")


def _arities(name: str, arities: set[int]) -> str:
    return ", ".join(f"{name}/{n}" for n in sorted(arities))


def lint_reachability(index: PolicyIndex, fallback: tuple[str, int, int],
                      entry_points: Iterable[str] = ()) -> Iterator[Diagnostic]:
    """`unreachable-rule`: in a policy with an `allow`, `allow_field` or `allow_request` rule, a
    rule no entry point, declared rule type, inline query or `entry_points` name leads to.

    Only such authorization policies are linted: elsewhere the application may query any rule.
    """
    names = {rule.name for rule in index.rules}
    if not names & _ALLOW_RULES:
        return
    callees: dict[str, set[str]] = {}
    for rule in index.rules:
        callees.setdefault(rule.name, set()).update(call.name for call in rule_calls(rule.body))
    roots = set(ENTRY_POINTS) | set(entry_points) | {t.name for t in index.rule_types}
    for query in index.inline_queries:
        roots.update(call.name for call in rule_calls(query.term))
    reached: set[str] = set()
    stack = list(roots)
    while stack:
        name = stack.pop()
        if name not in reached:
            reached.add(name)
            stack.extend(callees.get(name, ()))
    reported: set[str] = set()
    for rule in index.rules:
        if rule.name in reached or rule.name in reported:
            continue
        reported.add(rule.name)
        file, line, column = span_location(rule.span, fallback)
        yield Diagnostic(file, line, column, WARNING, "unreachable-rule",
                         f"rule {rule.name} is not called by allow/allow_field/allow_request, resource-block "
                         f"rules or any rule they call; if the application queries it, pass --entry-point "
                         f"{rule.name}")


def lint_contradictions(index: PolicyIndex, fallback: tuple[str, int, int],
                        constants: Iterable[str] = ()) -> Iterator[Diagnostic]:
    """`contradiction`: a rule whose body has a condition that is false whatever the arguments
    (`false`, `1 = 2`, `"a" == "b"`, `1 > 2`, `x = 1 and x = 2`), so the rule never succeeds."""
    constant_names = set(constants)
    for rule in index.rules:
        bound: dict[str, Value] = {}  # variable -> literal a top-level goal equated it with
        for goal in _conjuncts(rule.body):
            if _always_false(goal):
                reason = "is always false"
            else:
                reason = _conflict(goal, bound, constant_names)
                if reason is None:
                    continue
            file, line, column = span_location(goal.span or rule.span, fallback)
            yield Diagnostic(file, line, column, WARNING, "contradiction",
                             f"condition `{goal}` {reason}, so rule {rule.name}/{len(rule.params)} never succeeds")
            break  # one per rule: the rest of the body is unreachable anyway


def _conjuncts(node: Node) -> Iterator[Node]:
    if isinstance(node, Op) and node.op == "And":
        for arg in node.args:
            yield from _conjuncts(arg)
    else:
        yield node


def _number(node: Node) -> int | float | None:
    if isinstance(node, Value) and type(node.value) in (int, float) and not (
            isinstance(node.value, float) and math.isnan(node.value)):
        return node.value  # type: ignore[return-value]
    return None


def _same_literal(a: Node, b: Node) -> bool | None:
    """Do two literals denote equal values? None when that is not certain statically."""
    if not (isinstance(a, Value) and isinstance(b, Value)):
        return None
    x, y = _number(a), _number(b)
    if x is not None and y is not None:
        return x == y
    ta, tb = type(a.value), type(b.value)
    if ta is str or tb is str:  # a string never equals a non-string
        return ta is tb and a.value == b.value
    if ta is bool and tb is bool:
        return a.value == b.value
    return None


_COMPARISONS = {"Lt": lambda x, y: x < y, "Leq": lambda x, y: x <= y,
                "Gt": lambda x, y: x > y, "Geq": lambda x, y: x >= y}


def _always_false(goal: Node) -> bool:
    if isinstance(goal, Value):
        return goal.value is False
    if not isinstance(goal, Op):
        return False
    if goal.op == "Not" and len(goal.args) == 1:
        arg = goal.args[0]
        return isinstance(arg, Value) and arg.value is True
    if len(goal.args) != 2:
        return False
    a, b = goal.args
    if goal.op in ("Unify", "Eq"):
        return _same_literal(a, b) is False
    if goal.op == "Neq":
        return _same_literal(a, b) is True
    compare = _COMPARISONS.get(goal.op)
    if compare is not None:
        x, y = _number(a), _number(b)
        return x is not None and y is not None and not compare(x, y)
    return False


def _conflict(goal: Node, bound: dict[str, Value], constants: set[str]) -> str | None:
    """For `x = literal` (or `==`): why it contradicts an earlier top-level goal, else None
    (recording the literal)."""
    if not (isinstance(goal, Op) and goal.op in ("Unify", "Eq") and len(goal.args) == 2):
        return None
    a, b = goal.args
    if isinstance(b, Sym):
        a, b = b, a
    if not (isinstance(a, Sym) and isinstance(b, Value)) or a.name == "_" or a.name in constants:
        return None
    earlier = bound.get(a.name)
    if earlier is None:
        bound[a.name] = b
        return None
    if _same_literal(earlier, b) is False:
        return f"contradicts `{a.name}` = {earlier} earlier in the body"
    return None


def lint_unknown_classes(index: PolicyIndex, fallback: tuple[str, int, int], is_class: Callable[[str], bool],
                         skip: Iterable[tuple[str, int, int]] = ()) -> Iterator[Diagnostic]:
    """`unknown-class`: a specializer, `matches` pattern or `new` naming no registered class.

    A value never matches such a pattern (querying it raises `UnregisteredClassError`), and
    `new` of it fails. `skip`: locations already reported (by the loader's `Unknown specializer`).
    """
    skipped = set(skip)
    items: list[Rule | RuleType] = [*index.rules, *index.rule_types]
    for item in items:
        for node in _rule_nodes(item):
            name: str | None = None
            span = node.span
            if isinstance(node, PatternTerm) and node.tag is not None and node.tag not in UNIONS:
                name = node.tag
                what = "a value never matches this pattern"
            elif isinstance(node, Op) and node.op == "New" and node.args and isinstance(node.args[0], CallTerm):
                name = node.args[0].name
                span = node.args[0].span or span
                what = "`new` fails"
            if name is None or is_class(name):
                continue
            where = span_location(span, fallback)
            if where in skipped:
                continue
            skipped.add(where)
            hint = misspelling_hint(name)
            suffix = f"; did you mean {hint}?" if hint else ""
            yield Diagnostic(*where, WARNING, "unknown-class",
                             f"class {name} is not registered: {what}{suffix}")

