"""The packages keep the layer contract (tests/import_layers.py): no import cycle between any
two modules, no import from a lower layer into a higher one, integrations independent."""

from __future__ import annotations

from pathlib import Path

import pytest

from import_layers import INDEPENDENT, LAYERS, PACKAGES, cycles, import_graph, violations

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    return import_graph(ROOT, PACKAGES)


def test_no_import_cycles(graph: dict[str, set[str]]) -> None:
    assert cycles(graph) == []


def test_no_upward_or_cross_integration_imports(graph: dict[str, set[str]]) -> None:
    assert violations(graph, LAYERS, INDEPENDENT) == []


def test_the_graph_sees_every_kind_of_import(graph: dict[str, set[str]]) -> None:
    # A lazy (function-level) import and a relative one are edges like any other.
    assert "oso_core.tooling.explain" in graph["oso_core.tool_plugins"]
    assert "oso_core.runtime.terms" in graph["oso_core.runtime.tracing"]


def _package(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


def test_checker_finds_a_cycle_through_a_lazy_import(tmp_path: Path) -> None:
    root = _package(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/a.py": "from .b import f\n",
        "pkg/b.py": "def f():\n    from pkg import c\n",
        "pkg/c.py": "if False:\n    import pkg.a\n",
        "pkg/d.py": "from . import a\n",
    })
    assert cycles(import_graph(root, ["pkg"])) == [["pkg.a", "pkg.b", "pkg.c"]]


def test_checker_finds_upward_cross_and_unlayered_imports(tmp_path: Path) -> None:
    root = _package(tmp_path, {
        "low/__init__.py": "",
        "low/core.py": "def hook():\n    from high.tool import run\n",
        "high/__init__.py": "",
        "high/tool.py": "from low.core import hook\n",
        "one/__init__.py": "import two\n",
        "two/__init__.py": "",
        "stray/__init__.py": "",
    })
    layers = [("low", ["low"]), ("high", ["high"]), ("top", ["one", "two"])]
    graph = import_graph(root, ["low", "high", "one", "two", "stray"])
    assert violations(graph, layers, ["one", "two"]) == [
        "low.core (low) imports high.tool (high)",
        "one imports two: one and two are independent",
        "stray is in no layer",
    ]
