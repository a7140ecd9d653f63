"""Evaluating the Oso Cloud dialect's policy `test` blocks (`Polar.policy_tests()`).

Each test runs on its own facts: its `setup` facts plus those of the fixtures it names,
recursively. They are passed as the query's context facts, so they hold for that test only and
nothing is stored. Assertions:

* `assert Q;` passes iff Q has a result, `assert_not Q;` iff it has none;
* `assert Q iff C;`: for the typed variables of Q (`action: String`, or `action matches String`),
  every solution of Q satisfies C and every solution of C satisfies Q. C is enumerated (for
  example `action in ["read", "write"]`); a condition that leaves a typed variable unbound
  cannot be enumerated, which is an error.

An assertion whose query raises fails with the error's message; nothing here raises for a test
that goes wrong. The command line and the pytest plugin (policy_tests.py, pytest_plugin.py)
report the outcomes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from itertools import product
from typing import Any, Optional

from ..expression import Expression
from ..frontend.policy_test_ast import Assertion, FactLine, Fixture, PolicyTest, PolicyTestBlocks, SourceSpot
from ..frontend.tokenizer import ERROR, TID, T_NAME, tokenize
from ..values import Value
from ..variable import Variable

__all__ = [
    "MAX_SOLUTIONS",
    "AssertionOutcome",
    "TestOutcome",
    "assertion_text",
    "block_title",
    "facts_of_test",
    "outcome_lines",
    "polar_repr",
    "run_assertion",
    "run_test",
    "typed_variables",
]

# Enumerating a query or a condition stops here: a runaway enumeration is an error, not a hang.
MAX_SOLUTIONS = 10_000

_PRIMITIVES = {"String": str, "Integer": int, "Boolean": bool}
_COLON, _COMMA, _LPAR, _RPAR = TID["COLON"], TID["COMMA"], TID["LPAR"], TID["RPAR"]
_OPENERS = {TID["LPAR"], TID["LSQB"], TID["LBRACE"]}
_CLOSERS = {TID["RPAR"], TID["RSQB"], TID["RBRACE"]}
_DOT, _NEW, _MATCHES = TID["DOT"], TID["NEW"], TID["MATCHES"]


class _TestSetupError(Exception):
    """A test whose facts cannot be put together (unknown fixture, cycle, ill-typed fact)."""


@dataclass
class AssertionOutcome:
    """One assertion and why it failed (None: it passed)."""

    assertion: Assertion
    failure: Optional[str] = None

    @property
    def passed(self) -> bool:
        return self.failure is None


@dataclass
class TestOutcome:
    """One test: the outcome of each assertion, or why the test could not run (`error`, at the
    test's own spot: its facts could not be put together)."""

    test: PolicyTest
    assertions: list[AssertionOutcome] = field(default_factory=list)
    error: Optional[str] = None

    @property
    def passed(self) -> bool:
        return self.error is None and all(a.passed for a in self.assertions)


# Facts --------------------------------------------------------------------------------------------

def facts_of_test(test: PolicyTest, blocks: PolicyTestBlocks) -> list[FactLine]:
    """The facts of `test`: its setup facts, then each named fixture's, recursively (a fixture
    named twice contributes once). Raises _TestSetupError naming an unknown fixture or a cycle."""
    facts = list(test.facts)
    done: set[str] = set()

    def include(name: str, chain: tuple[Fixture, ...], named_by: str) -> None:
        fixture = blocks.fixtures.get(name)
        if fixture is None:
            raise _TestSetupError(f"{named_by} names an unknown fixture {name!r}"
                                  + _known_fixtures(blocks))
        if any(f.name == name for f in chain):
            cycle = [*chain[[f.name for f in chain].index(name):], fixture]
            raise _TestSetupError("fixtures include each other in a cycle: "
                                  + " -> ".join(f"{f.name} ({_where(f.spot)})" for f in cycle))
        if name in done:
            return
        facts.extend(fixture.facts)
        for inner in fixture.fixtures:
            include(inner, chain + (fixture,), f"fixture {fixture.name} ({_where(fixture.spot)})")
        done.add(name)

    for name in test.fixtures:
        include(name, (), f"test {polar_repr(test.name)} ({_where(test.spot)})")
    return facts


def _known_fixtures(blocks: PolicyTestBlocks) -> str:
    names = sorted(blocks.fixtures)
    return f"; the fixtures are: {', '.join(names)}" if names else "; the policy defines no fixtures"


def _where(spot: Optional[SourceSpot]) -> str:
    return str(spot) if spot is not None else "<unknown place>"


def check_fact_types(facts: list[FactLine], signatures: dict[str, list[tuple[str, ...]]]) -> None:
    """Raise _TestSetupError for a fact that matches no fact signature of the policy: the engine
    would never see it, so the test would pass or fail for the wrong reason."""
    for fact in facts:
        sigs = signatures.get(fact.predicate)
        shown = f"{fact.predicate}({', '.join(polar_repr(a) for a in fact.args)})"
        if not sigs:
            raise _TestSetupError(f"fact {shown} ({_where(fact.spot)}): the policy has no fact predicate "
                                  f"{fact.predicate}; known: {', '.join(sorted(signatures)) or 'none'}")
        if not any(len(sig) == len(fact.args) and all(map(_has_type, fact.args, sig)) for sig in sigs):
            expected = "; ".join(f"{fact.predicate}({', '.join(sig)})" for sig in sigs)
            raise _TestSetupError(f"fact {shown} ({_where(fact.spot)}) matches no signature of "
                                  f"{fact.predicate}: {expected}")


def _has_type(arg: Any, type_name: str) -> bool:
    if type_name in _PRIMITIVES:
        cls = _PRIMITIVES[type_name]
        return type(arg) is cls  # type-strict: True is no Integer
    if not isinstance(arg, Value):
        return False
    # The abstract types stand for any actor / resource type; which types those are is the
    # engine's business, and a mismatch there simply finds no rule.
    return arg.type == type_name or type_name in ("Actor", "Resource")


# Typed variables ------------------------------------------------------------------------------

def typed_variables(text: str) -> list[tuple[str, str]]:
    """The typed variables of a query, in order: `name: Type` written as a rule-call argument
    (the cloud dialect's form) and `name matches Type`. Names starting with `_` are left out."""
    # The cloud dialect's lexer: legacy text lexes the same, and `@name` constants are tokens.
    types, values, _, _ = tokenize(text, cloud=True)
    found: list[tuple[str, str]] = []
    brackets: list[tuple[int, bool]] = []  # (opener, is a call of a rule)
    for i, t in enumerate(types):
        if t == ERROR:
            break
        if t in _OPENERS:
            is_rule_call = (t == _LPAR and i > 0 and types[i - 1] == T_NAME
                            and not (i > 1 and types[i - 2] in (_DOT, _NEW)))
            brackets.append((t, is_rule_call))
        elif t in _CLOSERS:
            if brackets:
                brackets.pop()
        elif t == T_NAME and i + 2 < len(types) and types[i + 2] == T_NAME:
            in_call_argument = (types[i + 1] == _COLON and brackets and brackets[-1] == (_LPAR, True)
                                and types[i - 1] in (_LPAR, _COMMA))
            if in_call_argument or types[i + 1] == _MATCHES:
                name, type_name = values[i], values[i + 2]
                if not name.startswith("_") and all(name != n for n, _ in found):
                    found.append((name, type_name))
    return found


# Running --------------------------------------------------------------------------------------

def run_test(polar: Any, test: PolicyTest, blocks: PolicyTestBlocks) -> TestOutcome:
    """Run every assertion of `test` on its own facts against the loaded policy `polar` (a
    Polar or Oso)."""
    outcome = TestOutcome(test)
    try:
        facts = facts_of_test(test, blocks)
        check_fact_types(facts, polar.fact_signatures())
    except _TestSetupError as error:
        outcome.error = str(error)
        return outcome
    context = [fact.as_tuple() for fact in facts]
    for assertion in test.assertions:
        outcome.assertions.append(AssertionOutcome(assertion, run_assertion(polar, assertion, context)))
    return outcome


def run_assertion(polar: Any, assertion: Assertion, facts: list[tuple]) -> Optional[str]:
    """None if the assertion holds on `facts`, else why not (an error in a query is a failure)."""
    try:
        if assertion.iff is not None:
            if assertion.kind != "assert":
                return "`iff` goes with `assert`, not `assert_not`"
            return _check_iff(polar, assertion.query, assertion.iff, facts)
        first = next(_solutions(polar, assertion.query, facts), None)
        if assertion.kind == "assert":
            return None if first is not None else "expected a result, got none"
        if first is None:
            return None
        shown = _shown_solution(first, typed_variables(assertion.query))
        return "expected no result, got one" + (f": {shown}" if shown else "")
    except _AssertionFailed as error:
        return str(error)
    except Exception as error:  # noqa: BLE001 - a query that raises fails its assertion, whatever the error
        message = getattr(error, "message", None) or str(error)
        return f"raised {type(error).__name__}: {message}".rstrip()


class _AssertionFailed(Exception):
    """Raised from deep in an `iff` check: the assertion fails with this message."""


def _solutions(polar: Any, text: str, facts: list[tuple], bindings: Optional[dict] = None) -> Any:
    return (r["bindings"] for r in polar.query(text, bindings=bindings, context_facts=facts,
                                                 accept_expression=True))


def _is_unbound(value: Any) -> bool:
    return isinstance(value, (Variable, Expression))


def _check_iff(polar: Any, query: str, condition: str, facts: list[tuple]) -> Optional[str]:
    typed = typed_variables(query)
    if not typed:
        return "`iff` needs a typed variable in the query, such as `action: String`"
    names = [name for name, _ in typed]
    query_rows = _enumerate(polar, query, facts, typed)
    condition_rows: list[tuple] = []
    for solution in _limited(_solutions(polar, condition, facts), "condition"):
        row = tuple(solution.get(name, Variable(name)) for name in names)
        unbound = [name for name, value in zip(names, row) if _is_unbound(value)]
        if unbound:
            raise _AssertionFailed(
                f"the condition `{_one_line(condition)}` cannot be enumerated: it does not bind "
                f"{', '.join(unbound)} to values (write it like `{unbound[0]} in [...]`)")
        condition_rows.append(row)
    condition_rows = _distinct(condition_rows)
    extra = [row for row in query_rows
             if next(_solutions(polar, condition, facts, dict(zip(names, row))), None) is None]
    missing = [row for row in condition_rows
               if next(_solutions(polar, query, facts, dict(zip(names, row))), None) is None]
    problems = []
    if extra:
        problems.append(f"allowed but not expected: {_shown_rows(extra, names)}")
    if missing:
        problems.append(f"expected but not allowed: {_shown_rows(missing, names)}")
    return "; ".join(problems) or None


def _enumerate(polar: Any, text: str, facts: list[tuple], typed: list[tuple[str, str]]) -> list[tuple]:
    """The distinct values of the typed variables over the solutions of `text`; a variable the
    query leaves unbound stands for every value of its type, which only Boolean can list."""
    rows: list[tuple] = []
    for solution in _limited(_solutions(polar, text, facts), "query"):
        choices = []
        for name, type_name in typed:
            value = solution.get(name, Variable(name))
            if not _is_unbound(value):
                choices.append([value])
            elif type_name == "Boolean":
                choices.append([False, True])
            else:
                raise _AssertionFailed(f"allowed for every {type_name} value of {name}, but the condition "
                                       "can list only some")
        rows.extend(product(*choices))
        if len(rows) > MAX_SOLUTIONS:
            raise _AssertionFailed(f"the query has more than {MAX_SOLUTIONS} solutions")
    return _distinct(rows)


def _limited(solutions: Any, what: str) -> Any:
    for count, solution in enumerate(solutions, 1):
        if count > MAX_SOLUTIONS:
            raise _AssertionFailed(f"the {what} has more than {MAX_SOLUTIONS} solutions")
        yield solution


def _key(value: Any) -> tuple:
    # Type-strict (1, True and 1.0 are different values), and usable for unhashable values.
    return (type(value).__name__, repr(value))


def _distinct(rows: list[tuple]) -> list[tuple]:
    seen: set[tuple] = set()
    out = []
    for row in rows:
        key = tuple(map(_key, row))
        if key not in seen:
            seen.add(key)
            out.append(row)
    return out


def _shown_rows(rows: list[tuple], names: list[str]) -> str:
    if len(names) == 1:
        shown = sorted(polar_repr(row[0]) for row in rows)
    else:
        shown = sorted("{" + ", ".join(f"{n}: {polar_repr(v)}" for n, v in zip(names, row)) + "}" for row in rows)
    return "[" + ", ".join(shown) + "]"


def _shown_solution(solution: dict, typed: list[tuple[str, str]]) -> str:
    return ", ".join(f"{name} = {polar_repr(solution[name])}" for name, _ in typed
                     if name in solution and not _is_unbound(solution[name]))


# Showing ---------------------------------------------------------------------------------------

def polar_repr(value: Any) -> str:
    """A value as Polar writes it: `"read"`, `1`, `true`, `Repo{"anvil"}`, `[...]`."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Value):
        return f"{value.type}{{{polar_repr(value.id)}}}"
    if isinstance(value, str) and not isinstance(value, Variable):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
        return f'"{escaped}"'
    if isinstance(value, list):
        return "[" + ", ".join(map(polar_repr, value)) + "]"
    return str(value)


def _one_line(text: str) -> str:
    return re.sub(r"\s*\n\s*", " ", text.strip())


def assertion_text(assertion: Assertion) -> str:
    """The assertion on one line, as written: `assert Q`, `assert_not Q`, `assert Q iff C`."""
    text = f"{assertion.kind} {_one_line(assertion.query)}"
    return text + (f" iff {_one_line(assertion.iff)}" if assertion.iff is not None else "")


def block_title(test: PolicyTest) -> str:
    """`test "NAME"`, the name written as a Polar string."""
    return f"test {polar_repr(test.name)}"


def outcome_lines(outcome: TestOutcome, verbose: bool = False) -> list[str]:
    """The report of one test: a `SPOT: FAIL test "NAME": ...` line per failing assertion (or one
    at the test for facts that cannot be put together); with `verbose`, first a
    `PASS|FAIL test "NAME"` line for the test and a PASS line per passing assertion too."""
    title = block_title(outcome.test)
    lines = []
    if verbose:
        verdict = "PASS" if outcome.passed else "FAIL"
        lines.append(f"{_where(outcome.test.spot)}: {verdict} {title}")
    if outcome.error is not None:
        lines.append(f"{_where(outcome.test.spot)}: FAIL {title}: {outcome.error}")
    for result in outcome.assertions:
        if result.failure is not None:
            lines.append(f"{result.assertion.spot}: FAIL {title}: {assertion_text(result.assertion)}: "
                         f"{result.failure}")
        elif verbose:
            lines.append(f"{result.assertion.spot}: PASS {title}: {assertion_text(result.assertion)}")
    return lines
