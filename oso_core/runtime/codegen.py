"""Functions generated from source text (call arguments, rule heads, selection keys).

Compiling source is far slower than running it: the generated text depends only on the shape
of what it is generated for (slot numbers, argument kinds), and every value is passed in the
namespace, so the code objects are cached by their text and a policy of many similar rules
compiles each shape once.
"""

from __future__ import annotations

import threading
from types import CodeType
from typing import Any, Callable

_CODE: dict[tuple[str, str], CodeType] = {}
_LIMIT = 4096
_LOCK = threading.Lock()


def define(lines: list[str], filename: str, name: str, names: dict[str, Any]) -> Callable:
    """The function `name` defined by `lines`, with `names` as its globals."""
    source = "\n".join(lines)
    key = (source, filename)
    code = _CODE.get(key)
    if code is None:
        code = compile(source, filename, "exec")
        with _LOCK:
            if len(_CODE) >= _LIMIT:
                _CODE.clear()
            _CODE[key] = code
    exec(code, names)  # noqa: S102
    return names[name]
