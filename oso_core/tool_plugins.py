"""Plugs the tools (`oso_core.tooling`, `oso_core.repl`) into the hooks the lower layers own:
the facade's `TOOL_HOOKS` (oso_core/tool_hooks.py) and the runtime's on-demand debugger
(oso_core/runtime/tracing.py).

Imported (installing them) by `oso_core/__init__.py`, which Python runs before any module of the
package, so the hooks are in place whatever a program imports. Each hook imports its tool on first
use, so `import oso_core` stays small (and imports no `oso_core.tooling` module).
"""

from __future__ import annotations

from typing import Any, Callable

from .runtime.tracing import Observer, set_on_demand_debugger
from .tool_hooks import TOOL_HOOKS


def _explain(oso: Any, name: str, *args: Any) -> Any:
    from .tooling.explain import explain_rule
    return explain_rule(oso, name, *args)


def _decision_log(oso: Any, logger: Callable[[Any], Any], raise_errors: bool) -> Any:
    from .tooling.decision_log import DecisionLog
    return DecisionLog(oso, logger, raise_errors)


def _debugger(kb: Any, debug: Any) -> tuple[Any, Any]:
    from .tooling.debugger import start_debugging
    return start_debugging(kb, debug)


def _on_demand_debugger() -> Observer:
    """The debugger on stdin/stdout a `debug(...)` goal attaches when none is running."""
    from .tooling.debugger import Debugger
    debugger = Debugger()
    debugger.attached_on_demand = True
    return debugger


def _repl(polar: Any, files: list) -> None:
    from .repl import run_repl
    run_repl(polar, files)


def install() -> None:
    """Register every tool's hook (idempotent)."""
    TOOL_HOOKS.explain = _explain
    TOOL_HOOKS.decision_log = _decision_log
    TOOL_HOOKS.debugger = _debugger
    TOOL_HOOKS.repl = _repl
    set_on_demand_debugger(_on_demand_debugger)


install()
