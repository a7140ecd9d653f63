"""Polar source text -> token lists, with legacy oso's lexical errors.

The tokenizer is one `re.split` over the whole text plus a pass that turns literals into values;
that is much faster than a lexer that yields match objects. A lexical error does not raise here:
legacy lexes lazily, so the error becomes a final `$ERROR` token that the parser reports only if
it gets that far (parse_errors.py). This module also prints tokens the way legacy's messages do.
"""

from __future__ import annotations

import math
import re
from itertools import accumulate, compress, repeat
from operator import itemgetter, ne
from typing import Any, Optional

from ..exceptions import IntegerOverflow, InvalidTokenCharacter, ParserError
from .source import Source
from .syntax import render_float

__all__ = ["TERMINALS", "TID", "END", "ERROR", "T_INT", "T_FLOAT", "T_STRING", "T_BOOL", "T_NAME",
           "T_LPAR", "T_SEMI", "LexError", "Tokens", "tokenize", "token_text"]

_I64_MAX = 2 ** 63 - 1

# Terminal ids are positions in this tuple; the grammar's %declare list must be a subset.
TERMINALS = (
    "$END", "$ERROR", "INT", "FLOAT", "STRING", "BOOL", "NAME",
    "COLON", "COMMA", "LSQB", "RSQB", "LPAR", "RPAR", "LBRACE", "RBRACE", "DOT", "BANG", "PIPE",
    "SEMI", "QUERY", "STAR", "SLASH", "MOD", "REM", "PLUS", "MINUS", "EQEQ", "NEQ", "LEQ", "GEQ",
    "LT", "GT", "EQ", "ASSIGN", "NEW", "IN", "CUT", "DEBUG", "PRINT", "ISA", "FORALL", "IF", "AND",
    "OR", "NOT", "MATCHES", "TYPE",
    # Only the Oso Cloud dialect's tokenizer produces these (`@current_unix_time`).
    "CONST",
)
TID = {name: i for i, name in enumerate(TERMINALS)}
END = TID["$END"]
ERROR = TID["$ERROR"]
T_INT, T_FLOAT, T_STRING, T_BOOL, T_NAME = (TID[n] for n in ("INT", "FLOAT", "STRING", "BOOL", "NAME"))
T_LPAR, T_SEMI = TID["LPAR"], TID["SEMI"]

# Provisional ids the first tokenizer pass assigns and the second pass resolves.
_F_NUMBER, _F_STRING, _F_BADCHAR, _F_COMMENT, _F_TRUE, _F_FALSE, _F_INF, _F_NAN, _F_CONST = range(100, 109)
_FIXUP_MIN = 100  # every provisional id is at least this

# Legacy oso's lexer as a regex, one alternative per token class, used with re.split (much faster
# than iterating match objects). Every character outside whitespace belongs to some alternative
# (the last one catches a stray character), so the text between tokens is pure whitespace.
# Comments are captured like tokens and dropped afterwards.
#
# Symbols: the first char is anything but ASCII punctuation, an ASCII digit or skipped
# whitespace; later chars anything but ASCII punctuation and ASCII whitespace (`_` counts as a
# letter); `::` may appear inside; one `?` may end it.
_PUNCT_CLASS = r"!-/:-@\[-\^`{-~"
_SYMBOL_REST = rf"[^{_PUNCT_CLASS} \t\n\x0c\r]"
_SYMBOL = rf"[^{_PUNCT_CLASS}0-9 \t\r\n]{_SYMBOL_REST}*(?:::{_SYMBOL_REST}*)*\??"
_NUMBER = r"[0-9]+(?:\.[0-9]*)?(?:[eE][0-9]*[+-]?[0-9]*)?"
# One character per repetition: `(?:[^"]+|...)*` would backtrack exponentially on an
# unterminated string.
_STRING = r'"(?:[^"\\\n]|\\[\s\S])*"'
_PUNCT = r":=|==|!=|<=|>=|\?=|[:=<>!|,\[\]{}().+\-*/;]"
# Public so that the formatter's comment-keeping lexer splits text exactly as the loader does.
COMMENT_PATTERN = r"#[^\r\n]*"
TOKEN_PATTERN = rf"{_SYMBOL}|{_NUMBER}|{_STRING}|{_PUNCT}|[^ \t\r\n]"
_SPLIT_RE = re.compile(rf"({COMMENT_PATTERN}|{TOKEN_PATTERN})")
# The Oso Cloud dialect also has constants: `@` immediately followed by a symbol.
SYMBOL_PATTERN = _SYMBOL  # for oso_core/frontend/dialect.py's quick scan
_CLOUD_SPLIT_PATTERN = rf"({COMMENT_PATTERN}|@{_SYMBOL}|{TOKEN_PATTERN})"
# Compiled on first use (see _cloud_split_re): compiling it costs ~0.5 ms of every import, and
# only the Oso Cloud dialect (and dialect detection, for text that may be cloud) uses it.
_cloud_split: Optional["re.Pattern[str]"] = None

# Exact token text -> id (punctuation and reserved words).
_TEXT_TYPES: dict[str, int] = {
    ":": TID["COLON"], ",": TID["COMMA"], "[": TID["LSQB"], "]": TID["RSQB"],
    "(": TID["LPAR"], ")": TID["RPAR"], "{": TID["LBRACE"], "}": TID["RBRACE"],
    ".": TID["DOT"], "!": TID["BANG"], "*": TID["STAR"], "/": TID["SLASH"], "+": TID["PLUS"],
    "-": TID["MINUS"], "==": TID["EQEQ"], "!=": TID["NEQ"], "<=": TID["LEQ"],
    ">=": TID["GEQ"], "<": TID["LT"], ">": TID["GT"], "=": TID["EQ"], ":=": TID["ASSIGN"],
    "|": TID["PIPE"], ";": TID["SEMI"], "?=": TID["QUERY"],
    "true": _F_TRUE, "false": _F_FALSE, "inf": _F_INF, "nan": _F_NAN,
}
for _word in ("new", "in", "cut", "debug", "print", "isa", "forall", "if", "and", "or", "not",
              "matches", "type", "mod", "rem"):
    _TEXT_TYPES[_word] = TID[_word.upper()]
del _word
# Otherwise the first character decides; anything not listed starts a symbol.
_FIRST_TYPES: dict[str, int] = {c: _F_NUMBER for c in "0123456789"}
_FIRST_TYPES['"'] = _F_STRING
_FIRST_TYPES["#"] = _F_COMMENT
for _c in "$%&'@\\^`~?":
    _FIRST_TYPES[_c] = _F_BADCHAR
del _c
_CLOUD_FIRST_TYPES = {**_FIRST_TYPES, "@": _F_CONST}
_first_char = itemgetter(0)

_ESCAPE_RE = re.compile(r"\\([\s\S])")
_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "0": "\0"}


class LexError(Exception):
    """A tokenizer error; the parser raises it only when it reaches the token (legacy lexes lazily)."""

    def __init__(self, cls: type, message: str, offset: int, details: dict) -> None:
        super().__init__(message)
        self.cls = cls
        self.message = message
        self.offset = offset
        self.details = details


def _cloud_split_re() -> "re.Pattern[str]":
    global _cloud_split
    if _cloud_split is None:
        _cloud_split = re.compile(_CLOUD_SPLIT_PATTERN)  # racing threads compile equal patterns
    return _cloud_split


def _unescape(match: "re.Match[str]") -> str:
    c = match.group(1)
    return _ESCAPES.get(c, c)


def tokenize(text: str, cloud: bool = False) -> tuple[list, list, list, list]:
    """Split text into parallel lists (type ids, values, starts, ends) that end with `$END`.

    Values are the token text, except for literals (int/float/str/bool). A lexical error ends
    the lists with a `$ERROR` token whose value is the LexError. `cloud`: the Oso Cloud
    dialect, where `@name` is a CONST token (value: the name); legacy text lexes as always.
    """
    parts = (_cloud_split_re() if cloud else _SPLIT_RE).split(text)
    bounds = list(accumulate(map(len, parts)))
    values = parts[1::2]
    starts = bounds[0::2]  # one more than there are tokens: the last is len(text), for $END
    ends = bounds[1::2]
    first_types = _CLOUD_FIRST_TYPES if cloud else _FIRST_TYPES
    types = list(map(_TEXT_TYPES.get, values,
                     map(first_types.get, map(_first_char, values), repeat(T_NAME))))
    error_at = len(values)
    error: Optional[LexError] = None
    if "::" in text:  # a symbol may contain `::` but not end with it
        for k, tok in enumerate(values):
            if types[k] == T_NAME and tok[-1] == ":":
                error_at, error = k, _invalid_char(tok, ":", ends[k] - 1)
                break
    comments = False
    for k in list(compress(range(len(types)), map(_FIXUP_MIN.__le__, types))):
        if k >= error_at:
            break
        t = types[k]
        tok = values[k]
        if t == _F_NUMBER:
            try:
                values[k] = _number(tok, starts[k])
            except LexError as err:
                error_at, error = k, err
                break
            types[k] = T_FLOAT if type(values[k]) is float else T_INT
        elif t == _F_STRING and len(tok) > 1:
            body = tok[1:-1]
            if "\\" in body:
                body = _ESCAPE_RE.sub(_unescape, body)
            values[k] = body
            types[k] = T_STRING
        elif t == _F_COMMENT:
            comments = True
        elif t == _F_CONST and len(tok) > 1:
            values[k] = tok[1:]
            types[k] = TID["CONST"]
        elif t == _F_TRUE or t == _F_FALSE:
            values[k] = t == _F_TRUE
            types[k] = T_BOOL
        elif t == _F_INF or t == _F_NAN:
            values[k] = math.inf if t == _F_INF else math.nan
            types[k] = T_FLOAT
        else:  # a character no token starts with, or an unterminated string
            error_at, error = k, _char_error(text, starts[k])
            break
    if error is not None:
        del types[error_at:], values[error_at:], starts[error_at:], ends[error_at:]
        types.append(ERROR)
        values.append(error)
        starts.append(error.offset)
        ends.append(error.offset)
        starts.append(error.offset)  # keep starts one longer than the tokens
    if comments:
        keep = list(map(ne, types, repeat(_F_COMMENT)))
        types = list(compress(types, keep))
        values = list(compress(values, keep))
        last_start = starts[-1]
        starts = list(compress(starts, keep))
        starts.append(last_start)
        ends = list(compress(ends, keep))
    if error is None:
        types.append(END)
        values.append(None)
        ends.append(len(text))
    return types, values, starts, ends


def _number(tok: str, offset: int) -> Any:
    if "." in tok or "e" in tok or "E" in tok:
        try:
            return float(tok)
        except ValueError:
            raise LexError(ParserError, f"{tok} was parsed as a float, but is invalid", offset,
                            {"token": tok}) from None
    value = int(tok)
    if value > _I64_MAX:
        raise LexError(IntegerOverflow, f"'{tok}' caused an integer overflow", offset, {"token": tok})
    return value


def _invalid_char(token: str, c: str, offset: int) -> LexError:
    return LexError(InvalidTokenCharacter,
                     f"'{_rust_escaped(c)}' is not a valid character. Found in {_rust_escaped(token)}",
                     offset, {"token": token, "c": c})


def _char_error(text: str, pos: int) -> LexError:
    """The error for a character no token starts with, or for an unterminated string."""
    c = text[pos]
    if c == '"':
        buf = []
        i = pos + 1
        n = len(text)
        while i < n:
            ch = text[i]
            if ch == "\n":
                return _invalid_char("".join(buf), "\n", i)
            if ch == "\\":
                if i + 1 >= n:
                    return _invalid_char("".join(buf), "\0", i)
                buf.append(_ESCAPES.get(text[i + 1], text[i + 1]))
                i += 2
                continue
            buf.append(ch)
            i += 1
        return _invalid_char("".join(buf), "\0", pos)
    if c == "?":  # only `?=` starts with `?`
        if pos + 1 < len(text):
            return _invalid_char("?=", text[pos + 1], pos + 1)
        return _invalid_char("?=", "\0", pos + 1)
    return _invalid_char("", c, pos)


_DEBUG_ESCAPES = {"\0": "\\0", "\t": "\\t", "\r": "\\r", "\n": "\\n", "'": "\\'", '"': '\\"',
                  "\\": "\\\\"}


def _rust_escape_debug(c: str) -> str:
    """One char of a string the way Rust's `escape_debug` writes it (legacy prints string tokens so)."""
    escaped = _DEBUG_ESCAPES.get(c)
    if escaped is not None:
        return escaped
    if not c.isprintable() and c != " ":
        return "\\u{%x}" % ord(c)
    return c


def _rust_escaped(text: str) -> str:
    return "".join(map(_rust_escape_debug, text))


def token_text(types: list, values: list, i: int) -> str:
    """Token i as legacy prints it: literals by value (strings unquoted), others as written."""
    t = types[i]
    value = values[i]
    if t == T_FLOAT:
        return render_float(value)
    if t == T_BOOL:
        return "true" if value else "false"
    if t == T_STRING:
        return _rust_escaped(value)
    return str(value)


class Tokens:
    """A source and its tokens, as the parallel lists tokenize() returns."""

    __slots__ = ("source", "types", "values", "starts", "ends")

    def __init__(self, source: Source, cloud: bool = False) -> None:
        self.source = source
        self.types, self.values, self.starts, self.ends = tokenize(source.text, cloud)
