"""A small layout engine in the style of Wadler's "prettier printer".

A document is text (str), a list (concatenation), `Group` (laid out flat on one line if it fits,
otherwise broken), `Nest` (more indentation after line breaks inside it), the line breaks
`LINE` (a space when flat), `SOFTLINE` (nothing when flat) and `HARDLINE` (always a break), and
comments: `Trailing` (printed at the end of the line it is on) and `Leading` (on lines of their
own, before what follows).

A group is broken when it does not fit in the width, when it contains a hard line break or a
leading comment, or when a trailing comment inside it is followed, within it, by a line break
(the line must end after the comment). That last rule looks only at the first break after the
comment, so where the comment sits among the tokens up to that break does not matter: after
formatting a comment trails the last token of its line, and formatting again gives the same text.
"""

from __future__ import annotations

from typing import Union


class Group:
    __slots__ = ("doc", "broken")

    def __init__(self, doc: Doc) -> None:
        self.doc = doc
        self.broken = False


class Nest:
    __slots__ = ("indent", "doc")

    def __init__(self, indent: int, doc: Doc) -> None:
        self.indent = indent
        self.doc = doc


class Line:
    __slots__ = ("flat", "hard")

    def __init__(self, flat: str, hard: bool) -> None:
        self.flat = flat  # the text in a flat group
        self.hard = hard


class Trailing:
    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


class Leading:
    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


Doc = Union[str, list, Group, Nest, Line, Trailing, Leading]

LINE = Line(" ", False)
SOFTLINE = Line("", False)
HARDLINE = Line("", True)

_FLAT, _BREAK = True, False


def _mark_broken(doc: Doc) -> None:
    """Set `broken` on every group that must break whatever the width (see the module docstring)."""
    open_groups: list[Group] = []
    trailing_pending = False
    # (doc, group to close after it) in document order; a Group pushes a closing marker.
    stack: list = [doc]
    while stack:
        d = stack.pop()
        t = type(d)
        if t is str:
            continue
        if t is list:
            stack.extend(reversed(d))
        elif t is Group:
            open_groups.append(d)
            stack.append(_CLOSE)
            stack.append(d.doc)
        elif d is _CLOSE:
            open_groups.pop()
        elif t is Nest:
            stack.append(d.doc)
        elif t is Line:
            if d.hard or trailing_pending:
                for group in open_groups:
                    group.broken = True
                trailing_pending = False
        elif t is Trailing:
            trailing_pending = True
        elif t is Leading:
            for group in open_groups:
                group.broken = True
            trailing_pending = False


_CLOSE = object()


def _fits(remaining: int, doc: Doc, rest: list) -> bool:
    """Whether `doc` laid out flat, and what follows it up to the next line break, fit in `remaining`."""
    items = [(_FLAT, doc)]
    rest_index = len(rest)
    while remaining >= 0:
        if not items:
            if rest_index == 0:
                return True
            rest_index -= 1
            _, mode, d = rest[rest_index]
            items.append((mode, d))
            continue
        mode, d = items.pop()
        t = type(d)
        if t is str:
            remaining -= len(d)
        elif t is list:
            items.extend((mode, x) for x in reversed(d))
        elif t is Group:
            items.append((_BREAK if d.broken else mode, d.doc))
        elif t is Nest:
            items.append((mode, d.doc))
        elif t is Line:
            if mode is _BREAK or d.hard:
                return True
            remaining -= len(d.flat)
        elif t is Leading:
            return True
    return False


def render(doc: Doc, width: int) -> str:
    """Lay `doc` out in `width` columns; lines carry no trailing whitespace."""
    _mark_broken(doc)
    out: list[str] = []
    suffixes: list[str] = []  # trailing comments waiting for the end of the line
    column = 0
    line_start = True  # nothing but indentation written on the current line yet
    stack: list = [(0, _BREAK, doc)]
    while stack:
        indent, mode, d = stack.pop()
        t = type(d)
        if t is str:
            if d:
                out.append(d)
                column += len(d)
                line_start = False
        elif t is list:
            stack.extend((indent, mode, x) for x in reversed(d))
        elif t is Group:
            flat = mode is _FLAT or (not d.broken and _fits(width - column, d.doc, stack))
            stack.append((indent, _FLAT if flat else _BREAK, d.doc))
        elif t is Nest:
            stack.append((indent + d.indent, mode, d.doc))
        elif t is Line and mode is _FLAT and not d.hard:
            out.append(d.flat)
            column += len(d.flat)
        elif t is Trailing:
            suffixes.append(d.text)
        else:  # a line break, or a comment on a line of its own
            if t is Leading:
                if not line_start:
                    column = _newline(out, suffixes, indent)
                out.append(d.text)
            column = _newline(out, suffixes, indent)
            line_start = True
    if suffixes:
        out.append("  " + "  ".join(suffixes))
    return "\n".join(line.rstrip() for line in "".join(out).split("\n"))


def _newline(out: list[str], suffixes: list[str], indent: int) -> int:
    if suffixes:
        out.append("  " + "  ".join(suffixes))
        suffixes.clear()
    out.append("\n" + " " * indent)
    return indent
