"""The server benchmark's requests, encoded to bytes before any timing: the dataset's facts as
`POST /api/batch` bodies, and authorize / list bodies exactly as the oso-cloud 2.6.0 client
sends them (docs spec section 3), with the answers the dataset says are right."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from typing import Iterable, Optional

from oso_core.values import Value

from . import facts_dataset as fd
from . import facts_decisions as fdec
from .http_load import encode_request

#: The server refuses bodies over 10 MiB; batches stay well under it.
BATCH_FACTS = 40_000


def wire_value(arg) -> dict:
    """A fact argument as the client sends it (every id a string)."""
    if isinstance(arg, Value):
        return {"type": arg.type, "id": str(arg.id)}
    if isinstance(arg, bool):
        return {"type": "Boolean", "id": "true" if arg else "false"}
    if isinstance(arg, int):
        return {"type": "Integer", "id": str(arg)}
    return {"type": "String", "id": arg}


def wire_fact(fact: tuple) -> dict:
    predicate, *args = fact
    return {"predicate": predicate, "args": [wire_value(a) for a in args]}


def _dumps(value) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode("utf-8")


class Encoder:
    """Requests to one server: the host header and the bearer key are fixed."""

    def __init__(self, host: str, port: int, api_key: str) -> None:
        self.host = f"{host}:{port}"
        self.headers = {"Authorization": f"Bearer {api_key}", "Accept": "application/json"}

    def post(self, path: str, body: bytes) -> bytes:
        return encode_request("POST", path, self.host, body, self.headers)

    def batches(self, facts: Iterable[tuple], per_batch: int = BATCH_FACTS) -> list[bytes]:
        """`POST /api/batch` requests of `per_batch` inserts each (one changeset per request)."""
        requests, chunk = [], []
        for fact in facts:
            chunk.append(wire_fact(fact))
            if len(chunk) == per_batch:
                requests.append(self.post("/api/batch", _dumps([{"inserts": chunk}])))
                chunk = []
        if chunk:
            requests.append(self.post("/api/batch", _dumps([{"inserts": chunk}])))
        return requests


@dataclass
class Decision:
    """One prebuilt request and the answer it must get."""

    request: bytes
    expected: object          # bool for authorize; sorted ids for list
    label: str = ""


def authorize_body(actor: Value, action: str, resource: Value) -> bytes:
    return _dumps({"actor_type": actor.type, "actor_id": str(actor.id), "action": action,
                   "resource_type": resource.type, "resource_id": str(resource.id), "context_facts": []})


def list_body(actor: Value, action: str, resource_type: str, page_size: Optional[int] = 10_000) -> bytes:
    return _dumps({"actor_type": actor.type, "actor_id": str(actor.id), "action": action,
                   "resource_type": resource_type, "context_facts": [], "page_size": page_size,
                   "page_token": None})


def authorize_decisions(encoder: Encoder, data: fd.Dataset, count: int, seed: int = 7) -> list[Decision]:
    """Half allowed, half denied `read` decisions on repos, shuffled (the fact-store
    benchmark's mix: benchmarks/facts_decisions.py)."""
    built = fdec.authorize_requests(data, count, random.Random(seed))
    return [Decision(encoder.post("/api/authorize", authorize_body(actor, "read", resource)), expected,
                     f"{actor.id} read {resource.id}")
            for actor, resource, expected, _params in built]


def list_decisions(encoder: Encoder, data: fd.Dataset, users: list, count: int) -> list[Decision]:
    """`list(user, "read", "Repo")` for `count` requests cycling over `users`."""
    return [Decision(encoder.post("/api/list", list_body(actor, "read", "Repo")), expected, str(actor.id))
            for actor, expected, _params in fdec.list_requests(data, users, count)]


def authorize_answer(status: int, body: bytes) -> Optional[bool]:
    """The `allowed` of a 200 response with exactly that key; None for anything else."""
    if status != 200:
        return None
    answer = json.loads(body)
    if not isinstance(answer, dict) or set(answer) != {"allowed"}:
        return None
    return answer["allowed"]


def list_answer(status: int, body: bytes) -> Optional[list]:
    """The sorted `results` of a single-page 200 list response; None for anything else."""
    if status != 200:
        return None
    answer = json.loads(body)
    if not isinstance(answer, dict) or answer.get("next_page_token") is not None:
        return None
    return sorted(answer.get("results", []))
