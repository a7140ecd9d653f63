"""The client subcommands of `oso-server` (oso_server/client_cli.py, docs/server-cli.md): the
`oso-cloud` CLI's argument syntax (unit), then every command end to end as a separate process
against a real server process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")

from fixtures.server_process import ROOT, free_port, server_process  # noqa: E402
from oso_server.cli import build_parser  # noqa: E402
from oso_server.cli_values import (ArgumentSyntaxError, parse_context_fact, parse_fact,  # noqa: E402
                                   parse_fact_pattern, parse_pattern, parse_value, polar_fact, resource_type)
from oso_server.client import DEFAULT_URL, ClientError, OsoClient, ServerUnreachable  # noqa: E402
from oso_server.client_cli import client_from_args  # noqa: E402
from oso_server.keys import DEV_TEST_KEY  # noqa: E402

POLICY = """\
actor User {}
resource Repo {
  roles = ["member", "admin"];
  permissions = ["read", "push"];
  "read" if "member";
  "push" if "admin";
  "member" if "admin";
  "read" if is_public(resource);
}
declare is_public(Repo);
"""

PASSING_TESTS = POLICY + """
test "members read, admins push" {
  setup {
    has_role(User{"alice"}, "member", Repo{"anvil"});
    has_role(User{"bob"}, "admin", Repo{"anvil"});
  }
  assert allow(User{"alice"}, "read", Repo{"anvil"});
  assert_not allow(User{"alice"}, "push", Repo{"anvil"});
  assert allow(User{"bob"}, action: String, Repo{"anvil"}) iff action in ["read", "push"];
}
"""

FAILING_TESTS = POLICY + """
test "members push (wrong)" {
  setup { has_role(User{"alice"}, "member", Repo{"anvil"}); }
  assert allow(User{"alice"}, "push", Repo{"anvil"});
}
"""


# Argument syntax (unit) -------------------------------------------------------------------------

@pytest.mark.parametrize("text, value", [
    ("User:bob", {"type": "User", "id": "bob"}),
    ("member", {"type": "String", "id": "member"}),
    ("Integer:3", {"type": "Integer", "id": "3"}),
    ("Integer:-3", {"type": "Integer", "id": "-3"}),
    ("Boolean:true", {"type": "Boolean", "id": "true"}),
    ("String:User:bob", {"type": "String", "id": "User:bob"}),
    ("Url:https://x/y", {"type": "Url", "id": "https://x/y"}),  # split at the first colon only
    ("two words", {"type": "String", "id": "two words"}),
    ("a b:c", {"type": "String", "id": "a b:c"}),  # "a b" is no type name
    (":x", {"type": "String", "id": ":x"}),
    ("3", {"type": "String", "id": "3"}),  # no type given: a String, as oso-cloud does
])
def test_values(text: str, value: dict) -> None:
    assert parse_value(text) == value
    assert parse_pattern(text) == value


@pytest.mark.parametrize("text, pattern", [
    ("_", {"type": None, "id": None}),
    ("_:_", {"type": None, "id": None}),
    ("Repo:_", {"type": "Repo", "id": None}),
])
def test_wildcards_in_patterns(text: str, pattern: dict) -> None:
    assert parse_pattern(text) == pattern
    with pytest.raises(ArgumentSyntaxError, match="wildcard"):
        parse_value(text)


@pytest.mark.parametrize("text, message", [
    ("", "empty argument"),
    ("User:", "id after the colon is empty"),
    ("Integer:x", "whole number"),
    ("Boolean:yes", "true or false"),
])
def test_bad_values(text: str, message: str) -> None:
    with pytest.raises(ArgumentSyntaxError, match=message):
        parse_value(text)


def test_a_wildcard_type_with_an_id_is_refused() -> None:
    with pytest.raises(ArgumentSyntaxError, match="wildcard type with a fixed id"):
        parse_pattern("_:bob")


def test_facts_and_patterns() -> None:
    assert parse_fact("has_role", ["User:bob", "member", "Repo:anvil"]) == {
        "predicate": "has_role",
        "args": [{"type": "User", "id": "bob"}, {"type": "String", "id": "member"}, {"type": "Repo", "id": "anvil"}]}
    assert parse_fact_pattern("has_role", ["User:_", "_", "Repo:anvil"])["args"] == [
        {"type": "User", "id": None}, {"type": None, "id": None}, {"type": "Repo", "id": "anvil"}]
    with pytest.raises(ArgumentSyntaxError, match="wildcard"):
        parse_fact("has_role", ["User:_", "member", "Repo:anvil"])
    with pytest.raises(ArgumentSyntaxError, match="predicate cannot be a wildcard"):
        parse_fact_pattern("_", ["User:bob"])
    with pytest.raises(ArgumentSyntaxError, match="not a predicate name"):
        parse_fact("has role", ["User:bob"])
    with pytest.raises(ArgumentSyntaxError, match="1 to 5 arguments"):
        parse_fact("p", ["a"] * 6)


def test_context_facts_are_one_word_split_like_a_command_line() -> None:
    assert parse_context_fact('has_role User:bob "two words" Repo:anvil')["args"][1] == {
        "type": "String", "id": "two words"}
    for bad, message in (("", "names no predicate"), ('p "open', "No closing quotation"),
                         ("p Repo:_", "wildcard")):
        with pytest.raises(ArgumentSyntaxError, match=message):
            parse_context_fact(bad)


def test_resource_types() -> None:
    assert resource_type("Repo") == "Repo"
    for bad in ("Repo:1", "String", "9x"):
        with pytest.raises(ArgumentSyntaxError):
            resource_type(bad)


def test_facts_print_in_polar_syntax() -> None:
    fact = {"predicate": "has_role", "args": [
        {"type": "User", "id": "bob"}, {"type": "String", "id": 'say "hi"'}, {"type": "Integer", "id": "3"},
        {"type": "Boolean", "id": "false"}]}
    assert polar_fact(fact) == 'has_role(User{"bob"}, "say \\"hi\\"", 3, false)'


def test_url_and_key_come_from_options_then_environment_then_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    parser = build_parser()
    monkeypatch.delenv("OSO_URL", raising=False)
    monkeypatch.delenv("OSO_AUTH", raising=False)
    client = client_from_args(parser.parse_args(["get", "p", "_"]))
    assert (client.url, client.key) == (DEFAULT_URL + "/", DEV_TEST_KEY)
    monkeypatch.setenv("OSO_URL", "http://env.invalid:1")
    monkeypatch.setenv("OSO_AUTH", "env-key")
    client = client_from_args(parser.parse_args(["get", "p", "_"]))
    assert (client.url, client.key) == ("http://env.invalid:1/", "env-key")
    client = client_from_args(parser.parse_args(["get", "--url", "http://opt.invalid:2/", "--key", "k", "p", "_"]))
    assert (client.url, client.key) == ("http://opt.invalid:2/", "k")


def test_the_client_names_the_url_it_could_not_reach() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(ServerUnreachable, match=f"could not reach the server at {url}:") as caught:
        OsoClient(url).authorize({"type": "User", "id": "a"}, "read", {"type": "Repo", "id": "1"})
    assert isinstance(caught.value, ClientError) and caught.value.status is None


# End to end: `python -m oso_server ...` against a server process ----------------------------

def cli(*args: str, url: str, key: str = DEV_TEST_KEY) -> subprocess.CompletedProcess:
    """One CLI run as its own process, configured through the environment as a user would."""
    env = {**os.environ, "OSO_URL": url, "OSO_AUTH": key}
    return subprocess.run([sys.executable, "-m", "oso_server", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    with server_process([], tmp_path_factory.mktemp("srvcli")) as process:
        yield process


@pytest.fixture
def policy_file(tmp_path: Path) -> Path:
    path = tmp_path / "policy.polar"
    path.write_text(POLICY)
    return path


def test_policy_tell_get_delete_and_decisions(server, policy_file: Path) -> None:
    url = server.url
    uploaded = cli("policy", str(policy_file), url=url)
    assert uploaded.returncode == 0, uploaded.stderr
    assert uploaded.stdout.strip() and uploaded.stderr == ""

    for fact in (["has_role", "User:alice", "member", "Repo:anvil"],
                 ["has_role", "User:bob", "admin", "Repo:anvil"],
                 ["has_role", "User:bob", "member", "Repo:forge"],
                 ["is_public", "Repo:open"]):
        told = cli("tell", *fact, url=url)
        assert told.returncode == 0, told.stderr

    got = cli("get", "has_role", "_", "_", "Repo:anvil", url=url)
    assert got.returncode == 0, got.stderr
    assert sorted(got.stdout.splitlines()) == ['has_role(User{"alice"}, "member", Repo{"anvil"})',
                                               'has_role(User{"bob"}, "admin", Repo{"anvil"})']
    assert cli("get", "has_role", "User:bob", "_", "_", url=url).stdout.count("\n") == 2

    allowed = cli("authorize", "User:alice", "read", "Repo:anvil", url=url)
    assert (allowed.returncode, allowed.stdout) == (0, "Allowed\n")
    denied = cli("authorize", "User:alice", "push", "Repo:anvil", url=url)
    assert (denied.returncode, denied.stdout, denied.stderr) == (1, "Denied\n", "")
    with_context = cli("authorize", "User:carol", "read", "Repo:anvil",
                       "-c", "has_role User:carol member Repo:anvil", url=url)
    assert (with_context.returncode, with_context.stdout) == (0, "Allowed\n")

    listed = cli("list", "User:bob", "read", "Repo", url=url)
    assert (listed.returncode, sorted(listed.stdout.split())) == (0, ["anvil", "forge", "open"])
    actions = cli("actions", "User:bob", "Repo:anvil", url=url)
    assert (actions.returncode, sorted(actions.stdout.split())) == (0, ["push", "read"])
    assert cli("actions", "User:alice", "Repo:forge", url=url).stdout == ""

    # Wildcard delete: every role of User:bob, whatever the repository.
    deleted = cli("delete", "has_role", "User:bob", "_", "Repo:_", url=url)
    assert deleted.returncode == 0, deleted.stderr
    assert cli("get", "has_role", "User:bob", "_", "_", url=url).stdout == ""
    assert cli("get", "has_role", "User:alice", "_", "_", url=url).stdout.count("\n") == 1
    assert cli("authorize", "User:bob", "push", "Repo:anvil", url=url).stdout == "Denied\n"
    nothing = cli("delete", "has_role", "User:nobody", "member", "Repo:anvil", url=url)
    assert nothing.returncode == 0, nothing.stderr  # deleting what is not there is no error


def test_server_errors_print_the_message_and_exit_1(server, policy_file: Path) -> None:
    assert cli("policy", str(policy_file), url=server.url).returncode == 0
    unknown = cli("tell", "no_such_predicate", "User:bob", url=server.url)
    assert unknown.returncode == 1 and unknown.stdout == ""
    assert unknown.stderr.startswith("error: ") and "no_such_predicate" in unknown.stderr
    assert "Traceback" not in unknown.stderr

    wrong_key = cli("get", "has_role", "_", url=server.url, key="not-a-key")
    assert wrong_key.returncode == 1 and "Invalid API key" in wrong_key.stderr

    broken = policy_file.parent / "broken.polar"
    broken.write_text("actor User {\n")
    rejected = cli("policy", str(broken), url=server.url)
    assert rejected.returncode == 1 and rejected.stderr.startswith("error: ") and "Traceback" not in rejected.stderr


def test_usage_errors_exit_2_naming_the_argument(server) -> None:
    bad = cli("tell", "has_role", "User:", "member", "Repo:anvil", url=server.url)
    assert bad.returncode == 2 and "'User:'" in bad.stderr and "empty" in bad.stderr
    wildcard = cli("authorize", "User:_", "read", "Repo:anvil", url=server.url)
    assert wildcard.returncode == 2 and "wildcard" in wildcard.stderr


def test_an_unreachable_server_is_named_without_a_traceback() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    for args in (["authorize", "User:a", "read", "Repo:1"], ["tell", "p", "User:a"], ["get", "p", "_"]):
        run = cli(*args, url=url)
        assert run.returncode == 1 and run.stdout == ""
        assert f"could not reach the server at {url}: " in run.stderr
        assert "Traceback" not in run.stderr


def test_test_runs_the_test_blocks_like_oso_core_test(tmp_path: Path) -> None:
    passing, failing = tmp_path / "passing.polar", tmp_path / "failing.polar"
    passing.write_text(PASSING_TESTS)
    failing.write_text(FAILING_TESTS)
    url = f"http://127.0.0.1:{free_port()}"  # no server: tests run locally
    for path, status in ((passing, 0), (failing, 1)):
        ours = cli("test", str(path), url=url)
        theirs = subprocess.run([sys.executable, "-m", "oso_core", "test", str(path)], cwd=ROOT,
                                capture_output=True, text=True, timeout=60)
        assert (ours.returncode, ours.stdout, ours.stderr) == (theirs.returncode, theirs.stdout, theirs.stderr)
        assert ours.returncode == status
    assert cli("test", str(passing), url=url).stdout.strip().endswith("1 passed, 0 failed")
    failed = cli("test", str(failing), url=url)
    assert "members push (wrong)" in failed.stdout and failed.stdout.strip().endswith("0 passed, 1 failed")
    plain = tmp_path / "plain.polar"
    plain.write_text(POLICY)
    no_blocks = cli("test", str(plain), url=url)
    assert no_blocks.returncode == 2 and "no test blocks" in no_blocks.stderr


# The client's paging, retry and error-body handling, against a scripted loopback server ---------

@pytest.fixture
def scripted_server():
    """A loopback HTTP server answering POSTs from a list of (status, headers, body) in order,
    recording each request's path and JSON body."""
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    answers: list[tuple[int, dict, bytes]] = []
    requests: list[tuple[str, dict]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the http.server hook's name
            length = int(self.headers.get("Content-Length") or 0)
            requests.append((self.path, json.loads(self.rfile.read(length) or b"null")))
            status, headers, body = answers.pop(0)
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", answers, requests
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_list_follows_pages_and_retries_a_409_with_retry_after(scripted_server) -> None:
    url, answers, requests = scripted_server
    answers += [(200, {}, b'{"results": ["1", "2"], "next_page_token": "p2"}'),
                (409, {"Retry-After": "0"}, b'{"message": "not ready"}'),
                (200, {}, b'{"results": ["3"], "next_page_token": null}')]
    ids = OsoClient(url).list({"type": "User", "id": "a"}, "read", "Repo")
    assert ids == ["1", "2", "3"]
    assert [(path, body["page_size"], body["page_token"]) for path, body in requests] == [
        ("/api/list", 10_000, None), ("/api/list", 10_000, "p2"), ("/api/list", 10_000, "p2")]


def test_error_bodies_become_the_message_and_status(scripted_server) -> None:
    url, answers, _ = scripted_server
    answers += [(400, {}, b'{"message": "bad thing"}'), (503, {}, b"plain text"), (409, {}, b"")]
    client = OsoClient(url)
    for status, message in ((400, "bad thing"), (503, "plain text")):
        with pytest.raises(ClientError) as caught:
            client.insert({"predicate": "p", "args": [{"type": "User", "id": "a"}]})
        assert (caught.value.status, caught.value.message) == (status, message)
    with pytest.raises(ClientError, match="HTTP 409 with an empty body"):  # 409 without Retry-After: no retry
        client.list({"type": "User", "id": "a"}, "read", "Repo")


def test_an_answer_that_is_not_json_or_lacks_its_key_is_an_error(scripted_server) -> None:
    url, answers, _ = scripted_server
    answers += [(200, {}, b"<html>"), (200, {}, b'{"allowd": true}'), (200, {}, b'{"allowed": "yes"}')]
    client = OsoClient(url)
    for message in ("not JSON", "has no 'allowed'", "non-boolean 'allowed'"):
        with pytest.raises(ClientError, match=message):
            client.authorize({"type": "User", "id": "a"}, "read", {"type": "Repo", "id": "1"})
