"""Rule heads for calls whose arguments need unification (unbound variables, patterns, terms).

The full head binds every parameter in order (a fresh parameter takes its argument, marking an
argument variable aliased as legacy's unification with a fresh variable does; a literal or a
term parameter is unified with its argument), then checks every specializer in order with
`matches` (a failure of a check, or a `Fail` inside one, rejects the rule). It is generated per
rule as straight-line code: this head runs for every call with an unbound argument, e.g. each
`has_relation(related, "parent", resource)` hop of a resource block. A class specializer
without fields is `matches` of one class test, written out: an unbound value gets the Isa
constraint, any other value the class check.
"""

from __future__ import annotations

from typing import Any, Callable

from ..expression import Expression, Pattern
from .errors import Fail
from .operations import constrain_isa, matches, unify
from .terms import Var, deref
from .codegen import define

FRESH, LITERAL, TERM = 0, 1, 2
CONST = 0


def full_head(bc: Any, params: list) -> Callable:
    """`head(q, env, args) -> bool` binding `params` (predicates.ParamInfo) and checking their
    specializers; terms and patterns are compiled with `bc` here, in parameter order."""
    names: dict[str, Any] = {"unify": unify, "matches": matches, "constrain_isa": constrain_isa,
                             "deref": deref, "Var": Var, "Expression": Expression, "Fail": Fail}
    lines = ["def head(q, env, args):"]
    for i, pi in enumerate(params):
        if pi.kind == FRESH:
            lines += [f"    a = args[{i}]", f"    env[{int(pi.slot)}] = a", "    if type(a) is Var:",
                      "        a.aliased = True"]
        elif pi.kind == LITERAL:
            names[f"l{i}"] = pi.value
            lines += [f"    if not unify(q, args[{i}], l{i}):", "        return False"]
        else:
            names[f"t{i}"] = bc.fn(pi.value)
            lines += [f"    if not unify(q, args[{i}], t{i}(q, env)):", "        return False"]
    checks = []
    for i, pi in enumerate(params):
        if pi.spec is None:
            continue
        spec = pi.spec
        if spec[0] == CONST and type(spec[1]) is Pattern and not spec[1].fields and spec[1].tag is not None:
            names[f"p{i}"] = spec[1]
            names[f"g{i}"] = spec[1].tag
            checks += [f"        v = deref(args[{i}])", "        tv = type(v)",
                       "        if tv is Var or tv is Expression:",
                       f"            if not constrain_isa(q, v, p{i}):", "                return False",
                       f"        elif not q.isa_class(v, g{i}):", "            return False"]
        else:
            names[f"s{i}"] = bc.fn(spec)
            checks += [f"        if not matches(q, args[{i}], s{i}(q, env)):", "            return False"]
    if checks:
        lines += ["    try:"] + checks + ["    except Fail:", "        return False"]
    lines.append("    return True")
    return define(lines, "<rule head>", "head", names)
