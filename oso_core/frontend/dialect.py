"""Which dialect a policy is written in: "legacy" (oso 0.27 Polar) or "cloud" (Oso Cloud Polar).

Detection (dialect None) reads the policy as cloud iff some source contains, outside comments
and strings, a token sequence that no valid legacy policy contains:

* an entity literal: a name, `{`, one string/integer/boolean literal, `}` (`User{"alice"}`);
* a constant `@name` (`@current_unix_time`);
* a test item: `test "name" {` or `test fixture NAME {`;
* a `global {` block at item level (first token of the text or after `;` or `}`);
* `extends` after `actor NAME` / `resource NAME`.

Anything else is legacy, exactly as before (a block over an unregistered class stays the legacy
"Unregistered class" error: pass `dialect="cloud"` for such policies).
"""

from __future__ import annotations

import re
from typing import Iterable, Optional

from .source import Source
from .tokenizer import SYMBOL_PATTERN, TID, T_BOOL, T_INT, T_NAME, T_STRING, tokenize

__all__ = ["DIALECTS", "check_dialect", "detect_dialect"]

DIALECTS = ("legacy", "cloud")
_LBRACE, _RBRACE, _SEMI, _CONST = TID["LBRACE"], TID["RBRACE"], TID["SEMI"], TID["CONST"]
_LITERALS = (T_STRING, T_INT, T_BOOL)
# Quick scan for text that may hold a marker (a superset: it ignores comments and strings), so
# that most legacy policies skip tokenizing; a hit is confirmed on the tokens.
_BRACED_LITERAL = re.compile(r'\{\s*(?:"(?:[^"\\\n]|\\.)*"|[0-9]+|true|false)\s*\}')
_CONSTANT = re.compile(rf"@{SYMBOL_PATTERN}")
_WORDS = ("test", "global", "extends")


def _may_be_cloud(text: str) -> bool:
    if "@" in text and _CONSTANT.search(text) is not None:
        return True
    if any(word in text for word in _WORDS):
        return True
    find = text.find
    i = find("{")
    while i != -1:
        j = i + 1
        while j < len(text) and text[j] in " \t\r\n":
            j += 1
        if j < len(text) and text[j] in '"0123456789tf' and _BRACED_LITERAL.match(text, i) is not None:
            return True
        i = find("{", j)
    return False


def check_dialect(dialect: Optional[str]) -> Optional[str]:
    """The dialect argument of the API, validated: "legacy", "cloud" or None (detect)."""
    if dialect is not None and dialect not in DIALECTS:
        raise ValueError(f"dialect must be 'legacy', 'cloud' or None (detect), got {dialect!r}")
    return dialect


def detect_dialect(sources: Iterable[Source]) -> str:
    """"cloud" if any source has a cloud-only construct (see the module docstring), else "legacy"."""
    return "cloud" if any(_has_cloud_marker(s.text) for s in sources) else "legacy"


def _has_cloud_marker(text: str) -> bool:
    if not _may_be_cloud(text):
        return False
    types, values, _, _ = tokenize(text, cloud=True)
    n = len(types)
    for i, t in enumerate(types):
        if t == _CONST:
            return True
        if t != T_NAME:
            continue
        nxt = types[i + 1] if i + 1 < n else None
        if (nxt == _LBRACE and i + 3 < n and types[i + 2] in _LITERALS and types[i + 3] == _RBRACE):
            return True
        word = values[i]
        if word == "test" and i + 2 < n and (
                (nxt == T_STRING and types[i + 2] == _LBRACE)
                or (nxt == T_NAME and values[i + 1] == "fixture" and i + 3 < n and types[i + 2] == T_NAME
                    and types[i + 3] == _LBRACE)):
            return True
        if word == "global" and nxt == _LBRACE and (i == 0 or types[i - 1] in (_SEMI, _RBRACE)):
            return True
        if (word in ("actor", "resource") and i + 2 < n and nxt == T_NAME and types[i + 2] == T_NAME
                and values[i + 2] == "extends"):
            return True
    return False
