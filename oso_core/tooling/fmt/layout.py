"""The canonical layout: concrete syntax tree -> document (see docs/policy-tooling.md, `fmt`).

Every token of the tree is printed exactly once, through `_token`, which also prints the
comments attached to it.
"""

from __future__ import annotations

from .doc import HARDLINE, LINE, SOFTLINE, Doc, Group, Leading, Nest, Trailing
from .tokens import Token
from .tree import Node, Part

INDENT = 2


def layout(policy: Node) -> Doc:
    """The document of a whole policy (the `policy` node of `tree.parse_tree`)."""
    *items, end = policy.parts
    assert isinstance(end, Token)
    return _stacked(items, end)


def _token(token: Token) -> Doc:
    parts: list[Doc] = [Leading(comment.text) for comment in token.leading]
    parts.append(token.text)
    parts.extend(Trailing(text) for text in token.trailing)
    return parts


def _first_token(part: Part) -> Token:
    while isinstance(part, Node):
        part = part.parts[0]
    return part


def _stacked(nodes: list[Part], closing: Token) -> list[Doc]:
    """Items or productions one per line, then the comments before `closing` (which is not printed).

    Comments on lines of their own stay on lines of their own; an empty line before an item or
    comment is kept, more than one becomes one.
    """
    out: list[Doc] = []

    def line(blank: bool) -> None:
        if out:
            out.append(HARDLINE)
            if blank:
                out.append(HARDLINE)

    for node in nodes:
        first = _first_token(node)
        for comment in first.leading:
            line(comment.blank_before)
            out.append(comment.text)
        first.leading = []
        line(first.blank_before)
        out.append(_part(node))
    for comment in closing.leading:
        line(comment.blank_before)
        out.append(comment.text)
    closing.leading = []
    return out


def _part(part: Part) -> Doc:
    if isinstance(part, Token):
        return _token(part)
    return _LAYOUTS[part.kind](part.parts)


def _chain(parts: list[Part]) -> Doc:
    """`a and b and c` (or `or`): on one line, or one operand per line."""
    out: list[Doc] = [_part(parts[0])]
    for k in range(1, len(parts), 2):
        out += [" ", _part(parts[k]), LINE, _part(parts[k + 1])]
    return Group(out)


def _seq(parts: list[Part], padded: bool = False) -> Doc:
    """`(a, b)`, `[a, b]`, `{a: b}`: on one line, or one item per line, indented."""
    open_token, *items, close_token = parts
    if not items:
        return [_part(open_token), _part(close_token)]
    edge = LINE if padded else SOFTLINE
    inner: list[Doc] = [edge]
    for k, item in enumerate(items):
        inner.append(_part(item))
        if k % 2:  # a comma
            inner.append(LINE)
    return Group([_part(open_token), Nest(INDENT, inner), edge, _part(close_token)])


def _spaced(parts: list[Part]) -> Doc:
    """Parts separated by one space, the last (`;`) attached: `"read" if "member";`."""
    out: list[Doc] = []
    for k, part in enumerate(parts):
        if 0 < k < len(parts) - 1:
            out.append(" ")
        out.append(_part(part))
    return out


def _rule(parts: list[Part]) -> Doc:
    head, if_token, body, semicolon = parts
    return Group([_part(head), " ", _part(if_token), Nest(INDENT, [LINE, _part(body)]), _part(semicolon)])


def _block(parts: list[Part]) -> Doc:
    """`resource Repo {` productions, one per line, `}`; `actor User {}` when empty."""
    brace = next(k for k, part in enumerate(parts) if isinstance(part, Token) and part.kind == "{")
    header, productions, close = parts[:brace], parts[brace + 1:-1], parts[-1]
    assert isinstance(close, Token)
    out: list[Doc] = []
    for part in header:
        out += [_part(part), " "]
    out.append(_part(parts[brace]))
    if not productions and not close.leading:
        return out + [_part(close)]
    return out + [Nest(INDENT, [HARDLINE, _stacked(productions, close)]), HARDLINE, _part(close)]


def _decl(parts: list[Part]) -> Doc:
    """`roles = ["a", "b"];`, `relations = { parent: Org };`."""
    name, equals, value, semicolon = parts
    assert isinstance(value, Node)
    (seq,) = value.parts
    assert isinstance(seq, Node)
    padded = value.kind == "dict"
    return [_part(name), " ", _part(equals), " ", _seq(seq.parts, padded), _part(semicolon)]


def _joined(parts: list[Part]) -> Doc:
    return [_part(part) for part in parts]


def _binop(parts: list[Part]) -> Doc:
    left, op, right = parts
    return [_part(left), " ", _part(op), " ", _part(right)]


def _colon(parts: list[Part]) -> Doc:
    key, colon, value = parts
    return [_part(key), _part(colon), " ", _part(value)]


def _prefix(parts: list[Part]) -> Doc:
    word, operand = parts
    return [_part(word), " ", _part(operand)]


def _paren(parts: list[Part]) -> Doc:
    open_token, inner, close_token = parts
    return Group([_part(open_token), Nest(INDENT, [SOFTLINE, _part(inner)]), SOFTLINE, _part(close_token)])


def _query(parts: list[Part]) -> Doc:
    query, term, semicolon = parts
    return [_part(query), " ", Nest(INDENT, _part(term)), _part(semicolon)]


_LAYOUTS = {
    "or": _chain,
    "and": _chain,
    "not": _prefix,
    "new": _prefix,
    "binop": _binop,
    "dot": _joined,
    "call": _joined,
    "pattern": _joined,
    "rest": _joined,
    "number": _joined,
    "fact": _joined,
    "list": _joined,
    "dict": _joined,
    "seq": _seq,
    "paren": _paren,
    "field": _colon,
    "spec": _colon,
    "rule": _rule,
    "type": _spaced,
    "declare": _spaced,
    "query": _query,
    "block": _block,
    "decl": _decl,
    "shorthand": _spaced,
}
