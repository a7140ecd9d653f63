"""The LALR(1) table for grammar.lark, in the shape the parser (lalr_driver.py) wants.

Lark computes the table; building it costs ~0.3 s and importing Lark more, so the table for the
shipped grammar ships as lalr_table.py (regenerate it with write_packaged_table() after editing
the grammar; tests/test_parser.py checks it is current), packed so that a fresh process imports
it as a few constants and unpacks only the rows its parses reach; it is used when its recipe
(grammar text, builder and check names, terminal ids) equals the current one. A modified
grammar's table is cached on disk (JSON in the user's cache directory, keyed by a hash of the
recipe).
The Oso Cloud dialect has its own grammar (grammar_cloud.lark) and table (lalr_table_cloud.py),
so the legacy table, and with it every legacy parse error, stays exactly as it is.
"""

from __future__ import annotations

import os
import sys
import threading
from typing import Any, Optional

from .ast_builders import BUILDER_NAMES
from .parse_errors import CHECK_RULES
from .tokenizer import TERMINALS, TID, T_NAME

__all__ = ["PASS", "CHECK", "BUILD", "GRAMMAR_PATH", "CLOUD_GRAMMAR_PATH", "PACKAGED_TABLE_PATH",
           "CLOUD_TABLE_PATH", "TABLE_FORMAT", "Tables", "decode_row", "encode_rows", "get_tables", "pack_table_data", "table_key",
           "table_recipe", "write_packaged_table"]

_HERE = os.path.dirname(os.path.abspath(__file__))
GRAMMAR_PATH = os.path.join(_HERE, "grammar.lark")
PACKAGED_TABLE_PATH = os.path.join(_HERE, "lalr_table.py")
CLOUD_GRAMMAR_PATH = os.path.join(_HERE, "grammar_cloud.lark")
CLOUD_TABLE_PATH = os.path.join(_HERE, "lalr_table_cloud.py")
# Bump whenever the layout of the stored table data (see pack_table_data) changes.
TABLE_FORMAT = 4

# Rule kinds: a single-symbol pass-through, a kind check (parse_errors.CHECK_RULES), a builder.
PASS, CHECK, BUILD = 0, 1, 2


class _Rows(dict):
    """actions: state -> row, each row built from its packed form on first use.

    A parse touches a fraction of the ~420 states, and unpacking every row costs more than a
    small policy's whole parse, so a fresh process pays only for the rows it reaches.
    """

    __slots__ = ("packed", "width")

    def __init__(self, packed: Any, width: int) -> None:
        super().__init__()
        self.packed = packed
        self.width = width

    def __missing__(self, state: int) -> list:
        row: list[Optional[int]] = [None] * self.width
        pairs = self.packed[state]
        if type(pairs) is bytes:  # the packaged table (see encode_rows)
            pairs = decode_row(pairs)
        it = iter(pairs)
        for symbol in it:
            row[symbol] = next(it)
        # Racing threads build equal rows; either one may be kept.
        self[state] = row
        return row


class Tables:
    """The LALR table in the shape the parser (lalr_driver.Parse) wants.

    actions[state][symbol id] is None (error), a state number (shift, or goto for a
    nonterminal), `~r` (reduce by builder rule r), `unit_base + r` (reduce by a single-symbol
    pass-through or kind-check rule r) or `hook_base + state` (a shift that starts a top-level
    item). Rule r pops rule_len[r] symbols and goes to
    actions[exposed state][rule_lhs[r]]. Terminal ids are positions in TERMINALS, nonterminal
    ids follow them. Built from the packed form of pack_table_data().
    """

    __slots__ = ("actions", "unit_base", "hook_base", "item_id", "rule_len", "rule_lhs",
                 "rule_kind", "rule_arg", "start_states", "end_states", "unit_memo")

    def __init__(self, packed: dict) -> None:
        self.actions: dict[int, list[Optional[int]]] = _Rows(packed["rows"], packed["width"])
        self.unit_base: int = len(packed["rows"])
        self.hook_base: int = packed["hook_base"]
        self.item_id: int = packed["item_id"]
        self.rule_len: list[int] = list(packed["rule_len"])
        self.rule_lhs: list[int] = list(packed["rule_lhs"])
        self.rule_kind: list[int] = list(packed["rule_kind"])
        self.rule_arg: list[Any] = list(packed["rule_arg"])
        self.start_states: dict[str, int] = dict(packed["start_states"])
        self.end_states: dict[str, int] = dict(packed["end_states"])
        # (state below << 20 | top state << 8 | lookahead) -> (state after the run of unit
        # reductions that follows, the kind checks on the way).
        self.unit_memo: dict[int, tuple] = {}


def decode_row(packed: bytes, byteorder: str = sys.byteorder) -> Any:
    """One row of encode_rows() back to its (symbol, code, ...) numbers."""
    # memoryview, not array: the array extension module costs ~0.4 ms to load.
    if byteorder == "little":
        return memoryview(packed).cast("h")
    return [int.from_bytes(packed[i:i + 2], "little", signed=True) for i in range(0, len(packed), 2)]


def encode_rows(rows: Any) -> tuple:
    """Packed rows as little-endian int16 strings: a bytes constant unmarshals as one copy, where
    a tuple of numbers costs a few bytes and an object per number (~0.4 ms for the table)."""
    from array import array

    out = []
    for pairs in rows:
        words = array("h", pairs)
        if sys.byteorder == "big":
            words.byteswap()
        out.append(words.tobytes())
    return tuple(out)


def pack_table_data(data: dict) -> dict:
    """Lark's table as flattened by _build_table_data -> the form Tables loads: symbol names
    replaced by ids, reduce codes final, each row a flat (symbol, code, ...) tuple."""
    symbols = {name: i for i, name in enumerate(list(TERMINALS) + data["nonterminals"])}
    n_states = len(data["actions"])
    rule_kind = data["rule_kind"]
    rule_len = data["rule_len"]
    rows: list[dict[int, int]] = []
    for row in data["actions"]:
        out: dict[int, int] = {}
        for name, code in row.items():
            if code < 0:
                r = -code - 1
                code = ~r if rule_kind[r] == BUILD else n_states + r
            out[symbols[name]] = code
        rows.append(out)
    # Shifting the first token of a top-level item goes through the item-shape cache (see
    # lalr_driver.Parse.run): those shifts are coded as hook_base + target state.
    hook_base = n_states + len(rule_len)
    program = data["start_states"]["program"]
    for state in (program, rows[program][symbols["lines"]]):
        row = rows[state]
        for tid in (T_NAME, TID["TYPE"], TID["QUERY"]):
            if 0 <= row.get(tid, -1) < n_states:
                row[tid] += hook_base
    return {"key": data["key"], "width": len(symbols), "hook_base": hook_base,
            "nonterminals": tuple(data["nonterminals"]),  # names of ids len(TERMINALS)...
            "item_id": symbols["item"],
            "rows": tuple(tuple(x for symbol in sorted(row) for x in (symbol, row[symbol]))
                          for row in rows),
            "rule_len": tuple(rule_len), "rule_lhs": tuple(symbols[name] for name in data["rule_lhs"]),
            "rule_kind": tuple(rule_kind), "rule_arg": tuple(data["rule_arg"]),
            "start_states": dict(data["start_states"]), "end_states": dict(data["end_states"])}


_tables: Optional[Tables] = None
_cloud_tables: Optional[Tables] = None
_tables_lock = threading.Lock()


def get_tables(cloud: bool = False) -> Tables:
    """The table for grammar.lark (or, `cloud`, grammar_cloud.lark), loaded once per process."""
    global _tables, _cloud_tables
    if cloud:
        if _cloud_tables is None:
            with _tables_lock:
                if _cloud_tables is None:
                    _cloud_tables = Tables(_load_table_data(True))
        return _cloud_tables
    if _tables is None:
        with _tables_lock:
            if _tables is None:
                _tables = Tables(_load_table_data())
    return _tables


def _builder_names(cloud: bool) -> frozenset:
    if not cloud:
        return BUILDER_NAMES
    # Imported only for the cloud dialect: making its builder set costs ~1 ms at import.
    from .cloud_builders import CLOUD_BUILDER_NAMES

    return CLOUD_BUILDER_NAMES


def table_recipe(grammar: str, cloud: bool = False) -> tuple:
    """What a stored table was built from; a table is current when its recipe is equal."""
    # The table is a function of the grammar (any LALR table for it parses the same language),
    # of which rules have builders or checks, and of the terminal ids, all baked into the data.
    # Lark's version is left out on purpose: asking importlib.metadata for it costs ~18 ms at
    # every start.
    return (TABLE_FORMAT, grammar, tuple(sorted(_builder_names(cloud))), tuple(sorted(CHECK_RULES)),
            tuple(TERMINALS))


def table_key(grammar: str, cloud: bool = False) -> str:
    """The key a table for this grammar is stored under (in lalr_table.py and the disk cache)."""
    # Imported here: the packaged table is checked by comparing recipes, so a process whose
    # grammar is unmodified never pays for importing hashlib and json (~3 ms).
    import hashlib
    import json

    return hashlib.sha256(json.dumps(table_recipe(grammar, cloud)).encode()).hexdigest()[:24]


def write_packaged_table(cloud: bool = False) -> str:
    """Rebuild the LALR table from grammar.lark (`cloud`: grammar_cloud.lark) and store it in the
    package (after editing a grammar:
    `python -c "from oso_core.frontend.parser import write_packaged_table as w; w(); w(True)"`)."""
    grammar_path, table_path = _paths(cloud)
    with open(grammar_path, encoding="utf-8") as f:
        grammar = f.read()
    data = _build_table_data(grammar, cloud)
    data["key"] = table_key(grammar, cloud)
    import json

    # Plain lists, dicts, strings and numbers only (Lark's names are str subclasses).
    packed = pack_table_data(json.loads(json.dumps(data)))
    # Tuples of numbers and strings are single constants in the module's bytecode, so importing
    # it is one unmarshal, with no code run to build the containers.
    packed["recipe"] = table_recipe(grammar, cloud)
    packed["rows"] = encode_rows(packed["rows"])
    with open(table_path, "w", encoding="utf-8") as f:
        name = os.path.basename(grammar_path)
        f.write(f'"""LALR(1) table for {name}, generated by parser.write_packaged_table(); do not edit."""\n\n')
        f.write(f"DATA = {packed!r}\n")
    return table_path


def _paths(cloud: bool) -> tuple[str, str]:
    return (CLOUD_GRAMMAR_PATH, CLOUD_TABLE_PATH) if cloud else (GRAMMAR_PATH, PACKAGED_TABLE_PATH)


def _cache_path(key: str) -> Optional[str]:
    base = os.environ.get("XDG_CACHE_HOME")
    if not base:
        home = os.path.expanduser("~")
        if home == "~":
            return None
        base = os.path.join(home, ".cache")
    return os.path.join(base, "oso_core", f"polar-lalr-{key}.json")


def _load_table_data(cloud: bool = False) -> dict:
    with open(_paths(cloud)[0], encoding="utf-8") as f:
        grammar = f.read()
    # The table built for this grammar ships with the package (tests/test_parser.py checks it is
    # current); the user cache only serves a modified grammar.
    try:
        # A Python module: imported from bytecode, no JSON decoding.
        if cloud:
            from . import lalr_table_cloud as packaged
        else:
            from . import lalr_table as packaged
        if packaged.DATA.get("recipe") == table_recipe(grammar, cloud):
            return packaged.DATA
    except ImportError:
        pass
    import json

    key = table_key(grammar, cloud)
    path = _cache_path(key)
    if path is not None:
        try:
            with open(path, encoding="utf-8") as f:
                data = json.load(f)
            if data.get("key") == key:
                return data
        except (OSError, ValueError):
            pass
    data = _build_table_data(grammar, cloud)
    data["key"] = key
    data = pack_table_data(data)
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


def _build_table_data(grammar: str, cloud: bool = False) -> dict:
    """Run Lark's LALR(1) analysis on the grammar and flatten the table into plain data."""
    from lark import Lark
    from lark.lexer import Lexer

    class _ExternalLexer(Lexer):
        # Tokens come from tokenize(); Lark only needs a lexer class to accept %declare'd terminals.
        def __init__(self, lexer_conf: Any) -> None:
            pass

        def lex(self, data: Any) -> Any:  # pragma: no cover - never called
            raise RuntimeError("Lark only builds the table here; oso_core's tokenize() lexes policies")

    # strict: a shift/reduce conflict is a grammar bug, not something to resolve silently.
    lark = Lark(grammar, parser="lalr", lexer=_ExternalLexer, start=["program", "query"],
                strict=True)
    table = lark.parser.parser._parse_table
    builder_names = _builder_names(cloud)
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
            if name in builder_names:
                # Builders of one-symbol rules get the value itself, so a builder must not be
                # shared between one-symbol and other rules.
                if arity.setdefault(name, len(rule.expansion) == 1) != (len(rule.expansion) == 1):
                    raise AssertionError(f"builder {name} used by rules of mixed arity")
                rule_kind.append(BUILD)
                rule_arg.append(name)
            elif name in CHECK_RULES:
                rule_kind.append(CHECK)
                rule_arg.append(CHECK_RULES[name])
            elif len(rule.expansion) == 1:
                rule_kind.append(PASS)
                rule_arg.append(None)
            else:
                raise AssertionError(f"grammar rule without a builder: {rule}")
        return -r - 1

    actions: list[dict[str, int]] = [{} for _ in table.states]
    for state, row in table.states.items():
        for symbol, (action, arg) in row.items():
            actions[state][symbol] = rule_code(arg) if action.name == "Reduce" else arg
    for row in actions:
        for symbol in row:
            if symbol.isupper() and symbol not in TID:
                raise AssertionError(f"terminal {symbol} has no token id")
            if not symbol.isupper():
                nonterminals.setdefault(symbol)
    return {"actions": actions, "nonterminals": list(nonterminals), "rule_len": rule_len,
            "rule_lhs": rule_lhs, "rule_kind": rule_kind, "rule_arg": rule_arg,
            "start_states": dict(table.start_states), "end_states": dict(table.end_states)}
