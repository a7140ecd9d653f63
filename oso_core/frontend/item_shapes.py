"""The item-shape cache that lets the parser (lalr_driver.py) skip the LALR table for most items.

A top-level rule, rule type or inline query ends at its first `;`, and what the LALR driver does
depends only on token types (never on token values), so two items with the same token types at
the same parser state reduce the same rules in the same order. The driver records that order the
first time it parses a shape and later rebuilds such items from the record, skipping table
lookups, unit reductions and kind checks (which depend only on the shape too, and passed). Shapes
that keep recurring are compiled into straight-line Python.
"""

from __future__ import annotations

from typing import Any, Callable, Optional

__all__ = ["COMPILE_AFTER", "MAX_SHAPES", "Shape", "cloud_item_shapes", "compile_shape", "item_shapes",
           "remember_shape", "replay"]

# (state before the item, the item's token types) -> Shape; shared by all parses of a dialect
# (the Oso Cloud dialect's table has other states, so its shapes are kept apart).
item_shapes: dict[tuple, "Shape"] = {}
cloud_item_shapes: dict[tuple, "Shape"] = {}
MAX_SHAPES = 4096
# Compiling costs about as much as 40 interpreted replays of a typical rule.
COMPILE_AFTER = 32


def remember_shape(key: tuple, program: tuple, shapes: Optional[dict] = None) -> None:
    """Record the reductions of an item shape parsed for the first time (in `shapes`, by
    default the legacy dialect's)."""
    if shapes is None:
        shapes = item_shapes
    if len(shapes) >= MAX_SHAPES:
        shapes.clear()
    shapes[key] = Shape(program)


class Shape:
    """The builder reductions of one item shape.

    program: (rule, index of the lookahead token at that reduction relative to the item's first
    token) per builder reduction, in order. fn: the compiled program, once it has been used
    COMPILE_AFTER times.
    """

    __slots__ = ("program", "uses", "fn")

    def __init__(self, program: tuple) -> None:
        self.program = program
        self.uses = 0
        self.fn: Optional[Callable] = None


def replay(program: tuple, first: int, rules: list, tstarts: list, tends: list) -> Any:
    """Rebuild an item from its recorded reductions: the LALR driver without the table."""
    values: list = []
    starts: list = []
    k = first
    for r, lookahead in program:
        upto = first + lookahead
        if k < upto:  # shift the tokens this reduction has seen
            values.extend(range(k, upto))
            starts.extend(tstarts[k:upto])
            k = upto
        n, lhs, build = rules[r]
        if n == 1:
            values[-1] = build(values[-1], starts[-1], tends[upto - 1])
        else:
            args = values[-n:]
            del values[-n:]
            begin = starts[-n]
            del starts[-n:]
            values.append(build(args, begin, tends[upto - 1]))
            starts.append(begin)
    return values[0]


def compile_shape(program: tuple, rule_len: list) -> Callable:
    """replay unrolled for one program: `fn(first token, tstarts, tends, builder by rule)`.

    The stack is simulated here, so the generated code is one builder call per reduction with
    its arguments spelled out. Only integers from the program go into the source text.
    """
    stack: list[tuple[str, str]] = []  # (value expression, start expression)
    lines: list[str] = []
    used: dict[int, None] = {}
    k = 0
    for n_var, (r, lookahead) in enumerate(program):
        while k < lookahead:
            stack.append((f"f + {k}", f"ts[f + {k}]"))
            k += 1
        used[r] = None
        end = f"te[f + {lookahead - 1}]"
        n = rule_len[r]
        if n == 1:
            value, start = stack[-1]
            lines.append(f"v{n_var} = h{r}({value}, {start}, {end})")
            stack[-1] = (f"v{n_var}", start)
        else:
            args = stack[-n:]
            del stack[-n:]
            start = args[0][1]
            lines.append(f"v{n_var} = h{r}([{', '.join(a[0] for a in args)}], {start}, {end})")
            stack.append((f"v{n_var}", start))
    if len(stack) != 1:
        raise AssertionError("an item program must reduce to one value")
    body = [f"h{r} = builders[{r}]" for r in used] + lines + [f"return {stack[0][0]}"]
    source = "def item(f, ts, te, builders):\n" + "".join(f"    {line}\n" for line in body)
    namespace: dict[str, Any] = {}
    exec(compile(source, "<polar item shape>", "exec"), namespace)
    return namespace["item"]
