"""`GET /metrics`: the Prometheus text exposition format 0.0.4, parsed line by line, and
counts that grow by exactly the requests made."""

from __future__ import annotations

import math
import re
import threading

import pytest

pytest.importorskip("starlette")
pytest.importorskip("httpx")

from starlette.testclient import TestClient

from oso_core.values import Value
from oso_server import create_app
from oso_server.config import ServerConfig
from oso_server.endpoint import RequestRecord, ServerState
from oso_server.keys import DEV_TEST_KEY
from oso_server.metrics import CONTENT_TYPE, DURATION_BUCKETS, Metrics, decision_kinds

POLICY = """
actor User {}
resource Repo {
    roles = ["viewer"];
    permissions = ["read"];
    "read" if "viewer";
}
allow(actor, action, resource) if has_permission(actor, action, resource);
"""
AUTH = {"Authorization": f"Bearer {DEV_TEST_KEY}"}
EVALUATION = "/access/v1/evaluation"


# A parser of the text format, written from the format's description ------------------------

_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
_SAMPLE = re.compile(rf"^({_NAME})(\{{(.*)\}})? (\S+)$")
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\\\|\\"|\\n)*)"(,|$)')
_SUFFIXES = {"counter": ("",), "gauge": ("",), "histogram": ("_bucket", "_sum", "_count")}


def unescape(value: str) -> str:
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "\\": "\\", '"': '"'}[m.group(1)], value)


def parse_labels(text: str) -> dict[str, str]:
    labels, position = {}, 0
    while position < len(text):
        match = _LABEL.match(text, position)
        assert match, f"bad label set at {text[position:]!r}"
        assert match.group(1) not in labels, "a label appears twice"
        labels[match.group(1)] = unescape(match.group(2))
        position = match.end()
    return labels


def parse(text: str) -> dict[str, dict]:
    """family name -> {"type", "help", "samples": [(name, labels, value)]}; asserts the format."""
    assert text.endswith("\n")
    families: dict[str, dict] = {}
    current = None
    for line in text.splitlines():
        assert line == line.strip() and line, f"blank or padded line {line!r}"
        if line.startswith("# HELP "):
            name, _, help_text = line[len("# HELP "):].partition(" ")
            assert re.fullmatch(_NAME, name) and name not in families and help_text
            current = families[name] = {"help": help_text, "type": None, "samples": []}
        elif line.startswith("# TYPE "):
            name, _, kind = line[len("# TYPE "):].partition(" ")
            assert current is families.get(name) and current["type"] is None and not current["samples"]
            assert kind in _SUFFIXES
            current["type"] = kind
        else:
            assert not line.startswith("#"), line
            match = _SAMPLE.match(line)
            assert match and current is not None and current["type"], line
            sample_name, _, label_text, value = match.groups()
            family = next(f for f in families if sample_name in {f + s for s in _SUFFIXES[families[f]["type"]]})
            assert families[family] is current, f"{sample_name} outside its family"
            number = float(value)  # "+Inf", "NaN" and decimals all parse
            assert not math.isnan(number)
            current["samples"].append((sample_name, parse_labels(label_text or ""), number))
    return families


def value(families: dict, name: str, **labels: str) -> float:
    family = families[name.removesuffix("_bucket").removesuffix("_sum").removesuffix("_count")] \
        if name not in families else families[name]
    found = [v for n, ls, v in family["samples"] if n == name and ls == labels]
    assert len(found) <= 1
    return found[0] if found else 0.0


def check_histograms(family: dict) -> None:
    """Cumulative buckets in `le` order, ending in +Inf equal to _count; _sum >= 0."""
    series: dict = {}
    for name, labels, number in family["samples"]:
        key = tuple(sorted((k, v) for k, v in labels.items() if k != "le"))
        entry = series.setdefault(key, {"buckets": [], "sum": None, "count": None})
        if name.endswith("_bucket"):
            entry["buckets"].append((float(labels["le"]), number))
        elif name.endswith("_sum"):
            entry["sum"] = number
        else:
            entry["count"] = number
    for entry in series.values():
        bounds = [b for b, _ in entry["buckets"]]
        assert bounds == sorted(bounds) and bounds[-1] == math.inf
        assert bounds[:-1] == list(DURATION_BUCKETS)
        counts = [n for _, n in entry["buckets"]]
        assert counts == sorted(counts), "buckets are not cumulative"
        assert counts[-1] == entry["count"] and entry["sum"] >= 0


# Through the app --------------------------------------------------------------------------------


@pytest.fixture
def server(tmp_path):
    app = create_app(ServerConfig(database=str(tmp_path / "f.db")))
    store = app.state.server.environments.get("default")
    store.policy(POLICY)
    store.insert(("has_role", Value("User", "bob"), "viewer", Value("Repo", "anvil")))
    with TestClient(app) as client:
        yield client, store


def evaluation(user: str) -> dict:
    return {"subject": {"type": "User", "id": user}, "action": {"name": "read"},
            "resource": {"type": "Repo", "id": "anvil"}}


def scrape(client) -> dict:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"] == CONTENT_TYPE
    families = parse(response.text)
    check_histograms(families["oso_server_request_duration_seconds"])
    return families


def test_the_exposition_parses_and_names_every_family(server):
    client, _ = server
    client.post(EVALUATION, json=evaluation("bob"), headers=AUTH)
    families = scrape(client)
    assert {name: f["type"] for name, f in families.items()} == {
        "oso_server_requests_total": "counter",
        "oso_server_request_duration_seconds": "histogram",
        "oso_server_decisions_total": "counter",
        "oso_server_policy_version": "gauge",
        "oso_server_start_time_seconds": "gauge",
    }
    assert all(f["samples"] for f in families.values())


def test_counts_grow_by_exactly_the_requests_made(server):
    client, _ = server
    client.post(EVALUATION, json=evaluation("bob"), headers=AUTH)  # so every series exists before
    before = scrape(client)
    for user in ("bob", "bob", "carl"):
        assert client.post(EVALUATION, json=evaluation(user), headers=AUTH).status_code == 200
    assert client.post(EVALUATION, json={"subject": {}}, headers=AUTH).status_code == 400
    assert client.post(EVALUATION, json=evaluation("bob")).status_code == 401
    batch = {"subject": {"type": "User", "id": "bob"}, "action": {"name": "read"},
             "evaluations": [{"resource": {"type": "Repo", "id": r}} for r in ("anvil", "x", "y")]}
    assert client.post("/access/v1/evaluations", json=batch, headers=AUTH).status_code == 200
    search = {"subject": {"type": "User", "id": "bob"}, "action": {"name": "read"}, "resource": {"type": "Repo"}}
    assert client.post("/access/v1/search/resource", json=search, headers=AUTH).status_code == 200
    after = scrape(client)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    requests = "oso_server_requests_total"
    assert grew(requests, method="POST", route=EVALUATION, status="200") == 3
    assert grew(requests, method="POST", route=EVALUATION, status="400") == 1
    assert grew(requests, method="POST", route=EVALUATION, status="401") == 1
    assert grew(requests, method="POST", route="/access/v1/evaluations", status="200") == 1
    assert grew(requests, method="GET", route="/metrics", status="200") == 1  # the first scrape
    duration = "oso_server_request_duration_seconds"
    assert grew(duration + "_count", method="POST", route=EVALUATION) == 5
    assert grew(duration + "_bucket", method="POST", route=EVALUATION, le="+Inf") == 5
    assert grew(duration + "_sum", method="POST", route=EVALUATION) > 0
    decisions = "oso_server_decisions_total"
    assert grew(decisions, decision="allow") == 2 + 1  # bob twice, the batch's anvil
    assert grew(decisions, decision="deny") == 1 + 2   # carl, the batch's x and y
    assert grew(decisions, decision="list") == 1


def test_the_policy_version_gauge_follows_uploads(server):
    client, store = server
    assert value(scrape(client), "oso_server_policy_version", environment="default") == 1
    store.policy(POLICY + "\n")
    assert value(scrape(client), "oso_server_policy_version", environment="default") == 2


def test_a_failed_decision_counts_as_an_error(tmp_path):
    app = create_app(ServerConfig(database=str(tmp_path / "f.db")))  # no policy loaded
    with TestClient(app) as client:
        assert client.post(EVALUATION, json=evaluation("bob"), headers=AUTH).status_code == 400
        families = scrape(client)
    assert value(families, "oso_server_decisions_total", decision="error") == 1
    assert value(families, "oso_server_policy_version", environment="default") == 0


def test_metrics_need_no_key_unless_configured(tmp_path):
    open_app = create_app(ServerConfig(database=str(tmp_path / "a.db")))
    with TestClient(open_app) as client:
        assert client.get("/metrics").status_code == 200
    closed = create_app(ServerConfig(database=str(tmp_path / "b.db"), metrics_key_required=True))
    with TestClient(closed) as client:
        assert client.get("/metrics").status_code == 401
        assert client.get("/metrics", headers=AUTH).status_code == 200


# The registry alone ----------------------------------------------------------------------------


def record(route: str = "/r", status: int = 200, seconds: float = 0.0003, decision=None) -> RequestRecord:
    return RequestRecord("POST", route, status, seconds, "req", None, None, decision)


def test_label_values_are_escaped(tmp_path):
    metrics = Metrics(ServerState(ServerConfig(database=str(tmp_path / "f.db"))))
    odd = 'a"b\\c\nd'
    metrics.observe(record(route=odd))
    families = parse(metrics.exposition())
    assert value(families, "oso_server_requests_total", method="POST", route=odd, status="200") == 1


def test_each_duration_lands_in_its_bucket(tmp_path):
    metrics = Metrics(ServerState(ServerConfig(database=str(tmp_path / "f.db"))))
    for seconds in (0.00005, 0.0001, 0.0002, 0.003, 7.0):
        metrics.observe(record(seconds=seconds))
    families = parse(metrics.exposition())
    bucket = "oso_server_request_duration_seconds_bucket"
    assert value(families, bucket, method="POST", route="/r", le="0.0001") == 2  # le is inclusive
    assert value(families, bucket, method="POST", route="/r", le="0.00025") == 3
    assert value(families, bucket, method="POST", route="/r", le="0.005") == 4
    assert value(families, bucket, method="POST", route="/r", le="5.0") == 4
    assert value(families, bucket, method="POST", route="/r", le="+Inf") == 5
    total = value(families, "oso_server_request_duration_seconds_sum", method="POST", route="/r")
    assert total == pytest.approx(0.00005 + 0.0001 + 0.0002 + 0.003 + 7.0)


def test_observing_from_many_threads_loses_nothing(tmp_path):
    metrics = Metrics(ServerState(ServerConfig(database=str(tmp_path / "f.db"))))

    def work() -> None:
        for _ in range(2000):
            metrics.observe(record(decision={"allowed": True}))

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    families = parse(metrics.exposition())
    assert value(families, "oso_server_requests_total", method="POST", route="/r", status="200") == 16000
    assert value(families, "oso_server_request_duration_seconds_count", method="POST", route="/r") == 16000
    assert value(families, "oso_server_decisions_total", decision="allow") == 16000


def test_decision_kinds():
    assert decision_kinds(record()) == []
    assert decision_kinds(record(decision={"allowed": False})) == ["deny"]
    assert decision_kinds(record(decision={"results": []})) == ["list"]
    assert decision_kinds(record(decision={"evaluations": [{"allowed": True}, {"allowed": False}]})) == [
        "allow", "deny"]
    assert decision_kinds(record(status=503, decision={"actor": "User:a"})) == ["error"]
