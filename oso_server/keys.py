"""API keys: each bound to one environment, read-write or read-only, checked in constant time.

A key's secret never appears in a repr, a log line or an error message; requests are matched
by comparing SHA-256 digests with `hmac.compare_digest` against every key, so the time taken
does not depend on which key (if any) matched or on how much of a secret was right.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from typing import Iterable, Optional

from .errors import Unauthorized

#: The public test key of Oso's Dev Server: accepted in dev mode so Oso's quickstarts run as written.
DEV_TEST_KEY = "e_0123456789_12345_osotesttoken01xiIn"
DEFAULT_ENVIRONMENT = "default"


@dataclass(frozen=True)
class ApiKey:
    """One API key: a name for logs, its environment and whether it may write."""

    name: str
    environment: str
    read_only: bool
    secret: str = field(repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.secret:
            raise ValueError(f"API key {self.name!r} has an empty secret")
        if not self.environment or "\x00" in self.environment:
            raise ValueError(f"API key {self.name!r}: environment must be a non-empty string without NUL")


def dev_key(environment: str = DEFAULT_ENVIRONMENT) -> ApiKey:
    """Oso's public Dev Server test key, read-write on `environment`."""
    return ApiKey(name="dev-test-key", environment=environment, read_only=False, secret=DEV_TEST_KEY)


def _digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).digest()


class KeyRing:
    """The keys a server accepts."""

    def __init__(self, keys: Iterable[ApiKey]) -> None:
        self._keys = [(_digest(k.secret), k) for k in keys]
        if not self._keys:
            raise ValueError("A server needs at least one API key")
        digests = [d for d, _ in self._keys]
        if len(set(digests)) != len(digests):
            raise ValueError("Two API keys have the same secret")

    @property
    def keys(self) -> list[ApiKey]:
        """The keys, in the order given."""
        return [k for _, k in self._keys]

    @property
    def environments(self) -> list[str]:
        """The environments the keys reach, each once, in key order."""
        return list(dict.fromkeys(k.environment for _, k in self._keys))

    def authenticate(self, authorization: Optional[str]) -> ApiKey:
        """The key of an `Authorization: Bearer <secret>` header, else Unauthorized (401)."""
        if not authorization:
            raise Unauthorized("Missing API key: send the header 'Authorization: Bearer <api key>'")
        scheme, _, token = authorization.strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("Malformed Authorization header: expected 'Bearer <api key>'")
        wanted = _digest(token.strip())
        found: Optional[ApiKey] = None
        for digest, key in self._keys:  # no early exit: every key is compared
            if hmac.compare_digest(digest, wanted):
                found = key
        if found is None:
            raise Unauthorized("Invalid API key")
        return found


def key_ring(configured: Iterable[ApiKey], dev: bool = False) -> tuple[KeyRing, bool]:
    """The keys a server accepts, and whether it is in dev mode (accepts `DEV_TEST_KEY`).

    No configured key: dev mode, only the test key (read-write on "default"). Configured keys:
    only those, plus the test key if `dev`. A configured key may not use the public test key's
    secret: it would be accepted without `dev`."""
    keys = list(configured)
    if any(hmac.compare_digest(_digest(k.secret), _digest(DEV_TEST_KEY)) for k in keys):
        raise ValueError("A configured API key uses Oso's public Dev Server test key as its secret")
    if not keys:
        return KeyRing([dev_key()]), True
    return KeyRing([*keys, dev_key()] if dev else keys), dev
