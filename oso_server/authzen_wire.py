"""The AuthZEN Authorization API 1.0 wire format, read into fact-store terms.

A subject `{"type", "id", "properties"}` becomes the actor `Value(type, id)`, a resource the
resource `Value(type, id)`, an action `{"name", "properties"}` its name. `properties` must be
objects when given; the engine does not read them (a policy reads facts). `context` is an object;
its `facts` member, when present, is a list of context facts in the Oso Cloud wire shape
(`{"predicate": "has_role", "args": [{"type": "User", "id": "alice"}, ...]}`, with the
`String`/`Integer`/`Boolean` types for primitives), which hold for that one decision only.
Anything malformed is a `BadRequest` naming the field (`evaluations[2].subject.id`).
"""

from __future__ import annotations

import base64
import bisect
import binascii
import hashlib
import json
from dataclasses import dataclass
from typing import Any, Optional

from oso_core.values import Value

from .endpoint import NO_BODY
from .errors import BadRequest
from .wire import type_name as json_kind

SEMANTICS = ("execute_all", "deny_on_first_deny", "permit_on_first_permit")
#: Search results per page when the request gives no `page.limit`, and the most it may ask for.
DEFAULT_PAGE_SIZE = 1000
MAX_PAGE_SIZE = 10_000
_TUPLE_KEYS = ("subject", "action", "resource", "context")


@dataclass(frozen=True)
class Evaluation:
    """One access question: may `subject` do `action` on `resource`, with these context facts."""

    subject: Value
    action: str
    resource: Value
    context_facts: tuple[tuple, ...]


def request_object(body: Any) -> dict:
    """The request body, which must be a JSON object."""
    if body is NO_BODY:
        raise BadRequest("The request body must be a JSON object; it is empty")
    if not isinstance(body, dict):
        raise BadRequest(f"The request body must be a JSON object, got {json_kind(body)}")
    return body


def entity(value: Any, field: str, *, id_required: bool = True) -> tuple[str, Optional[str]]:
    """(type, id) of a subject or resource object; `id` is None when not required (searches
    ignore it, as the spec says)."""
    if value is None:
        raise BadRequest(f"{field} is required")
    if not isinstance(value, dict):
        raise BadRequest(f"{field} must be an object with \"type\" and \"id\", got {json_kind(value)}")
    type_name = value.get("type")
    if not isinstance(type_name, str) or not type_name:
        raise BadRequest(f"{field}.type must be a non-empty string, got {_shown(type_name)}")
    _properties(value, field)
    if not id_required:
        return type_name, None
    ident = value.get("id")
    if not isinstance(ident, str):
        raise BadRequest(f"{field}.id must be a string, got {_shown(ident)}")
    return type_name, ident


def entity_value(value: Any, field: str) -> Value:
    """The `Value` of a subject or resource object (type and id required)."""
    type_name, ident = entity(value, field)
    assert ident is not None
    return Value(type_name, ident)


def action_name(value: Any, field: str) -> str:
    """The name of an action object."""
    if value is None:
        raise BadRequest(f"{field} is required")
    if not isinstance(value, dict):
        raise BadRequest(f"{field} must be an object with \"name\", got {json_kind(value)}")
    name = value.get("name")
    if not isinstance(name, str) or not name:
        raise BadRequest(f"{field}.name must be a non-empty string, got {_shown(name)}")
    _properties(value, field)
    return name


def context_facts(value: Any, field: str) -> tuple[tuple, ...]:
    """The context facts of a context object (`context.facts`); none when absent."""
    if value is None:
        return ()
    if not isinstance(value, dict):
        raise BadRequest(f"{field} must be an object, got {json_kind(value)}")
    facts = value.get("facts")
    if facts is None:
        return ()
    if not isinstance(facts, list):
        raise BadRequest(f"{field}.facts must be a list of facts, got {json_kind(facts)}")
    return tuple(_fact(fact, f"{field}.facts[{i}]") for i, fact in enumerate(facts))


def _fact(value: Any, field: str) -> tuple:
    if not isinstance(value, dict):
        raise BadRequest(f"{field} must be an object with \"predicate\" and \"args\", got {json_kind(value)}")
    predicate = value.get("predicate")
    if not isinstance(predicate, str) or not predicate:
        raise BadRequest(f"{field}.predicate must be a non-empty string, got {_shown(predicate)}")
    args = value.get("args")
    if not isinstance(args, list) or not args:
        raise BadRequest(f"{field}.args must be a non-empty list of {{\"type\", \"id\"}} values, got {_shown(args)}")
    return (predicate, *(wire_value(arg, f"{field}.args[{i}]") for i, arg in enumerate(args)))


def wire_value(value: Any, field: str) -> object:
    """A fact argument of the Oso Cloud wire: `{"type": "String", "id": "x"}` is `"x"`,
    `Integer` an int, `Boolean` a bool, any other type a `Value`."""
    if not isinstance(value, dict):
        raise BadRequest(f"{field} must be an object with \"type\" and \"id\", got {json_kind(value)}")
    type_name, ident = value.get("type"), value.get("id")
    if not isinstance(type_name, str) or not type_name:
        raise BadRequest(f"{field}.type must be a non-empty string, got {_shown(type_name)}")
    if not isinstance(ident, str):
        raise BadRequest(f"{field}.id must be a string, got {_shown(ident)}")
    if type_name == "String":
        return ident
    if type_name == "Boolean":
        if ident not in ("true", "false"):
            raise BadRequest(f"{field}.id of a Boolean must be \"true\" or \"false\", got {_shown(ident)}")
        return ident == "true"
    if type_name == "Integer":
        try:
            return int(ident)
        except ValueError:
            raise BadRequest(f"{field}.id of an Integer must be decimal digits, got {_shown(ident)}") from None
    return Value(type_name, ident)


def evaluation(request: dict, field: str = "") -> Evaluation:
    """The access question of an evaluation request (the 4-tuple)."""
    prefix = f"{field}." if field else ""
    return Evaluation(entity_value(request.get("subject"), prefix + "subject"),
                      action_name(request.get("action"), prefix + "action"),
                      entity_value(request.get("resource"), prefix + "resource"),
                      context_facts(request.get("context"), prefix + "context"))


def evaluations(body: dict) -> Optional[list[Evaluation]]:
    """The questions of an evaluations request, each item's keys overriding the top-level
    defaults; None when there is no `evaluations` array (a single evaluation, then)."""
    items = body.get("evaluations")
    if items is None:
        return None
    if not isinstance(items, list):
        raise BadRequest(f"evaluations must be a list of evaluation objects, got {json_kind(items)}")
    defaults = {key: body[key] for key in _TUPLE_KEYS if key in body}
    questions = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise BadRequest(f"evaluations[{i}] must be an object, got {json_kind(item)}")
        questions.append(evaluation({**defaults, **item}, f"evaluations[{i}]"))
    return questions


def semantic(body: dict) -> str:
    """`options.evaluations_semantic` (default `execute_all`)."""
    options = body.get("options")
    if options is None:
        return "execute_all"
    if not isinstance(options, dict):
        raise BadRequest(f"options must be an object, got {json_kind(options)}")
    chosen = options.get("evaluations_semantic", "execute_all")
    if chosen not in SEMANTICS:
        raise BadRequest(f"options.evaluations_semantic must be one of {', '.join(SEMANTICS)}; got {_shown(chosen)}")
    return chosen


# Search pages ------------------------------------------------------------------------------


@dataclass(frozen=True)
class PageRequest:
    """Where a search page starts (after this id; None: at the start) and how long it is."""

    after: Optional[str]
    limit: int
    fingerprint: str


def page_request(body: dict) -> PageRequest:
    """The `page` of a search request: `token` (1.0; `next_token`, as drafts wrote it, too) and
    `limit`. A token belongs to the search it came from: another search's token is refused."""
    fingerprint = _fingerprint(body)
    page = body.get("page")
    if page is None:
        return PageRequest(None, DEFAULT_PAGE_SIZE, fingerprint)
    if not isinstance(page, dict):
        raise BadRequest(f"page must be an object, got {json_kind(page)}")
    limit = page.get("limit", DEFAULT_PAGE_SIZE)
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE_SIZE:
        raise BadRequest(f"page.limit must be an integer from 1 to {MAX_PAGE_SIZE}, got {_shown(limit)}")
    token = page.get("token", page.get("next_token"))
    if token is None or token == "":
        return PageRequest(None, limit, fingerprint)
    if not isinstance(token, str):
        raise BadRequest(f"page.token must be a string, got {json_kind(token)}")
    return PageRequest(_decode_token(token, fingerprint), limit, fingerprint)


def page_of(ids: list[str], page: PageRequest) -> tuple[list[str], dict]:
    """One page of the sorted `ids` and the response's `page` object: `next_token` ("" on the
    last page), `count` (results on this page) and `total` (results in all pages). Pages are
    keyed by the last id given, so a write between pages neither repeats nor skips a result
    that stays."""
    ordered = sorted(set(ids))
    start = 0
    if page.after is not None:
        start = bisect.bisect_right(ordered, page.after)
    chunk = ordered[start:start + page.limit]
    more = start + page.limit < len(ordered)
    token = _encode_token(chunk[-1], page.fingerprint) if more and chunk else ""
    return chunk, {"next_token": token, "count": len(chunk), "total": len(ordered)}


def _fingerprint(body: dict) -> str:
    question = {key: value for key, value in body.items() if key != "page"}
    canonical = json.dumps(question, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


def _encode_token(after: str, fingerprint: str) -> str:
    raw = json.dumps({"after": after, "search": fingerprint}, separators=(",", ":")).encode("utf-8")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _decode_token(token: str, fingerprint: str) -> str:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        decoded = json.loads(raw)
    except (binascii.Error, ValueError):
        raise BadRequest("page.token is not a token this server gave out") from None
    if not isinstance(decoded, dict) or not isinstance(decoded.get("after"), str):
        raise BadRequest("page.token is not a token this server gave out")
    if decoded.get("search") != fingerprint:
        raise BadRequest("page.token belongs to another search: send the same subject, action, resource and "
                         "context as the request that gave it")
    return decoded["after"]


# Messages -----------------------------------------------------------------------------------


def show(value: Value) -> str:
    """`User:alice`, as decision logs write entities."""
    return f"{value.type}:{value.id}"


def _properties(value: dict, field: str) -> None:
    properties = value.get("properties")
    if properties is not None and not isinstance(properties, dict):
        raise BadRequest(f"{field}.properties must be an object, got {json_kind(properties)}")


def _shown(value: Any) -> str:
    if value is None:
        return "nothing"
    return f"{json.dumps(value, ensure_ascii=False)[:60]} ({json_kind(value)})"
