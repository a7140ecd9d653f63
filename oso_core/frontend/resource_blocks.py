"""Actor and resource blocks: checks, declarations, shorthand desugaring, generated rule types.

polar-language.md §11. A load goes through three steps, in legacy's order:
1. per block, as it is read: `check_structure` (unrecoverable errors), then `BlockRegistry.add`;
2. after all sources: `BlockRegistry.desugar` turns shorthand rules into rules;
3. `BlockRegistry.rule_types` makes the `has_relation` / `has_role` rule types.
"""

from __future__ import annotations

from typing import Optional

from ..exceptions import OsoError, ValidationError
from .class_registry import ClassRegistry
from .diagnostics import Diagnostics, validation_error
from .rule_types import ACTOR_UNION, RESOURCE_UNION
from .source import Span
from .syntax import (CallTerm, Declaration, Name, Node, Op, Param, PatternTerm, ResourceBlock, Rule, RuleType,
                     ShorthandRule, Sym, Value, render_value)

ROLE, PERMISSION, RELATION = "role", "permission", "relation"
_RULE_NAMES = {ROLE: "has_role", PERMISSION: "has_permission", RELATION: "has_relation"}
_DEBUG_NAMES = {ROLE: "Role", PERMISSION: "Permission", RELATION: "Relation"}  # Rust Debug of legacy's kinds


class Declared:
    """A declared name of a block: its kind, the term declaring it and, for relations, the type."""

    __slots__ = ("kind", "term", "type")

    def __init__(self, kind: str, term: Name, type_: Optional[Name] = None) -> None:
        self.kind = kind
        self.term = term
        self.type = type_

    @property
    def span(self) -> Optional[Span]:
        """Where legacy locates errors about this declaration (a relation: at its type)."""
        return self.term.span if self.type is None else self.type.span

    def same_as(self, other: "Declared") -> bool:
        if self.kind != other.kind:
            return False
        return self.type is None or other.type is None or self.type.value == other.type.value


def _string(name: Name) -> str:
    return render_value(name.value)  # legacy prints declared names as Polar strings: "owner"


def _block_error(message: str, span: Optional[Span]) -> OsoError:
    return validation_error("ResourceBlock", message, span)


# 1. Structure -------------------------------------------------------------------------------------

class BlockParts:
    """A structurally valid block: its kind and its (last) declaration of each kind."""

    __slots__ = ("block", "is_actor", "roles", "permissions", "relations")

    def __init__(self, block: ResourceBlock, is_actor: bool) -> None:
        self.block = block
        self.is_actor = is_actor
        self.roles: Optional[Declaration] = None
        self.permissions: Optional[Declaration] = None
        self.relations: Optional[Declaration] = None


_LIST_SLOTS = {"roles": "roles", "permissions": "permissions"}


def check_structure(block: ResourceBlock, diagnostics: Diagnostics) -> Optional[BlockParts]:
    """Record the block's structural errors (all unrecoverable); its parts if there are none."""
    errors: list[OsoError] = []
    resource = block.resource.value
    keyword = block.keyword
    if keyword is None:
        errors.append(_block_error("Expected 'actor' or 'resource' but found nothing.", block.resource.span))
    elif keyword.value not in ("actor", "resource"):
        errors.append(_block_error(f"Expected 'actor' or 'resource' but found '{keyword.value}'.", keyword.span))
    parts = BlockParts(block, keyword is not None and keyword.value == "actor")
    for production in block.productions:
        if not isinstance(production, Declaration):
            continue
        name = production.name.value
        is_list = isinstance(production.value, list)
        slot = _LIST_SLOTS.get(name) if is_list else ("relations" if name == "relations" else None)
        if slot is None:
            if name in ("roles", "permissions"):
                message = f"Expected '{name}' declaration to be a list of strings; found a dictionary"
            elif name == "relations":
                message = "Expected 'relations' declaration to be a dictionary; found a list"
            elif is_list:
                message = (f"Unexpected declaration '{name}'. Did you mean for this to be 'roles = [ ... ];' or "
                           "'permissions = [ ... ];'?")
            else:
                message = f"Unexpected declaration '{name}'. Did you mean for this to be 'relations = {{ ... }};'?"
            errors.append(_block_error(message, _declaration_value_span(production)))
            continue
        if getattr(parts, slot) is not None:
            errors.append(_block_error(f"Multiple '{slot}' declarations in '{resource}' resource block.",
                                       _declaration_value_span(production)))
        setattr(parts, slot, production)
    for production in block.productions:
        if isinstance(production, ShorthandRule) and production.on is not None and production.on.value != "on":
            errors.append(_block_error(f"Unexpected relation keyword '{production.on.value}'. Did you mean 'on'?",
                                       production.on.span))
    for error in errors:
        diagnostics.error(error, unrecoverable=True)
    return None if errors else parts


def _declaration_value_span(declaration: Declaration) -> Optional[Span]:
    """Where the declared list or dictionary starts (legacy locates declaration errors there)."""
    name_span = declaration.name.span
    if name_span is None:
        return declaration.span
    text = name_span.source.text
    i = _skip_blank(text, name_span.end)
    if i < len(text) and text[i] == "=":
        i = _skip_blank(text, i + 1)
    return Span(name_span.source, i, i)


def _skip_blank(text: str, i: int) -> int:
    while i < len(text):
        if text[i] in " \t\r\n":
            i += 1
        elif text[i] == "#":
            while i < len(text) and text[i] not in "\r\n":
                i += 1
        else:
            break
    return i


# 2. Registry ---------------------------------------------------------------------------------------

class BlockRegistry:
    """What the blocks of a load declare, merged per resource type, in first-appearance order."""

    def __init__(self, host: ClassRegistry) -> None:
        self._host = host
        self.declarations: dict[str, dict[str, Declared]] = {}
        self.shorthand_rules: dict[str, list[ShorthandRule]] = {}
        self.actors: dict[str, None] = {}      # ordered sets
        self.resources: dict[str, None] = {}

    def add(self, parts: BlockParts, diagnostics: Diagnostics) -> None:
        """Register a structurally valid block; a conflicting declaration keeps it out."""
        block = parts.block
        resource = block.resource.value
        if resource not in self._host.constants:
            diagnostics.error(validation_error("UnregisteredClass", f"Unregistered class: {resource}", block.span))
        declared: dict[str, Declared] = {}
        entries: list[Declared] = []
        # Legacy indexes roles, then permissions, then relations, whatever the source order.
        for kind, declaration in ((ROLE, parts.roles), (PERMISSION, parts.permissions)):
            if declaration is not None:
                assert isinstance(declaration.value, list)
                entries += [Declared(kind, n) for n in declaration.value]
        if parts.relations is not None:
            assert isinstance(parts.relations.value, dict)
            entries += [Declared(RELATION, k, v) for k, v in parts.relations.value.items()]
        existing = self.declarations.get(resource, {})
        for entry in entries:
            key = entry.term.value
            previous = declared.get(key)
            if previous is None and key in existing and not existing[key].same_as(entry):
                previous = existing[key]
            if previous is not None:
                diagnostics.error(validation_error(
                    "ResourceBlock", f"Cannot overwrite existing {previous.kind} declaration {_string(entry.term)} "
                    f"in resource {resource} with {entry.kind}", entry.span))
                return
            declared[key] = entry
        self.declarations.setdefault(resource, {}).update(declared)  # a repeated declaration keeps the later term
        self.shorthand_rules.setdefault(resource, []).extend(
            p for p in block.productions if isinstance(p, ShorthandRule))
        if parts.is_actor:
            self.actors[resource] = None
        self.resources[resource] = None

    def summary(self) -> dict[str, dict]:
        """Per block type, in first-appearance order: its declared `roles` and `permissions`
        (lists, declaration order) and `relations` (name -> type name)."""
        result: dict[str, dict] = {}
        for resource in self.resources:
            entry: dict = {"roles": [], "permissions": [], "relations": {}}
            for name, declared in self.declarations.get(resource, {}).items():
                if declared.kind == RELATION:
                    assert declared.type is not None
                    entry["relations"][name] = declared.type.value
                else:
                    entry["roles" if declared.kind == ROLE else "permissions"].append(name)
            result[resource] = entry
        return result

    def has_roles(self) -> bool:
        return any(d.kind == ROLE for ds in self.declarations.values() for d in ds.values())

    def relation_tuples(self) -> list[tuple[Name, str, str]]:
        """(subject type, relation, object type) for every declared relation."""
        return [(d.type, name, resource)
                for resource, ds in self.declarations.items() for name, d in ds.items() if d.type is not None]

    # Desugaring -----------------------------------------------------------------------------------

    def desugar(self, diagnostics: Diagnostics) -> list[Rule]:
        """The rules the shorthand rules stand for; none if anything about them is wrong."""
        errors: list[tuple[OsoError, bool]] = []
        for subject, _, _ in self.relation_tuples():
            if subject.value not in self._host.constants:
                errors.append((validation_error("UnregisteredClass", f"Unregistered class: {subject.value}",
                                                subject.span), False))
        rules = []
        for resource, shorthand_rules in self.shorthand_rules.items():
            declarations = self.declarations.get(resource, {})
            var = _instance_variable(resource)
            for shorthand in shorthand_rules:
                try:
                    rules.append(self._as_rule(resource, declarations, var, shorthand))
                except _ShorthandError as e:
                    errors.append((e.error, e.unrecoverable))
        for error, unrecoverable in errors:
            diagnostics.error(error, unrecoverable)
        return [] if errors else rules

    def _as_rule(self, resource: str, declarations: dict[str, Declared], var: str, shorthand: ShorthandRule) -> Rule:
        """The rule for a shorthand rule of `resource` (whose declarations and instance variable are
        given)."""
        head = declarations.get(shorthand.head.value) or self._declared(shorthand.head, resource)
        span = shorthand.head.span
        params = [Param(Sym("actor", span), PatternTerm(ACTOR_UNION, {}, span)),
                  Param(Value(shorthand.head.value, span)),
                  Param(Sym(var, span), PatternTerm(resource, {}, span))]
        implier = shorthand.implier
        relation = shorthand.relation
        if relation is None:
            kind = (declarations.get(implier.value) or self._declared(implier, resource)).kind
            goals: list[Node] = [_call(_RULE_NAMES[kind], "actor", implier, var)]
        else:
            declared = declarations.get(relation.value) or self._declared(relation, resource)
            if declared.kind != RELATION:
                # Legacy raised OperationalError "Invalid state: Expected Relation; got: Role"
                # (an internal-error class for a policy mistake); this is a validation error.
                context = relation.span.context() if relation.span is not None else ""
                raise _ShorthandError(ValidationError(
                    f"{resource}: \"{relation.value}\" after `on` must be a relation of '{resource}', "
                    f"but it is declared as a {declared.kind}. Declare it in "
                    f"`relations = {{ ... }};` (Invalid state: Expected Relation; got: "
                    f"{_DEBUG_NAMES[declared.kind]}){context}"), False)
            assert declared.type is not None
            related = declared.type.value
            related_declarations = self.declarations.get(related)
            if related_declarations is None:
                raise _ShorthandError(_block_error(
                    f"{resource}: Relation {_string(relation)} in rule body `{_string(implier)} on "
                    f"{_string(relation)}` has type '{related}', but no such resource block exists. Try declaring "
                    f"one: `resource {related} {{}}`", declared.type.span), True)
            implied = related_declarations.get(implier.value)
            if implied is None:
                raise _ShorthandError(_block_error(
                    f"{resource}: Term {_string(implier)} not declared in related resource block '{related}'. Did "
                    f"you mean to declare it as a role, permission, or relation in the '{related}' resource block?",
                    implier.span), True)
            related_var = "related_" + _instance_variable(related)
            goals = [_call("has_relation", related_var, relation, var),
                     _call(_RULE_NAMES[implied.kind], "actor", implier, related_var)]
        return Rule(_RULE_NAMES[head.kind], params, Op("And", goals, span), span, True)

    def _declared(self, term: Name, resource: str) -> Declared:
        """The declaration of a term in `resource`'s blocks; a _ShorthandError if there is none."""
        declared = self.declarations.get(resource, {}).get(term.value)
        if declared is None:
            raise _ShorthandError(_block_error(
                f"Undeclared term {_string(term)} referenced in rule in '{resource}' resource block. Did you mean "
                "to declare it as a role, permission, or relation?", term.span), True)
        return declared

    # Rule types -------------------------------------------------------------------------------------

    def rule_types(self) -> list[tuple[RuleType, bool]]:
        """(rule type, required) for each relation, plus the required `has_role` type if roles exist."""
        required: dict[tuple[str, str, str], bool] = {}
        subjects: dict[tuple[str, str, str], Name] = {}
        for subject, relation, resource in self.relation_tuples():
            key = (subject.value, relation, resource)
            required[key] = False
            subjects[key] = subject
        for resource, shorthand_rules in self.shorthand_rules.items():
            for shorthand in shorthand_rules:
                if shorthand.relation is not None:
                    related = self._relation_type(shorthand.relation.value, resource)
                    if related is None:
                        continue
                    required[(related, shorthand.relation.value, resource)] = True
                    implier_type = self._relation_type(shorthand.implier.value, related)
                    if implier_type is not None:
                        required[(implier_type, shorthand.implier.value, related)] = True
                else:
                    implier_type = self._relation_type(shorthand.implier.value, resource)
                    if implier_type is not None:
                        required[(implier_type, shorthand.implier.value, resource)] = True
        types = []
        for key, is_required in required.items():
            subject_name, relation, resource = key
            span = subjects[key].span
            params = [Param(Sym("subject"), PatternTerm(subject_name, {})), Param(Value(relation)),
                      Param(Sym("object"), PatternTerm(resource, {}))]
            types.append((RuleType("has_relation", params, span), is_required))
        if self.has_roles():
            params = [Param(Sym("actor"), PatternTerm(ACTOR_UNION, {})), Param(Sym("role"), PatternTerm("String", {})),
                      Param(Sym("resource"), PatternTerm(RESOURCE_UNION, {}))]
            types.append((RuleType("has_role", params), True))
        return types

    def _relation_type(self, name: str, resource: str) -> Optional[str]:
        declared = self.declarations.get(resource, {}).get(name)
        if declared is None or declared.kind != RELATION:
            return None
        assert declared.type is not None
        return declared.type.value


def generated_rule_calls(rule: Rule) -> list[str]:
    """The names of the rules a rule made by `BlockRegistry.desugar` calls, in order.

    Such a rule's body is nothing but rule calls with variables and strings as arguments.
    """
    return [goal.name for goal in rule.body.args if isinstance(goal, CallTerm)]


class _ShorthandError(Exception):
    def __init__(self, error: OsoError, unrecoverable: bool) -> None:
        super().__init__(error.message)
        self.error = error
        self.unrecoverable = unrecoverable


def _instance_variable(resource: str) -> str:
    """The variable generated rules use for an instance of `resource` (`Repo` -> `repo`)."""
    lower = resource.lower()
    return resource + "_instance" if lower == resource else lower


def _call(rule: str, subject: str, term: Name, obj: str) -> CallTerm:
    span = term.span
    return CallTerm(rule, [Sym(subject, span), Value(term.value, span), Sym(obj, span)], None, span)
