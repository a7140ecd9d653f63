"""Looking up ground fact calls in the query's fact source.

A leaf of the runtime: `operations` re-checks deferred `Fact` constraints with `fact_holds`,
and `fact_calls` (which builds on `operations`) evaluates calls with `match_facts`; keeping the
lookup here keeps both free of an import cycle.
"""

from __future__ import annotations

from typing import Any, Iterator

from ..expression import Expression
from ..values import Value
from .errors import runtime_error
from .terms import Var, deref

__all__ = ["NO_MATCH", "fact_arg", "fact_holds", "match_facts"]

NO_MATCH = object()   # a ground argument no stored fact can hold (e.g. a host object without an id)


def fact_holds(q: Any, c: Expression) -> bool:
    """Re-check a deferred `Fact` constraint: true while an argument is still unknown."""
    args = [deref(a) for a in c.args[1:]]
    if any(type(a) is Var or type(a) is Expression for a in args):
        return True
    source = q.kb.fact_source
    if source is None:
        return False
    pattern = [fact_arg(q, a) for a in args]
    if any(p is NO_MATCH for p in pattern):
        return False
    for _ in match_facts(source, c.args[0], pattern):
        return True
    return False


def match_facts(source: Any, name: str, pattern: list) -> Iterator[tuple]:
    """The source's facts; its failure is a typed error (a decision never allows on it)."""
    try:
        yield from source.match(name, pattern)
    except Exception as e:   # any failure of the source (a database error, a bug) is the same
        raise runtime_error(f"The fact source failed to match {name}: {type(e).__name__}: {e}") from e


def fact_arg(q: Any, a: Any) -> Any:
    """A ground argument as stored facts hold it."""
    t = type(a)
    if t is Value or t is str or t is int or t is bool:
        return a
    name = q.host.class_name(t)
    ident = getattr(a, "id", None)
    if name is None or ident is None or isinstance(ident, bool) or not isinstance(ident, (str, int)):
        return NO_MATCH
    return Value(name, ident)
