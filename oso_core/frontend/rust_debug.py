"""Rust `Debug` renderings of policy terms, as legacy oso prints them in some rule-type messages.

Legacy formats a few rule-type mismatch reasons with Rust's `{:?}` / `{:#?}` of its internal term
structures, e.g. `Rule value Number(Integer(2)) != rule type value String("a")` or a multi-line
`Term { source_info: SourceInfo::Parser, value: ... }` dump. This module builds the same shapes
from the AST and prints them with Rust's compact or pretty layout.
"""

from __future__ import annotations

import math
from typing import Union

from .syntax import CallTerm, DictTerm, ListTerm, Node, Op, PatternTerm, Sym, Value

# A small model of what Rust's derived Debug prints.


class _Atom:
    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


class _Tuple:
    """`Name(a, b)` (a tuple struct or enum variant)."""

    __slots__ = ("name", "items")

    def __init__(self, name: str, items: list[_D]) -> None:
        self.name = name
        self.items = items


class _Struct:
    """`Name { field: value }`."""

    __slots__ = ("name", "fields")

    def __init__(self, name: str, fields: list[tuple[str, _D]]) -> None:
        self.name = name
        self.fields = fields


class _Map:
    """`{key: value}`."""

    __slots__ = ("entries",)

    def __init__(self, entries: list[tuple[_D, _D]]) -> None:
        self.entries = entries


class _Seq:
    """`[a, b]`."""

    __slots__ = ("items",)

    def __init__(self, items: list[_D]) -> None:
        self.items = items


_D = Union[_Atom, _Tuple, _Struct, _Map, _Seq]


def render(d: _D, pretty: bool = False) -> str:
    """Rust's `{:?}` (compact) or `{:#?}` (pretty) of a Debug model."""
    return _pretty(d) if pretty else _compact(d)


def _compact(d: _D) -> str:
    if isinstance(d, _Atom):
        return d.text
    if isinstance(d, _Tuple):
        return d.name + "(" + ", ".join(_compact(i) for i in d.items) + ")"
    if isinstance(d, _Struct):
        if not d.fields:
            return d.name
        return d.name + " { " + ", ".join(f"{k}: {_compact(v)}" for k, v in d.fields) + " }"
    if isinstance(d, _Map):
        return "{" + ", ".join(f"{_compact(k)}: {_compact(v)}" for k, v in d.entries) + "}"
    return "[" + ", ".join(_compact(i) for i in d.items) + "]"


def _indent(text: str) -> str:
    # Rust's PadAdapter indents every line written by a nested value by four spaces.
    return "\n".join("    " + line for line in text.split("\n"))


def _pretty(d: _D) -> str:
    if isinstance(d, _Atom):
        return d.text
    if isinstance(d, _Tuple):
        if not d.items:
            return d.name
        return d.name + "(\n" + "".join(_indent(_pretty(i)) + ",\n" for i in d.items) + ")"
    if isinstance(d, _Struct):
        if not d.fields:
            return d.name
        body = "".join(_indent(f"{k}: {_pretty(v)}") + ",\n" for k, v in d.fields)
        return d.name + " {\n" + body + "}"
    if isinstance(d, _Map):
        if not d.entries:
            return "{}"
        body = "".join(_indent(f"{_pretty(k)}: {_pretty(v)}") + ",\n" for k, v in d.entries)
        return "{\n" + body + "}"
    if not d.items:
        return "[]"
    return "[\n" + "".join(_indent(_pretty(i)) + ",\n" for i in d.items) + "]"


# Scalars ---------------------------------------------------------------------------------------

def rust_str_debug(text: str) -> str:
    """A string as Rust's `{:?}` prints it: quoted, with Rust's escapes."""
    out = ['"']
    for ch in text:
        if ch in _SIMPLE_ESCAPES:
            out.append(_SIMPLE_ESCAPES[ch])
        elif _rust_printable(ch):
            out.append(ch)
        else:
            out.append("\\u{%x}" % ord(ch))
    out.append('"')
    return "".join(out)


_SIMPLE_ESCAPES = {"\t": "\\t", "\r": "\\r", "\n": "\\n", '"': '\\"', "\\": "\\\\", "\0": "\\0"}


def _rust_printable(ch: str) -> bool:
    # Rust escapes non-printable characters (control, format, separator other than the space,
    # private use, surrogate, unassigned) and grapheme extenders (combining marks).
    # Imported here: only messages about unusual characters need it, and loading the extension
    # module costs ~0.3 ms of every Oso().
    import unicodedata

    category = unicodedata.category(ch)
    if category in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp", "Mn", "Me"):
        return False
    return category != "Zs" or ch == " "


def rust_float_debug(value: float) -> str:
    """A float as Rust's `{:?}` prints it: `1.0`, `0.5`, `1e16`, `1e-5`, `NaN`, `-inf`."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    text = repr(value)  # same shortest digits and same exponent thresholds as Rust
    if "e" in text:
        mantissa, exponent = text.split("e")
        return f"{mantissa}e{int(exponent)}"
    return text


# Terms -----------------------------------------------------------------------------------------

_PARSER_SOURCE = _Atom("SourceInfo::Parser")


def _symbol(name: str) -> _Tuple:
    return _Tuple("Symbol", [_Atom(rust_str_debug(name))])


def _term(node: Node) -> _Struct:
    # Every term legacy prints in these messages comes from the parser (rewritten temporaries
    # copy the source info of the term they replace).
    return _Struct("Term", [("source_info", _PARSER_SOURCE), ("value", value_model(node))])


def _rest_term(rest: Sym) -> _Struct:
    return _Struct("Term", [("source_info", _PARSER_SOURCE),
                            ("value", _Tuple("RestVariable", [_symbol(rest.name)]))])


def list_elements_model(node: ListTerm) -> _Seq:
    """A list's elements; legacy stores a rest variable as a last `RestVariable` element."""
    items: list[_D] = [_term(i) for i in node.items]
    if node.rest is not None:
        items.append(_rest_term(node.rest))
    return _Seq(items)


def dictionary_model(fields: dict[str, Node]) -> _Struct:
    """Legacy's `Dictionary { fields: {...} }` (fields sorted by key)."""
    entries: list[tuple[_D, _D]] = [(_symbol(k), _term(fields[k])) for k in sorted(fields)]
    return _Struct("Dictionary", [("fields", _Map(entries))])


def pattern_model(node: PatternTerm) -> _Tuple:
    """`Instance(InstanceLiteral { ... })` or `Dictionary(Dictionary { ... })`."""
    if node.tag is None:
        return _Tuple("Dictionary", [dictionary_model(node.fields)])
    literal = _Struct("InstanceLiteral", [("tag", _symbol(node.tag)), ("fields", dictionary_model(node.fields))])
    return _Tuple("Instance", [literal])


def value_model(node: Node) -> _D:
    """The Debug model of legacy's `Value` for an AST term."""
    if isinstance(node, Value):
        v = node.value
        if type(v) is bool:
            return _Tuple("Boolean", [_Atom("true" if v else "false")])
        if type(v) is int:
            return _Tuple("Number", [_Tuple("Integer", [_Atom(str(v))])])
        if type(v) is float:
            return _Tuple("Number", [_Tuple("Float", [_Atom(rust_float_debug(v))])])
        return _Tuple("String", [_Atom(rust_str_debug(str(v)))])
    if isinstance(node, Sym):
        return _Tuple("Variable", [_symbol(node.name)])
    if isinstance(node, ListTerm):
        return _Tuple("List", [list_elements_model(node)])
    if isinstance(node, DictTerm):
        return _Tuple("Dictionary", [dictionary_model(node.fields)])
    if isinstance(node, PatternTerm):
        return _Tuple("Pattern", [pattern_model(node)])
    if isinstance(node, CallTerm):
        kwargs: _D = _Atom("None")
        if node.kwargs:
            kwargs = _Tuple("Some", [_Map([(_symbol(k), _term(node.kwargs[k])) for k in sorted(node.kwargs)])])
        call = _Struct("Call", [("name", _symbol(node.name)), ("args", _Seq([_term(a) for a in node.args])),
                                ("kwargs", kwargs)])
        return _Tuple("Call", [call])
    if isinstance(node, Op):
        operation = _Struct("Operation", [("operator", _Atom(node.op)), ("args", _Seq([_term(a) for a in node.args]))])
        return _Tuple("Expression", [operation])
    raise TypeError(f"not a term: {node!r}")


def debug_value(node: Node, pretty: bool = False) -> str:
    """`{:?}` / `{:#?}` of the legacy `Value` of a term, e.g. `Number(Integer(2))`."""
    return render(value_model(node), pretty)


def debug_list_elements(node: ListTerm, pretty: bool = True) -> str:
    return render(list_elements_model(node), pretty)


def debug_dictionary(fields: dict[str, Node], pretty: bool = True) -> str:
    return render(dictionary_model(fields), pretty)


def debug_pattern(node: PatternTerm, pretty: bool = True) -> str:
    return render(pattern_model(node), pretty)
