"""Page tokens of `POST /api/list` (oso-cloud 2.6.0 pagination, spec section 3.2).

A token is opaque to clients: URL-safe base64 of a small JSON object holding the policy version
the listing began under, a digest of the query (environment, actor, action, resource type,
context facts), the page size, and the last id already returned. The next page is the ids
sorted after that one, so facts written between pages neither repeat nor skip the ids that stay
allowed. A token from another query or another policy version is refused (400): the client
must list again from the first page. Tokens carry no secret: a forged one can only move the
starting point of a listing the caller is entitled to anyway.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from bisect import bisect_right
from dataclasses import dataclass
from typing import Any, Optional, Sequence

from .errors import BadRequest

#: Oso's OpenAPI: `page_size` has a minimum of 10 000.
MIN_PAGE_SIZE = 10_000
_TOKEN_LIMIT = 4096


def query_digest(environment: str, query: Any) -> str:
    """A short digest naming one listing query (any JSON-able description of it)."""
    canonical = json.dumps([environment, query], sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()[:32]


@dataclass(frozen=True)
class PageToken:
    """Where a listing stands: after `after`, pages of `size`, for `query` under `version`."""

    version: int
    query: str
    size: int
    after: str

    def encode(self) -> str:
        """The token as the client sees it."""
        raw = json.dumps({"v": self.version, "q": self.query, "n": self.size, "a": self.after},
                         separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")

    @staticmethod
    def decode(token: str) -> "PageToken":
        """The token's contents; 400 if it is not one this server made."""
        refused = BadRequest("page_token: not a page token of this server (pass the next_page_token of the "
                             "previous page, or null for the first page)")
        if len(token) > _TOKEN_LIMIT:
            raise refused
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            data = json.loads(raw.decode("utf-8"))
        except (binascii.Error, ValueError):
            raise refused from None
        if not isinstance(data, dict):
            raise refused
        version, query, size, after = (data.get(k) for k in ("v", "q", "n", "a"))
        if not (isinstance(version, int) and isinstance(query, str) and isinstance(size, int)
                and not isinstance(size, bool) and size >= MIN_PAGE_SIZE and isinstance(after, str)):
            raise refused
        return PageToken(version, query, size, after)


def page_size_of(value: Any) -> int:
    """A requested page size (an integer >= 10 000), else 400."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadRequest(f"page_size: expected an integer, got {value!r:.40}")
    if value < MIN_PAGE_SIZE:
        raise BadRequest(f"page_size: the minimum page size is {MIN_PAGE_SIZE}, got {value}")
    return value


def resume(token: Optional[str], page_size: Any, version: int, query: str) -> tuple[int, Optional[str]]:
    """(page size, last id already returned or None) of a page request. With a token, its page
    size wins over `page_size` (as Oso's OpenAPI says); it must be for this query and version."""
    if token is None:
        return page_size_of(page_size), None
    if not isinstance(token, str):
        raise BadRequest(f"page_token: expected a string or null, got {token!r:.40}")
    decoded = PageToken.decode(token)
    if decoded.query != query:
        raise BadRequest("page_token: this token belongs to another list query (actor, action, resource type "
                         "and context facts must be the same on every page)")
    if decoded.version != version:
        raise BadRequest(f"page_token: the policy changed since this listing began (version {decoded.version}, "
                         f"now {version}); list again from the first page")
    return decoded.size, decoded.after


def page(ids: Sequence[str], size: int, after: Optional[str], version: int, query: str) -> tuple[list[str], Optional[str]]:
    """The page of the sorted `ids` after `after`, and the token of the next page (None: last)."""
    start = 0 if after is None else bisect_right(ids, after)
    chunk = list(ids[start:start + size])
    if start + size >= len(ids) or not chunk:
        return chunk, None
    return chunk, PageToken(version, query, size, chunk[-1]).encode()
