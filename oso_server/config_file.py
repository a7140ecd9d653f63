"""API keys from a TOML config file (`serve --config FILE`) and from `$OSO_SERVER_KEYS`.

The file holds one `[[keys]]` table per key::

    [[keys]]
    name = "backend"              # shown in logs and errors instead of the secret
    environment = "production"    # the environment (own policy and facts) the key reaches
    access = "read-write"         # or "read-only"
    secret_env = "BACKEND_KEY"    # the secret is in this environment variable ...
    # secret = "..."              # ... or here, in the file (one of the two)

`$OSO_SERVER_KEYS` holds a JSON list of objects with the same fields. An error names the
source and the key, never a secret.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any, Mapping, Optional

from .keys import DEV_TEST_KEY, ApiKey

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - only on 3.10
    import tomli as tomllib

KEYS_VARIABLE = "OSO_SERVER_KEYS"
ACCESS_MODES = {"read-write": False, "read-only": True}
_FIELDS = {"name", "environment", "access", "secret", "secret_env"}


class KeyConfigError(ValueError):
    """A key configuration that cannot be used; the message names where and what."""


def key_from_mapping(entry: object, where: str, environ: Mapping[str, str]) -> ApiKey:
    """One key from its table / object; `where` names it in errors."""
    if not isinstance(entry, dict):
        raise KeyConfigError(f"{where}: a key is a table/object, got {type(entry).__name__}")
    unknown = sorted(set(entry) - _FIELDS)
    if unknown:
        raise KeyConfigError(f"{where}: unknown field(s) {', '.join(unknown)} (known: {', '.join(sorted(_FIELDS))})")
    name = _string(entry, "name", where)
    where = f"{where} ({name!r})"
    environment = _string(entry, "environment", where)
    access = _string(entry, "access", where)
    if access not in ACCESS_MODES:
        raise KeyConfigError(f"{where}: access must be 'read-write' or 'read-only', got {access!r}")
    secret = _secret(entry, where, environ)
    if secret == DEV_TEST_KEY:
        raise KeyConfigError(f"{where}: the secret is Oso's public Dev Server test key; use `serve --dev` to "
                             "accept it, never as a configured key")
    try:
        return ApiKey(name=name, environment=environment, read_only=ACCESS_MODES[access], secret=secret)
    except ValueError as error:
        raise KeyConfigError(f"{where}: {error}") from None


def _string(entry: dict, field: str, where: str) -> str:
    value = entry.get(field)
    if not isinstance(value, str) or not value:
        raise KeyConfigError(f"{where}: field {field!r} must be a non-empty string")
    return value


def _secret(entry: dict, where: str, environ: Mapping[str, str]) -> str:
    has_secret, has_env = "secret" in entry, "secret_env" in entry
    if has_secret == has_env:
        raise KeyConfigError(f"{where}: give exactly one of 'secret' and 'secret_env'")
    if has_secret:
        secret = entry["secret"]
        if not isinstance(secret, str) or not secret:
            raise KeyConfigError(f"{where}: field 'secret' must be a non-empty string")
        return secret
    variable = _string(entry, "secret_env", where)
    secret = environ.get(variable)
    if not secret:
        raise KeyConfigError(f"{where}: environment variable {variable} (secret_env) is not set or empty")
    return secret


def keys_from_file(path: Path, environ: Optional[Mapping[str, str]] = None) -> list[ApiKey]:
    """The `[[keys]]` of a TOML file."""
    environ = os.environ if environ is None else environ
    try:
        data: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise KeyConfigError(f"Cannot read the config file {path}: {error.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise KeyConfigError(f"{path}: not valid TOML: {error}") from None
    unknown = sorted(set(data) - {"keys"})
    if unknown:
        raise KeyConfigError(f"{path}: unknown table(s) {', '.join(unknown)} (known: keys)")
    entries = data.get("keys", [])
    if not isinstance(entries, list):
        raise KeyConfigError(f"{path}: 'keys' must be an array of tables ([[keys]])")
    return [key_from_mapping(entry, f"{path}: keys[{i}]", environ) for i, entry in enumerate(entries)]


def keys_from_environment(environ: Optional[Mapping[str, str]] = None) -> list[ApiKey]:
    """The keys of `$OSO_SERVER_KEYS` (a JSON list of key objects); none if unset."""
    environ = os.environ if environ is None else environ
    raw = environ.get(KEYS_VARIABLE, "").strip()
    if not raw:
        return []
    try:
        entries = json.loads(raw)
    except json.JSONDecodeError as error:
        # The position only: the text may hold secrets.
        raise KeyConfigError(f"${KEYS_VARIABLE}: not valid JSON ({error.msg} at column {error.colno})") from None
    if not isinstance(entries, list):
        raise KeyConfigError(f"${KEYS_VARIABLE}: must be a JSON list of key objects")
    return [key_from_mapping(entry, f"${KEYS_VARIABLE}[{i}]", environ) for i, entry in enumerate(entries)]
