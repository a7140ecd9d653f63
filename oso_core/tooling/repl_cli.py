"""`python -m oso_core [repl] [--module M]... [FILES...]`: the REPL over policy files.

`--module M` imports M and registers every class defined in it under its own name, so a policy
that specializes on application classes loads without writing a script.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import sys
from types import ModuleType


def register_module_classes(polar: object, module: ModuleType) -> list:
    """Register every class defined in `module` (not imported into it); returns their names."""
    names = []
    for name, value in vars(module).items():
        if inspect.isclass(value) and value.__module__ == module.__name__ and not name.startswith("_"):
            polar.register_class(value)  # type: ignore[attr-defined]
            names.append(name)
    return names


def main(argv: list) -> int:
    from ..oso import Oso

    parser = argparse.ArgumentParser(prog="python -m oso_core [repl]", description="Polar REPL")
    parser.add_argument("--module", "-m", action="append", default=[], metavar="MODULE",
                        help="import MODULE and register the classes it defines (repeatable)")
    parser.add_argument("files", nargs="*", help="policy files to load")
    options = parser.parse_args(argv)
    oso = Oso()
    sys.path.insert(0, "")  # like `python -m`, let --module find modules in the working directory
    for module_name in options.module:
        register_module_classes(oso, importlib.import_module(module_name))
    oso.repl(files=options.files)
    return 0
