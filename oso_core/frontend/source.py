"""Policy sources and positions inside them, and the `at line L, column C` context legacy oso prints."""

from __future__ import annotations

from bisect import bisect_right
from typing import Optional


class Source:
    """One piece of policy text: a file (with its name) or an anonymous string."""

    __slots__ = ("text", "filename", "_line_starts")

    def __init__(self, text: str, filename: Optional[str] = None) -> None:
        self.text = text
        self.filename = filename
        self._line_starts: Optional[list[int]] = None

    def line_col(self, offset: int) -> tuple[int, int]:
        """1-based (line, column) of a character offset; only `\\n` breaks lines."""
        if self._line_starts is None:
            starts = [0]
            find = self.text.find
            i = find("\n")
            while i != -1:
                starts.append(i + 1)
                i = find("\n", i + 1)
            self._line_starts = starts
        line = bisect_right(self._line_starts, offset)
        return line, offset - self._line_starts[line - 1] + 1

    def line_text(self, line: int) -> str:
        lines = self.text.split("\n")
        return lines[line - 1] if 0 < line <= len(lines) else ""

    def context(self, offset: int) -> str:
        """The suffix legacy oso appends to located messages, excerpt and caret included."""
        line, col = self.line_col(offset)
        where = f" at line {line}, column {col}"
        if self.filename is not None:
            where += f" of file {self.filename}"
        caret = " " * (5 + col - 1) + "^"
        return f"{where}:\n\t{line:03}: {self.line_text(line)}\n\t{caret}\n"

    def short_context(self, offset: int) -> str:
        """` at line L, column C[ of file F]` without the excerpt (inline-query failures)."""
        line, col = self.line_col(offset)
        where = f" at line {line}, column {col}"
        if self.filename is not None:
            where += f" of file {self.filename}"
        return where


class Span:
    """Where a node came from: a half-open character range of a Source."""

    __slots__ = ("source", "start", "end")

    def __init__(self, source: Source, start: int, end: int) -> None:
        self.source = source
        self.start = start
        self.end = end

    @property
    def text(self) -> str:
        return self.source.text[self.start:self.end]

    def context(self) -> str:
        return self.source.context(self.start)

    def location(self) -> dict:
        line, col = self.source.line_col(self.start)
        return {"line": line, "column": col, "file": self.source.filename, "loc": self.start}

    def __repr__(self) -> str:
        return f"Span({self.start}, {self.end})"
