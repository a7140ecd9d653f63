"""Hover: a rule's types and definitions, a role's or permission's declaration and what grants
it / what it grants, a relation's type, a class's registered fields (Markdown)."""

from __future__ import annotations

import os

from lsprotocol import types

from ...frontend.rule_types import default_rule_types
from ...frontend.source import Span
from ...frontend.syntax import PatternTerm, Rule, RuleType
from ...host import new_host
from ..lint import PERMISSION, RELATION, ROLE
from .classes import ClassInfo
from .index import CLASS, DEFINITION, RULE, PolicyGroupIndex, Symbol

_LISTED = 10  # definitions listed in full; the rest are counted


def _where(span: Span | None) -> str:
    if span is None:
        return ""
    line, column = span.source.line_col(span.start)
    return f"{os.path.basename(span.source.filename or '<policy>')}:{line}:{column}"


def _signature(rule: Rule | RuleType) -> str:
    """`name(x: Class, "literal", y)`: the head as written (legacy's rendering adds `{}` to classes)."""
    params = []
    for param in rule.params:
        spec = param.specializer
        if spec is None:
            params.append(str(param.term))
        elif isinstance(spec, PatternTerm) and spec.tag is not None and not spec.fields:
            params.append(f"{param.term}: {spec.tag}")
        else:
            params.append(f"{param.term}: {spec}")
    return f"{rule.name}({', '.join(params)})"


def _code(lines: list[str]) -> str:
    return "```polar\n" + "\n".join(lines) + "\n```"


def _rule(index: PolicyGroupIndex, name: str) -> str:
    declared = [t for t in index.policy.rule_types if t.name == name]
    builtin = [] if declared else default_rule_types().get(name, [])
    parts = [f"**rule** `{name}`"]
    if declared or builtin:
        parts.append(_code([f"type {_signature(t)};" for t in declared + builtin])
                     + ("\n\n(built-in rule type)" if builtin else ""))
    rules = [r for r in index.policy.rules if r.name == name]
    if rules:
        lines = [f"{_signature(r)}  # {_where(r.span)}" for r in rules[:_LISTED]]
        parts.append(f"{len(rules)} definition(s):\n\n" + _code(lines)
                     + (f"\n\nand {len(rules) - _LISTED} more" if len(rules) > _LISTED else ""))
    shorthand = {"has_role": ROLE, "has_permission": PERMISSION, "has_relation": RELATION}.get(name)
    if shorthand is not None:
        generated = sum(1 for resource, rule in index.policy.shorthand_rules()
                        if index.kind_in(resource, rule.head.value) == shorthand)
        if generated:
            parts.append(f"plus {generated} shorthand rule(s) in resource blocks")
    if len(parts) == 1:
        parts.append("not defined in this policy")
    return "\n\n".join(parts)


def _shorthand_lines(index: PolicyGroupIndex, symbol: Symbol, as_head: bool) -> list[str]:
    """The shorthand rules with `symbol` as their head (as_head) or as their implier."""
    lines = []
    for resource, rule in index.policy.shorthand_rules():
        if as_head:
            hit = resource == symbol.resource and rule.head.value == symbol.name
        else:
            owner = resource if rule.relation is None else index.relation_type(resource, rule.relation.value)
            hit = owner == symbol.resource and rule.implier.value == symbol.name
        if hit and rule.span is not None:
            lines.append(f"{resource}: {rule.span.text}  # {_where(rule.span)}")
    return lines


def _declared(index: PolicyGroupIndex, symbol: Symbol) -> str:
    definitions = [o for o in index.of(symbol) if o.use == DEFINITION]
    resources = sorted({o.symbol.resource for o in definitions if o.symbol.resource})
    where = ", ".join(resources) if resources else "no resource block"
    parts = [f'**{symbol.kind}** `"{symbol.name}"` of {where}']
    if symbol.kind == RELATION:
        for resource in resources:
            parts.append(f"`{resource}.{symbol.name}`: {index.relation_type(resource, symbol.name)}")
        return "\n\n".join(parts)
    for resource in resources if symbol.resource is None else [symbol.resource]:
        resolved = Symbol(symbol.kind, symbol.name, resource)
        granted_by = _shorthand_lines(index, resolved, as_head=True)
        grants = _shorthand_lines(index, resolved, as_head=False)
        if granted_by:
            parts.append(f"granted by ({resource}):\n\n" + _code(granted_by))
        if grants:
            parts.append(f"grants ({resource}):\n\n" + _code(grants))
    if symbol.kind == ROLE:
        rules = [r for r in index.policy.rules if r.name == "has_role"]
        if rules:
            parts.append("assigned by:\n\n" + _code([f"{_signature(r)}  # {_where(r.span)}" for r in rules[:_LISTED]]))
    return "\n\n".join(parts)


def _class(index: PolicyGroupIndex, name: str, info: ClassInfo | None) -> str:
    parts = [f"**class** `{name}`"]
    blocks = [b for b in index.policy.blocks if b.resource.value == name]
    for block in blocks:
        keyword = block.keyword.value if block.keyword else "block"
        parts.append(f"{keyword} block at {_where(block.span)}")
    if info is None and name in new_host().constants:
        parts.append("built-in class")
        return "\n\n".join(parts)
    if info is None:
        parts.append("not a registered class of the configured modules"
                     " (see the `modules` / `oso` settings in docs/editors.md)")
        return "\n\n".join(parts)
    parts.append(f"`{info.qualname}`" + (f" ({os.path.basename(info.file)}:{info.line})" if info.file else ""))
    if info.signature is not None:
        parts.append(f"```python\n{name}{info.signature}\n```")
    if info.fields:
        parts.append("registered fields:\n\n" + "\n".join(f"- `{k}`: {v}" for k, v in info.fields.items()))
    if info.annotations:
        parts.append("attributes:\n\n" + "\n".join(f"- `{k}`: {v}" for k, v in info.annotations.items()))
    if info.doc:
        parts.append(info.doc)
    return "\n\n".join(parts)


def hover(index: PolicyGroupIndex, uri: str, offset: int, classes: dict[str, ClassInfo]) -> types.Hover | None:
    """The hover text for the name under the cursor, or None."""
    occurrence = index.at(uri, offset)
    if occurrence is None:
        return None
    symbol = occurrence.symbol
    if symbol.kind == RULE:
        text = _rule(index, symbol.name)
    elif symbol.kind == CLASS:
        text = _class(index, symbol.name, classes.get(symbol.name))
    else:
        text = _declared(index, symbol)
    document = index.documents[uri]
    return types.Hover(contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value=text),
                       range=document.lines.range(occurrence.start, occurrence.end))
