"""The import graph of the packages, read with `ast`, and the layer contract it must keep.

Every `import` / `from ... import` statement counts, wherever it is: at the top, inside a
function (a lazy import) or under `if TYPE_CHECKING:`. An import names the deepest module of the
packages it reaches (`from a.b import c` is `a.b.c` when that is a module, else `a.b`). Importing a
submodule also runs its parent packages' `__init__`, which is not counted: that is how Python
works, and no `__init__` of the packages imports anything above its own layer.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Sequence
from pathlib import Path

# The layers, low to high: a module may import its own layer and those below, never one above.
# Each layer is a list of module prefixes (a prefix covers the module and its submodules); the
# longest matching prefix wins. The integrations are the top layer and independent of each other.
# Written once: docs/architecture.md explains it.
LAYERS: list[tuple[str, list[str]]] = [
    ("base", ["oso_core.variable", "oso_core.expression", "oso_core.predicate", "oso_core.values",
              "oso_core.exceptions", "oso_core.errors", "oso_core.partial", "oso_core.data_filtering",
              "oso_core.data.filter"]),
    ("frontend", ["oso_core.frontend"]),
    ("runtime", ["oso_core.runtime"]),
    ("filtering", ["oso_core.filtering"]),
    ("data", ["oso_core.data"]),
    ("facade", ["oso_core.host", "oso_core.polar", "oso_core.oso", "oso_core.query",
                "oso_core.tool_hooks", "oso_core.facts"]),
    ("tooling", ["oso_core.tooling", "oso_core.repl", "oso_core.__main__", "oso_core.tool_plugins",
                 "oso_core"]),
    ("integrations", ["flask_oso", "django_oso", "sqlalchemy_oso", "fastapi_oso", "oso_server"]),
]
#: Top-level packages of the top layer that must not import each other.
INDEPENDENT = ["flask_oso", "django_oso", "sqlalchemy_oso", "fastapi_oso", "oso_server"]
PACKAGES = ["oso_core", "flask_oso", "django_oso", "sqlalchemy_oso", "fastapi_oso", "oso_server"]


def module_files(root: Path, packages: Iterable[str]) -> dict[str, tuple[Path, bool]]:
    """Dotted module name -> (file, is a package `__init__`) for every module of `packages`."""
    modules: dict[str, tuple[Path, bool]] = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            is_package = parts[-1] == "__init__"
            if is_package:
                parts.pop()
            modules[".".join(parts)] = (path, is_package)
    return modules


def import_graph(root: Path, packages: Iterable[str]) -> dict[str, set[str]]:
    """Module -> the modules of `packages` it imports (anywhere in its code)."""
    modules = module_files(root, packages)

    def known(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {}
    for name, (path, is_package) in modules.items():
        package = name if is_package else name.rpartition(".")[0]
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets.update(t for a in node.names if (t := known(a.name)))
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                    source = ".".join(base + ([node.module] if node.module else []))
                else:
                    source = node.module or ""
                for alias in node.names:
                    full = f"{source}.{alias.name}"
                    target = full if full in modules else known(source)
                    if target:
                        targets.add(target)
        targets.discard(name)
        graph[name] = targets
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (each holds a cycle), sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        # Tarjan's algorithm, iteratively (no recursion limit on deep graphs).
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return sorted(found)


def layer_of(module: str, layers: Sequence[tuple[str, list[str]]]) -> int | None:
    """The index of the layer whose longest prefix covers `module` (None: in no layer)."""
    best: tuple[int, int] | None = None
    for i, (_, prefixes) in enumerate(layers):
        for prefix in prefixes:
            if module == prefix or module.startswith(prefix + "."):
                if best is None or len(prefix) > best[0]:
                    best = (len(prefix), i)
    return None if best is None else best[1]


def violations(graph: dict[str, set[str]], layers: Sequence[tuple[str, list[str]]],
               independent: Sequence[str]) -> list[str]:
    """Every import that goes up a layer or across independent packages, and every module in no
    layer, as readable lines."""
    problems = []
    for module in sorted(graph):
        here = layer_of(module, layers)
        if here is None:
            problems.append(f"{module} is in no layer")
            continue
        for target in sorted(graph[module]):
            there = layer_of(target, layers)
            if there is not None and there > here:
                problems.append(f"{module} ({layers[here][0]}) imports {target} ({layers[there][0]})")
            mine, theirs = module.split(".")[0], target.split(".")[0]
            if mine != theirs and mine in independent and theirs in independent:
                problems.append(f"{module} imports {target}: {mine} and {theirs} are independent")
    return problems
