"""Policy text -> tokens that carry the comments around them (the formatter's lexer).

The loader's tokenizer drops comments and turns literals into values; the formatter needs the
exact text of every token and every comment. It runs only on text the loader's parser has
accepted, so it need not report errors: its regex splits valid Polar exactly as the loader's
does (tests/test_tooling_fmt.py checks that formatting keeps every policy's parsed rules).

A comment on the line of the token before it trails that token; a comment on a line of its own
leads the token after it (or, at the end of the text, the end-of-text token).
"""

from __future__ import annotations

import re
from typing import Optional

# One alternative per token class, as in the loader: a comment, a symbol (`::` inside, one
# trailing `?`), a number, a string, punctuation, or any other single character.
_PUNCT_CLASS = r"!-/:-@\[-\^`{-~"
_SYMBOL_REST = rf"[^{_PUNCT_CLASS} \t\n\x0c\r]"
_SYMBOL = rf"[^{_PUNCT_CLASS}0-9 \t\r\n]{_SYMBOL_REST}*(?:::{_SYMBOL_REST}*)*\??"
_NUMBER = r"[0-9]+(?:\.[0-9]*)?(?:[eE][0-9]*[+-]?[0-9]*)?"
_STRING = r'"(?:[^"\\\n]|\\[\s\S])*"'
_PUNCT = r":=|==|!=|<=|>=|\?=|[:=<>!|,\[\]{}().+\-*/;]"
_TOKEN_RE = re.compile(rf"(#[^\r\n]*)|{_SYMBOL}|{_NUMBER}|{_STRING}|{_PUNCT}|[^ \t\r\n]")

# Words that are their own token kind (everything else that starts like a symbol is a NAME).
KEYWORDS = frozenset(("new", "in", "cut", "debug", "print", "isa", "forall", "if", "and", "or", "not",
                      "matches", "type", "mod", "rem"))

PUNCTUATION = frozenset(":= == != <= >= ?= : = < > ! | , [ ] { } ( ) . + - * / ;".split())

NAME = "NAME"
NUMBER = "NUMBER"
STRING = "STRING"
END = "END"


class Comment:
    """A `#` comment (its text without trailing whitespace); `blank_before`: an empty line precedes it."""

    __slots__ = ("text", "blank_before")

    def __init__(self, text: str, blank_before: bool) -> None:
        self.text = text
        self.blank_before = blank_before


class Token:
    """One token: `kind` is NAME, NUMBER, STRING, END, or the text itself for keywords and punctuation.

    `leading`: comments on lines of their own just before it; `trailing`: comments after it on
    its line. `blank_before`: an empty line separates it from what precedes it (token or comment).
    """

    __slots__ = ("kind", "text", "leading", "trailing", "blank_before")

    def __init__(self, kind: str, text: str, blank_before: bool) -> None:
        self.kind = kind
        self.text = text
        self.leading: list[Comment] = []
        self.trailing: list[str] = []
        self.blank_before = blank_before

    def __repr__(self) -> str:
        return f"Token({self.kind}, {self.text!r})"


def _kind(text: str) -> str:
    first = text[0]
    if first == '"':
        return STRING
    if first.isdigit():
        return NUMBER
    if text in KEYWORDS or text in PUNCTUATION:
        return text
    return NAME


def tokenize(text: str) -> list[Token]:
    """The tokens of (valid) policy text with their comments, ending with an END token."""
    tokens: list[Token] = []
    pending: list[Comment] = []  # own-line comments waiting for the next token
    last_end = 0
    previous: Optional[Token] = None
    for match in _TOKEN_RE.finditer(text):
        gap = text[last_end:match.start()]
        newlines = gap.count("\n")
        blank = newlines >= 2
        last_end = match.end()
        comment = match.group(1)
        if comment is not None:
            comment = comment.rstrip()
            if previous is not None and newlines == 0 and not pending:
                previous.trailing.append(comment)
            else:
                pending.append(Comment(comment, blank))
            continue
        token = Token(_kind(match.group()), match.group(), blank)
        token.leading, pending = pending, []
        tokens.append(token)
        previous = token
    end = Token(END, "", text[last_end:].count("\n") >= 2)
    end.leading = pending
    tokens.append(end)
    return tokens
