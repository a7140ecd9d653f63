"""Policy documents: the open ones (the editor's text) over the ones on disk, and which
documents are loaded together as one policy (`load_together`)."""

from __future__ import annotations

import os
from pathlib import Path

from lsprotocol import types
from pygls import uris

from ...exceptions import ParserError
from ...frontend.source import Source
from ...frontend.syntax import Item
from .dialects import Dialect, dialect_for
from .positions import LineIndex
from .settings import Settings

# Directories never searched for policies (as the policy test runner skips them).
_SKIPPED = {"node_modules", "__pycache__", "venv", ".venv", ".git", ".tox", ".nox"}


class Document:
    """One policy text, parsed. After a syntax error `items` is empty and `error` says why;
    `last_parsed` holds the items of the last text that parsed (names for completion while typing)."""

    def __init__(self, uri: str, text: str, dialect: Dialect, encoding: str = types.PositionEncodingKind.Utf16,
                 version: int | None = None) -> None:
        self.uri = uri
        self.text = text
        self.dialect = dialect
        self.version = version
        self.path = uris.to_fs_path(uri)
        # Named by path, so messages and `check` name the file the same way.
        self.source = Source(text, self.path or uri)
        self.lines = LineIndex(text, encoding)
        self.items: list[Item] = []
        self.error: ParserError | None = None
        try:
            self.items = dialect.parse(self.source)
        except ParserError as error:
            self.error = error
        # The parser caches by (filename, text): the nodes' spans may point at an earlier, equal
        # Source. Use that one, so spans map back to this document by identity.
        for item in self.items:
            if item.span is not None:
                self.source = item.span.source
                break
        self.last_parsed: list[Item] = self.items


def _policy_files(directory: Path, suffixes: tuple[str, ...], recursive: bool) -> list[Path]:
    if not directory.is_dir():
        return []
    if not recursive:
        return sorted(p for p in directory.iterdir() if p.is_file() and p.name.endswith(suffixes))
    found: list[Path] = []
    for root, dirs, files in os.walk(directory):
        dirs[:] = sorted(d for d in dirs if d not in _SKIPPED and not d.startswith("."))
        found += [Path(root) / f for f in sorted(files) if f.endswith(suffixes)]
    return found


class DocumentStore:
    """Open documents by URI, and documents read from disk (re-read when the file changes)."""

    def __init__(self) -> None:
        self.encoding: str = types.PositionEncodingKind.Utf16
        self._open: dict[str, Document] = {}
        self._disk: dict[str, tuple[float, Document]] = {}

    def open(self, uri: str, text: str, language_id: str | None, version: int | None) -> Document | None:
        """Open (or replace the text of) a document; None when it is not a policy."""
        previous = self._open.get(uri)
        dialect = previous.dialect if previous is not None else dialect_for(language_id, uris.to_fs_path(uri))
        if dialect is None:
            return None
        document = Document(uri, text, dialect, self.encoding, version)
        if document.error is not None and previous is not None:
            document.last_parsed = previous.last_parsed
        self._open[uri] = document
        return document

    def close(self, uri: str) -> None:
        self._open.pop(uri, None)

    def get(self, uri: str) -> Document | None:
        """The open document, else the file on disk (None when neither is a policy)."""
        document = self._open.get(uri)
        if document is not None:
            return document
        path = uris.to_fs_path(uri)
        return self._read(Path(path)) if path else None

    def _read(self, path: Path) -> Document | None:
        dialect = dialect_for(None, str(path))
        try:
            mtime = path.stat().st_mtime
        except OSError:
            return None
        key = str(path)
        cached = self._disk.get(key)
        if cached is not None and cached[0] == mtime:
            return cached[1]
        try:
            text = path.read_bytes().decode("utf-8")
        except (OSError, UnicodeDecodeError):
            return None
        if dialect is None:
            return None
        uri = uris.from_fs_path(key)
        assert uri is not None
        document = Document(uri, text, dialect, self.encoding)
        self._disk[key] = (mtime, document)
        return document

    def _with_path(self, path: Path) -> Document | None:
        for document in self._open.values():
            if document.path is not None and os.path.abspath(document.path) == str(path):
                return document
        return self._read(path)

    def group(self, document: Document, settings: Settings) -> list[Document]:
        """The documents loaded together with `document` (itself first), all of its dialect."""
        suffixes = document.dialect.suffixes
        if document.path is None or settings.load_together == "file":
            return [document]
        if settings.load_together == "directory":
            paths = _policy_files(Path(os.path.abspath(document.path)).parent, suffixes, recursive=False)
        else:
            roots = settings.roots or (os.path.dirname(os.path.abspath(document.path)),)
            paths = [p for root in roots for p in _policy_files(Path(os.path.abspath(root)), suffixes, True)]
        group = [document]
        own = os.path.abspath(document.path)
        for path in paths:
            if str(path) != own:
                other = self._with_path(path)
                if other is not None and other.dialect is document.dialect:
                    group.append(other)
        # Open documents of the group that are not saved yet are part of it too.
        listed = {d.uri for d in group}
        for other in self._open.values():
            if other.uri not in listed and other.dialect is document.dialect and other.path is not None and (
                    settings.load_together == "workspace"
                    or os.path.dirname(os.path.abspath(other.path)) == os.path.dirname(own)):
                group.append(other)
        return group
