"""PostgreSQL string literals for SQL returned as text (no bind parameters are possible there).

`quote_literal` is the only way a value from a request, a stored fact or the policy enters
local-authorization SQL. Plain strings become `'...'` with quotes doubled. A string with a
backslash, a control character, `:` or `%` becomes an escape string `E'...'` where those
characters are `\\xHH` escapes: the result then holds no `:name` that SQLAlchemy's `text()`
would take for a bind parameter and no `%` a pyformat driver would interpret, and it means the
same whatever `standard_conforming_strings` is. NUL cannot be stored in PostgreSQL text and is
refused.
"""

from __future__ import annotations

_ESCAPED = frozenset("\\:%") | frozenset(chr(c) for c in range(0x20)) | {"\x7f"}


def quote_literal(text: str) -> str:
    """`text` as a PostgreSQL string literal (ValueError for a NUL character or a non-string)."""
    if not isinstance(text, str):
        raise ValueError(f"only strings are quoted, got {type(text).__name__}")
    if "\x00" in text:
        raise ValueError("a SQL string cannot contain the NUL character (\\0)")
    if not any(ch in _ESCAPED for ch in text):
        return "'" + text.replace("'", "''") + "'"
    out = []
    for ch in text:
        if ch == "'":
            out.append("''")
        elif ch in _ESCAPED:
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(ch)
    return "E'" + "".join(out) + "'"
