"""Diagnostics as you type: `check`'s diagnostics (parse errors, load-time checks, lints, with
the same texts) for a group of documents loaded together, as LSP diagnostics with exact ranges.

`check` locates a diagnostic at a start position; its range is the smallest node or name that
starts there (the string, call, rule head... it is about), or the token there when the policy
does not parse.
"""

from __future__ import annotations

import os
import re

from lsprotocol import types

from ...host import Host
from ..lint import ERROR, Diagnostic
from .documents import Document
from .index import spans

SOURCE = "oso_core"

# A token where the parser stopped: a string, a name or number, or one other character.
_TOKEN = re.compile(r'"(?:[^"\\\n]|\\.)*"?|[A-Za-z_][A-Za-z0-9_:]*|\d+(?:\.\d+)?|\S')


def _document_of(documents: list[Document], filename: str) -> Document | None:
    for document in documents:
        if document.source.filename == filename:
            return document
    absolute = os.path.abspath(filename)
    for document in documents:
        if document.path is not None and os.path.abspath(document.path) == absolute:
            return document
    return None


def _to_lsp(diagnostic: Diagnostic, document: Document, ends: dict[int, int]) -> types.Diagnostic:
    start = document.lines.offset_of_line_col(diagnostic.line, diagnostic.column)
    end = ends.get(start)
    if end is None:
        token = _TOKEN.match(document.text, start)
        end = token.end() if token else start
    return types.Diagnostic(
        range=document.lines.range(start, end),
        message=diagnostic.message,
        severity=types.DiagnosticSeverity.Error if diagnostic.severity == ERROR else types.DiagnosticSeverity.Warning,
        code=diagnostic.code,
        source=SOURCE,
    )


def group_diagnostics(documents: list[Document], host: Host | None) -> dict[str, list[types.Diagnostic]]:
    """LSP diagnostics by URI for every document of a group (an empty list: none)."""
    found: dict[str, list[types.Diagnostic]] = {d.uri: [] for d in documents}
    if not documents:
        return found
    checked = documents[0].dialect.check([d.source for d in documents], None if host is None else host.copy())
    ends = spans(documents)
    for diagnostic in checked:
        document = _document_of(documents, diagnostic.file) or documents[0]
        found[document.uri].append(_to_lsp(diagnostic, document, ends[document.uri]))
    return found
