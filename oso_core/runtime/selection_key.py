"""The rule-selection key of a call, computed by a function generated per predicate.

A predicate caches its rule selection per *key*: for each argument position that some rule
specializes, the argument's class, or `(type, value)` for a literal where some rule has a
literal parameter; an unbound variable anywhere gives `Var` (see predicates.py). The key is
computed on every call, so it is generated once per predicate as straight-line code over the
known positions; arguments that are unbound variables or fact entities take the general loop,
which gives the same keys.
"""

from __future__ import annotations

from typing import Any, Callable

from ..values import Value
from .terms import Var
from .codegen import define


def general_key(positions: tuple, args: list) -> tuple:
    out = []
    for mode, a in zip(positions, args):
        t = type(a)
        if t is Var:
            out.append(Var)  # never a fast head: aliasing and constraints need the full one
            continue
        if mode == 0:
            continue
        if mode == 2 and (t is str or t is int or t is float or t is bool):
            out.append((t, a))
        elif t is Value:   # entities of different types select different rules
            out.append((Value, a.type))
        else:
            out.append(a.__class__)
    return tuple(out)


def key_function(positions: tuple) -> Callable[[list], tuple]:
    """`key(args)` for a predicate whose argument positions have these modes (0 ignored,
    1 class, 2 literal value or class); equal to `general_key(positions, args)`."""
    n = len(positions)
    if n == 0:
        return lambda args: ()
    names: dict[str, Any] = {"Var": Var, "Value": Value, "general_key": general_key, "positions": positions}
    unpack = ", ".join(f"a{i}" for i in range(n)) + ("," if n == 1 else "")
    lines = ["def key(args):", f"    {unpack} = args"]
    lines += [f"    t{i} = type(a{i})" for i in range(n)]
    special = [f"t{i} is Var" for i in range(n)] + [f"t{i} is Value" for i, m in enumerate(positions) if m]
    lines += ["    if " + " or ".join(special) + ":", "        return general_key(positions, args)"]
    parts = []
    for i, mode in enumerate(positions):
        if mode == 1:
            parts.append(f"a{i}.__class__")
        elif mode == 2:
            parts.append(f"((t{i}, a{i}) if t{i} is str or t{i} is int or t{i} is float or t{i} is bool"
                         f" else a{i}.__class__)")
    lines.append("    return (" + "".join(p + ", " for p in parts) + ")")
    return define(lines, "<selection key>", "key", names)
