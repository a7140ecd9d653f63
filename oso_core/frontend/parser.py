"""Polar source text -> AST (syntax.py), with legacy oso's parse errors.

The grammar lives in grammar.lark. Lark computes its LALR(1) table once; this module drives that
table itself, fed by a hand-written tokenizer, and builds AST nodes directly in reduce handlers.
That avoids Lark's lexer and tree building, which cost several microseconds per token, while the
grammar stays the single definition of the language.

The derived table is cached on disk (JSON in the user's cache directory, keyed by a hash of the
grammar, the table format and the Lark version), so later processes skip both importing Lark and
the ~0.3 s table construction.
"""

from __future__ import annotations

import gc
import hashlib
import json
import math
import os
import re
import threading
from collections import OrderedDict
from itertools import accumulate, compress, repeat
from operator import itemgetter, ne
from typing import Any, Callable, Optional

from ..exceptions import (IntegerOverflow, InvalidTokenCharacter, ParserError, UnrecognizedEOF,
                          UnrecognizedToken)
from .source import Source, Span
from .syntax import (CallTerm, Declaration, DictTerm, InlineQuery, Item, ListTerm, Name, Node, Op,
                     Param, PatternTerm, ResourceBlock, Rule, RuleType, ShorthandRule, Sym, Value)

__all__ = ["parse_program", "parse_query"]

_GRAMMAR_PATH = os.path.join(os.path.dirname(__file__), "grammar.lark")
# Bump whenever the layout of the cached table data (see _build_table_data) changes.
_TABLE_FORMAT = 3
_I64_MAX = 2 ** 63 - 1


# Tokens ---------------------------------------------------------------------------------------

# Terminal ids are positions in this tuple; the grammar's %declare list must be a subset.
_TERMINALS = (
    "$END", "$ERROR", "INT", "FLOAT", "STRING", "BOOL", "NAME",
    "COLON", "COMMA", "LSQB", "RSQB", "LPAR", "RPAR", "LBRACE", "RBRACE", "DOT", "BANG", "PIPE",
    "SEMI", "QUERY", "STAR", "SLASH", "MOD", "REM", "PLUS", "MINUS", "EQEQ", "NEQ", "LEQ", "GEQ",
    "LT", "GT", "EQ", "ASSIGN", "NEW", "IN", "CUT", "DEBUG", "PRINT", "ISA", "FORALL", "IF", "AND",
    "OR", "NOT", "MATCHES", "TYPE",
)
_TID = {name: i for i, name in enumerate(_TERMINALS)}
_END = _TID["$END"]
_ERROR = _TID["$ERROR"]
_T_INT, _T_FLOAT, _T_STRING, _T_BOOL, _T_NAME = (_TID[n] for n in ("INT", "FLOAT", "STRING", "BOOL", "NAME"))
_T_LPAR, _T_SEMI = _TID["LPAR"], _TID["SEMI"]
# Unexpected tokens legacy reports as reserved words.
_RESERVED_WORD_TOKENS = frozenset(_TID[n] for n in ("DEBUG", "CUT", "IN", "NEW"))

# Provisional ids the first tokenizer pass assigns and the second pass resolves.
_F_NUMBER, _F_STRING, _F_BADCHAR, _F_COMMENT, _F_TRUE, _F_FALSE, _F_INF, _F_NAN = range(100, 108)
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
_SPLIT_RE = re.compile(rf"(#[^\r\n]*|{_SYMBOL}|{_NUMBER}|{_STRING}|{_PUNCT}|[^ \t\r\n])")

# Exact token text -> id (punctuation and reserved words).
_TEXT_TYPES: dict[str, int] = {
    ":": _TID["COLON"], ",": _TID["COMMA"], "[": _TID["LSQB"], "]": _TID["RSQB"],
    "(": _TID["LPAR"], ")": _TID["RPAR"], "{": _TID["LBRACE"], "}": _TID["RBRACE"],
    ".": _TID["DOT"], "!": _TID["BANG"], "*": _TID["STAR"], "/": _TID["SLASH"], "+": _TID["PLUS"],
    "-": _TID["MINUS"], "==": _TID["EQEQ"], "!=": _TID["NEQ"], "<=": _TID["LEQ"],
    ">=": _TID["GEQ"], "<": _TID["LT"], ">": _TID["GT"], "=": _TID["EQ"], ":=": _TID["ASSIGN"],
    "|": _TID["PIPE"], ";": _TID["SEMI"], "?=": _TID["QUERY"],
    "true": _F_TRUE, "false": _F_FALSE, "inf": _F_INF, "nan": _F_NAN,
}
for _word in ("new", "in", "cut", "debug", "print", "isa", "forall", "if", "and", "or", "not",
              "matches", "type", "mod", "rem"):
    _TEXT_TYPES[_word] = _TID[_word.upper()]
del _word
# Otherwise the first character decides; anything not listed starts a symbol.
_FIRST_TYPES: dict[str, int] = {c: _F_NUMBER for c in "0123456789"}
_FIRST_TYPES['"'] = _F_STRING
_FIRST_TYPES["#"] = _F_COMMENT
for _c in "$%&'@\\^`~?":
    _FIRST_TYPES[_c] = _F_BADCHAR
del _c
_first_char = itemgetter(0)

_ESCAPE_RE = re.compile(r"\\([\s\S])")
_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "0": "\0"}


class _LexError(Exception):
    """A tokenizer error; the parser raises it only when it reaches the token (legacy lexes lazily)."""

    def __init__(self, cls: type, message: str, offset: int, details: dict) -> None:
        super().__init__(message)
        self.cls = cls
        self.message = message
        self.offset = offset
        self.details = details


def _unescape(match: "re.Match[str]") -> str:
    c = match.group(1)
    return _ESCAPES.get(c, c)


def _tokenize(text: str) -> tuple[list, list, list, list]:
    """Split text into parallel lists (type ids, values, starts, ends) that end with `$END`.

    Values are the token text, except for literals (int/float/str/bool). A lexical error ends
    the lists with a `$ERROR` token whose value is the _LexError.
    """
    parts = _SPLIT_RE.split(text)
    bounds = list(accumulate(map(len, parts)))
    values = parts[1::2]
    starts = bounds[0::2]  # one more than there are tokens: the last is len(text), for $END
    ends = bounds[1::2]
    types = list(map(_TEXT_TYPES.get, values,
                     map(_FIRST_TYPES.get, map(_first_char, values), repeat(_T_NAME))))
    error_at = len(values)
    error: Optional[_LexError] = None
    if "::" in text:  # a symbol may contain `::` but not end with it
        for k, tok in enumerate(values):
            if types[k] == _T_NAME and tok[-1] == ":":
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
            except _LexError as err:
                error_at, error = k, err
                break
            types[k] = _T_FLOAT if type(values[k]) is float else _T_INT
        elif t == _F_STRING and len(tok) > 1:
            body = tok[1:-1]
            if "\\" in body:
                body = _ESCAPE_RE.sub(_unescape, body)
            values[k] = body
            types[k] = _T_STRING
        elif t == _F_COMMENT:
            comments = True
        elif t == _F_TRUE or t == _F_FALSE:
            values[k] = t == _F_TRUE
            types[k] = _T_BOOL
        elif t == _F_INF or t == _F_NAN:
            values[k] = math.inf if t == _F_INF else math.nan
            types[k] = _T_FLOAT
        else:  # a character no token starts with, or an unterminated string
            error_at, error = k, _char_error(text, starts[k])
            break
    if error is not None:
        del types[error_at:], values[error_at:], starts[error_at:], ends[error_at:]
        types.append(_ERROR)
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
        types.append(_END)
        values.append(None)
        ends.append(len(text))
    return types, values, starts, ends


def _number(tok: str, offset: int) -> Any:
    if "." in tok or "e" in tok or "E" in tok:
        try:
            return float(tok)
        except ValueError:
            raise _LexError(ParserError, f"{tok} was parsed as a float, but is invalid", offset,
                            {"token": tok}) from None
    value = int(tok)
    if value > _I64_MAX:
        raise _LexError(IntegerOverflow, f"'{tok}' caused an integer overflow", offset, {"token": tok})
    return value


def _invalid_char(token: str, c: str, offset: int) -> _LexError:
    return _LexError(InvalidTokenCharacter,
                     f"'{_rust_escaped(c)}' is not a valid character. Found in {_rust_escaped(token)}",
                     offset, {"token": token, "c": c})


def _char_error(text: str, pos: int) -> _LexError:
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


def _rust_float(f: float) -> str:
    """A float the way Rust's `Display` prints it: shortest round-trip digits, no exponent."""
    if math.isnan(f):
        return "NaN"
    if math.isinf(f):
        return "inf" if f > 0 else "-inf"
    text = repr(f)
    sign = ""
    if text[0] == "-":
        sign, text = "-", text[1:]
    if "e" in text:
        mantissa, exp_text = text.split("e")
        int_part, _, frac_part = mantissa.partition(".")
        digits = int_part + frac_part
        point = len(int_part) + int(exp_text)
        if point <= 0:
            text = "0." + "0" * -point + digits
        elif point >= len(digits):
            text = digits + "0" * (point - len(digits))
        else:
            text = digits[:point] + "." + digits[point:]
    elif text.endswith(".0"):
        text = text[:-2]
    return sign + text


# Parse table ----------------------------------------------------------------------------------

# Rule kinds.
_PASS, _CHECK, _HANDLER = 0, 1, 2
# Kind checks (legacy ExpectValue / ExpectLogical), by wrapper rule name.
_CHK_VALUE, _CHK_LOGICAL, _CHK_PVALUE, _CHK_PLOGICAL = 1, 2, 3, 4
_VALUE_CHECKS = frozenset((_CHK_VALUE, _CHK_PVALUE))
_CHECK_RULES = {
    **{f"val{n}": _CHK_VALUE for n in (1, 4, 5, 6, 7, 8, 9)},
    **{f"log{n}": _CHK_LOGICAL for n in (1, 2, 3, 4)},
    **{f"pval{n}": _CHK_PVALUE for n in (4, 5, 6, 7, 8, 9)},
    **{f"plog{n}": _CHK_PLOGICAL for n in (1, 2, 3, 4)},
}


class _Tables:
    """The LALR table in the shape the driver wants.

    actions[state][symbol id] is None (error), a state number (shift, or goto for a
    nonterminal), `~r` (reduce by handler rule r), `unit_base + r` (reduce by a single-symbol
    pass-through or kind-check rule r) or `hook_base + state` (a shift that starts a top-level
    item). Rule r pops rule_len[r] symbols and goes to
    actions[exposed state][rule_lhs[r]]. Terminal ids are positions in _TERMINALS, nonterminal
    ids follow them.
    """

    __slots__ = ("actions", "unit_base", "hook_base", "item_id", "rule_len", "rule_lhs",
                 "rule_kind", "rule_arg", "start_states", "end_states", "unit_memo")

    def __init__(self, data: dict) -> None:
        symbols = {name: i for i, name in enumerate(list(_TERMINALS) + data["nonterminals"])}
        width = len(symbols)
        n_states = len(data["actions"])
        self.unit_base = n_states
        self.rule_len: list[int] = data["rule_len"]
        self.rule_lhs: list[int] = [symbols[name] for name in data["rule_lhs"]]
        self.rule_kind: list[int] = data["rule_kind"]
        self.rule_arg: list[Any] = data["rule_arg"]
        self.actions: list[list[Optional[int]]] = []
        for row in data["actions"]:
            out: list[Optional[int]] = [None] * width
            for name, code in row.items():
                if code < 0:
                    r = -code - 1
                    code = ~r if self.rule_kind[r] == _HANDLER else n_states + r
                out[symbols[name]] = code
            self.actions.append(out)
        self.start_states: dict[str, int] = data["start_states"]
        self.end_states: dict[str, int] = data["end_states"]
        # Shifting the first token of a top-level item goes through the item-shape cache (see
        # _Parse.run): those shifts are coded as hook_base + target state.
        self.hook_base = n_states + len(self.rule_len)
        self.item_id = symbols["item"]
        program = self.start_states["program"]
        for state in (program, self.actions[program][symbols["lines"]]):
            row = self.actions[state]
            for tid in (_T_NAME, _TID["TYPE"], _TID["QUERY"]):
                if row[tid] is not None and 0 <= row[tid] < n_states:
                    row[tid] += self.hook_base
        # (state below << 20 | top state << 8 | lookahead) -> (state after the run of unit
        # reductions that follows, the kind checks on the way).
        self.unit_memo: dict[int, tuple] = {}


_tables: Optional[_Tables] = None
_tables_lock = threading.Lock()


def _get_tables() -> _Tables:
    global _tables
    if _tables is None:
        with _tables_lock:
            if _tables is None:
                _tables = _Tables(_load_table_data())
    return _tables


PACKAGED_TABLE_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "lalr_table.py")


def write_packaged_table() -> str:
    """Rebuild the LALR table from grammar.lark and store it in the package (after editing the
    grammar: `python -c "from oso_core.frontend.parser import write_packaged_table as w; w()"`)."""
    with open(_GRAMMAR_PATH, encoding="utf-8") as f:
        grammar = f.read()
    recipe = [_TABLE_FORMAT, grammar, sorted(_HANDLER_NAMES), sorted(_CHECK_RULES)]
    data = _build_table_data(grammar)
    data["key"] = hashlib.sha256(json.dumps(recipe).encode()).hexdigest()[:24]
    data = json.loads(json.dumps(data))  # plain lists, dicts, strings and numbers only
    with open(PACKAGED_TABLE_PATH, "w", encoding="utf-8") as f:
        f.write('"""LALR(1) table for grammar.lark, generated by parser.write_packaged_table(); do not edit."""\n\n')
        f.write(f"DATA = {data!r}\n")
    return PACKAGED_TABLE_PATH


def _cache_path(key: str) -> Optional[str]:
    base = os.environ.get("XDG_CACHE_HOME")
    if not base:
        home = os.path.expanduser("~")
        if home == "~":
            return None
        base = os.path.join(home, ".cache")
    return os.path.join(base, "oso_core", f"polar-lalr-{key}.json")


def _load_table_data() -> dict:
    with open(_GRAMMAR_PATH, encoding="utf-8") as f:
        grammar = f.read()
    # The table is a function of the grammar (any LALR table for it parses the same language),
    # and of which rules have handlers or checks, which is baked into the data. Lark's version is
    # left out on purpose: asking importlib.metadata for it costs ~18 ms at every start.
    recipe = [_TABLE_FORMAT, grammar, sorted(_HANDLER_NAMES), sorted(_CHECK_RULES)]
    key = hashlib.sha256(json.dumps(recipe).encode()).hexdigest()[:24]
    # The table built for this grammar ships with the package (tests/test_parser.py checks it is
    # current); the user cache only serves a modified grammar.
    try:
        from . import lalr_table  # a Python module: imported from bytecode, no JSON decoding
        if lalr_table.DATA.get("key") == key:
            return lalr_table.DATA
    except ImportError:
        pass
    path = _cache_path(key)
    if path is not None:
        try:
            with open(path, encoding="utf-8") as f:
                data = json.load(f)
            if data.get("key") == key:
                return data
        except (OSError, ValueError):
            pass
    data = _build_table_data(grammar)
    data["key"] = key
    if path is not None:
        # Write then rename, so a concurrent reader never sees half a file; an unwritable cache
        # directory only means rebuilding next time.
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            tmp = f"{path}.{os.getpid()}.tmp"
            with open(tmp, "w", encoding="utf-8") as f:
                json.dump(data, f, separators=(",", ":"))
            os.replace(tmp, path)
        except OSError:
            pass
    return data


def _build_table_data(grammar: str) -> dict:
    """Run Lark's LALR(1) analysis on the grammar and flatten the table into plain data."""
    from lark import Lark
    from lark.lexer import Lexer

    class _ExternalLexer(Lexer):
        # Tokens come from _tokenize; Lark only needs a lexer class to accept %declare'd terminals.
        def __init__(self, lexer_conf: Any) -> None:
            pass

        def lex(self, data: Any) -> Any:  # pragma: no cover - never called
            raise RuntimeError("Lark only builds the table here; oso_core's _tokenize lexes policies")

    # strict: a shift/reduce conflict is a grammar bug, not something to resolve silently.
    lark = Lark(grammar, parser="lalr", lexer=_ExternalLexer, start=["program", "query"],
                strict=True)
    table = lark.parser.parser._parse_table
    rule_index: dict[Any, int] = {}
    rule_len: list[int] = []
    rule_lhs: list[str] = []
    rule_kind: list[int] = []
    rule_arg: list[Any] = []
    nonterminals: dict[str, None] = {}
    arity: dict[str, bool] = {}

    def rule_code(rule: Any) -> int:
        r = rule_index.get(rule)
        if r is None:
            r = rule_index[rule] = len(rule_len)
            name = rule.alias or rule.origin.name
            rule_len.append(len(rule.expansion))
            rule_lhs.append(rule.origin.name)
            nonterminals.setdefault(rule.origin.name)
            if name in _HANDLER_NAMES:
                # Handlers of one-symbol rules get the value itself, so a handler must not be
                # shared between one-symbol and other rules.
                if arity.setdefault(name, len(rule.expansion) == 1) != (len(rule.expansion) == 1):
                    raise AssertionError(f"handler {name} used by rules of mixed arity")
                rule_kind.append(_HANDLER)
                rule_arg.append(name)
            elif name in _CHECK_RULES:
                rule_kind.append(_CHECK)
                rule_arg.append(_CHECK_RULES[name])
            elif len(rule.expansion) == 1:
                rule_kind.append(_PASS)
                rule_arg.append(None)
            else:
                raise AssertionError(f"grammar rule without a handler: {rule}")
        return -r - 1

    actions: list[dict[str, int]] = [{} for _ in table.states]
    for state, row in table.states.items():
        for symbol, (action, arg) in row.items():
            actions[state][symbol] = rule_code(arg) if action.name == "Reduce" else arg
    for row in actions:
        for symbol in row:
            if symbol.isupper() and symbol not in _TID:
                raise AssertionError(f"terminal {symbol} has no token id")
            if not symbol.isupper():
                nonterminals.setdefault(symbol)
    return {"actions": actions, "nonterminals": list(nonterminals), "rule_len": rule_len,
            "rule_lhs": rule_lhs, "rule_kind": rule_kind, "rule_arg": rule_arg,
            "start_states": dict(table.start_states), "end_states": dict(table.end_states)}


# Kinds ----------------------------------------------------------------------------------------

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


# Parser ---------------------------------------------------------------------------------------

_BINARY_OPS = {
    "op_eq": "Eq", "op_neq": "Neq", "op_leq": "Leq", "op_geq": "Geq", "op_lt": "Lt", "op_gt": "Gt",
    "op_add": "Add", "op_sub": "Sub", "op_mul": "Mul", "op_div": "Div", "op_mod": "Mod",
    "op_rem": "Rem", "unify_exp": "Unify", "assign_exp": "Assign", "in_exp": "In",
}
_OPCALL_OPS = {_TID["DOT"]: "Dot", _TID["NEW"]: "New", _TID["IN"]: "In"}
_BUILTIN_OPS = {_TID["PRINT"]: "Print", _TID["DEBUG"]: "Debug"}


# Item shapes. A top-level rule, rule type or inline query ends at its first `;`, and what the
# LALR driver does depends only on token types (never on token values), so two items with the
# same token types at the same parser state reduce the same rules in the same order. The driver
# records that order the first time it parses a shape and later rebuilds such items from the
# record, skipping table lookups, unit reductions and kind checks (which depend only on the
# shape too, and passed). Shapes that keep recurring are compiled into straight-line Python.
#
# (state before the item, the item's token types) -> _Shape; shared by all parses.
_item_shapes: dict[tuple, "_Shape"] = {}
_MAX_SHAPES = 4096
# Compiling costs about as much as 40 interpreted replays of a typical rule.
_COMPILE_AFTER = 32


class _Shape:
    """The handler reductions of one item shape.

    program: (rule, index of the lookahead token at that reduction relative to the item's first
    token) per handler reduction, in order. fn: the compiled program, once it has been used
    _COMPILE_AFTER times.
    """

    __slots__ = ("program", "uses", "fn")

    def __init__(self, program: tuple) -> None:
        self.program = program
        self.uses = 0
        self.fn: Optional[Callable] = None


def _replay(program: tuple, first: int, rules: list, tstarts: list, tends: list) -> Any:
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
        n, lhs, handler = rules[r]
        if n == 1:
            values[-1] = handler(values[-1], starts[-1], tends[upto - 1])
        else:
            args = values[-n:]
            del values[-n:]
            begin = starts[-n]
            del starts[-n:]
            values.append(handler(args, begin, tends[upto - 1]))
            starts.append(begin)
    return values[0]


def _compile_shape(program: tuple, rule_len: list) -> Callable:
    """_replay unrolled for one program: `fn(first token, tstarts, tends, handler by rule)`.

    The stack is simulated here, so the generated code is one handler call per reduction with
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
    body = [f"h{r} = handlers[{r}]" for r in used] + lines + [f"return {stack[0][0]}"]
    source = "def item(f, ts, te, handlers):\n" + "".join(f"    {line}\n" for line in body)
    namespace: dict[str, Any] = {}
    exec(compile(source, "<polar item shape>", "exec"), namespace)
    return namespace["item"]


class _Parse:
    """One parse of one source: tokens, the LALR driver and error reporting."""

    def __init__(self, source: Source) -> None:
        self.source = source
        self.types, self.values, self.starts, self.ends = _tokenize(source.text)
        # ids of Dot/New/In operations written in operator-call form (`.(a, b)`, `new(x)`),
        # which are logical although `a.b` and `new C()` are not.
        self.opcalls: set[int] = set()

    def run(self, start: str) -> Any:
        tables = _get_tables()
        actions = tables.actions
        unit_base = tables.unit_base
        hook_base = tables.hook_base
        item_id = tables.item_id
        rule_len = tables.rule_len
        rule_lhs = tables.rule_lhs
        memo = tables.unit_memo
        end_state = tables.end_states[start]
        make = _handler_factories(self)
        handlers = [make[arg] if kind == _HANDLER else None
                    for kind, arg in zip(tables.rule_kind, tables.rule_arg)]
        rules = [(n, lhs, h) for n, lhs, h in zip(rule_len, rule_lhs, handlers)]
        ttypes = self.types
        tstarts = self.starts
        tends = self.ends
        shapes = _item_shapes

        states = [tables.start_states[start]]
        values: list = []  # AST nodes, handler data, or for tokens the token's index
        starts: list = []  # where each stack entry's text begins
        i = 0
        t = ttypes[0]
        state = states[0]
        # While an item is parsed for the first time in its shape: its handler reductions.
        record: Optional[list] = None
        record_from = record_to = 0
        record_key: Any = None
        while True:
            code = actions[state][t]
            if code is None:
                self._syntax_error(i)
            if code >= 0:
                if code < unit_base:  # shift
                    states.append(code)
                    values.append(i)
                    starts.append(tstarts[i])
                    state = code
                    i += 1
                    t = ttypes[i]
                    continue
                if code < hook_base:
                    # A run of single-symbol pass-through / check reductions depends only on
                    # the state below, the top state and the lookahead: memoize where it ends.
                    below = states[-2]
                    key = below << 20 | state << 8 | t
                    hit = memo.get(key)
                    if hit is None:
                        hit = memo[key] = self._unit_run(tables, below, state, t)
                    state, checks = hit
                    if checks:
                        node = values[-1]
                        tp = type(node)
                        for chk in checks:
                            # Only operations and calls can fail a value check, and calls never
                            # fail a logical one: skip the full check for everything else.
                            if tp is Op or (tp is CallTerm) is (chk in _VALUE_CHECKS):
                                self._check(node, starts[-1], chk)
                    states[-1] = state
                    if state == end_state and t == _END:
                        return values[-1]
                    continue
                # The first token of a top-level item. Rules, rule types and inline queries end
                # at the first `;`, and the parser's actions depend only on token types, so an
                # item whose token types were seen before replays that item's reductions.
                code -= hook_base
                if t != _T_NAME or ttypes[i + 1] == _T_LPAR:
                    try:
                        last = ttypes.index(_T_SEMI, i)
                    except ValueError:
                        last = -1
                    if last > 0:
                        key = (state, tuple(ttypes[i:last + 1]))
                        shape = shapes.get(key)
                        if shape is not None:
                            shape.uses += 1
                            if shape.fn is not None:
                                item = shape.fn(i, tstarts, tends, handlers)
                            else:
                                if shape.uses >= _COMPILE_AFTER:
                                    shape.fn = _compile_shape(shape.program, rule_len)
                                item = _replay(shape.program, i, rules, tstarts, tends)
                            states.append(actions[state][item_id])
                            values.append(item)
                            starts.append(tstarts[i])
                            state = states[-1]
                            i = last + 1
                            t = ttypes[i]
                            continue
                        record = []
                        record_from, record_to, record_key = i, last + 1, key
                states.append(code)
                values.append(i)
                starts.append(tstarts[i])
                state = code
                i += 1
                t = ttypes[i]
                continue
            r = ~code
            n, lhs, handler = rules[r]
            if record is not None:
                record.append((r, i - record_from))
                if lhs == item_id:
                    if i == record_to:
                        if len(shapes) >= _MAX_SHAPES:
                            shapes.clear()
                        shapes[record_key] = _Shape(tuple(record))
                    record = None
            if n == 1:  # the most common shape: the value and its start stay in place
                values[-1] = handler(values[-1], starts[-1], tends[i - 1])
                state = states[-1] = actions[states[-2]][lhs]
            else:
                if n:
                    args = values[-n:]
                    del values[-n:]
                    begin = starts[-n]
                    del starts[-n:]
                    del states[-n:]
                    end = tends[i - 1]
                else:
                    args = []
                    begin = end = tends[i - 1] if i else tstarts[0]
                values.append(handler(args, begin, end))
                starts.append(begin)
                state = actions[states[-1]][lhs]
                states.append(state)
            if state == end_state and t == _END:
                return values[-1]

    @staticmethod
    def _unit_run(tables: _Tables, below: int, state: int, t: int) -> tuple:
        actions = tables.actions
        checks = []
        while True:
            code = actions[state][t]
            if code is None or not tables.unit_base <= code < tables.hook_base:
                break
            r = code - tables.unit_base
            if tables.rule_kind[r] == _CHECK:
                checks.append(tables.rule_arg[r])
            state = actions[below][tables.rule_lhs[r]]
        return state, tuple(checks)

    # Errors ------------------------------------------------------------------------------------

    def _fail(self, cls: type, message: str, offset: int, extra: Optional[dict] = None,
              loc: Optional[int] = None) -> None:
        source = self.source
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

    def _syntax_error(self, i: int) -> None:
        t = self.types[i]
        if t == _ERROR:
            err = self.values[i]
            self._fail(err.cls, err.message, err.offset, err.details)
        if t == _END:
            # Legacy reports the end of the last token, not the end of the text.
            offset = self.ends[i - 1] if i else 0
            self._fail(UnrecognizedEOF,
                       "hit the end of the file unexpectedly. Did you forget a semi-colon", offset)
        text = self._token_text(i)
        if t in _RESERVED_WORD_TOKENS:
            self._fail(ParserError, f"{text} is a reserved Polar word and cannot be used here",
                       self.starts[i], {"token": text})
        self._fail(UnrecognizedToken, f"did not expect to find the token '{text}'", self.starts[i],
                   {"token": text})

    def _token_text(self, i: int) -> str:
        """A token as legacy prints it: literals by value (strings unquoted), others as written."""
        t = self.types[i]
        value = self.values[i]
        if t == _T_FLOAT:
            return _rust_float(value)
        if t == _T_BOOL:
            return "true" if value else "false"
        if t == _T_STRING:
            return _rust_escaped(value)
        return str(value)

    def _check(self, node: Node, begin: int, chk: int) -> None:
        """Legacy's ExpectValue / ExpectLogical on an operand."""
        kind = _kind(node, chk >= _CHK_PVALUE, self.opcalls)
        if chk == _CHK_VALUE or chk == _CHK_PVALUE:
            if kind == _LOGICAL:
                self._wrong_type(node, begin, "value")
        elif kind == _VALUE:
            self._wrong_type(node, begin, "logical expression")

    def _wrong_type(self, node: Node, begin: int, expected: str) -> None:
        # Legacy places the message at the term itself (inside any parentheses) but reports the
        # grammar position (the parenthesis) as `loc`.
        offset = node.span.start if node.span is not None else begin
        self._fail(ParserError, f"Wrong value type: {node}. Expected a {expected}", offset,
                   {"expected": expected}, loc=begin)

    def duplicate_key(self, key: str, offset: int) -> None:
        self._fail(ParserError, f"Duplicate key: {key}", offset, {"key": key})


def _handler_factories(parse: _Parse) -> dict[str, Callable]:
    """The reduce handlers for one parse, by grammar alias (or rule name).

    A handler gets the popped stack values `a` (a token appears as its index into the token
    lists), the offset where the reduced text begins `b` and where it ends `e`. Handlers of
    single-symbol rules get that one value itself as `a` (the driver skips the list). They are
    closures over the parse's token lists and source because they run once per reduction.
    """
    source = parse.source
    tv = parse.values
    ttypes = parse.types
    tstarts = parse.starts
    tends = parse.ends
    opcalls = parse.opcalls
    duplicate_key = parse.duplicate_key

    def tspan(i: int) -> Span:
        return Span(source, tstarts[i], tends[i])

    def as_class(pattern: Node) -> Node:
        # A bare name in specializer / `matches` position names a class: `Foo` is `Foo{}`.
        if type(pattern) is Sym:
            return PatternTerm(pattern.name, {}, pattern.span)
        return pattern

    h: dict[str, Callable] = {}

    def handler(fn: Callable) -> Callable:
        h[fn.__name__] = fn
        return fn

    # Items ---------------------------------------------------------------------------------

    @handler
    def empty_program(a: list, b: int, e: int) -> list:
        return []

    @handler
    def lines_first(a: Any, b: int, e: int) -> list:
        return [a]

    @handler
    def lines_more(a: list, b: int, e: int) -> list:
        a[0].append(a[1])
        return a[0]

    @handler
    def bodiless_rule(a: list, b: int, e: int) -> Rule:
        name, params, span = a[0]
        # Legacy gives an empty body the empty position right after the head.
        return Rule(name, params, Op("And", [], Span(source, span.end, span.end)), span)

    @handler
    def rule(a: list, b: int, e: int) -> Rule:
        name, params, span = a[0]
        body = a[2]
        if type(body) is not Op or body.op != "And":
            body = Op("And", [body], body.span)
        return Rule(name, params, body, span)

    @handler
    def rule_type(a: list, b: int, e: int) -> RuleType:
        name, params, span = a[1]
        return RuleType(name, params, span)

    @handler
    def inline_query(a: list, b: int, e: int) -> InlineQuery:
        return InlineQuery(a[1], a[1].span)

    def make_block(keyword: Optional[int], resource: int, productions: list, b: int, e: int
                   ) -> ResourceBlock:
        kw = Name(tv[keyword], tspan(keyword)) if keyword is not None else None
        return ResourceBlock(kw, Name(tv[resource], tspan(resource)), productions, Span(source, b, e))

    @handler
    def block_kw(a: list, b: int, e: int) -> ResourceBlock:
        return make_block(a[0], a[1], a[3], b, e)

    @handler
    def block_kw_empty(a: list, b: int, e: int) -> ResourceBlock:
        return make_block(a[0], a[1], [], b, e)

    @handler
    def block(a: list, b: int, e: int) -> ResourceBlock:
        return make_block(None, a[0], a[2], b, e)

    @handler
    def block_empty(a: list, b: int, e: int) -> ResourceBlock:
        return make_block(None, a[0], [], b, e)

    @handler
    def head_empty(a: list, b: int, e: int) -> tuple:
        return tv[a[0]], [], Span(source, b, e)

    @handler
    def head(a: list, b: int, e: int) -> tuple:
        return tv[a[0]], a[2], Span(source, b, e)

    @handler
    def param_plain(a: Any, b: int, e: int) -> Param:
        return Param(a)

    @handler
    def param_spec(a: list, b: int, e: int) -> Param:
        return Param(a[0], as_class(a[2]))

    # Lists -----------------------------------------------------------------------------------

    @handler
    def list_first(a: Any, b: int, e: int) -> list:
        return [a]

    @handler
    def list_more(a: list, b: int, e: int) -> list:
        a[0].append(a[2])
        return a[0]

    @handler
    def list_append(a: list, b: int, e: int) -> list:
        a[0].append(a[1])
        return a[0]

    @handler
    def list_skip(a: list, b: int, e: int) -> Any:
        return a[0]

    # Resource block productions ------------------------------------------------------------

    def name(i: int) -> Name:
        return Name(tv[i], tspan(i))

    @handler
    def decl_list_empty(a: list, b: int, e: int) -> Declaration:
        return Declaration(name(a[0]), [], Span(source, b, e))

    @handler
    def decl_list(a: list, b: int, e: int) -> Declaration:
        return Declaration(name(a[0]), a[3], Span(source, b, e))

    @handler
    def decl_dict_empty(a: list, b: int, e: int) -> Declaration:
        return Declaration(name(a[0]), {}, Span(source, b, e))

    @handler
    def decl_dict(a: list, b: int, e: int) -> Declaration:
        return Declaration(name(a[0]), a[3][0], Span(source, b, e))

    @handler
    def shorthand(a: list, b: int, e: int) -> ShorthandRule:
        return ShorthandRule(name(a[0]), name(a[2]), None, None, Span(source, b, e))

    @handler
    def shorthand_on(a: list, b: int, e: int) -> ShorthandRule:
        return ShorthandRule(name(a[0]), name(a[2]), name(a[3]), name(a[4]), Span(source, b, e))

    @handler
    def strings_first(a: int, b: int, e: int) -> list:
        return [name(a)]

    @handler
    def strings_more(a: list, b: int, e: int) -> list:
        a[0].append(name(a[2]))
        return a[0]

    @handler
    def rel_field(a: list, b: int, e: int) -> tuple:
        return name(a[0]), name(a[2])

    @handler
    def rel_field_short(a: int, b: int, e: int) -> tuple:
        return name(a), name(a)

    @handler
    def rel_fields_first(a: tuple, b: int, e: int) -> tuple:
        return {a[0]: a[1]}, b

    @handler
    def rel_fields_more(a: list, b: int, e: int) -> tuple:
        fields, first = a[0]
        key, value = a[2]
        # Keys are Name objects (they carry spans), so compare their text.
        if any(k.value == key.value for k in fields):
            duplicate_key(key.value, first)
        fields[key] = value
        return a[0]

    # Fields of dicts, patterns and keyword arguments: a field is (key, value); a field list is
    # (dict, offset of its first field), which is where legacy reports a duplicate key.

    @handler
    def fields_first(a: tuple, b: int, e: int) -> tuple:
        return {a[0]: a[1]}, b

    @handler
    def fields_more(a: list, b: int, e: int) -> tuple:
        fields, first = a[0]
        key, value = a[2]
        if key in fields:
            duplicate_key(key, first)
        fields[key] = value
        return a[0]

    @handler
    def field(a: list, b: int, e: int) -> tuple:
        return tv[a[0]], a[2]

    @handler
    def field_short(a: Sym, b: int, e: int) -> tuple:
        return a.name, a

    # Terms -----------------------------------------------------------------------------------

    @handler
    def var(a: int, b: int, e: int) -> Sym:
        return Sym(tv[a], Span(source, b, e))

    @handler
    def literal(a: int, b: int, e: int) -> Value:
        return Value(tv[a], Span(source, b, e))

    h["boolean"] = h["string"] = h["number"] = literal

    @handler
    def number_plus(a: list, b: int, e: int) -> Value:
        return Value(tv[a[1]], Span(source, b, e))

    @handler
    def number_minus(a: list, b: int, e: int) -> Value:
        return Value(-tv[a[1]], Span(source, b, e))

    @handler
    def rest_var(a: list, b: int, e: int) -> Sym:
        return Sym(tv[a[1]], Span(source, b, e))

    @handler
    def paren(a: list, b: int, e: int) -> Node:
        return a[1]

    for alias, op in _BINARY_OPS.items():
        h[alias] = _binary_handler(op, source)

    @handler
    def or_exp(a: list, b: int, e: int) -> Op:
        tail = a[2]
        if type(tail) is Op and tail.op == "Or":
            return Op("Or", [a[0], *tail.args], Span(source, b, e))
        return Op("Or", [a[0], tail], Span(source, b, e))

    @handler
    def and_exp(a: list, b: int, e: int) -> Op:
        # Only the right operand is flattened, as in legacy: `(a and b) and c` keeps its nesting.
        tail = a[2]
        if type(tail) is Op and tail.op == "And":
            return Op("And", [a[0], *tail.args], Span(source, b, e))
        return Op("And", [a[0], tail], Span(source, b, e))

    @handler
    def not_exp(a: list, b: int, e: int) -> Op:
        return Op("Not", [a[1]], Span(source, b, e))

    @handler
    def match_exp(a: list, b: int, e: int) -> Op:
        return Op("Isa", [a[0], as_class(a[2])], Span(source, b, e))

    @handler
    def dot_exp(a: list, b: int, e: int) -> Op:
        return Op("Dot", [a[0], a[2]], Span(source, b, e))

    @handler
    def dot_name(a: list, b: int, e: int) -> Op:
        field = Value(tv[a[2]], Span(source, tstarts[a[2]], e))
        return Op("Dot", [a[0], field], Span(source, b, e))

    @handler
    def new(a: list, b: int, e: int) -> Op:
        return Op("New", [a[1]], Span(source, b, e))

    @handler
    def builtin_empty(a: list, b: int, e: int) -> Op:
        return Op(_BUILTIN_OPS[ttypes[a[0]]], [], Span(source, b, e))

    @handler
    def builtin(a: list, b: int, e: int) -> Op:
        return Op(_BUILTIN_OPS[ttypes[a[0]]], a[2], Span(source, b, e))

    h["builtin_trailing"] = builtin

    @handler
    def cut(a: int, b: int, e: int) -> Op:
        return Op("Cut", [], Span(source, b, e))

    @handler
    def forall(a: list, b: int, e: int) -> Op:
        return Op("ForAll", [a[2], a[4]], Span(source, b, e))

    def opcall_node(i: int, args: list, b: int, e: int) -> Op:
        node = Op(_OPCALL_OPS[ttypes[i]], args, Span(source, b, e))
        opcalls.add(id(node))
        return node

    @handler
    def opcall_empty(a: list, b: int, e: int) -> Op:
        return opcall_node(a[0], [], b, e)

    @handler
    def opcall(a: list, b: int, e: int) -> Op:
        return opcall_node(a[0], a[2], b, e)

    h["opcall_trailing"] = opcall

    # Calls (`f(...)`; after `.` the name may also be a reserved word) ----------------------

    @handler
    def call_empty(a: list, b: int, e: int) -> CallTerm:
        return CallTerm(tv[a[0]], [], None, Span(source, b, e))

    @handler
    def call_args(a: list, b: int, e: int) -> CallTerm:
        return CallTerm(tv[a[0]], a[2], None, Span(source, b, e))

    @handler
    def call_kwargs(a: list, b: int, e: int) -> CallTerm:
        return CallTerm(tv[a[0]], [], a[2][0], Span(source, b, e))

    @handler
    def call_args_kwargs(a: list, b: int, e: int) -> CallTerm:
        return CallTerm(tv[a[0]], a[2], a[4][0], Span(source, b, e))

    h["rescall_empty"] = call_empty
    h["rescall_args"] = call_args
    h["rescall_kwargs"] = call_kwargs
    h["rescall_args_kwargs"] = call_args_kwargs

    @handler
    def field_name(a: int, b: int, e: int) -> Value:
        return Value(tv[a], Span(source, b, e))

    @handler
    def field_var(a: list, b: int, e: int) -> Sym:
        return a[1]

    @handler
    def field_string(a: list, b: int, e: int) -> Value:
        return Value(tv[a[1]], Span(source, b, e))

    # Collections and patterns ----------------------------------------------------------------

    @handler
    def list_empty(a: list, b: int, e: int) -> ListTerm:
        return ListTerm([], None, Span(source, b, e))

    @handler
    def list_rest_only(a: list, b: int, e: int) -> ListTerm:
        return ListTerm([], a[1], Span(source, b, e))

    @handler
    def list_items(a: list, b: int, e: int) -> ListTerm:
        return ListTerm(a[1], None, Span(source, b, e))

    @handler
    def list_items_rest(a: list, b: int, e: int) -> ListTerm:
        return ListTerm(a[1], a[3], Span(source, b, e))

    @handler
    def dict_empty(a: list, b: int, e: int) -> DictTerm:
        return DictTerm({}, Span(source, b, e))

    @handler
    def dict(a: list, b: int, e: int) -> DictTerm:  # noqa: A001 - the grammar alias
        return DictTerm(a[1][0], Span(source, b, e))

    @handler
    def dict_pattern_empty(a: list, b: int, e: int) -> PatternTerm:
        return PatternTerm(None, {}, Span(source, b, e))

    @handler
    def dict_pattern(a: list, b: int, e: int) -> PatternTerm:
        return PatternTerm(None, a[1][0], Span(source, b, e))

    @handler
    def instance_pattern(a: list, b: int, e: int) -> PatternTerm:
        return PatternTerm(tv[a[0]], a[1].fields, Span(source, b, e))

    return h


def _binary_handler(op: str, source: Source) -> Callable:
    def binary(a: list, b: int, e: int) -> Op:
        return Op(op, [a[0], a[2]], Span(source, b, e))
    return binary


# Every handler name, for the table builder (which runs without a parse of its own).
_HANDLER_NAMES = frozenset(_handler_factories(_Parse(Source(""))))


# API ------------------------------------------------------------------------------------------

_CACHE_SIZE = 64
_program_cache: "OrderedDict[tuple, list]" = OrderedDict()
_query_cache: "OrderedDict[str, Node]" = OrderedDict()
_cache_lock = threading.Lock()


def _parse(source: Source, start: str) -> Any:
    # A parse allocates many small objects and no reference cycles; pausing the cyclic garbage
    # collector meanwhile saves about a fifth of the time.
    paused = gc.isenabled()
    if paused:
        gc.disable()
    try:
        return _Parse(source).run(start)
    finally:
        if paused:
            gc.enable()


def parse_program(source: Source) -> list[Item]:
    """Parse a whole policy source into its items (Rule, RuleType, InlineQuery, ResourceBlock).

    Raises the ParserError (or subclass) legacy oso raises for the first error in the source.
    Results are cached by (filename, text): a repeated parse returns the *same* list and nodes,
    so callers must treat the returned list and every AST node as immutable.
    """
    key = (source.filename, source.text)
    with _cache_lock:
        hit = _program_cache.get(key)
        if hit is not None:
            _program_cache.move_to_end(key)
            return hit
    items = _parse(source, "program")
    with _cache_lock:
        _program_cache[key] = items
        if len(_program_cache) > _CACHE_SIZE:
            _program_cache.popitem(last=False)
    return items


def parse_query(text: str) -> Node:
    """Parse one query term, the API's `query("...")` form (no trailing `;`).

    Cached by text like parse_program; treat the result as immutable.
    """
    with _cache_lock:
        hit = _query_cache.get(text)
        if hit is not None:
            _query_cache.move_to_end(text)
            return hit
    term = _parse(Source(text, None), "query")
    with _cache_lock:
        _query_cache[text] = term
        if len(_query_cache) > _CACHE_SIZE:
            _query_cache.popitem(last=False)
    return term
