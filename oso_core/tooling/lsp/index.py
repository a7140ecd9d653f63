"""What the names of a policy refer to: every occurrence of a rule, role, permission, relation
or class in a group of documents loaded together, with its range and whether it defines it.

Role, permission and relation names are resolved to the resource that declares them:
in a block, a shorthand rule's names belong to the block (the implier of `... on "relation"`
to the relation's type); in rules, the literal of `has_role(actor, "admin", repo: Repo)` (or
of a call whose resource argument is a head parameter specialized on `Repo`) to that resource.
A literal whose resource cannot be told statically matches that name in every resource.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from ...frontend.checks import walk
from ...frontend.rule_types import UNIONS
from ...frontend.source import Span
from ...frontend.syntax import (
    CallTerm,
    Declaration,
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
from ..lint import PERMISSION, RELATION, ROLE, PolicyIndex, rule_calls
from .documents import Document

RULE, CLASS = "rule", "class"
DECLARED_KINDS = (ROLE, PERMISSION, RELATION)
_KIND_OF_RULE = {"has_role": ROLE, "has_permission": PERMISSION, "has_relation": RELATION}

DEFINITION, DECLARATION, REFERENCE = "definition", "declaration", "reference"


@dataclass(frozen=True)
class Symbol:
    """What a name refers to; `resource` is the declaring resource of a role/permission/relation
    (None: not known statically) and None for rules and classes."""

    kind: str
    name: str
    resource: str | None = None

    def matches(self, other: "Symbol") -> bool:
        return (self.kind == other.kind and self.name == other.name
                and (self.resource is None or other.resource is None or self.resource == other.resource))


@dataclass(frozen=True)
class Occurrence:
    """A name in a document: `start`/`end` are offsets of the name itself (inside the quotes of
    a string), `use` is DEFINITION (rule heads, role/permission/relation declarations),
    DECLARATION (rule types, resource-block headers of classes) or REFERENCE."""

    uri: str
    start: int
    end: int
    symbol: Symbol
    use: str

    def contains(self, offset: int, quoted: bool) -> bool:
        margin = 1 if quoted else 0  # a cursor on a quote is on the string
        return self.start - margin <= offset <= self.end + margin


class PolicyGroupIndex:
    """The occurrences in documents loaded together, and the parsed policy (`policy`)."""

    def __init__(self, documents: list[Document]) -> None:
        self.documents = {d.uri: d for d in documents}
        self._uri_of_source: dict[int, str] = {id(d.source): d.uri for d in documents}
        self.policy = PolicyIndex(item for d in documents for item in d.items)
        self.occurrences: list[Occurrence] = []
        for block in self.policy.blocks:
            self._block(block)
        for rule in self.policy.rules:
            self._rule(rule)
        for rule_type in self.policy.rule_types:
            self._head(rule_type, DECLARATION)
            self._params(rule_type)
        for query in self.policy.inline_queries:
            self._body(query.term, {})

    # Queries ----------------------------------------------------------------------------------------

    def at(self, uri: str, offset: int) -> Occurrence | None:
        """The occurrence under the cursor (the innermost, when names touch)."""
        found = [o for o in self.occurrences if o.uri == uri and o.contains(offset, o.symbol.kind in DECLARED_KINDS)]
        exact = [o for o in found if o.start <= offset <= o.end]
        candidates = exact or found
        return min(candidates, key=lambda o: o.end - o.start) if candidates else None

    def of(self, symbol: Symbol) -> list[Occurrence]:
        return [o for o in self.occurrences if o.symbol.matches(symbol)]

    def uri_of(self, span: Span | None) -> str | None:
        return None if span is None else self._uri_of_source.get(id(span.source))

    def kind_in(self, resource: str | None, name: str) -> str | None:
        """Is `name` a role, permission or relation of `resource`?"""
        declared = self.policy.declared.get(resource or "", {}).get(name)
        return declared[0] if declared else None

    def relation_type(self, resource: str, relation: str) -> str | None:
        declared = self.policy.declared.get(resource, {}).get(relation)
        return declared[1] if declared else None

    # Collecting ---------------------------------------------------------------------------------------

    def _add(self, span: Span | None, symbol: Symbol, use: str, length: int | None = None, quoted: bool = False) -> None:
        uri = self.uri_of(span)
        if uri is None or span is None:
            return
        start, end = span.start, span.end
        if quoted:
            start, end = start + 1, end - 1
        elif length is not None:
            end = start + length
        self.occurrences.append(Occurrence(uri, start, end, symbol, use))

    def _name(self, name: Name | None, kind: str | None, resource: str | None, use: str) -> None:
        if name is not None and kind is not None:
            self._add(name.span, Symbol(kind, name.value, resource), use, quoted=True)

    def _block(self, block: ResourceBlock) -> None:
        resource = block.resource.value
        self._add(block.resource.span, Symbol(CLASS, resource), DECLARATION)
        for production in block.productions:
            if isinstance(production, Declaration):
                kind = {"roles": ROLE, "permissions": PERMISSION, "relations": RELATION}.get(production.name.value)
                if kind == RELATION and isinstance(production.value, dict):
                    for key, type_name in production.value.items():
                        self._add(key.span, Symbol(RELATION, key.value, resource), DEFINITION)
                        self._add(type_name.span, Symbol(CLASS, type_name.value), REFERENCE)
                elif kind is not None and isinstance(production.value, list):
                    for term in production.value:
                        self._name(term, kind, resource, DEFINITION)
            elif isinstance(production, ShorthandRule):
                self._shorthand(resource, production)

    def _shorthand(self, resource: str, rule: ShorthandRule) -> None:
        self._name(rule.head, self.kind_in(resource, rule.head.value), resource, REFERENCE)
        if rule.relation is None:
            self._name(rule.implier, self.kind_in(resource, rule.implier.value), resource, REFERENCE)
            return
        self._name(rule.relation, RELATION, resource, REFERENCE)
        related = self.relation_type(resource, rule.relation.value)
        if related is not None:
            self._name(rule.implier, self.kind_in(related, rule.implier.value), related, REFERENCE)

    def _head(self, rule: Rule | RuleType, use: str) -> None:
        if rule.span is not None and rule.span.text.startswith(rule.name):
            self._add(rule.span, Symbol(RULE, rule.name), use, length=len(rule.name))

    def _params(self, rule: Rule | RuleType) -> dict[str, str]:
        """Collect the parameters' class names; returns variable -> specializer class."""
        specialized: dict[str, str] = {}
        for param in rule.params:
            self._terms(param.term)
            if param.specializer is not None:
                self._terms(param.specializer)
                spec = param.specializer
                if isinstance(param.term, Sym) and isinstance(spec, PatternTerm) and spec.tag is not None:
                    specialized[param.term.name] = spec.tag
        return specialized

    def _rule(self, rule: Rule) -> None:
        self._head(rule, DEFINITION)
        specialized = self._params(rule)
        kind = _KIND_OF_RULE.get(rule.name)
        if kind is not None and len(rule.params) == 3:
            literal = next((n for n in (rule.params[1].term, rule.params[1].specializer)
                            if isinstance(n, Value) and isinstance(n.value, str)), None)
            spec = rule.params[2].specializer
            resource = spec.tag if isinstance(spec, PatternTerm) and spec.tag not in UNIONS else None
            if literal is not None:
                self._literal(literal, kind, resource)
        self._body(rule.body, specialized)

    def _literal(self, value: Value, kind: str, resource: str | None) -> None:
        if resource is not None and self.kind_in(resource, str(value.value)) != kind:
            resource = None  # not declared there: the lints say so; match it by name
        self._add(value.span, Symbol(kind, str(value.value), resource), REFERENCE, quoted=True)

    def _body(self, body: Node, specialized: dict[str, str]) -> None:
        for call in rule_calls(body):
            self._add(call.span, Symbol(RULE, call.name), REFERENCE, length=len(call.name))
            kind = _KIND_OF_RULE.get(call.name)
            if kind is not None and len(call.args) == 3:
                literal, target = call.args[1], call.args[2]
                if isinstance(literal, Value) and isinstance(literal.value, str):
                    resource = specialized.get(target.name) if isinstance(target, Sym) else None
                    self._literal(literal, kind, resource)
        self._terms(body)

    def _terms(self, root: Node) -> None:
        for node in walk(root):
            for name, span in _class_names(node):
                self._add(span, Symbol(CLASS, name), REFERENCE, length=len(name))


def _class_names(node: Node) -> Iterator[tuple[str, Span | None]]:
    """Class names a term mentions directly: pattern tags, `new` classes, `Class.attr` receivers."""
    if isinstance(node, PatternTerm) and node.tag is not None:
        yield node.tag, node.span
    elif isinstance(node, Op) and node.op == "New" and node.args and isinstance(node.args[0], CallTerm):
        yield node.args[0].name, node.args[0].span
    elif (isinstance(node, Op) and node.op == "Dot" and isinstance(node.args[0], Sym)
          and node.args[0].name[:1].isupper()):
        yield node.args[0].name, node.args[0].span


def spans(documents: list[Document]) -> dict[str, dict[int, int]]:
    """By document URI: for each offset where a node or name starts, the end of the smallest one
    (how a diagnostic reported at a start position gets its exact range)."""
    ends: dict[str, dict[int, int]] = {d.uri: {} for d in documents}
    uri_of: dict[int, str] = {id(d.source): d.uri for d in documents}

    def note(span: Span | None) -> None:
        if span is None:
            return
        table = ends.get(uri_of.get(id(span.source), ""))
        if table is not None and span.end > span.start:
            known = table.get(span.start)
            table[span.start] = span.end if known is None else min(known, span.end)

    for document in documents:
        for item in document.items:
            note(item.span)
            if isinstance(item, ResourceBlock):
                note(item.resource.span)
                for production in item.productions:
                    note(production.span)
                    for name in _production_names(production):
                        note(name.span)
            elif isinstance(item, (Rule, RuleType)):
                for param in item.params:
                    for root in (param.term, param.specializer):
                        if root is not None:
                            for node in walk(root):
                                note(node.span)
                if isinstance(item, Rule):
                    for node in walk(item.body):
                        note(node.span)
            else:
                for node in walk(item.term):
                    note(node.span)
    return ends


def _production_names(production: Declaration | ShorthandRule) -> list[Name]:
    if isinstance(production, ShorthandRule):
        return [n for n in (production.head, production.implier, production.on, production.relation) if n]
    names = [production.name]
    if isinstance(production.value, dict):
        for key, value in production.value.items():
            names += [key, value]
    elif isinstance(production.value, list):
        names += production.value
    return names

