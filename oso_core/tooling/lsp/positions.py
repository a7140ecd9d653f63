"""Character offsets of policy text <-> LSP positions (line, column in the negotiated encoding).

The frontend's spans are offsets into a Python string (code points); LSP columns count UTF-16
code units unless client and server agreed on UTF-8 or UTF-32.
"""

from __future__ import annotations

from bisect import bisect_right

from lsprotocol import types


def _units(text: str, encoding: str) -> int:
    if encoding == types.PositionEncodingKind.Utf32:
        return len(text)
    if encoding == types.PositionEncodingKind.Utf8:
        return len(text.encode("utf-8"))
    return len(text.encode("utf-16-le")) // 2


class LineIndex:
    """Line starts of one text, to convert offsets and positions both ways."""

    def __init__(self, text: str, encoding: str = types.PositionEncodingKind.Utf16) -> None:
        self.text = text
        self.encoding = encoding
        self.starts = [0]
        i = text.find("\n")
        while i != -1:
            self.starts.append(i + 1)
            i = text.find("\n", i + 1)

    def position(self, offset: int) -> types.Position:
        offset = max(0, min(offset, len(self.text)))
        line = bisect_right(self.starts, offset) - 1
        start = self.starts[line]
        return types.Position(line=line, character=_units(self.text[start:offset], self.encoding))

    def range(self, start: int, end: int) -> types.Range:
        return types.Range(start=self.position(start), end=self.position(end))

    def offset(self, position: types.Position) -> int:
        """The offset of a position; columns past the end of the line clamp to it."""
        if position.line >= len(self.starts):
            return len(self.text)
        start = self.starts[position.line]
        end = self.text.find("\n", start)
        line = self.text[start:] if end == -1 else self.text[start:end]
        if self.encoding == types.PositionEncodingKind.Utf32:
            return start + min(position.character, len(line))
        count = 0
        for i, char in enumerate(line):
            if count >= position.character:
                return start + i
            count += _units(char, self.encoding)
        return start + len(line)

    def offset_of_line_col(self, line: int, column: int) -> int:
        """The offset of a 1-based line and code-point column (the form `check` reports)."""
        if line - 1 >= len(self.starts):
            return len(self.text)
        return min(self.starts[max(line, 1) - 1] + max(column, 1) - 1, len(self.text))
