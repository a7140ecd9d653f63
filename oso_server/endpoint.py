"""The rules every request follows, in `endpoint`, which wraps each route's handler.

Every request: gets a request id (the client's `X-Request-ID`, else a fresh one) echoed in the
response; is refused over the body limit (413); is authenticated by its bearer key (401), and a
write with a read-only key is refused (403); gets its JSON body parsed (400 if malformed); runs
its handler in a worker thread (the fact store is synchronous); ends in a JSON response. An
error is a `{"message": ...}` body with a 4xx status, or a 500 that names the request id
(the traceback goes to the server log, never to the client). Observers (metrics, decision log)
see one `RequestRecord` per request.

An endpoint is a plain ASGI app working on the raw scope and messages: a decision costs a few
hundred microseconds, and Starlette's `Request` and `Response` objects (header maps built per
request, a `Response` rendered then copied into messages) were a large part of what the server
added to it (docs/server-performance.md). A handler that wants them still gets `call.request`
(built on first use) and may return a `Response`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, MutableMapping, Optional

from starlette.requests import Request
from starlette.responses import Response

from oso_core.exceptions import OsoError
from oso_core.facts import FactStore, FactStoreError, InvalidFactError, NoPolicyError, UnboundedResultError, \
    UnsupportedPolicyError

from .config import ServerConfig
from .environments import Environments
from .errors import ApiError, BadRequest, Forbidden, PayloadTooLarge
from .keys import ApiKey

log = logging.getLogger("oso_server")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_CLIENT_ERRORS = (InvalidFactError, NoPolicyError, UnboundedResultError, UnsupportedPolicyError)
NO_BODY = object()
Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
_JSON_TYPE = (b"content-type", b"application/json")
# One encoder for every response: `json.dumps` with options builds a new one per call.
_encode = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


@dataclass
class RequestRecord:
    """What observers learn of one finished request. `decision` is set by decision endpoints:
    {"actor", "action", "resource", "allowed" | "results", "policy_version"}."""

    method: str
    route: str
    status: int
    seconds: float
    request_id: str
    key_name: Optional[str] = None
    environment: Optional[str] = None
    decision: Optional[dict] = None


Observer = Callable[[RequestRecord], None]


@dataclass
class Call:
    """One authenticated request, as a handler sees it."""

    #: The ASGI scope of the request.
    scope: Scope
    key: Optional[ApiKey]
    state: "ServerState"
    body: Any
    request_id: str
    #: Response headers to add (e.g. `OsoOffset` on writes).
    headers: dict[str, str] = field(default_factory=dict)
    #: Set by decision handlers for the decision log.
    decision: Optional[dict] = None
    #: Set by a handler that answers with a status other than 200.
    status: int = 200
    _request: Optional[Request] = field(default=None, repr=False)

    @property
    def request(self) -> Request:
        """The Starlette request (built on first use: most handlers never need it)."""
        if self._request is None:
            self._request = Request(self.scope)
        return self._request

    @property
    def store(self) -> FactStore:
        """The fact store of the key's environment."""
        if self.key is None:
            raise ApiError("This route has no environment", 500)
        return self.state.environments.get(self.key.environment)

    def query_params(self) -> dict[str, str]:
        """The query string (the last value of a repeated name)."""
        return dict(self.request.query_params)


Handler = Callable[[Call], Any]


@dataclass(frozen=True)
class RouteSpec:
    """One route: a handler that returns a JSON-able value (or a `Response`). `write` routes
    need a read-write key; `auth=False` routes (health, metrics) take no key; `body` routes
    parse a JSON body (absent body: `NO_BODY`)."""

    method: str
    path: str
    handler: Handler
    write: bool = False
    auth: bool = True
    body: bool = True
    #: Run on the event loop instead of a worker thread (for handlers that never block).
    inline: bool = False


class ServerState:
    """What every request shares: the configuration, the environments, the observers and the
    handler threads (`close()` stops the threads)."""

    def __init__(self, config: ServerConfig, environments: Optional[Environments] = None) -> None:
        self.config = config
        self.environments = environments or Environments(config.database_url())
        self.observers: list[Observer] = []
        self.started = time.time()
        # A plain executor: anyio's `to_thread` (Starlette's `run_in_threadpool`) adds a
        # capacity limiter and cancel scopes per call, measurable at a few hundred microseconds
        # a request. None with `handler_threads=0` (handlers run on the event loop).
        self.executor: Optional[ThreadPoolExecutor] = (
            ThreadPoolExecutor(config.handler_threads, thread_name_prefix="oso-handler")
            if config.handler_threads else None)

    def close(self) -> None:
        """Stop the handler threads (after the running handlers end), then close the environments."""
        if self.executor is not None:
            self.executor.shutdown(wait=True)
        self.environments.close()

    def notify(self, record: RequestRecord) -> None:
        for observer in self.observers:
            try:
                observer(record)
            except Exception:  # an observer's failure must not fail the request
                log.exception("request observer %r failed", observer)


def json_bytes(value: Any) -> bytes:
    """A value as compact UTF-8 JSON."""
    return _encode(value).encode("utf-8")


def json_response(value: Any, status: int = 200, headers: Optional[dict[str, str]] = None) -> Response:
    """A JSON response (compact, UTF-8)."""
    return Response(json_bytes(value), status_code=status, headers=headers, media_type="application/json")


def request_id_from(given: Optional[str]) -> str:
    """`given` (the client's X-Request-ID) if it is a sane token, else a fresh uuid4."""
    return given if given and _REQUEST_ID.match(given) else str(uuid.uuid4())


def request_id_of(request: Request) -> str:
    """The client's X-Request-ID if it is a sane token, else a fresh uuid4."""
    return request_id_from(request.headers.get("x-request-id"))


def check_length(declared: Optional[str], limit: int) -> None:
    """Refuse (413) a declared Content-Length over `limit`; 400 if it is not a number."""
    if declared is None:
        return
    try:
        too_long = int(declared) > limit
    except ValueError:
        raise BadRequest(f"Content-Length is not a number: {declared!r:.40}") from None
    if too_long:
        raise PayloadTooLarge(f"Request body of {declared} bytes is over the limit of {limit} bytes")


async def read_body(receive: Receive, limit: int) -> bytes:
    """The body of the ASGI request, refused (413) past `limit` bytes without reading the rest."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise BadRequest("The client disconnected before sending the whole body")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"Request body is over the limit of {limit} bytes")
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def parse_json(raw: bytes) -> Any:
    """The JSON value of a body; 400 naming the position if malformed."""
    if not raw.strip():
        return NO_BODY
    try:
        return json.loads(raw)
    except UnicodeDecodeError:
        raise BadRequest("Request body is not UTF-8 JSON") from None
    except RecursionError:  # the decoder recurses per nesting level
        raise BadRequest("Malformed JSON in request body: nested too deeply") from None
    except json.JSONDecodeError as error:
        raise BadRequest(f"Malformed JSON in request body: {error.msg} at line {error.lineno} "
                         f"column {error.colno}") from None


def error_status(error: BaseException) -> tuple[int, str]:
    """The status and message of an error a handler raised (500s get a generic message)."""
    if isinstance(error, ApiError):
        return error.status, error.message
    if isinstance(error, _CLIENT_ERRORS):
        return 400, str(error)
    if isinstance(error, FactStoreError):
        return 503, f"The fact store failed: {error}"
    if isinstance(error, OsoError):
        return 400, str(error)
    return 500, ""


def _request_headers(scope: Scope) -> tuple[Optional[str], Optional[str], Optional[str]]:
    """(X-Request-ID, Authorization, Content-Length) of the request, in one pass over the raw
    header list (ASGI servers lower-case the names); of a repeated header the first counts, as
    with Starlette's `Headers.get`."""
    request_id = authorization = length = None
    for name, value in scope["headers"]:
        if name == b"authorization":
            if authorization is None:
                authorization = value.decode("latin-1")
        elif name == b"content-length":
            if length is None:
                length = value.decode("latin-1")
        elif name == b"x-request-id":
            if request_id is None:
                request_id = value.decode("latin-1")
    return request_id, authorization, length


class Endpoint:
    """The ASGI app running one route's handler under the rules of every request."""

    def __init__(self, spec: RouteSpec, state: ServerState) -> None:
        self.spec = spec
        self.state = state
        # `--threads 0` runs every handler on the event loop: each process answers one request
        # at a time (scale with `--workers`), and no request pays a thread hop and the GIL
        # hand-over between the loop and a handler thread. Decided once per route.
        self.inline = spec.inline or state.executor is None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        spec, state = self.spec, self.state
        started = time.perf_counter()
        given_id, authorization, length = _request_headers(scope)
        request_id = request_id_from(given_id)
        headers = {"X-Request-ID": request_id}
        key: Optional[ApiKey] = None
        call: Optional[Call] = None
        response: Optional[Response] = None
        try:
            if spec.auth:
                key = state.config.keys.authenticate(authorization)
                if spec.write and key.read_only:
                    raise Forbidden(f"API key {key.name!r} is read-only: {spec.method} {spec.path} writes")
            body: Any = NO_BODY
            if spec.body:
                check_length(length, state.config.max_body_bytes)
                body = parse_json(await read_body(receive, state.config.max_body_bytes))
            call = Call(scope, key, state, body, request_id)
            if self.inline:
                result = spec.handler(call)
            else:
                result = await asyncio.get_running_loop().run_in_executor(state.executor, spec.handler, call)
            headers.update(call.headers)
            if isinstance(result, Response):
                result.headers.update(headers)
                response, status, payload = result, result.status_code, b""
            else:
                status, payload = call.status, json_bytes(result)
        except Exception as error:  # every failure becomes a JSON error response
            status, message = error_status(error)
            if status == 500:
                log.exception("%s %s failed (request id %s)", spec.method, spec.path, request_id)
                message = f"Internal server error (request id {request_id})"
            response, payload = None, json_bytes({"message": message})
        state.notify(RequestRecord(spec.method, spec.path, status, time.perf_counter() - started,
                                   request_id, key.name if key else None, key.environment if key else None,
                                   call.decision if call else None))
        if response is not None:
            await response(scope, receive, send)
            return
        raw = [(b"content-length", str(len(payload)).encode("latin-1")), _JSON_TYPE]
        raw += [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers.items()]
        await send({"type": "http.response.start", "status": status, "headers": raw})
        await send({"type": "http.response.body", "body": payload})


def endpoint(spec: RouteSpec, state: ServerState) -> Endpoint:
    """The ASGI app running `spec.handler` under the rules of every request (mount it with
    `starlette.routing.Route(spec.path, endpoint(spec, state), methods=[spec.method])`)."""
    return Endpoint(spec, state)
