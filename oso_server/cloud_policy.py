"""Oso Cloud's policy endpoints: `POST /api/policy`, `GET /api/policy`, `GET /api/policy_metadata`.

An upload is loaded in the Oso Cloud dialect and its `test` blocks run before it is stored; a
policy that does not load, or whose tests fail, is refused whole (400, with Oso's
`SavePolicyError` body: `error_type` Validation or TestsFailed, and `message`) and the previous
policy keeps serving. The same source as the current policy answers 202 and stores nothing.
"""

from __future__ import annotations

import logging

from oso_core import Oso
from oso_core.exceptions import OsoError
from oso_core.tooling.policy_test_blocks import TestOutcome, outcome_lines, run_test

from .endpoint import NO_BODY, Call, RouteSpec, ServerState, json_response
from .errors import BadRequest
from .offsets import acknowledge
from .wire import require_object, text

log = logging.getLogger("oso_server")
UNCHANGED = 202


def _validation_failed(message: str) -> dict:
    return {"error_type": "Validation", "message": message,
            "errors": [{"error_type": "ValidationFailed", "message": message}]}


def _tests_failed(outcomes: list[TestOutcome]) -> dict:
    failed = [o for o in outcomes if not o.passed]
    errors = [{"error_type": "AssertionFailed", "message": line}
              for outcome in failed for line in outcome_lines(outcome)]
    tests = [{"name": o.test.name, "passed": sum(a.passed for a in o.assertions), "total": len(o.assertions)}
             for o in outcomes]
    message = (f"Policy tests failed: {len(failed)} of {len(outcomes)} tests failed"
               + "".join(f"\n{e['message']}" for e in errors))
    return {"error_type": "TestsFailed", "message": message,
            "test_results": {"success": False, "errors": errors, "tests": tests}}


def load_checked(src: str) -> tuple[Oso, list[TestOutcome]]:
    """The policy loaded in the cloud dialect and the outcomes of its test blocks. Raises what
    the load raises."""
    oso = Oso()
    oso.load_str(src, dialect="cloud")
    blocks = oso.policy_tests()
    return oso, [run_test(oso, test, blocks) for test in blocks.tests]


def post_policy(call: Call) -> object:
    """Install a new policy (200), keep the same one (202), or refuse one that fails (400)."""
    if call.body is NO_BODY:
        raise BadRequest('request body: expected {"filename": ..., "src": "<polar>"}, got nothing')
    body = require_object(call.body, "request body")
    if "src" not in body:
        raise BadRequest("src: missing")
    src = text(body["src"], "src", allow_empty=True)
    filename = body.get("filename")
    if filename is not None:
        filename = text(filename, "filename", allow_empty=True)
    store = call.store
    if store.get_policy() == src:
        call.status = UNCHANGED
        return acknowledge(call, f"Policy unchanged (version {store.policy_version})")
    try:
        _oso, outcomes = load_checked(src)
    except Exception as error:  # noqa: BLE001 - whatever the load raises, the upload is refused
        if not isinstance(error, OsoError):
            log.warning("policy upload failed to load (request id %s)", call.request_id, exc_info=True)
        message = f"Policy failed to load: {type(error).__name__}: {getattr(error, 'message', None) or error}"
        return json_response(_validation_failed(message.rstrip()), 400)
    if not all(o.passed for o in outcomes):
        return json_response(_tests_failed(outcomes), 400)
    version = store.policy(src, filename or None)
    return acknowledge(call, f"Policy updated (version {version})")


def get_policy(call: Call) -> dict:
    """`{"policy": {"filename": ..., "src": ...}}`, or `{"policy": null}` before any upload.
    `filename` is the one the upload sent (`serve --policy`: the files' names), null when it
    sent none or "" (as the oso-cloud 2.6.0 client always does)."""
    store = call.store
    src = store.get_policy()
    return {"policy": None if src is None else {"filename": store.get_policy_filename(), "src": src}}


def policy_metadata(call: Call) -> dict:
    """`{"metadata": {"resources": {type: {"roles", "permissions", "relations"}}}}`."""
    return {"metadata": call.store.get_policy_metadata()}


def routes(state: ServerState) -> list[RouteSpec]:
    """The routes of this module."""
    return [
        RouteSpec("POST", "/api/policy", post_policy, write=True),
        RouteSpec("GET", "/api/policy", get_policy, body=False),
        RouteSpec("GET", "/api/policy_metadata", policy_metadata, body=False),
    ]
