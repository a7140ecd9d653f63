"""A small HTTP client for the Oso Cloud API an `oso_server` serves (the CLI's transport).

Standard library only (urllib, json): the command-line client must work wherever the server
package is installed. Values, facts and patterns are the wire's own JSON shapes
(`{"type": ..., "id": ...}`, `{"predicate": ..., "args": [...]}`; docs/server-cli.md), so what
the CLI builds is what is sent. Every failure is a `ClientError`: an HTTP error carries the
status and the server's `{"message"}`; a server that cannot be reached is `ServerUnreachable`,
naming the URL.
"""

from __future__ import annotations

import builtins
import json
import time
import urllib.error
import urllib.request
from typing import Any, Optional, Sequence
from urllib.parse import urlencode

from .keys import DEV_TEST_KEY

#: Where the CLI looks when neither `--url` nor `$OSO_URL` says (the server's own default address).
DEFAULT_URL = "http://127.0.0.1:8080"
#: The Dev Server test key, accepted by a server in its default (dev) configuration.
DEFAULT_KEY = DEV_TEST_KEY
#: `list` pages: the oso-cloud clients ask for 10,000 ids a page, the minimum the API accepts.
LIST_PAGE_SIZE = 10_000
# A 409 with Retry-After on /list means "page not ready yet"; the clients retry it up to 10 times.
_LIST_TRIES = 10
_MAX_RETRY_AFTER = 30.0

JSONValue = Any
WireValue = dict  # {"type": str | None, "id": str | None}


class ClientError(Exception):
    """A request that failed: `status` is the HTTP status (None when no answer came back) and
    `message` what the server (or the connection) said."""

    def __init__(self, message: str, status: Optional[int] = None, retry_after: Optional[float] = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.retry_after = retry_after


class ServerUnreachable(ClientError):
    """No HTTP answer: connection refused, DNS failure, timeout. `url` is the request's URL."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"could not reach the server at {url}: {reason}")
        self.url = url
        self.reason = reason


def _error_message(status: int, body: bytes) -> str:
    """The `message` of an error body, else the body's text, else the status alone."""
    text = body.decode("utf-8", "replace").strip()
    try:
        parsed = json.loads(text)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict) and isinstance(parsed.get("message"), str):
        return parsed["message"]
    return text or f"HTTP {status} with an empty body"


def _seconds(header: Optional[str]) -> Optional[float]:
    try:
        return float(header) if header is not None else None
    except ValueError:
        return None


def _unreachable_reason(error: BaseException) -> str:
    reason = getattr(error, "reason", error)
    return getattr(reason, "strerror", None) or str(reason) or type(reason).__name__


class OsoClient:
    """One server (`url`, e.g. `http://127.0.0.1:8080`) and one API key."""

    def __init__(self, url: str = DEFAULT_URL, key: str = DEFAULT_KEY, timeout: float = 30.0) -> None:
        if not key:
            raise ValueError("An API key is needed (--key or $OSO_AUTH)")
        self.given_url = url  # as the user wrote it, for messages
        self.url = url if url.endswith("/") else url + "/"
        self.key = key
        self.timeout = timeout

    # Transport ---------------------------------------------------------------------------------

    def request(self, method: str, path: str, body: JSONValue = None,
                query: Optional[Sequence[tuple[str, str]]] = None) -> tuple[JSONValue, dict]:
        """Send one request to `{url}api{path}`; the decoded JSON answer and the response
        headers. Raises ClientError for a non-2xx status, a non-JSON answer or no answer."""
        url = f"{self.url}api{path}"
        if query:
            url += "?" + urlencode(list(query))
        data = None if body is None else json.dumps(body).encode("utf-8")
        headers = {"Authorization": f"Bearer {self.key}", "Accept": "application/json",
                   "User-Agent": "oso-server CLI"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                raw = response.read()
                response_headers = dict(response.headers.items())
        except urllib.error.HTTPError as error:
            raise ClientError(_error_message(error.code, error.read()), error.code,
                              _seconds(error.headers.get("Retry-After"))) from None
        except (urllib.error.URLError, OSError) as error:  # refused, DNS, timeout, reset
            raise ServerUnreachable(self.given_url, _unreachable_reason(error)) from None
        try:
            return json.loads(raw.decode("utf-8")), response_headers
        except ValueError:
            snippet = raw[:200].decode("utf-8", "replace")
            raise ClientError(f"the server answered {method} {path} with something that is not JSON: "
                              f"{snippet!r}") from None

    def _post(self, path: str, body: JSONValue) -> JSONValue:
        return self.request("POST", path, body)[0]

    @staticmethod
    def _field(answer: JSONValue, key: str, path: str) -> JSONValue:
        if not isinstance(answer, dict) or key not in answer:
            raise ClientError(f"the answer to {path} has no {key!r}: {answer!r}")
        return answer[key]

    # Policy and facts --------------------------------------------------------------------------

    def policy(self, src: str, filename: str = "") -> str:
        """Upload a policy (POST /policy); the server's message."""
        return self._field(self._post("/policy", {"filename": filename, "src": src}), "message", "/policy")

    def batch(self, changesets: list[dict]) -> str:
        """POST /batch: `[{"inserts": [fact...]} | {"deletes": [pattern...]}, ...]`, atomic."""
        return self._field(self._post("/batch", changesets), "message", "/batch")

    def insert(self, fact: dict) -> str:
        """Add one fact."""
        return self.batch([{"inserts": [fact]}])

    def delete(self, pattern: dict) -> str:
        """Delete every fact matching `pattern` (null type/id are wildcards)."""
        return self.batch([{"deletes": [pattern]}])

    def get(self, predicate: str, args: Sequence[WireValue]) -> list[dict]:
        """The stored facts matching the pattern (GET /facts, the clients' query encoding:
        `args.<i>.type` / `args.<i>.id` only where not a wildcard)."""
        query = [("predicate", predicate)]
        for i, arg in enumerate(args):
            if arg.get("type") is not None:
                query.append((f"args.{i}.type", arg["type"]))
            if arg.get("id") is not None:
                query.append((f"args.{i}.id", arg["id"]))
        facts, _ = self.request("GET", "/facts", query=query)
        if not isinstance(facts, list):
            raise ClientError(f"the answer to /facts is not a list: {facts!r}")
        return facts

    # Decisions ---------------------------------------------------------------------------------

    def authorize(self, actor: WireValue, action: str, resource: WireValue,
                  context_facts: Sequence[dict] = ()) -> bool:
        """Whether `actor` may `action` `resource` (POST /authorize)."""
        answer = self._post("/authorize", {
            "actor_type": actor["type"], "actor_id": actor["id"], "action": action,
            "resource_type": resource["type"], "resource_id": resource["id"],
            "context_facts": list(context_facts)})
        allowed = self._field(answer, "allowed", "/authorize")
        if not isinstance(allowed, bool):
            raise ClientError(f"the answer to /authorize has a non-boolean 'allowed': {allowed!r}")
        return allowed

    def list(self, actor: WireValue, action: str, resource_type: str,
             context_facts: Sequence[dict] = ()) -> builtins.list[str]:
        """The ids of `resource_type` `actor` may `action`, every page (POST /list)."""
        # (`builtins.list`: in this class `list` is the method, named after the clients' own.)
        ids: builtins.list[str] = []
        token: Optional[str] = None
        while True:
            answer = self._list_page({
                "actor_type": actor["type"], "actor_id": actor["id"], "action": action,
                "resource_type": resource_type, "context_facts": list(context_facts),
                "page_size": LIST_PAGE_SIZE, "page_token": token})
            ids.extend(self._field(answer, "results", "/list"))
            token = answer.get("next_page_token")
            if not token:
                return ids

    def _list_page(self, body: dict) -> dict:
        for _ in range(_LIST_TRIES - 1):
            try:
                return self._post("/list", body)
            except ClientError as error:
                if error.status != 409 or error.retry_after is None:
                    raise
                time.sleep(min(max(error.retry_after, 0.0), _MAX_RETRY_AFTER))
        return self._post("/list", body)  # the last try: whatever it raises is the answer

    def actions(self, actor: WireValue, resource: WireValue,
                context_facts: Sequence[dict] = ()) -> builtins.list[str]:
        """The actions `actor` may take on `resource` (POST /actions)."""
        answer = self._post("/actions", {
            "actor_type": actor["type"], "actor_id": actor["id"],
            "resource_type": resource["type"], "resource_id": resource["id"],
            "context_facts": list(context_facts)})
        return list(self._field(answer, "results", "/actions"))
