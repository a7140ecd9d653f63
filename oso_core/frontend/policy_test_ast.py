"""Policy `test` blocks of the Oso Cloud dialect, as the parser hands them to the test runner.

    test fixture repos { has_relation(Repo{"anvil"}, "parent", Org{"acme"}); }
    test "members read" {
        setup { has_role(User{"alice"}, "member", Org{"acme"}); fixture repos; }
        assert allow(User{"alice"}, "read", Repo{"anvil"});
        assert_not allow(User{"bob"}, "read", Repo{"anvil"});
        assert allow(User{"alice"}, action: String, Repo{"anvil"}) iff action in ["read"];
    }

Test blocks are not rules: loading a policy keeps them aside (`Polar.policy_tests()`), and only
the runner (`python -m oso_core test`) evaluates them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Optional, Union

from ..values import Value

FactArg = Union[Value, str, int, bool]


@dataclass(frozen=True)
class SourceSpot:
    """Where an item is written: file name (None for a string), 1-based line and column."""

    filename: Optional[str]
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.filename or '<string>'}:{self.line}:{self.column}"


@dataclass(frozen=True)
class FactLine:
    """One ground fact written in a `setup` or fixture: `predicate(*args)`."""

    predicate: str
    args: tuple[FactArg, ...]
    spot: SourceSpot

    def as_tuple(self) -> tuple:
        """The fact as `(predicate, *args)`, the form fact sources and `context_facts` take."""
        return (self.predicate, *self.args)


@dataclass
class Fixture:
    """`test fixture NAME { facts; fixture OTHER; }`: named facts, and fixtures it includes."""

    name: str
    facts: list[FactLine] = field(default_factory=list)
    fixtures: list[str] = field(default_factory=list)
    spot: Optional[SourceSpot] = None


@dataclass
class Assertion:
    """`assert QUERY;`, `assert_not QUERY;` or `assert QUERY iff CONDITION;`.

    `query` and `iff` are the source text of the query and the condition as written (with
    entity literals and typed variables `x: String`); the runner evaluates them with
    `Polar.query(text, context_facts=...)` on a policy loaded in the cloud dialect."""

    kind: Literal["assert", "assert_not"]
    query: str
    iff: Optional[str]
    spot: SourceSpot


@dataclass
class PolicyTest:
    """`test "NAME" { setup { ... } assertions }`."""

    name: str
    facts: list[FactLine] = field(default_factory=list)
    fixtures: list[str] = field(default_factory=list)
    assertions: list[Assertion] = field(default_factory=list)
    spot: Optional[SourceSpot] = None


@dataclass
class PolicyTestBlocks:
    """Every test and fixture of the loaded policy files, in source order."""

    tests: list[PolicyTest] = field(default_factory=list)
    fixtures: dict[str, Fixture] = field(default_factory=dict)
