"""Actor, resource and global blocks of the Oso Cloud dialect, over facts (docs/cloud-dialect.md).

Unlike legacy blocks (resource_blocks.py) the types need no registered class, `has_role` and
`has_relation` are fact predicates whose signatures the blocks imply, shorthand bodies are
expressions (`"r" or is_public(resource)`), a relation to an actor type is a condition, there is
a `global` block, and `extends` copies a block's declarations and shorthand rules.
"""

from __future__ import annotations

from typing import Optional

from ..exceptions import OsoError
from .cloud_syntax import CloudBlock, CloudShorthand, ShorthandLeaf
from .diagnostics import Diagnostics, validation_error
from .rule_types import ACTOR_UNION
from .source import Span
from .syntax import CallTerm, Declaration, ListTerm, Name, Node, Op, Param, PatternTerm, Rule, Sym, Value

__all__ = ["CloudBlocks", "TypeBlock"]

ROLE, PERMISSION, RELATION = "role", "permission", "relation"
_PREDICATE = {ROLE: "has_role", PERMISSION: "has_permission"}
GLOBAL = "global"


class TypeBlock:
    """What the blocks say about one type (or the global block): declarations and shorthands."""

    def __init__(self, block: CloudBlock) -> None:
        self.block = block
        self.is_actor = block.is_actor
        self.kinds: dict[str, str] = {}          # declared name -> ROLE / PERMISSION / RELATION
        self.relations: dict[str, Name] = {}     # relation -> its type
        self.shorthands: list[CloudShorthand] = []

    def roles(self) -> list[str]:
        return [n for n, k in self.kinds.items() if k == ROLE]


def _error(message: str, span: Optional[Span]) -> OsoError:
    return validation_error("ResourceBlock", message, span)


class CloudBlocks:
    """The blocks of one load: registered as read, then resolved and desugared once."""

    def __init__(self) -> None:
        self.types: dict[str, TypeBlock] = {}
        self.global_block: Optional[TypeBlock] = None

    # Reading --------------------------------------------------------------------------------

    def add(self, block: CloudBlock, diagnostics: Diagnostics) -> None:
        info = TypeBlock(block)
        if block.is_global:
            if self.global_block is not None:
                diagnostics.error(_error("A policy has at most one `global` block (the first is at line "
                                         f"{_line(self.global_block.block.span)}).", block.span))
                return
            self.global_block = info
        else:
            assert block.resource is not None
            name = block.resource.value
            if name in self.types:
                diagnostics.error(_error(f"`{name}` is declared by more than one block.", block.resource.span))
                return
            self.types[name] = info
        for production in block.productions:
            if isinstance(production, CloudShorthand):
                info.shorthands.append(production)
            else:
                self._declaration(info, production, diagnostics)

    def _declaration(self, info: TypeBlock, decl: Declaration, diagnostics: Diagnostics) -> None:
        kind = {"roles": ROLE, "permissions": PERMISSION, "relations": RELATION}.get(decl.name.value)
        is_list = isinstance(decl.value, list)
        if kind is None or (kind == RELATION) == is_list or (kind == RELATION and info.block.is_global):
            where = "a global block" if info.block.is_global else "a block"
            diagnostics.error(_error(f"Unexpected declaration '{decl.name.value}' in {where}: it declares `roles = "
                                     "[...]`, `permissions = [...]` and (not `global`) `relations = {...}`.",
                                     decl.name.span))
            return
        entries = list(decl.value.items()) if isinstance(decl.value, dict) else [(n, None) for n in decl.value]
        for term, related in entries:
            previous = info.kinds.get(term.value)
            if previous is not None:
                diagnostics.error(_error(f"\"{term.value}\" is declared twice (as a {previous} and as a {kind}).",
                                         term.span))
                continue
            info.kinds[term.value] = kind
            if related is not None:
                info.relations[term.value] = related

    # Resolution ------------------------------------------------------------------------------

    def resolve(self, diagnostics: Diagnostics) -> None:
        """Check relation types and apply `extends` (declarations and shorthands are inherited)."""
        for info in self.types.values():
            for relation, related in info.relations.items():
                if related.value not in self.types:
                    diagnostics.error(_error(f"Relation \"{relation}\" has type '{related.value}', but no such "
                                             f"block exists. Try declaring one: `resource {related.value} {{}}`",
                                             related.span))
        done: set[str] = set()
        for name in list(self.types):
            self._inherit(name, [], done, diagnostics)

    def _inherit(self, name: str, path: list[str], done: set[str], diagnostics: Diagnostics) -> None:
        if name in done:
            return
        info = self.types[name]
        for parent in info.block.extends:
            if parent.value in path or parent.value == name:
                diagnostics.error(_error(f"`{name}` extends itself through `{parent.value}`.", parent.span))
                continue
            if parent.value not in self.types:
                diagnostics.error(_error(f"`{name}` extends '{parent.value}', but no such block exists.", parent.span))
                continue
            self._inherit(parent.value, path + [name], done, diagnostics)
            base = self.types[parent.value]
            for term, kind in base.kinds.items():
                info.kinds.setdefault(term, kind)
            for relation, related in base.relations.items():
                info.relations.setdefault(relation, related)
            info.shorthands = base.shorthands + info.shorthands
        done.add(name)

    def actors(self) -> tuple[str, ...]:
        return tuple(n for n, i in self.types.items() if i.is_actor)

    def resources(self) -> tuple[str, ...]:
        """Every block type (legacy's `Resource` union also holds the actor types)."""
        return tuple(self.types)

    def fact_signatures(self) -> dict[str, list[tuple[str, ...]]]:
        """has_role(A, String, R) per actor type A and type R with roles; has_role(A, String)
        with global roles; has_relation(R, String, T) per relation of R to T."""
        sigs: dict[str, list[tuple[str, ...]]] = {}
        actors = self.actors()
        for name, info in self.types.items():
            if info.roles():
                sigs.setdefault("has_role", []).extend((a, "String", name) for a in actors)
        if self.global_block is not None and self.global_block.roles():
            sigs.setdefault("has_role", []).extend((a, "String") for a in actors)
        for name, info in self.types.items():
            for related in info.relations.values():
                sig = (name, "String", related.value)
                if sig not in sigs.setdefault("has_relation", []):
                    sigs["has_relation"].append(sig)
        return sigs

    # Desugaring ------------------------------------------------------------------------------

    def desugar(self, diagnostics: Diagnostics) -> list[Rule]:
        """The rules the shorthand rules stand for (in block order, inherited ones first)."""
        rules = []
        blocks = list(self.types.items())
        if self.global_block is not None:
            blocks.append((GLOBAL, self.global_block))
        for name, info in blocks:
            for shorthand in info.shorthands:
                try:
                    rules.append(_Desugar(self, name, info).rule(shorthand))
                except _BlockError as e:
                    diagnostics.error(e.error)
        return rules


class _BlockError(Exception):
    def __init__(self, error: OsoError) -> None:
        super().__init__(error.message)
        self.error = error


class _Desugar:
    """One shorthand rule of block `name` as a rule over `actor` and `resource`."""

    def __init__(self, blocks: CloudBlocks, name: str, info: TypeBlock) -> None:
        self.blocks = blocks
        self.name = name
        self.info = info
        self.related = 0

    def rule(self, shorthand: CloudShorthand) -> Rule:
        if shorthand.head_is_variable:
            return self.any_role_rule(shorthand)
        head = shorthand.head
        kind = self.info.kinds.get(head.value)
        if kind not in (ROLE, PERMISSION):
            what = "undeclared" if kind is None else "a relation"
            raise _BlockError(_error(f"{self._where()}: the head \"{head.value}\" of a shorthand rule is {what}; "
                                     "it must be a declared role or permission.", head.span))
        span = head.span
        params = [Param(Sym("actor", span), PatternTerm(ACTOR_UNION, {}, span)), Param(Value(head.value, span))]
        if self.name != GLOBAL:
            params.append(Param(Sym("resource", span), PatternTerm(self.name, {}, span)))
        body = self.body(shorthand.body)
        return Rule(_PREDICATE[kind], params, Op("And", [body], shorthand.span), shorthand.span, True)

    def any_role_rule(self, shorthand: CloudShorthand) -> Rule:
        """`role if role on "rel";`: each role of this block held on the related entity."""
        leaf = shorthand.body
        assert isinstance(leaf, ShorthandLeaf) and leaf.relation is not None
        span = shorthand.head.span
        roles = self.info.roles()
        if self.name == GLOBAL or not roles:
            raise _BlockError(_error(f"{self._where()}: `role if role on ...;` needs roles declared in the block.",
                                     span))
        related, related_type, step = self._related(leaf.relation, leaf.span)
        role = Sym("role", span)
        params = [Param(Sym("actor", span), PatternTerm(ACTOR_UNION, {}, span)),
                  Param(role, PatternTerm("String", {}, span)),
                  Param(Sym("resource", span), PatternTerm(self.name, {}, span))]
        goals: list[Node] = [Op("In", [role, ListTerm([Value(r, span) for r in roles], None, span)], span), *step,
                             CallTerm("has_role", [Sym("actor", span), role, related], None, span)]
        return Rule("has_role", params, Op("And", goals, shorthand.span), shorthand.span, True)

    def _where(self) -> str:
        return "the global block" if self.name == GLOBAL else f"'{self.name}'"

    def body(self, node: Node) -> Node:
        if isinstance(node, ShorthandLeaf):
            return self.leaf(node)
        if isinstance(node, Op):
            return Op(node.op, [self.body(a) for a in node.args], node.span)
        return node  # a rule call, as written

    def leaf(self, leaf: ShorthandLeaf) -> Node:
        if leaf.is_variable:
            raise _BlockError(_error("`role on \"relation\"` is only the body of `role if role on \"relation\";`.",
                                     leaf.span))
        if leaf.is_global:
            return self._global(leaf.term)
        if self.name == GLOBAL:
            if leaf.relation is not None:
                raise _BlockError(_error("The global block has no relations: `on` cannot be used in it.",
                                         leaf.relation.span))
            return self._global(leaf.term)
        if leaf.relation is None:
            return self.term(self.name, self.info, leaf.term, Sym("resource", leaf.span))
        related, related_type, step = self._related(leaf.relation, leaf.span)
        term = self.term(related_type, self.blocks.types[related_type], leaf.term, related)
        return Op("And", [*step, term], leaf.span)

    def _related(self, relation: Name, span: Optional[Span]) -> tuple[Sym, str, list[Node]]:
        """(the related entity's variable, its type, the goals relating it to `resource`)."""
        if self.info.kinds.get(relation.value) != RELATION:
            raise _BlockError(_error(f"'{self.name}': \"{relation.value}\" after `on` must be a relation of "
                                     f"'{self.name}' (declare it in `relations = {{ ... }};`).", relation.span))
        related_type = self.info.relations[relation.value].value
        if related_type not in self.blocks.types:
            raise _BlockError(_error(f"Relation \"{relation.value}\" has type '{related_type}', but no such block "
                                     "exists.", relation.span))
        self.related += 1
        related = Sym(f"related_{self.related}", span)
        step = CallTerm("has_relation", [Sym("resource", span), Value(relation.value, relation.span), related],
                        None, span)
        # The relation's declared type types the related entity (and, partially evaluated,
        # tells the SQL compiler what it joins through).
        typed = Op("Isa", [related, PatternTerm(related_type, {}, relation.span)], span)
        return related, related_type, [step, typed]

    def term(self, type_name: str, info: TypeBlock, term: Name, obj: Sym) -> Node:
        """`"term"` read in block `type_name` about `obj`."""
        kind = info.kinds.get(term.value)
        span = term.span
        if kind is None:
            raise _BlockError(_error(f"Undeclared term \"{term.value}\" referenced in a shorthand rule of "
                                     f"{self._where()}: declare it in '{type_name}' as a role, permission or "
                                     "relation.", span))
        if kind == RELATION:
            target = info.relations[term.value].value
            target_info = self.blocks.types.get(target)
            if target_info is None or not target_info.is_actor:
                raise _BlockError(_error(f"Relation \"{term.value}\" of '{type_name}' has type '{target}', which is "
                                         "not an actor type, so it cannot be a condition (did you mean "
                                         f"`\"role\" on \"{term.value}\"`?).", span))
            return CallTerm("has_relation", [obj, Value(term.value, span), Sym("actor", span)], None, span)
        return CallTerm(_PREDICATE[kind], [Sym("actor", span), Value(term.value, span), obj], None, span)

    def _global(self, term: Name) -> Node:
        info = self.blocks.global_block
        kind = info.kinds.get(term.value) if info is not None else None
        if kind is None:
            raise _BlockError(_error(f"Undeclared global term \"{term.value}\": declare it in the `global` block "
                                     "as a role or permission.", term.span))
        return CallTerm(_PREDICATE[kind], [Sym("actor", term.span), Value(term.value, term.span)], None, term.span)


def _line(span: Optional[Span]) -> int:
    return span.source.line_col(span.start)[0] if span is not None else 0
