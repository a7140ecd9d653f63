"""AST nodes only the Oso Cloud dialect has (docs/cloud-dialect.md).

Entity literals are ordinary `syntax.Value` nodes holding an `oso_core.values.Value`; typed
variables `x: T` become the variable plus `x matches T`. Test blocks parse straight into the
dataclasses of policy_test_ast.py.
"""

from __future__ import annotations

from typing import Optional, Union

from .source import Span
from .syntax import Declaration, Name, Node

__all__ = ["CurrentUnixTime", "ShorthandLeaf", "CloudShorthand", "CloudBlock"]


class CurrentUnixTime(Node):
    """`@current_unix_time`: the Integer number of seconds since the epoch, taken at query time."""

    __slots__ = ()

    def __init__(self, span: Optional[Span] = None) -> None:
        self.span = span

    def __str__(self) -> str:
        return "@current_unix_time"


class ShorthandLeaf(Node):
    """One term of a shorthand-rule body: `"r"`, `"r" on "relation"` or `global "r"`; with
    `is_variable`, `role on "relation"` (`term` is then the variable's name)."""

    __slots__ = ("term", "relation", "is_global", "is_variable")

    def __init__(self, term: Name, relation: Optional[Name] = None, is_global: bool = False,
                 span: Optional[Span] = None, is_variable: bool = False) -> None:
        self.term = term
        self.relation = relation
        self.is_global = is_global
        self.is_variable = is_variable
        self.span = span

    def __str__(self) -> str:
        if self.is_variable:
            return f'{self.term} on "{self.relation}"'
        if self.is_global:
            return f'global "{self.term}"'
        if self.relation is not None:
            return f'"{self.term}" on "{self.relation}"'
        return f'"{self.term}"'


class CloudShorthand:
    """`"head" if BODY;` in a block; BODY is ShorthandLeaf / CallTerm / Op(And, Or, Not) nodes.
    `head_is_variable`: `role if role on "relation";` (head is the variable's name)."""

    __slots__ = ("head", "body", "span", "head_is_variable")

    def __init__(self, head: Name, body: Node, span: Optional[Span] = None, head_is_variable: bool = False) -> None:
        self.head = head
        self.body = body
        self.span = span
        self.head_is_variable = head_is_variable


class CloudBlock:
    """`actor T { ... }`, `resource T extends U, V { ... }`, or `global { ... }` (keyword and
    resource None)."""

    __slots__ = ("keyword", "resource", "extends", "productions", "span")

    def __init__(self, keyword: Optional[Name], resource: Optional[Name], extends: list[Name],
                 productions: list[Union[Declaration, CloudShorthand]], span: Optional[Span] = None) -> None:
        self.keyword = keyword
        self.resource = resource
        self.extends = extends
        self.productions = productions
        self.span = span

    @property
    def is_global(self) -> bool:
        return self.resource is None

    @property
    def is_actor(self) -> bool:
        return self.keyword is not None and self.keyword.value == "actor"
