"""The server's configuration: `initializationOptions` from the editor, over the
`[tool.oso_core.lsp]` table of the workspace's pyproject.toml.

    modules = ["app.models"]      # import these and register the classes they define (like `check --module`)
    oso = "app.authz:oso"         # or: an Oso/Polar instance whose registered classes (and fields) to use
    load_together = "directory"   # which policy files are loaded as one policy: file, directory, workspace
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10 has no tomllib; tomli is the same parser (the lsp extra installs it there)
    import tomli as tomllib

LOAD_TOGETHER = ("file", "directory", "workspace")


class SettingsError(Exception):
    """A setting with a value of the wrong shape."""


@dataclass(frozen=True)
class Settings:
    modules: tuple[str, ...] = ()
    oso: str | None = None
    load_together: str = "directory"
    roots: tuple[str, ...] = field(default=())  # workspace folders (paths), searched for policies and tests


def _table(root: Path) -> dict[str, Any]:
    try:
        data = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return {}
    table = data.get("tool", {}).get("oso_core", {}).get("lsp", {})
    return table if isinstance(table, dict) else {}


def _normalized(options: dict[str, Any]) -> dict[str, Any]:
    # Editors send camelCase (`loadTogether`), TOML tables use snake_case.
    return {("load_together" if key == "loadTogether" else key): value for key, value in options.items()}


def read_settings(roots: list[str], options: Any) -> Settings:
    """The settings for workspace folders `roots` and the client's initialization options."""
    merged: dict[str, Any] = {}
    for root in roots[:1]:  # the first folder's pyproject.toml configures the server
        merged.update(_normalized(_table(Path(root))))
    if isinstance(options, dict):
        merged.update(_normalized(options))
    modules = merged.get("modules", [])
    if isinstance(modules, str):
        modules = [modules]
    if not (isinstance(modules, list) and all(isinstance(m, str) for m in modules)):
        raise SettingsError("`modules` must be a list of module names")
    oso = merged.get("oso")
    if oso is not None and not (isinstance(oso, str) and ":" in oso):
        raise SettingsError("`oso` must name an Oso instance as `module:attribute`")
    load_together = merged.get("load_together", "directory")
    if load_together not in LOAD_TOGETHER:
        raise SettingsError(f"`loadTogether` must be one of: {', '.join(LOAD_TOGETHER)}")
    return Settings(tuple(modules), oso, load_together, tuple(roots))
