"""Functions generated from source text (call arguments, rule heads, selection keys).

Compiling source is far slower than running it: the generated text depends only on the shape
of what it is generated for (slot numbers, argument kinds), and every value is passed in the
namespace, so the code objects are cached by their text and a policy of many similar rules
compiles each shape once.
"""

from __future__ import annotations

import builtins
import threading
from types import CodeType, FunctionType
from typing import Any, Callable

_CODE: dict[tuple[str, str, str], CodeType] = {}
_LIMIT = 4096
_LOCK = threading.Lock()


def define(lines: list[str], filename: str, name: str, names: dict[str, Any]) -> Callable:
    """The function `name` defined by `lines`, with `names` as its globals.

    Each function gets its own copy of the cached code object: CPython specializes bytecode per
    code object, and one code object shared by functions with different globals would keep
    re-specializing."""
    source = "\n".join(lines)
    key = (source, filename, name)
    code = _CODE.get(key)
    if code is None:
        module = compile(source, filename, "exec")
        code = next(c for c in module.co_consts if isinstance(c, CodeType) and c.co_name == name)
        with _LOCK:
            if len(_CODE) >= _LIMIT:
                _CODE.clear()
            _CODE[key] = code
    names.setdefault("__builtins__", builtins)
    return FunctionType(code.replace(), names, name)
