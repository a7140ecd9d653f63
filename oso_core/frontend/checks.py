"""Per-rule and whole-policy checks: singletons, unknown specializers, ambiguous `and`/`or`,
calls to undefined rules, and the two policy-level warnings.

Each written rule is traversed once (`RuleScanner`), collecting everything the checks and the
loader need; messages are made from those facts afterwards.
"""

from __future__ import annotations

from typing import Iterable, Iterator, Optional

from ..exceptions import OsoError
from .class_registry import BUILTIN_SPECIALIZERS, ClassRegistry
from .diagnostics import Diagnostics, context, validation_error
from .rewrite import HOISTABLE_ARITY, LegacyRule
from .source import Span
from .syntax import CallTerm, DictTerm, ListTerm, Node, Op, PatternTerm, Rule, Sym, Value

# Legacy's hint for specializer names that look like a type from another language.
_MISSPELLINGS = {
    **dict.fromkeys(("integer", "int", "i32", "i64", "u32", "u64", "usize", "size_t"), "Integer"),
    **dict.fromkeys(("float", "f32", "f64", "double"), "Float"),
    **dict.fromkeys(("char", "str", "string"), "String"),
    **dict.fromkeys(("list", "array", "Array"), "List"),
    **dict.fromkeys(("dict", "Dict", "dictionary", "hash", "Hash", "map", "Map", "HashMap", "hashmap",
                     "hash_map"), "Dictionary"),
}


def misspelling_hint(tag: str) -> Optional[str]:
    """The built-in class a specializer name probably meant (`string` -> `String`), or None."""
    return _MISSPELLINGS.get(tag)


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


# One traversal per rule ---------------------------------------------------------------------

# Operators whose operands legacy rewrites goal by goal (each gets its own rewrites).
_GOAL_OPERATORS = frozenset(("And", "Or", "Not", "ForAll"))
# Method calls and constructors are not rule calls.
_CALL_HIDING_OPERATORS = frozenset(("Dot", "New"))

# name -> (its only occurrence so far, whether it is a rest variable), or None once seen twice
_Seen = dict[str, Optional[tuple[Node, bool]]]


class RuleFacts:
    """What the per-rule checks need to know about one rule, found in a single traversal.

    * `occurrences`: by counted name, its only occurrence (and whether a rest variable), else None.
    * `ambiguous`: `and`/`or` operations written without parentheses inside the other, in order.
    * `calls`: names of the rule calls legacy's rewritten form of the rule contains.
    * `mentions_has_permission`: does any call term (method calls included) name `has_permission`?
    * `temporaries`, `head_temporaries`: how many fresh names legacy's rewrite of the whole rule,
      and of its parameters, uses up.
    """

    __slots__ = ("occurrences", "ambiguous", "calls", "mentions_has_permission", "temporaries",
                 "head_temporaries")

    def __init__(self) -> None:
        self.occurrences: _Seen = {}
        self.ambiguous: list[Op] = []
        self.calls: list[str] = []
        self.mentions_has_permission = False
        self.temporaries = 0
        self.head_temporaries = 0


class RuleScanner:
    """Finds a rule's `RuleFacts`; one per load (it remembers which names are exempt from counting).

    A name counts once per occurrence as a variable, a rest variable or an instance-pattern tag;
    names starting with `_`, containing `::`, registered constants and the unions are exempt.
    """

    def __init__(self, host: ClassRegistry) -> None:
        self._constants = host.constants
        self._exempt: dict[str, bool] = {}
        self._facts = RuleFacts()  # those of the rule being scanned

    def scan(self, rule: Rule) -> RuleFacts:
        """The facts of one rule (written or generated), in source order."""
        facts = self._facts = RuleFacts()
        terms: list[Node] = []
        for param in rule.params:
            terms.append(param.term)
            if param.specializer is not None:
                terms.append(param.specializer)
        # Legacy's head rewrites go to the end of the body: a goal position of their own.
        self._terms(terms, False, False, True)
        facts.head_temporaries = facts.temporaries
        self._terms((rule.body,), False, False, True)
        return facts

    def _is_exempt(self, name: str) -> bool:
        exempt = name.startswith("_") or "::" in name or name in self._constants or name in BUILTIN_SPECIALIZERS
        self._exempt[name] = exempt
        return exempt

    def _occurrence(self, name: str, node: Node, is_rest: bool) -> bool:
        """Count one occurrence of a name (the Sym case in `_terms` inlines this for speed);
        returns whether the name is exempt from the singleton check."""
        exempt = self._exempt.get(name)
        if exempt is None:
            exempt = self._is_exempt(name)
        if not exempt:
            seen = self._facts.occurrences
            seen[name] = None if name in seen else (node, is_rest)
        return exempt

    def _terms(self, nodes: Iterable[Node], goal_hides: bool, hidden: bool, on_op_path: bool) -> None:
        # Sibling terms, leaves handled inline (most terms are leaves; a call each would dominate).
        # `hidden`: the terms sit inside a `.` or `new` in legacy's rewritten rule, so calls in them
        # are not rule calls; `goal_hides`: the same for the goal legacy would lift expressions next
        # to. `on_op_path`: reached from the top through operations only (where `and`/`or` are checked).
        facts = self._facts
        seen = facts.occurrences
        exempt_names = self._exempt
        for node in nodes:
            if type(node) is Sym:
                name = node.name
                exempt = exempt_names.get(name)
                if exempt is None:
                    exempt = self._is_exempt(name)
                if not exempt:
                    seen[name] = None if name in seen else (node, False)
                elif name == "_":
                    facts.temporaries += 1  # legacy renames each `_` to a fresh `_<n>`
            elif type(node) is Value:
                continue
            elif type(node) is Op:
                op, args = node.op, node.args
                inner_goal_hides, inner_hidden = goal_hides, hidden
                if HOISTABLE_ARITY.get(op) == len(args):
                    # Legacy lifts it out next to its goal, into a temporary.
                    facts.temporaries += 1
                    inner_hidden = True if op in _CALL_HIDING_OPERATORS else goal_hides
                elif op in _GOAL_OPERATORS:
                    inner_goal_hides = hidden
                    if on_op_path and len(args) > 1 and (op == "And" or op == "Or"):
                        other = "Or" if op == "And" else "And"
                        for arg in args:
                            if type(arg) is Op and arg.op == other and arg.span is not None \
                                    and not _follows_open_paren(arg.span):
                                facts.ambiguous.append(arg)
                elif op in _CALL_HIDING_OPERATORS:
                    inner_hidden = True
                self._terms(args, inner_goal_hides, inner_hidden, on_op_path)
            elif type(node) is PatternTerm:
                if node.tag is not None:
                    self._occurrence(node.tag, node, False)
                if node.fields:
                    self._terms(node.fields.values(), goal_hides, hidden, False)
            elif type(node) is CallTerm:
                name = node.name
                if not hidden:
                    facts.calls.append(name)
                if name == "has_permission":
                    facts.mentions_has_permission = True
                self._terms(node.args, goal_hides, hidden, False)
                if node.kwargs:
                    self._terms(node.kwargs.values(), goal_hides, hidden, False)
            elif type(node) is ListTerm:
                self._terms(node.items, goal_hides, hidden, False)
                rest = node.rest
                if rest is not None and self._occurrence(rest.name, rest, True) and rest.name == "_":
                    facts.temporaries += 1
            elif type(node) is DictTerm:
                self._terms(node.fields.values(), goal_hides, hidden, False)


def _follows_open_paren(span: Span) -> bool:
    """Does the source text before `span`, trailing whitespace ignored, end with `(`?"""
    text = span.source.text
    i = span.start - 1
    while i >= 0 and text[i].isspace():
        i -= 1
    return i >= 0 and text[i] == "("


def report_rule_facts(facts: RuleFacts, diagnostics: Diagnostics, entity_types: Iterable[str] = ()) -> None:
    """Record one rule's singleton variables (errors) and unknown specializers (warnings), by
    position, then its ambiguous `and`/`or` warnings, in legacy's order.

    Like legacy, an `and` inside an `or` (or the reverse) counts as without parentheses when the
    source text before it does not end with `(`.
    """
    singles = [entry for entry in facts.occurrences.values() if entry is not None]
    if singles:
        singles.sort(key=lambda entry: entry[0].span.start if entry[0].span is not None else -1)
        for node, is_rest in singles:
            if isinstance(node, PatternTerm):
                if node.tag in entity_types:
                    continue
                message = f"Unknown specializer {node.tag}"
                hint = _MISSPELLINGS.get(node.tag or "")
                if hint is not None:
                    message += f", did you mean {hint}?"
                diagnostics.warning(message + context(node.span), node.span)
            else:
                assert isinstance(node, Sym)
                shown = f"*{node.name}" if is_rest else node.name  # legacy prints the rest variable term
                diagnostics.error(validation_error(
                    "SingletonVariable",
                    f"Singleton variable {shown} is unused or undefined; try renaming to _{shown} or _",
                    node.span))
    for op in facts.ambiguous:
        diagnostics.warning(AMBIGUOUS_PRECEDENCE_WARNING + context(op.span), op.span)


# Undefined rule calls --------------------------------------------------------------------------

def undefined_rule_calls(rules: Iterable[LegacyRule], defined: set[str]) -> list[OsoError]:
    """`Call to undefined rule` errors for calls (outside lookups and `new`) to missing rules.

    Only a rule calling a missing one is rewritten, since the message prints the call as legacy
    rewrote it.
    """
    errors: list[OsoError] = []
    for rule in rules:
        if defined.issuperset(rule.calls):
            continue
        for top in rule_terms(rule.rewritten()):
            for call in _rule_calls(top):
                if call.name not in defined:
                    errors.append(validation_error("UndefinedRuleCall", f"Call to undefined rule: {call}",
                                                   call.span))
    return errors


def _rule_calls(node: Node) -> Iterator[CallTerm]:
    if isinstance(node, Op) and node.op in _CALL_HIDING_OPERATORS:
        return
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


def missing_has_permission_warning(mentions_has_permission: bool, has_resource_blocks: bool) -> Optional[str]:
    """The warning for resource blocks when no rule mentions `has_permission(...)` anywhere.

    Any call term counts, even a method call (`x.has_permission()`) or a constructor, like legacy
    (see `RuleFacts.mentions_has_permission`).
    """
    if not has_resource_blocks or mentions_has_permission:
        return None
    return MISSING_HAS_PERMISSION_WARNING
