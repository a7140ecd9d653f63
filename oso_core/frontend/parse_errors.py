"""The errors a parse reports, with legacy oso's texts and file:line:column positions.

Three kinds: a token the grammar does not allow (or a lexical error the tokenizer left as a final
`$ERROR` token), an operand of the wrong kind (legacy's ExpectValue / ExpectLogical checks, which
the grammar marks with wrapper rules), and a duplicate key in a dict, pattern or relation list.
"""

from __future__ import annotations

from typing import Any, NoReturn, Optional

from ..exceptions import ParserError, UnrecognizedEOF, UnrecognizedToken
from .syntax import CallTerm, Node, Op, Sym, Value
from .tokenizer import END, ERROR, TID, Tokens, token_text

__all__ = ["CHECK_RULES", "VALUE_CHECKS", "ParseErrors"]

# Kind checks (legacy ExpectValue / ExpectLogical), by wrapper rule name.
_CHK_VALUE, _CHK_LOGICAL, _CHK_PVALUE, _CHK_PLOGICAL = 1, 2, 3, 4
VALUE_CHECKS = frozenset((_CHK_VALUE, _CHK_PVALUE))
CHECK_RULES = {
    **{f"val{n}": _CHK_VALUE for n in (1, 4, 5, 6, 7, 8, 9)},
    **{f"log{n}": _CHK_LOGICAL for n in (1, 2, 3, 4)},
    **{f"pval{n}": _CHK_PVALUE for n in (4, 5, 6, 7, 8, 9)},
    **{f"plog{n}": _CHK_PLOGICAL for n in (1, 2, 3, 4)},
}

# Unexpected tokens legacy reports as reserved words.
_RESERVED_WORD_TOKENS = frozenset(TID[n] for n in ("DEBUG", "CUT", "IN", "NEW"))

_LOGICAL_OPS = frozenset(("In", "Isa", "Eq", "Neq", "Lt", "Leq", "Gt", "Geq", "Unify", "Assign",
                          "Not", "And", "Or", "Print", "Debug", "Cut", "ForAll"))
_VALUE, _EITHER, _LOGICAL = 0, 1, 2


def _kind(node: Any, pattern: bool, opcalls: set) -> int:
    """Legacy's classification of a parsed expression as value, logical or either."""
    tp = type(node)
    if tp is Op:
        op = node.op
        if op in _LOGICAL_OPS or id(node) in opcalls:
            return _LOGICAL
        return _EITHER if op == "Dot" else _VALUE
    if tp is CallTerm:
        return _LOGICAL
    if tp is Sym or (tp is Value and type(node.value) is bool):
        # Inside patterns even variables and booleans are plain values.
        return _VALUE if pattern else _EITHER
    return _VALUE


class ParseErrors:
    """Raises the errors of one parse of one source.

    opcalls: ids of Dot/New/In operations written in operator-call form (`.(a, b)`, `new(x)`),
    which are logical although `a.b` and `new C()` are not; the AST builders fill it.
    """

    def __init__(self, tokens: Tokens, opcalls: set) -> None:
        self.tokens = tokens
        self.opcalls = opcalls

    def fail(self, cls: type, message: str, offset: int, extra: Optional[dict] = None,
             loc: Optional[int] = None) -> NoReturn:
        """Raise cls with the message, legacy's position text and the details legacy gives."""
        source = self.tokens.source
        line, column = source.line_col(offset)
        if source.text:
            context = source.context(offset)
        else:  # legacy prints no excerpt line for an empty source
            context = " at line 1, column 1:\n\t\n"
        details = {"loc": offset if loc is None else loc, "line": line, "column": column,
                   "file": source.filename}
        if extra:
            details.update(extra)
        raise cls(message + context, details)

    def syntax_error(self, i: int) -> NoReturn:
        """The error for token i, which the grammar does not allow where it stands."""
        tokens = self.tokens
        t = tokens.types[i]
        if t == ERROR:
            err = tokens.values[i]
            self.fail(err.cls, err.message, err.offset, err.details)
        if t == END:
            # Legacy reports the end of the last token, not the end of the text.
            offset = tokens.ends[i - 1] if i else 0
            self.fail(UnrecognizedEOF,
                      "hit the end of the file unexpectedly. Did you forget a semi-colon", offset)
        text = token_text(tokens.types, tokens.values, i)
        if t in _RESERVED_WORD_TOKENS:
            self.fail(ParserError, f"{text} is a reserved Polar word and cannot be used here",
                      tokens.starts[i], {"token": text})
        self.fail(UnrecognizedToken, f"did not expect to find the token '{text}'", tokens.starts[i],
                  {"token": text})

    def check(self, node: Node, begin: int, chk: int) -> None:
        """Legacy's ExpectValue / ExpectLogical on an operand."""
        kind = _kind(node, chk >= _CHK_PVALUE, self.opcalls)
        if chk == _CHK_VALUE or chk == _CHK_PVALUE:
            if kind == _LOGICAL:
                self._wrong_type(node, begin, "value")
        elif kind == _VALUE:
            self._wrong_type(node, begin, "logical expression")

    def _wrong_type(self, node: Node, begin: int, expected: str) -> NoReturn:
        # Legacy places the message at the term itself (inside any parentheses) but reports the
        # grammar position (the parenthesis) as `loc`.
        offset = node.span.start if node.span is not None else begin
        self.fail(ParserError, f"Wrong value type: {node}. Expected a {expected}", offset,
                  {"expected": expected}, loc=begin)

    def duplicate_key(self, key: str, offset: int) -> NoReturn:
        """A key given twice in one dict, pattern, keyword argument or relation list."""
        self.fail(ParserError, f"Duplicate key: {key}", offset, {"key": key})
