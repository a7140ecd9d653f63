"""A decision's statement as driver-level SQL: the policy's constants written into the text, the
request's inputs (the actor's and resource's value ids) its only parameters, positional.

A compiled authorize has ~20 bind parameters, all but two of them constants of the policy
(predicate names, arities, role value ids, the environment). Written into the text they cost
nothing per call: no dict merge, no conversion of names to `$n` by the driver, no adaptation of
each value, and PostgreSQL plans its prepared statement knowing them. Integers are written as
digits, strings as quoted literals (`sql_literals.quote_literal` on PostgreSQL, whose output holds
no `%` or `:` a driver could take for a parameter); any other value stays a parameter.

Paramstyles handled: `pyformat` (psycopg), `format` and `qmark` (sqlite3); with another one the
statement keeps all its parameters as compiled.
"""

from __future__ import annotations

import re
from typing import Any, Optional, Sequence

from sqlalchemy import Engine

from .sql_literals import quote_literal

_PYFORMAT = re.compile(r"%%|%\((\w+)\)s")
_FORMAT = re.compile(r"%%|%s")
_INPUT = object()   # a slot filled from the call's values


class DriverStatement:
    """Driver SQL text and how to build its positional arguments from the call's inputs."""

    __slots__ = ("sql", "numbered", "inputs", "_slots", "_names", "_named")

    def __init__(self, statement: Any, engine: Engine, inputs: Sequence[str]) -> None:
        compiled = statement.compile(engine, compile_kwargs={"render_postcompile": True})
        params = dict(compiled.params)
        dialect = engine.dialect
        split = _split(compiled.string, dialect.paramstyle, compiled.positiontup)
        self._named: Optional[dict] = None
        # PostgreSQL text with `$n` markers, one per distinct input (named in `inputs`), for
        # libpq's PQprepare (pg_prepared); None where a parameter other than an input is left.
        self.numbered: Optional[str] = None
        self.inputs: tuple = ()
        if split is None:
            # Unknown paramstyle: the compiled text and every parameter, by name or position.
            self.sql = compiled.string
            self._named = params
            self._names = compiled.positiontup
            self._slots = None
            return
        pieces, names = split
        marker = "?" if dialect.paramstyle == "qmark" else "%s"
        text, numbered, slots, kept, numbers = [pieces[0]], [pieces[0]], [], [], {}
        for name, piece in zip(names, pieces[1:]):
            value = params.get(name)
            literal = None if name in inputs else _literal(value, dialect.name)
            if literal is None:
                text.append(marker)
                numbered.append(numbers.setdefault(name, f"${len(numbers) + 1}"))
                slots.append(_INPUT if name in inputs else value)
                kept.append(name)
            else:
                text.append(literal)
                numbered.append(literal)
            text.append(piece)
            numbered.append(piece)
        self.sql = "".join(text)
        self._slots = tuple(slots)
        self._names = tuple(kept)
        if dialect.name == "postgresql" and dialect.paramstyle != "qmark" and all(s is _INPUT for s in slots):
            # "%%" is a pyformat driver's escaped percent sign; libpq takes the text as it is
            # (the literals hold no "%": quote_literal escapes it).
            self.numbered = "".join(numbered).replace("%%", "%")
            self.inputs = tuple(numbers)

    def arguments(self, values: dict) -> Any:
        """The driver's parameters for one call (`values`: input name -> value)."""
        if self._slots is None:
            params = {**self._named, **values}
            return params if self._names is None else tuple(params[n] for n in self._names)
        return tuple(values[n] if s is _INPUT else s for n, s in zip(self._names, self._slots))


def _split(sql: str, paramstyle: str, positions: Optional[Sequence[str]]) -> Optional[tuple]:
    """(text pieces around the markers, the parameter name at each marker), or None."""
    if paramstyle == "pyformat":
        pieces, names, start = [], [], 0
        for match in _PYFORMAT.finditer(sql):
            if match.group(1) is None:
                continue            # "%%": a literal percent sign, left as it is
            pieces.append(sql[start:match.start()])
            names.append(match.group(1))
            start = match.end()
        pieces.append(sql[start:])
        return pieces, names
    if positions is None:
        return None
    if paramstyle == "qmark":
        # Every value of the compiled statement is a bind parameter, so no "?" is in a literal.
        pieces = sql.split("?")
    elif paramstyle == "format":
        pieces, start = [], 0
        for match in _FORMAT.finditer(sql):
            if match.group(0) == "%s":
                pieces.append(sql[start:match.start()])
                start = match.end()
        pieces.append(sql[start:])
    else:
        return None
    if len(pieces) != len(positions) + 1:
        return None
    return pieces, list(positions)


def _literal(value: Any, dialect: str) -> Optional[str]:
    """`value` as SQL text for the dialect, None where it stays a parameter."""
    if isinstance(value, int) and not isinstance(value, bool):
        # Parenthesised: `-5::BIGINT` would apply the cast before the minus.
        return str(value) if value >= 0 else f"({value})"
    if isinstance(value, str) and "\x00" not in value:
        if dialect == "postgresql":
            return quote_literal(value)
        if dialect == "sqlite":
            return "'" + value.replace("'", "''") + "'"
    return None
