"""Decision logs: `Oso.set_decision_logger` and `JsonLinesDecisionLogger`."""

from __future__ import annotations

import io
import json
import logging
import threading

import pytest
from engine_under_test import LEGACY

pytestmark = pytest.mark.skipif(LEGACY, reason="oso_core tooling")

if not LEGACY:
    from oso_core import Oso
    from oso_core.exceptions import ForbiddenError, NotFoundError, PolarRuntimeError
    from oso_core.tooling.decision_log import Decision, JsonLinesDecisionLogger, RuleRef


@pytest.fixture(autouse=True)
def _quiet(monkeypatch):
    monkeypatch.setenv("POLAR_IGNORE_NO_ALLOW_WARNING", "1")
    monkeypatch.delenv("POLAR_LOG", raising=False)


class User:
    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return f"User({self.name!r})"


class Doc:
    def __init__(self, owner, public=False):
        self.owner = owner
        self.public = public

    def __repr__(self):
        return f"Doc({self.owner!r})"


POLICY = """\
allow(_u: User, "read", d: Doc) if d.public;
allow(u: User, "read", d: Doc) if d.owner = u.name;
allow(u: User, "edit", d: Doc) if d.owner = u.name;
allow_request(u: User, "/ping") if u.name != "";
allow_field(_u: User, "read", d: Doc, "title") if d.public;
allow_field(u: User, "read", d: Doc, "body") if d.owner = u.name;
"""


def make_oso():
    oso = Oso()
    oso.register_class(User)
    oso.register_class(Doc)
    oso.load_str(POLICY)
    return oso


def logged(oso):
    records = []
    oso.set_decision_logger(records.append)
    return records


def test_is_allowed_records_outcome_time_and_deciding_rule():
    oso = make_oso()
    records = logged(oso)
    alice, doc = User("alice"), Doc("alice")
    assert oso.is_allowed(alice, "read", doc) is True
    assert oso.is_allowed(User("bob"), "read", doc) is False
    allowed, denied = records
    assert isinstance(allowed, Decision)
    assert (allowed.method, allowed.actor, allowed.action, allowed.resource) == ("is_allowed", alice, "read", doc)
    assert allowed.allowed is True and allowed.result is True and allowed.error is None
    assert allowed.elapsed > 0
    assert allowed.rules == (RuleRef("allow", 'allow(u: User, "read", d: Doc)', None, 2, 1),)
    assert str(allowed.rules[0]) == 'allow(u: User, "read", d: Doc) at line 2'
    assert denied.allowed is False and denied.result is False and denied.rules == ()


def test_decisions_are_the_same_with_and_without_a_logger():
    cases = [(User("alice"), action, Doc(owner, public))
             for action in ("read", "edit", "delete") for owner in ("alice", "bob") for public in (False, True)]
    plain = make_oso()
    expected = [plain.is_allowed(*c) for c in cases]
    oso = make_oso()
    records = logged(oso)
    assert [oso.is_allowed(*c) for c in cases] == expected
    assert [r.allowed for r in records] == expected


def test_authorize_variants():
    oso = make_oso()
    records = logged(oso)
    alice = User("alice")
    oso.authorize(alice, "edit", Doc("alice"))
    with pytest.raises(ForbiddenError):
        oso.authorize(alice, "edit", Doc("bob", public=True))   # may read it: forbidden
    with pytest.raises(NotFoundError):
        oso.authorize(alice, "edit", Doc("bob"))                # may not even read it: not found
    oso.authorize_request(alice, "/ping")
    with pytest.raises(ForbiddenError):
        oso.authorize_request(alice, "/admin")
    oso.authorize_field(alice, "read", Doc("bob", public=True), "title")
    with pytest.raises(ForbiddenError):
        oso.authorize_field(alice, "read", Doc("bob"), "body")
    assert [(r.method, r.allowed, r.result) for r in records] == [
        ("authorize", True, "allowed"),
        ("authorize", False, "forbidden"),
        ("authorize", False, "not_found"),
        ("authorize_request", True, "allowed"),
        ("authorize_request", False, "forbidden"),
        ("authorize_field", True, "allowed"),
        ("authorize_field", False, "forbidden"),
    ]
    # authorize's read check does not count as deciding rules
    assert [r.rules[0].line for r in records if r.allowed] == [3, 4, 5]
    assert records[1].rules == ()
    assert records[3].action is None and records[3].resource == "/ping"
    assert records[5].field == "title"


def test_authorized_actions_and_fields():
    oso = make_oso()
    records = logged(oso)
    alice = User("alice")
    assert oso.authorized_actions(alice, Doc("alice", public=True)) == {"read", "edit"}
    assert oso.authorized_fields(alice, "read", Doc("alice", public=True)) == {"title", "body"}
    assert oso.get_allowed_actions(alice, Doc("bob")) == []
    actions, fields, none = records
    assert actions.method == "authorized_actions" and actions.action is None
    assert actions.result == ["edit", "read"] and actions.allowed
    # one rule per result, in order, without repeats
    assert [r.line for r in actions.rules] == [1, 2, 3]
    assert fields.result == ["body", "title"] and [r.line for r in fields.rules] == [5, 6]
    assert none.allowed is False and none.result == [] and none.rules == ()


def test_json_lines(tmp_path):
    oso = make_oso()
    path = tmp_path / "decisions.jsonl"
    with JsonLinesDecisionLogger(path) as logger:
        oso.set_decision_logger(logger)
        oso.is_allowed(User("alice"), "read", Doc("alice"))
        with pytest.raises(ForbiddenError):
            oso.authorize_field(User("alice"), "read", Doc("bob"), "body")
        oso.authorized_actions(User("alice"), Doc("bob"))
    lines = path.read_text().splitlines()
    assert len(lines) == 3
    first, second, third = (json.loads(line) for line in lines)
    assert set(first) == {"time", "method", "actor", "action", "resource", "allowed", "result",
                          "elapsed_ms", "rules"}
    assert first["time"].endswith("Z") and first["elapsed_ms"] >= 0
    assert {k: first[k] for k in ("method", "actor", "action", "resource", "allowed", "result", "rules")} == {
        "method": "is_allowed", "actor": "User('alice')", "action": "read", "resource": "Doc('alice')",
        "allowed": True, "result": True,
        "rules": [{"rule": 'allow(u: User, "read", d: Doc)', "file": None, "line": 2}],
    }
    assert second["field"] == "body" and second["result"] == "forbidden" and second["rules"] == []
    assert third["action"] is None and third["result"] == []
    # appends
    with JsonLinesDecisionLogger(path) as logger:
        oso.set_decision_logger(logger)
        oso.is_allowed(User("x"), "read", Doc("y"))
    assert len(path.read_text().splitlines()) == 4


def test_json_lines_render_and_file_names(tmp_path):
    policy = tmp_path / "docs.polar"
    policy.write_text(POLICY)
    oso = Oso()
    oso.register_class(User)
    oso.register_class(Doc)
    oso.load_files([policy])
    stream = io.StringIO()
    oso.set_decision_logger(JsonLinesDecisionLogger(stream, render=lambda o: getattr(o, "name", None) or repr(o)))
    oso.is_allowed(User("alice"), "edit", Doc("alice"))
    record = json.loads(stream.getvalue())
    assert record["actor"] == "alice" and record["resource"] == "Doc('alice')"
    assert record["rules"] == [{"rule": 'allow(u: User, "edit", d: Doc)', "file": str(policy), "line": 3}]


def test_json_lines_from_several_threads():
    oso = make_oso()
    stream = io.StringIO()
    oso.set_decision_logger(JsonLinesDecisionLogger(stream))

    def work():
        for _ in range(50):
            oso.is_allowed(User("alice"), "read", Doc("alice"))
    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    lines = stream.getvalue().splitlines()
    assert len(lines) == 200 and all(json.loads(line)["allowed"] for line in lines)


def test_a_failing_logger_fails_the_decision_closed():
    oso = make_oso()

    def broken(decision):
        raise OSError("disk full")
    oso.set_decision_logger(broken)
    with pytest.raises(OSError, match="disk full"):
        oso.is_allowed(User("alice"), "read", Doc("alice"))   # never an unlogged allow
    with pytest.raises(OSError):
        oso.authorize(User("bob"), "edit", Doc("alice"))       # nor a deny turned into an allow


def test_a_failing_logger_can_be_told_not_to_fail_decisions(caplog):
    oso = make_oso()

    def broken(decision):
        raise OSError("disk full")
    oso.set_decision_logger(broken, raise_errors=False)
    with caplog.at_level(logging.ERROR, logger="oso_core.decisions"):
        assert oso.is_allowed(User("alice"), "read", Doc("alice")) is True
        with pytest.raises(ForbiddenError):
            oso.authorize_request(User(""), "/ping")
    assert len(caplog.records) == 2 and "decision logger" in caplog.records[0].getMessage()


def test_policy_errors_are_logged_then_raised():
    oso = Oso()
    oso.load_str("allow(x, _, _) if x.nope = 1;")
    records = logged(oso)
    with pytest.raises(PolarRuntimeError):
        oso.is_allowed(1, "read", 2)
    (record,) = records
    assert record.allowed is False and record.result is None
    assert record.error.startswith("PolarRuntimeError: ") and "'int' object has no attribute 'nope'" in record.error


def test_removing_the_logger():
    oso = make_oso()
    records = logged(oso)
    oso.is_allowed(User("alice"), "read", Doc("alice"))
    oso.set_decision_logger(None)
    oso.is_allowed(User("alice"), "read", Doc("alice"))
    assert len(records) == 1
    assert oso._decision_log is None


def test_logging_with_polar_log_on(monkeypatch, capsys):
    monkeypatch.setenv("POLAR_LOG", "1")
    oso = make_oso()
    records = logged(oso)
    assert oso.is_allowed(User("alice"), "read", Doc("alice"))
    assert records[0].rules[0].line == 2
    assert "[oso][info]   QUERY RULE: allow(" in capsys.readouterr().out
