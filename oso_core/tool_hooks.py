"""The hooks through which the facade (`Polar`, `Oso`) reaches the policy-author tools.

The tools (`oso_core.tooling`, `oso_core.repl`) sit above the facade and import it; the facade
never imports them. `Oso.explain`, `Oso.set_decision_logger`, `Polar.query(debug=...)` and
`Polar.repl()` call the implementations registered here, which `oso_core.tool_plugins` installs
when the `oso_core` package initialises (so they are always there for users of the public API).
See docs/architecture.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Optional

from .exceptions import OsoError


@dataclass
class ToolHooks:
    """The tool implementations the facade delegates to (None until the tooling installs them)."""

    #: `explain(oso, rule_name, *args)` -> an Explanation (`oso_core.tooling.explain`).
    explain: Optional[Callable[..., Any]] = None
    #: `decision_log(oso, logger, raise_errors)` -> the logging versions of Oso's decision methods.
    decision_log: Optional[Callable[[Any, Callable[[Any], Any], bool], Any]] = None
    #: `debugger(kb, debug)` -> (the knowledge-base snapshot to run on, the debugger observer).
    debugger: Optional[Callable[[Any, Any], tuple[Any, Any]]] = None
    #: `repl(polar, files)`: the interactive query loop.
    repl: Optional[Callable[[Any, list], None]] = None


#: The one registry the facade reads.
TOOL_HOOKS = ToolHooks()


def tool(name: str) -> Callable[..., Any]:
    """The registered implementation of the tool `name`; a typed error when none is installed."""
    hook = getattr(TOOL_HOOKS, name)
    if hook is None:
        raise OsoError(f"The {name} tool is not installed: import oso_core.tool_plugins")
    return hook
