"""Rule-call goals with their argument reads written out as straight-line code.

A rule call evaluates its arguments before calling the predicate. In real policies nearly every
argument is a variable or a literal (`has_role(actor, "reader", repo)`), and calling a reader
closure per argument costs more than the rest of the call's setup. So each call site gets one
function, generated from a short source template once when its rule is compiled, that reads
variable slots and literals inline and calls a closure only for other arguments (lookups,
arithmetic, lists...). It does exactly what the closure form does: a slot read for the first
time gets a fresh variable stored back in its slot (named after the variable), every argument
is dereferenced, arguments are evaluated left to right, and a `Fail` while evaluating them
means the call has no solution.
"""

from __future__ import annotations

from typing import Any, Callable, Optional

from .errors import Fail
from .fused import GENERAL, plain_attr, read
from .terms import UNBOUND, Var, deref
from .codegen import define

CONST, SLOT = 0, 1


def call_function(bc: Any, arg_nodes: list, target: Callable, site: Any, on_fail: Callable,
                  untraced: Optional[Callable] = None) -> Callable:
    """`fn(q, env)`: evaluate the arguments, then `target(q, args, site)`; `on_fail()` if an
    argument's evaluation fails. `untraced`, if given, is what `target` itself calls when the
    query has neither a tracer nor tabling (it is called directly then). Argument nodes are
    compiled here, in order."""
    compiled = [bc.value(a) for a in arg_nodes]
    names: dict[str, Any] = {"target": target, "site": site, "on_fail": on_fail, "UNBOUND": UNBOUND,
                             "Var": Var, "deref": deref, "Fail": Fail, "untraced": untraced,
                             "GENERAL": GENERAL, "read": read}
    lines = ["def call(q, env):", "    try:"]
    for i, (kind, x) in enumerate(compiled):
        if kind == CONST:
            names[f"c{i}"] = x
            lines.append(f"        a{i} = c{i}")
        elif kind == SLOT:
            names[f"n{i}"] = bc.scope.names[x]
            lines += [f"        a{i} = env[{int(x)}]",
                      f"        if a{i} is UNBOUND:",
                      f"            a{i} = env[{int(x)}] = q.new_var(n{i})",
                      f"        elif type(a{i}) is Var:",
                      f"            a{i} = deref(a{i})"]
        elif plain_attr(bc, arg_nodes[i]) is not None:
            # `x.f` with x a variable: the lookup closure's plain-host-object case inline.
            bslot, attr, span = plain_attr(bc, arg_nodes[i])
            names.update({f"f{i}": x, f"m{i}": attr, f"s{i}": span})
            lines += [f"        o{i} = env[{int(bslot)}]",
                      f"        if type(o{i}) in GENERAL:",
                      f"            a{i} = f{i}(q, env)",
                      "        else:",
                      f"            a{i} = read(q, o{i}, m{i}, s{i})",
                      f"        if type(a{i}) is Var:",
                      f"            a{i} = deref(a{i})"]
        else:
            names[f"f{i}"] = x
            lines += [f"        a{i} = f{i}(q, env)",
                      f"        if type(a{i}) is Var:",
                      f"            a{i} = deref(a{i})"]
    if not compiled:
        lines.append("        pass")
    args = "[" + ", ".join(f"a{i}" for i in range(len(compiled))) + "]"
    lines += ["    except Fail:", "        return on_fail()"]
    if untraced is not None:
        lines += ["    if q.tracer is None and q.tabling is None:", f"        return untraced(q, {args}, site)"]
    lines.append(f"    return target(q, {args}, site)")
    return define(lines, "<rule call>", "call", names)
