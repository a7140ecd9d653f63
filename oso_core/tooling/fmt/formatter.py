"""`format_source`: policy text -> the same policy in the canonical layout."""

from __future__ import annotations

from typing import Optional

from ...exceptions import OsoError
from ...frontend.parser import parse_program
from ...frontend.source import Source
from .doc import render
from .equivalence import syntax_key
from .layout import layout
from .tokens import tokenize
from .tree import parse_tree

# Lines are filled up to this many columns before a rule, call or list is broken.
WIDTH = 100


class FormatError(OsoError):
    """The formatter could not lay out a policy that parses (too deeply nested, or a formatter bug)."""


def format_source(text: str, filename: Optional[str] = None) -> str:
    """The canonical text of a policy: ends with one newline (empty for a policy of only blanks).

    Raises the loader's own ParserError (with file, line and column) if the text does not parse.
    The result is checked to parse to the same rules as `text`.
    """
    items = parse_program(Source(text, filename))
    try:
        formatted = render(layout(parse_tree(tokenize(text))), WIDTH).strip("\n")
    except RecursionError:
        raise FormatError(f"{filename or 'policy'}: too deeply nested to format") from None
    if formatted:
        formatted += "\n"
    try:
        same = syntax_key(parse_program(Source(formatted, filename))) == syntax_key(items)
    except OsoError:
        same = False
    if not same:
        raise FormatError(f"{filename or 'policy'}: formatting would change the policy's meaning "
                          "(a formatter bug); the text was left as it is")
    return formatted
