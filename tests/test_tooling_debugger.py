"""The debugger (`debug()` goals, `Polar.query(debug=...)`, the REPL's `:debug`) and
`POLAR_LOG` tracing.

The tracing tests compare whole outputs with legacy oso 0.27.3's; they run against it too:

    OSO_TESTS_AGAINST_LEGACY=1 /tmp/legacy/bin/python -m pytest tests/test_tooling_debugger.py -q -k polar_log
"""

from __future__ import annotations

import io
import time

import pytest
from engine_under_test import LEGACY, Oso, PolarRuntimeError

needs_oso_core = pytest.mark.skipif(LEGACY, reason="oso_core's own debugger")


@pytest.fixture(autouse=True)
def _quiet(monkeypatch):
    monkeypatch.setenv("POLAR_IGNORE_NO_ALLOW_WARNING", "1")
    monkeypatch.delenv("POLAR_LOG", raising=False)
    monkeypatch.delenv("POLAR_TIMEOUT_MS", raising=False)


class User:
    def __init__(self, name, role):
        self.name = name
        self.role = role

    def __repr__(self):
        return f"User({self.name!r})"


POLICY = """\
allow(u: User, "read", _r) if debug() and is_admin(u, 1);
allow(u: User, "write", _r) if is_admin(u, 1) and u.name = "root";
is_admin(u: User, n) if m = n + 1 and u.role = "admin" and m > 0;
is_admin(u: User, _n) if u.name = "root";
"""


def make_oso(policy=POLICY):
    oso = Oso()
    oso.register_class(User)
    oso.load_str(policy)
    return oso


class Script:
    """Debugger input from a list of commands, echoed after the prompt into `out`
    (like a terminal transcript); raises EOFError when the commands run out."""

    def __init__(self, commands, out):
        self.commands = list(commands)
        self.out = out
        self.prompts = 0

    def __call__(self, prompt):
        self.prompts += 1
        if not self.commands:
            self.out.write(prompt + "<EOF>\n")
            raise EOFError
        command = self.commands.pop(0)
        self.out.write(prompt + command + "\n")
        return command


def debugger(commands):
    from oso_core.tooling.debugger import Debugger
    out = io.StringIO()
    script = Script(commands, out)
    return Debugger(input=script, output=out), out, script


def headers(transcript):
    """The stop lines of a transcript (`QUERY: ...` / `RULE: ...` / `ERROR: ...`)."""
    lines = [line.removeprefix("debug> ") for line in transcript.splitlines()]
    return [line for line in lines if line.startswith(("QUERY: ", "RULE: ", "ERROR: "))]


# debug() in a policy -------------------------------------------------------------------------


@needs_oso_core
def test_debug_goal_stops_reading_stdin(monkeypatch, capsys):
    oso = make_oso()
    monkeypatch.setattr("sys.stdin", io.StringIO("stack\nbindings\nvar u zz\nline 1\ngoals\n"))
    assert oso.is_allowed(User("a", "admin"), "read", 1) is True
    out = capsys.readouterr().out
    assert out.startswith("QUERY: debug(), BINDINGS: {}\n\n")
    # the source line with a caret under the goal, and the prompt
    assert ("001: allow(u: User, \"read\", _r) if debug() and is_admin(u, 1);\n"
            "                                   ^\n") in out
    assert "debug> " in out
    # stack: the active rule call with the rule being applied and its location
    assert "    1: allow(User('a') TYPE `User`, \"read\", 1)\n" in out
    assert "         in rule allow(u: User{}, \"read\", _r) at line 1, column 1\n" in out
    assert "    0: debug() at line 1, column 31\n" in out
    # bindings of the current rule's variables, then `var` for some of them
    # (a rule's variables print renamed apart, legacy-style: `name_N`)
    assert "u_1 = User('a') TYPE `User`\n_r_1 = 1\n" in out
    assert "u = User('a') TYPE `User`\nzz: no such variable here\n" in out
    # goals: the rule's body with the current goal marked
    assert "allow(u: User{}, \"read\", _r) at line 1, column 1:\n   -> debug()\n      is_admin(u, 1)\n" in out


@needs_oso_core
def test_debugger_shows_host_values_as_legacy(monkeypatch, capsys):
    # Legacy's debugger: `repr`, then the registered class name (`UNKNOWN` if unregistered);
    # an instance built with `new` as that call.
    class Unregistered:
        def __repr__(self):
            return "<unregistered>"

    oso = make_oso('f(x, y) if z = new User("n", "r") and debug() and x = y and z = z;')
    monkeypatch.setattr("sys.stdin", io.StringIO("bindings\n"))
    assert oso.query_rule_once("f", User("a", "b"), [Unregistered()]) is False
    out = capsys.readouterr().out
    assert ("x_1 = User('a') TYPE `User`\ny_1 = [<unregistered> TYPE `UNKNOWN`]\n"
            "z_1 = User(\"n\", \"r\") TYPE `User`\n") in out


@needs_oso_core
def test_end_of_input_continues(monkeypatch, capsys):
    oso = make_oso()
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    assert oso.is_allowed(User("a", "guest"), "read", 1) is False
    assert oso.is_allowed(User("root", "guest"), "read", 1) is True
    assert capsys.readouterr().out.count("QUERY: debug()") == 2


@needs_oso_core
def test_debug_args_and_step_by_rule_calls(monkeypatch, capsys):
    # Without an instrumented query, stepping goes from rule call to rule call.
    oso = make_oso("""\
allow(x, _, _) if y = x + 1 and debug("hi", y) and g(y);
g(y) if y > 1;
""")
    monkeypatch.setattr("sys.stdin", io.StringIO("bindings\ns\ns\nbindings\nc\n"))
    assert oso.is_allowed(1, 2, 3) is True
    out = capsys.readouterr().out
    assert headers(out) == [
        'QUERY: debug("hi", y), BINDINGS: {y = 2}',
        "QUERY: g(y), BINDINGS: {y = 2}",
        "RULE: g(y) if y > 1, BINDINGS: {y = 2}",
    ]
    assert "x_1 = 1\ny_1 = 2\n" in out


@needs_oso_core
def test_query_under_the_debugger_steps_through_goals():
    oso = make_oso()
    dbg, out, _ = debugger(["s"] * 12)
    results = list(oso.query('x = new User("a", "guest") and allow(x, "write", 1)', debug=dbg))
    assert results == []
    assert headers(out.getvalue()) == [
        'QUERY: x = new User("a", "guest"), BINDINGS: {}',
        "QUERY: allow(x, \"write\", 1), BINDINGS: {x = User(\"a\", \"guest\") TYPE `User`}",
        ("RULE: allow(u: User{}, \"write\", _r) if is_admin(u, 1) and u.name = \"root\", "
         "BINDINGS: {u = User(\"a\", \"guest\") TYPE `User`, _r = 1}"),
        "QUERY: is_admin(u, 1), BINDINGS: {u = User(\"a\", \"guest\") TYPE `User`}",
        ("RULE: is_admin(u: User{}, n) if m = n + 1 and u.role = \"admin\" and m > 0, "
         "BINDINGS: {u = User(\"a\", \"guest\") TYPE `User`, n = 1}"),
        "QUERY: m = n + 1, BINDINGS: {n = 1}",
        "QUERY: u.role = \"admin\", BINDINGS: {u = User(\"a\", \"guest\") TYPE `User`}",
        "RULE: is_admin(u: User{}, _n) if u.name = \"root\", BINDINGS: {u = User(\"a\", \"guest\") TYPE `User`, _n = 1}",
        "QUERY: u.name = \"root\", BINDINGS: {u = User(\"a\", \"guest\") TYPE `User`}",
    ]


@needs_oso_core
def test_next_steps_over_rule_calls_and_out_returns_to_the_caller():
    oso = make_oso()
    # over: from the call of is_admin straight to the goal after it
    dbg, out, _ = debugger(["s", "s", "n", "c"])
    assert list(oso.query('allow(new User("root", "guest"), "write", 1)', debug=dbg)) == [{"bindings": {}, "trace": None}]
    assert headers(out.getvalue())[-2:] == [
        "QUERY: is_admin(u, 1), BINDINGS: {u = User(\"root\", \"guest\") TYPE `User`}",
        'QUERY: u.name = "root", BINDINGS: {u = User("root", "guest") TYPE `User`}',
    ]
    # out: from inside is_admin's first rule back to allow's next goal
    dbg, out, _ = debugger(["s", "s", "s", "s", "o", "c"])
    list(oso.query('allow(new User("root", "admin"), "write", 1)', debug=dbg))
    stops = headers(out.getvalue())
    assert stops[-2] == "QUERY: m = n + 1, BINDINGS: {n = 1}"
    assert stops[-1] == 'QUERY: u.name = "root", BINDINGS: {u = User("root", "admin") TYPE `User`}'


@needs_oso_core
def test_rule_command_stops_at_rules_only():
    oso = make_oso()
    dbg, out, _ = debugger(["r", "r", "r", "c"])
    list(oso.query('allow(new User("root", "guest"), "write", 1)', debug=dbg))
    stops = headers(out.getvalue())
    assert stops[0].startswith("QUERY: allow(")
    assert [s.split(" if ")[0] for s in stops[1:]] == [
        'RULE: allow(u: User{}, "write", _r)', "RULE: is_admin(u: User{}, n)", "RULE: is_admin(u: User{}, _n)"]


@needs_oso_core
def test_stack_query_and_goals_inside_nested_rules():
    oso = make_oso()
    dbg, out, _ = debugger(["s", "s", "s", "s", "s", "stack", "query", "query 1", "query 2", "query 3", "goals"])
    list(oso.query('allow(new User("a", "admin"), "write", 1)', debug=dbg))
    text = out.getvalue()
    assert ("Active rule calls, outermost first (level, call, rule being applied):\n"
            "    2: allow(User(\"a\", \"admin\") TYPE `User`, \"write\", 1)   (called as allow(new User(\"a\", \"admin\"), \"write\", 1)"
            " at line 1, column 1)\n"
            "         in rule allow(u: User{}, \"write\", _r) at line 2, column 1\n"
            "    1: is_admin(User(\"a\", \"admin\") TYPE `User`, 1)   (called as is_admin(u, 1) at line 2, column 32)\n"
            "         in rule is_admin(u: User{}, n) at line 3, column 1\n"
            "    0: u.role = \"admin\" at line 3, column 39\n") in text
    assert "debug> query\nQUERY: u.role = \"admin\", BINDINGS: {u = User(\"a\", \"admin\") TYPE `User`}\n" in text
    assert "debug> query 1\nis_admin(User(\"a\", \"admin\") TYPE `User`, 1)   (called as is_admin(u, 1) at line 2, column 32)\n" in text
    assert "debug> query 2\nallow(User(\"a\", \"admin\") TYPE `User`, \"write\", 1)   (called as " in text
    assert "debug> query 3\nLevel 3 is out of range: the stack has 2 rule call(s).\n" in text
    assert ("is_admin(u: User{}, n) at line 3, column 1:\n"
            "      m = n + 1\n"
            "   -> u.role = \"admin\"\n"
            "      m > 0\n"
            "allow(u: User{}, \"write\", _r) at line 2, column 1:\n"
            "   -> is_admin(u, 1)\n"
            "      u.name = \"root\"\n") in text


@needs_oso_core
def test_help_and_unknown_commands():
    oso = make_oso()
    dbg, out, _ = debugger(["help", "frobnicate", "var", "line 2", "c"])
    list(oso.query('allow(new User("a", "admin"), "read", 1)', debug=dbg))
    text = out.getvalue()
    assert "Debugger commands\n  c[ontinue] | q[uit]" in text
    assert "Unknown command `frobnicate`. Type `help` for the list of commands.\n" in text
    # `line 2` shows two lines around the current one (the query text has one line)
    assert "debug> line 2\n001: allow(new User(\"a\", \"admin\"), \"read\", 1)\n     ^\n" in text


@needs_oso_core
def test_continue_still_stops_at_debug_goals():
    oso = make_oso()
    dbg, out, script = debugger(["c", "c"])
    assert len(list(oso.query('allow(new User("a", "admin"), "read", 1)', debug=dbg))) == 1
    assert headers(out.getvalue())[1] == "QUERY: debug(), BINDINGS: {}"
    assert script.prompts == 2


@needs_oso_core
def test_error_command_stops_at_errors():
    oso = make_oso("allow(x, _, _) if debug() and x.nope = 1;")
    dbg, out, _ = debugger(["c", "e", "c"])
    with pytest.raises(PolarRuntimeError):
        list(oso.query("allow(1, 2, 3)", debug=dbg))
    assert headers(out.getvalue())[1:] == [
        "QUERY: debug(), BINDINGS: {}",
        "ERROR: Application error: 'int' object has no attribute 'nope'"]


@needs_oso_core
def test_debugger_pauses_do_not_count_towards_the_timeout(monkeypatch):
    monkeypatch.setenv("POLAR_TIMEOUT_MS", "150")
    items = ", ".join(str(i) for i in range(3000))
    oso = make_oso(f"allow(_, _, _) if debug() and x in [{items}] and g(x) and x = 2999;\ng(_);")

    def slow(prompt):
        time.sleep(0.3)  # longer than the timeout
        raise EOFError
    from oso_core.tooling.debugger import Debugger
    out = io.StringIO()
    assert list(oso.query("allow(1, 2, 3)", debug=Debugger(input=slow, output=out)))  # no timeout error


@needs_oso_core
def test_no_debugger_cost_without_debug_goals():
    oso = make_oso("allow(_, _, _);")
    from oso_core.runtime.solver import Query
    q = Query(oso._current_kb())
    assert q.tracer is None  # nothing observes a plain decision
    assert getattr(oso._current_kb(), "instrumented", False) is False


@needs_oso_core
def test_repl_debug_command(capsys):
    from oso_core.repl import run_repl
    oso = make_oso()
    lines = iter([':debug allow(new User("root", "guest"), "write", 1)', "s", "s", "c", ":help"])

    def read(prompt):
        try:
            return next(lines)
        except StopIteration:
            raise EOFError from None
    run_repl(oso, [], read=read)
    out = capsys.readouterr().out
    assert 'QUERY: allow(new User("root", "guest"), "write", 1), BINDINGS: {}' in out
    assert 'RULE: allow(u: User{}, "write", _r)' in out
    assert out.count("True\n") == 1
    assert ":debug QUERY     run QUERY in the debugger" in out


# POLAR_LOG (checked against legacy 0.27.3) -------------------------------------------------------


TRACED = """\
f(1); f(2);
h(_x);
g(1) if f(1) and h(2);
nested(x) if x = 1 and (h(3) or f(5));
negated(_x) if not f(7) and h(8);
parens(1) if (f(1) and h(1)) and h(2);
"""


def traced(monkeypatch, capsys, run):
    monkeypatch.setenv("POLAR_LOG", "1")
    oso = Oso()
    oso.load_str(TRACED)
    capsys.readouterr()
    value = run(oso)
    return value, capsys.readouterr().out


def test_polar_log_nested_calls_and_result(monkeypatch, capsys):
    value, out = traced(monkeypatch, capsys, lambda oso: oso.query_rule_once("g", 1))
    assert value is True
    assert out == """\
[oso][info]   QUERY RULE: g(1)
[oso][info]     APPLICABLE_RULES:
[oso][info]       g(1) at line 3, column 1
[oso][info]     RULE: g(1) if f(1) and h(2);
[oso][info]       QUERY RULE: f(1)
[oso][info]         APPLICABLE_RULES:
[oso][info]           f(1) at line 1, column 1
[oso][info]         RULE: f(1);
[oso][info]       QUERY RULE: h(2)
[oso][info]         APPLICABLE_RULES:
[oso][info]           h(_x) at line 2, column 1
[oso][info]         RULE: h(_x);
[oso][info]   RESULT: SUCCESS
"""


def test_polar_log_failure_and_multiple_results(monkeypatch, capsys):
    value, out = traced(monkeypatch, capsys, lambda oso: [r["bindings"] for r in oso.query("f(x)")])
    assert value == [{"x": 1}, {"x": 2}]
    assert out == """\
[oso][info]   QUERY RULE: f(x)
[oso][info]     APPLICABLE_RULES:
[oso][info]       f(1) at line 1, column 1
[oso][info]       f(2) at line 1, column 7
[oso][info]     RULE: f(1);
[oso][info]   RESULT: {
[oso][info]     x: 1
[oso][info]   }
[oso][info]     RULE: f(2);
[oso][info]   RESULT: {
[oso][info]     x: 2
[oso][info]   }
"""
    value, out = traced(monkeypatch, capsys, lambda oso: list(oso.query("f(3)")))
    assert value == []
    assert out == "[oso][info]   QUERY RULE: f(3)\n[oso][info]     No matching rules found\n"


def test_polar_log_depth_follows_connectives(monkeypatch, capsys):
    # `or` adds a level; a left-nested `and` group adds one; `not` starts again at the top.
    _, out = traced(monkeypatch, capsys, lambda oso: list(oso.query("nested(1)")))
    assert "\n[oso][info]         QUERY RULE: h(3)\n" in out
    _, out = traced(monkeypatch, capsys, lambda oso: list(oso.query("parens(1)")))
    assert [line for line in out.splitlines() if "QUERY RULE" in line] == [
        "[oso][info]   QUERY RULE: parens(1)",
        "[oso][info]         QUERY RULE: f(1)",
        "[oso][info]         QUERY RULE: h(1)",
        "[oso][info]       QUERY RULE: h(2)",
    ]
    _, out = traced(monkeypatch, capsys, lambda oso: list(oso.query("negated(7)")))
    assert [line for line in out.splitlines() if "QUERY RULE" in line] == [
        "[oso][info]   QUERY RULE: negated(7)",
        "[oso][info]   QUERY RULE: f(7)",
        "[oso][info]       QUERY RULE: h(8)",
    ]
    # a query's own `and` counts too
    _, out = traced(monkeypatch, capsys, lambda oso: list(oso.query("f(1) and h(1)")))
    assert "[oso][info]     QUERY RULE: f(1)\n" in out


@needs_oso_core
def test_polar_log_and_debugger_together(monkeypatch, capsys):
    monkeypatch.setenv("POLAR_LOG", "1")
    oso = make_oso()
    capsys.readouterr()
    monkeypatch.setattr("sys.stdin", io.StringIO("s\n"))
    assert oso.is_allowed(User("a", "admin"), "read", 1)
    out = capsys.readouterr().out
    assert "QUERY: debug(), BINDINGS: {}" in out
    assert "QUERY: is_admin(u, 1), BINDINGS: {u = User('a') TYPE `User`}" in out
    assert "[oso][info]       QUERY RULE: is_admin(User('a') TYPE `User`, 1)\n" in out
    assert out.rstrip().endswith("[oso][info]   RESULT: SUCCESS")


# POLAR_LOG=trace ---------------------------------------------------------------------------


def info_lines(out):
    return "".join(line + "\n" for line in out.splitlines() if line.startswith("[oso][info]"))


def test_polar_log_trace_keeps_the_info_lines_with_bindings(monkeypatch, capsys):
    # Under TRACE, legacy prints rule calls, rules and results as `[oso][info]` lines, with the
    # bindings of the call's variables; checked against legacy 0.27.3.
    monkeypatch.setenv("POLAR_LOG", "trace")
    oso = Oso()
    oso.load_str(TRACED)
    capsys.readouterr()
    assert oso.query_rule_once("g", 1) is True
    assert info_lines(capsys.readouterr().out) == """\
[oso][info]   QUERY RULE: g(1), BINDINGS: {}
[oso][info]     APPLICABLE_RULES:
[oso][info]       g(1) at line 3, column 1
[oso][info]     RULE: g(1) if f(1) and h(2);
[oso][info]       QUERY RULE: f(1), BINDINGS: {}
[oso][info]         APPLICABLE_RULES:
[oso][info]           f(1) at line 1, column 1
[oso][info]         RULE: f(1);
[oso][info]       QUERY RULE: h(2), BINDINGS: {}
[oso][info]         APPLICABLE_RULES:
[oso][info]           h(_x) at line 2, column 1
[oso][info]         RULE: h(_x);
[oso][info]   RESULT: SUCCESS
"""
    assert [r["bindings"] for r in oso.query("x = 2 and f(x)")] == [{"x": 2}]
    assert info_lines(capsys.readouterr().out) == """\
[oso][info]     QUERY RULE: f(x), BINDINGS: {x => 2}
[oso][info]       APPLICABLE_RULES:
[oso][info]         f(2) at line 1, column 7
[oso][info]       RULE: f(2);
[oso][info]   RESULT: {
[oso][info]     x: 2
[oso][info]   }
"""
    assert list(oso.query("negated(1)"))
    assert info_lines(capsys.readouterr().out) == """\
[oso][info]   QUERY RULE: negated(1), BINDINGS: {}
[oso][info]     APPLICABLE_RULES:
[oso][info]       negated(_x) at line 5, column 1
[oso][info]     RULE: negated(_x) if not f(7) and h(8);
[oso][info]   QUERY RULE: f(7), BINDINGS: {}
[oso][info]     No matching rules found
[oso][info]       QUERY RULE: h(8), BINDINGS: {}
[oso][info]         APPLICABLE_RULES:
[oso][info]           h(_x) at line 2, column 1
[oso][info]         RULE: h(_x);
[oso][info]   RESULT: SUCCESS
"""


def test_polar_log_debug_prints_info_lines(monkeypatch, capsys):
    # Legacy has no DEBUG lines of its own: POLAR_LOG=debug prints the INFO lines as `[oso][info]`.
    _, info = traced(monkeypatch, capsys, lambda oso: oso.query_rule_once("g", 1))
    monkeypatch.setenv("POLAR_LOG", "debug")
    oso = Oso()
    oso.load_str(TRACED)
    capsys.readouterr()
    assert oso.query_rule_once("g", 1) is True
    assert capsys.readouterr().out == info


@needs_oso_core
def test_polar_log_trace_goal_by_goal(monkeypatch, capsys):
    monkeypatch.setenv("POLAR_LOG", "trace")
    oso = Oso()
    oso.register_class(User)
    oso.load_str(TRACED + 'admin(u: User) if u.role = "admin" and u.name in ["a", "b"];')
    capsys.readouterr()
    assert oso.query_rule_once("admin", User("b", "admin")) is True
    assert capsys.readouterr().out == """\
[oso][info]   QUERY RULE: admin(User('b') TYPE `User`), BINDINGS: {}
[oso][info]     APPLICABLE_RULES:
[oso][info]       admin(u: User{}) at line 7, column 1
[oso][info]     RULE: admin(u: User{}) if u.role = "admin" and u.name in ["a", "b"];
[oso][trace]     \u21d2 bind: u \u2190 User('b') TYPE `User`
[oso][trace]     MATCHES: u matches User{}, BINDINGS: {u => User('b') TYPE `User`}
[oso][trace]       QUERY: u.role = "admin", BINDINGS: {u => User('b') TYPE `User`}
[oso][trace]         LOOKUP: u.role
[oso][trace]         => "admin"
[oso][trace]         PopQuery(u.role = "admin")
[oso][trace]       QUERY: u.name in ["a", "b"], BINDINGS: {u => User('b') TYPE `User`}
[oso][trace]         LOOKUP: u.name
[oso][trace]         => "b"
[oso][trace]         PopQuery(u.name in ["a", "b"])
[oso][trace]     PopQuery(admin(User('b') TYPE `User`))
[oso][info]   RESULT: SUCCESS
"""
    # a failing goal backtracks; a variable bound by a goal is shown once bound
    assert [r["bindings"] for r in oso.query("x = 3 and f(x)")] == []
    assert capsys.readouterr().out == """\
[oso][trace]     QUERY: x = 3, BINDINGS: {}
[oso][trace]       \u21d2 bind: x \u2190 3
[oso][trace]       PopQuery(x = 3)
[oso][info]     QUERY RULE: f(x), BINDINGS: {x => 3}
[oso][info]       No matching rules found
[oso][trace]       BACKTRACK
"""
    # `or` alternatives one level deeper; a call in a goal is logged as `QUERY RULE:` only
    assert list(oso.query("nested(1)"))
    out = capsys.readouterr().out
    assert "\n[oso][trace]       QUERY: h(3) or f(5), BINDINGS: {}\n" in out
    assert "\n[oso][info]         QUERY RULE: h(3), BINDINGS: {}\n" in out
    assert "QUERY: h(3)," not in out


@needs_oso_core
def test_polar_log_trace_runs_on_the_instrumented_snapshot_only(monkeypatch, capsys):
    from oso_core.runtime.solver import Query
    monkeypatch.setenv("POLAR_LOG", "trace")
    oso = make_oso("allow(_, _, _) if x = 1 and x > 0;")
    capsys.readouterr()
    assert oso.is_allowed(1, 2, 3)
    assert "[oso][trace]       QUERY: x > 0, BINDINGS: {x => 1}\n" in capsys.readouterr().out
    kb = oso._current_kb()
    assert getattr(kb, "instrumented", False) is False  # decisions' snapshot: no hooks
    monkeypatch.delenv("POLAR_LOG")
    assert oso.is_allowed(1, 2, 3)
    assert capsys.readouterr().out == ""
    assert Query(kb).tracer is None


@needs_oso_core
def test_polar_log_lines_go_through_logging(monkeypatch, capsys):
    import logging

    from oso_core.runtime.polar_log import TRACE, polar_log
    logger = polar_log()
    assert logger is logging.getLogger("oso_core.polar_log")
    records = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append((record.levelname, record.getMessage()))

    monkeypatch.setattr(logger, "handlers", [Keep()])
    monkeypatch.setenv("POLAR_LOG", "trace")
    oso = Oso()
    oso.load_str("f(x) if x = 1;")
    capsys.readouterr()
    assert [r["bindings"] for r in oso.query("f(y)")] == [{"y": 1}]
    assert capsys.readouterr().out == ""  # the configured handler replaces printing
    assert logging.getLevelName(TRACE) == "TRACE"
    assert records[0] == ("INFO", "[oso][info]   QUERY RULE: f(y), BINDINGS: {}")
    assert ("TRACE", "[oso][trace]       QUERY: x = 1, BINDINGS: {}") in records
    assert records[-1] == ("INFO", "[oso][info]   RESULT: {\n[oso][info]     y: 1\n[oso][info]   }")


@needs_oso_core
def test_polar_log_trace_now_writes_to_stderr(monkeypatch, capsys):
    monkeypatch.setenv("POLAR_LOG", "trace,now")
    oso = Oso()
    oso.load_str("f(x) if x = 1;")
    capsys.readouterr()
    assert list(oso.query("f(1)"))
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "[oso][trace]       QUERY: x = 1, BINDINGS: {x => 1}\n" in captured.err


def test_repl_history_is_kept_between_sessions(tmp_path, monkeypatch):
    readline = pytest.importorskip("readline")
    import atexit

    from oso_core.repl import _enable_history, history_path

    path = tmp_path / "history"
    path.write_text("f(1)\n")
    monkeypatch.setenv("POLAR_HISTORY", str(path))
    assert history_path() == str(path)
    readline.clear_history()
    save = _enable_history()
    atexit.unregister(save)
    assert readline.get_history_item(readline.get_current_history_length()) == "f(1)"
    readline.add_history("g(2)")
    save()
    assert path.read_text().splitlines()[-2:] == ["f(1)", "g(2)"]
    readline.clear_history()
