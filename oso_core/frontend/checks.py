"""Per-rule and whole-policy checks: singletons, unknown specializers, ambiguous `and`/`or`,
calls to undefined rules, and the two policy-level warnings.
"""

from __future__ import annotations

from typing import Iterable, Iterator, Optional

from ..exceptions import OsoError
from ..host import BUILTIN_SPECIALIZERS, Host
from .diagnostics import Diagnostics, context, validation_error
from .syntax import CallTerm, DictTerm, ListTerm, Node, Op, PatternTerm, Rule, Sym

# Legacy's hint for specializer names that look like a type from another language.
_MISSPELLINGS = {
    **dict.fromkeys(("integer", "int", "i32", "i64", "u32", "u64", "usize", "size_t"), "Integer"),
    **dict.fromkeys(("float", "f32", "f64", "double"), "Float"),
    **dict.fromkeys(("char", "str", "string"), "String"),
    **dict.fromkeys(("list", "array", "Array"), "List"),
    **dict.fromkeys(("dict", "Dict", "dictionary", "hash", "Hash", "map", "Map", "HashMap", "hashmap",
                     "hash_map"), "Dictionary"),
}

AMBIGUOUS_PRECEDENCE_WARNING = (
    "Expression without parentheses could be ambiguous.\n"
    "Prior to 0.20, `x and y or z` would parse as `x and (y or z)`.\n"
    "As of 0.20, it parses as `(x and y) or z`, matching other languages."
)

NO_ALLOW_WARNING = (
    "Your policy does not contain an allow rule, which usually means\n"
    "that no actions are allowed. Did you mean to add an allow rule to\n"
    "the top of your policy?\n"
    "\n"
    "  allow(actor, action, resource) if ...\n"
    "\n"
    "You can also suppress this warning by adding an allow_field or allow_request\n"
    "rule. For more information about allow rules, see:\n"
    "\n"
    "  https://docs.osohq.com/reference/polar/builtin_rule_types.html#allow"
)

MISSING_HAS_PERMISSION_WARNING = (
    "Warning: your policy uses resource blocks but does not call the\n"
    "has_permission rule. This means that permissions you define in a\n"
    "resource block will not have any effect. Did you mean to include a\n"
    "call to has_permission in a top-level allow rule?\n"
    "\n"
    "  allow(actor, action, resource) if\n"
    "      has_permission(actor, action, resource);\n"
    "\n"
    "For more information about resource blocks, see "
    "https://docs.osohq.com/any/reference/polar/polar-syntax.html#actor-and-resource-blocks"
)


# Traversal ---------------------------------------------------------------------------------

def children(node: Node) -> list[Node]:
    """The direct sub-terms of a term, in source order."""
    if isinstance(node, Op):
        return node.args
    if isinstance(node, CallTerm):
        return node.args + list(node.kwargs.values()) if node.kwargs else node.args
    if isinstance(node, ListTerm):
        return node.items + [node.rest] if node.rest is not None else node.items
    if isinstance(node, (DictTerm, PatternTerm)):
        return list(node.fields.values())
    return []


def rule_terms(rule: Rule) -> Iterator[Node]:
    """The top-level terms of a rule: each parameter (term, then specializer), then the body."""
    for param in rule.params:
        yield param.term
        if param.specializer is not None:
            yield param.specializer
    yield rule.body


def walk(node: Node) -> Iterator[Node]:
    """Every term in a term, pre-order."""
    stack = [node]
    while stack:
        n = stack.pop()
        yield n
        stack.extend(reversed(children(n)))


# Singletons and unknown specializers -------------------------------------------------------------

# name -> (its only occurrence so far, whether it is a rest variable), or None once seen twice
_Seen = dict[str, Optional[tuple[Node, bool]]]


def check_singletons(rule: Rule, host: Host, diagnostics: Diagnostics) -> None:
    """Singleton variables (errors) and unknown specializers (warnings), by position in the rule.

    A name counts once per occurrence as a variable, a rest variable or an instance-pattern tag;
    names starting with `_`, containing `::`, registered constants and the unions are exempt.
    """
    first: _Seen = {}
    for top in rule_terms(rule):
        _count_names(top, first, host)
    singles = [entry for entry in first.values() if entry is not None]
    singles.sort(key=lambda entry: entry[0].span.start if entry[0].span is not None else -1)
    for node, is_rest in singles:
        if isinstance(node, PatternTerm):
            message = f"Unknown specializer {node.tag}"
            hint = _MISSPELLINGS.get(node.tag or "")
            if hint is not None:
                message += f", did you mean {hint}?"
            diagnostics.warning(message + context(node.span))
        else:
            assert isinstance(node, Sym)
            shown = f"*{node.name}" if is_rest else node.name  # legacy prints the rest variable term
            diagnostics.error(validation_error(
                "SingletonVariable",
                f"Singleton variable {shown} is unused or undefined; try renaming to _{shown} or _",
                node.span))


def _count_names(node: Node, first: _Seen, host: Host) -> None:
    if isinstance(node, Sym):
        _count(node.name, node, False, first, host)
        return
    if isinstance(node, PatternTerm) and node.tag is not None:
        _count(node.tag, node, False, first, host)
    if isinstance(node, ListTerm):
        for item in node.items:
            _count_names(item, first, host)
        if node.rest is not None:
            _count(node.rest.name, node.rest, True, first, host)
        return
    for child in children(node):
        _count_names(child, first, host)


def _count(name: str, node: Node, is_rest: bool, first: _Seen, host: Host) -> None:
    if name.startswith("_") or "::" in name or name in host.constants or name in BUILTIN_SPECIALIZERS:
        return
    first[name] = None if name in first else (node, is_rest)


# Ambiguous precedence ------------------------------------------------------------------------

def check_ambiguous_precedence(rule: Rule, diagnostics: Diagnostics) -> None:
    """Warn about an `and` directly inside an `or` (or the reverse) written without parentheses.

    Like legacy, "without parentheses" means the source text before the inner operation does
    not end with `(`.
    """
    for top in rule_terms(rule):
        _ambiguous(top, diagnostics)


def _ambiguous(node: Node, diagnostics: Diagnostics) -> None:
    # `and`/`or` only occur as goals, so only operations need to be searched.
    if not isinstance(node, Op):
        return
    if node.op in ("And", "Or") and len(node.args) > 1:
        other = "Or" if node.op == "And" else "And"
        for arg in node.args:
            if isinstance(arg, Op) and arg.op == other and arg.span is not None:
                before = arg.span.source.text[:arg.span.start]
                if not before.rstrip().endswith("("):
                    diagnostics.warning(AMBIGUOUS_PRECEDENCE_WARNING + context(arg.span))
    for arg in node.args:
        _ambiguous(arg, diagnostics)


# Undefined rule calls --------------------------------------------------------------------------

def undefined_rule_calls(rules: Iterable[Rule], defined: set[str]) -> list[OsoError]:
    """`Call to undefined rule` errors for calls (outside lookups and `new`) to missing rules."""
    errors: list[OsoError] = []
    for rule in rules:
        for top in rule_terms(rule):
            for call in _rule_calls(top):
                if call.name not in defined:
                    errors.append(validation_error("UndefinedRuleCall", f"Call to undefined rule: {call}",
                                                   call.span))
    return errors


def _rule_calls(node: Node) -> Iterator[CallTerm]:
    if isinstance(node, Op) and node.op in ("Dot", "New"):
        return  # method calls and constructors are not rule calls
    if isinstance(node, CallTerm):
        yield node
    for child in children(node):
        yield from _rule_calls(child)


# Policy-level warnings ---------------------------------------------------------------------------

def no_allow_warning(rule_names: set[str]) -> Optional[str]:
    """The warning for a policy with no `allow`, `allow_field` or `allow_request` rule."""
    if rule_names & {"allow", "allow_field", "allow_request"}:
        return None
    return NO_ALLOW_WARNING


def missing_has_permission_warning(rules: Iterable[Rule], has_resource_blocks: bool) -> Optional[str]:
    """The warning for resource blocks when no rule mentions `has_permission(...)` anywhere.

    Any call term counts, even a method call (`x.has_permission()`) or a constructor, like legacy.
    """
    if not has_resource_blocks:
        return None
    for rule in rules:
        for top in rule_terms(rule):
            if any(isinstance(n, CallTerm) and n.name == "has_permission" for n in walk(top)):
                return None
    return MISSING_HAS_PERMISSION_WARNING
