"""Regressions found by running legacy oso's own Python tests against oso_core."""

import io
import re

from oso_core import Polar


class _Foo:
    def __repr__(self) -> str:
        return "SPECIAL FOO REPR"


def test_debugger_bindings_show_renamed_rule_variables(monkeypatch, capsys):
    # legacy tests/test_repr.py::test_repr_when_debugging
    polar = Polar()
    polar.register_class(_Foo, name="Foo")
    polar.load_str("f(_foo: Foo) if debug() and 1 = 1;")
    monkeypatch.setattr("sys.stdin", io.StringIO("bindings"))
    assert len(list(polar.query_rule("f", _Foo()))) == 1
    assert re.search(r"_foo_[0-9]+ = SPECIAL FOO REPR", capsys.readouterr().out)
