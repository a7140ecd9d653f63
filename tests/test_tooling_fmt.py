"""The policy formatter (`oso_core.tooling.fmt`): layout, comments, idempotence, meaning kept.

The round-trip tests run over every policy in the repository: the `.polar` files (the
conformance policies included), the `load:` texts and queries of the conformance cases, and every
string constant in the repository's Python files that parses as a policy (the tests' `load_str`
policies).
"""

from __future__ import annotations

import ast
import functools
import io
import re
from pathlib import Path

import pytest

from oso_core.exceptions import OsoError, ParserError
from oso_core.frontend.loader import diagnose_program
from oso_core.frontend.parser import parse_program
from oso_core.frontend.source import Source
from oso_core.frontend.syntax import CallTerm, Declaration, Op, PatternTerm, ResourceBlock, Sym
from oso_core.host import BUILTIN_SPECIALIZERS, new_host
from oso_core.tooling.fmt import FormatError, format_source, main
from oso_core.tooling.fmt.equivalence import syntax_key
from oso_core.tooling.fmt.tokens import TOKEN_RE

pytest.importorskip("yaml")
from test_conformance import _load_spec_files  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
CONFORMANCE = REPO / "tests" / "conformance" / "oso-spec"
_SKIPPED_DIRS = {".venv", "venv", "node_modules", "__pycache__", ".git"}


def _repo_files(pattern: str) -> list[Path]:
    return sorted(p for p in REPO.rglob(pattern)
                  if not _SKIPPED_DIRS.intersection(p.relative_to(REPO).parts))


def _parses(text: str) -> bool:
    try:
        return bool(parse_program(Source(text)))
    except OsoError:
        return False


@functools.lru_cache(maxsize=None)
def _embedded_policies() -> tuple[tuple[str, str], ...]:
    """(where, text) of every string constant in the repository's Python files that is a policy."""
    found: dict[str, str] = {}
    for path in _repo_files("*.py"):
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (SyntaxError, UnicodeDecodeError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and ";" in node.value:
                if node.value not in found and _parses(node.value):
                    found[node.value] = f"{path.relative_to(REPO)}:{node.lineno}"
    return tuple((where, text) for text, where in found.items())


def _conformance_texts() -> list[tuple[str, str]]:
    """Each case's load (its policies joined with its `load:` text) and each query as `?= query;`."""
    policies = {p.stem: p.read_text(encoding="utf-8") for p in (CONFORMANCE / "policies").glob("*.polar")}
    texts = []
    for spec_name, data in _load_spec_files():  # the conformance runner's reading of the YAML
        base = "\n".join(policies[name] for name in data.get("policies") or [])
        for k, case in enumerate(data["cases"]):
            where = f"{spec_name} case {k}"
            if "load" in case:
                texts.append((where + " load", base + "\n" + case["load"]))
            if isinstance(case.get("query"), str):
                texts.append((where + " query", f"?= {case['query']};"))
    return texts


# Loading the original and the formatted policy -------------------------------------------------

def _class_names(items: list) -> set[str]:
    """Names the policy uses as classes (or capitalized constants), to register placeholders for."""
    names: set[str] = set()
    stack: list = list(items)
    while stack:
        node = stack.pop()
        if isinstance(node, (list, tuple)):
            stack.extend(node)
            continue
        if isinstance(node, dict):
            stack.extend(node.keys())
            stack.extend(node.values())
            continue
        if isinstance(node, ResourceBlock):
            names.add(node.resource.value)
        elif isinstance(node, Declaration) and isinstance(node.value, dict):
            names.update(str(v) for v in node.value.values())
        elif isinstance(node, PatternTerm) and node.tag:
            names.add(node.tag)
        elif isinstance(node, Op) and node.op == "New" and isinstance(node.args[0], CallTerm):
            names.add(node.args[0].name)
        elif isinstance(node, Sym) and (node.name[:1].isupper() or "::" in node.name):
            names.add(node.name)
        for slot in getattr(type(node), "__slots__", ()):
            if slot != "span":
                stack.append(getattr(node, slot, None))
    return names


def _host(names: set[str]):
    host = new_host()
    for name in sorted(names):
        if not host.is_class_name(name) and name not in BUILTIN_SPECIALIZERS:
            host.register_class(type(name.replace("::", "_"), (), {}), name)
    return host


_LOCATION = re.compile(r" at line \d+, column \d+.*|^\t\d{3}: .*$|^\t *\^$", re.MULTILINE)


def _loaded(text: str, names: set[str]) -> tuple:
    """What loading makes of `text`: rules, rule types, inline queries, resource blocks, messages."""
    program, diagnostics = diagnose_program([Source(text)], _host(names))
    messages = tuple((is_error, _LOCATION.sub("", str(item))) for is_error, item, _ in diagnostics.entries())
    if program is None:
        return (None, messages)
    return (syntax_key(program.rules),
            tuple((name, syntax_key(types)) for name, types in program.rule_types.items()),
            syntax_key(program.inline_queries), program.actors, program.resources, messages)


def assert_round_trip(text: str, where: str) -> str:
    formatted = format_source(text)
    assert format_source(formatted) == formatted, f"{where}: formatting is not idempotent"
    assert formatted == "" or formatted.endswith("\n") and not formatted.endswith("\n\n")
    original_items = parse_program(Source(text))
    assert syntax_key(parse_program(Source(formatted))) == syntax_key(original_items), where
    names = _class_names(original_items)
    assert _loaded(formatted, names) == _loaded(text, names), f"{where}: loads differently"
    return formatted


POLICY_FILES = _repo_files("*.polar")


def test_the_corpus_is_the_whole_repository():
    relative = {str(p.relative_to(REPO)) for p in POLICY_FILES}
    assert "tests/conformance/oso-spec/policies/data_types.polar" in relative
    assert any(name.startswith("example_apps/") for name in relative)
    assert len(POLICY_FILES) >= 10


@pytest.mark.parametrize("path", POLICY_FILES, ids=lambda p: str(p.relative_to(REPO)))
def test_every_policy_file_round_trips(path):
    assert_round_trip(path.read_text(encoding="utf-8"), str(path))


def test_every_policy_embedded_in_python_files_round_trips():
    policies = _embedded_policies()
    assert len(policies) > 300  # the tests' load_str policies and more
    for where, text in policies:
        assert_round_trip(text, where)


def test_every_conformance_case_round_trips_or_fails_as_loading_does():
    texts = _conformance_texts()
    assert any(where.endswith("load") for where, _ in texts)
    failures = 0
    for where, text in texts:
        try:
            parse_program(Source(text))
        except ParserError as expected:
            failures += 1
            with pytest.raises(ParserError) as raised:
                format_source(text)
            assert type(raised.value) is type(expected) and str(raised.value) == str(expected), where
            continue
        assert_round_trip(text, where)
    assert failures >= 3  # errors.yml's parse errors


def _with_comments(text: str, placement: str) -> tuple[str, int]:
    """`text` with a numbered comment after every token: at the end of its line (`trailing`), on a
    line of its own (`own-line`), or alternating between both and none (`mixed`)."""
    out, last, count = [], 0, 0
    for k, match in enumerate(TOKEN_RE.finditer(text)):
        if match.group(1):  # an existing comment
            continue
        out.append(text[last:match.end()])
        last = match.end()
        kind = placement if placement != "mixed" else ("trailing", "own-line", None)[k % 3]
        if kind == "trailing":
            out.append(f"  # c{count}\n")
        elif kind == "own-line":
            out.append(f"\n# c{count}\n")
        count += kind is not None
    return "".join(out) + text[last:], count


@pytest.mark.parametrize("placement", ["trailing", "own-line", "mixed"])
def test_comments_anywhere_are_all_kept_in_order(placement):
    texts = [(str(p), p.read_text(encoding="utf-8")) for p in POLICY_FILES] + list(_embedded_policies()[::8])
    for where, text in texts:
        commented, count = _with_comments(text, placement)
        formatted = assert_round_trip(commented, f"{where} ({placement} comments)")
        assert re.findall(r"# c(\d+)", formatted) == [str(k) for k in range(count)], where


# The layout -----------------------------------------------------------------------------------

LAYOUTS = [
    # one item per line, tokens spaced canonically
    ("f(1);g( 2 ) ;  h(x)if x=1;", "f(1);\ng(2);\nh(x) if x = 1;\n"),
    # at most one blank line kept between items, none at the start or end
    ("\n\nf(1);\n\n\n\ng(2);\n\n", "f(1);\n\ng(2);\n"),
    # a rule that does not fit in 100 columns: the body on its own line, then one conjunct per line
    ("allow(actor: User, action: String, resource: Repository) if has_permission(actor, action, resource);",
     "allow(actor: User, action: String, resource: Repository) if has_permission(actor, action, resource);\n"),
    ("allow(actor: User, action: String, resource: Repository) if has_permission(actor, action, resource.x);",
     "allow(actor: User, action: String, resource: Repository) if\n  has_permission(actor, action, resource.x);\n"),
    ("has_role(user: User, name: String, resource: Resource) if role in user.roles and "
     "role.name = name and role.resource = resource and role.is_active = true and role.kind = 1;",
     "has_role(user: User, name: String, resource: Resource) if\n  role in user.roles and\n"
     "  role.name = name and\n  role.resource = resource and\n  role.is_active = true and\n"
     "  role.kind = 1;\n"),
    # resource blocks
    ('resource Repo{roles=["a","b",];permissions=["read"];relations={parent:Org,owner:User};'
     '"read" if "a";"a"if"b" on "parent";}',
     'resource Repo {\n  roles = ["a", "b"];\n  permissions = ["read"];\n  relations = { parent: Org, owner: User };\n'
     '  "read" if "a";\n  "a" if "b" on "parent";\n}\n'),
    ("actor User { }", "actor User {}\n"),
    ("User {}", "User {}\n"),
    # operators, literals and names, kept as written (parentheses included)
    ("f(x)if x=-1 and y=1- -2.5e3 and z=+3 and w=x-1 and v=(1+2)*3 mod 4 rem 5/6;",
     "f(x) if x = -1 and y = 1 - -2.5e3 and z = +3 and w = x - 1 and v = (1 + 2) * 3 mod 4 rem 5 / 6;\n"),
    ('f(x)if x="a\\"b\\n\\\\" and y=inf and z=-inf and n=nan and t=true and u=nil;',
     'f(x) if x = "a\\"b\\n\\\\" and y = inf and z = -inf and n = nan and t = true and u = nil;\n'),
    ("f([a,*rest],{a:1,b})if x matches Foo{a:1} and not y matches{b:[1,*r]} and z:=1;",
     "f([a, *rest], {a: 1, b}) if x matches Foo{a: 1} and not y matches {b: [1, *r]} and z := 1;\n"),
    ("f(x?)if x?.a.b(1,k:2,).c=x.(y) and x.(\"k\")=x.type and a::b::C=x and x.in(1);",
     'f(x?) if x?.a.b(1, k: 2).c = x.(y) and x.("k") = x.type and a::b::C = x and x.in(1);\n'),
    ("f(x)if forall(a in x,a>1) and cut and print(1,2,) and debug() and new Foo(a:1)=x and .(x,\"y\",z);",
     'f(x) if\n  forall(a in x, a > 1) and cut and print(1, 2) and debug() and new Foo(a: 1) = x and .(x, "y", z);\n'),
    ("type f(x:Integer,y:{a:1});?=f(1)or not g(2);", "type f(x: Integer, y: {a: 1});\n?= f(1) or not g(2);\n"),
    ("f(x)if[1,2,,3,]=x;", "f(x) if [1, 2, 3] = x;\n"),
    # a list too long for one line: one element per line
    ("f(x) if x in [" + ", ".join(f'"element{i}"' for i in range(12)) + "];",
     "f(x) if\n  x in [\n" + "".join(f'    "element{i}",\n' for i in range(11)) + '    "element11"\n  ];\n'),
    ("", ""),
    ("  \n\n", ""),
]


@pytest.mark.parametrize(("text", "expected"), LAYOUTS)
def test_layout(text, expected):
    assert format_source(text) == expected
    assert format_source(expected) == expected


COMMENTS = [
    # own-line comments stay on their own line, trailing comments trail, blank lines kept (one)
    ("# head\n\n\n# about f\nf(1);  # one\n\n\n# end\n", "# head\n\n# about f\nf(1);  # one\n\n# end\n"),
    ("# only a comment", "# only a comment\n"),
    ("f(a, # about a\n b);", "f(\n  a,  # about a\n  b\n);\n"),
    ("f(x) # after the head\n if x = 1;", "f(x) if  # after the head\n  x = 1;\n"),
    ("f(a, b) if\n# a first\na = 1 and  # then\n  # b\n  b = 2;",
     "f(a, b) if\n  # a first\n  a = 1 and  # then\n  # b\n  b = 2;\n"),
    ("f(x) if x = 1\n# before the semicolon\n;", "f(x) if x = 1;  # before the semicolon\n"),
    ("f(a\n# before the comma\n, b);", "f(\n  a,\n  # before the comma\n  b\n);\n"),
    ("f(x) if x = 1\n# before and\nand y = 2;", "f(x) if\n  x = 1 and\n  # before and\n  y = 2;\n"),
    ("f([1, # dropped comma's comment\n]);", "f(\n  [\n    1  # dropped comma's comment\n  ]\n);\n"),
    ('resource R { # on the brace\n\n roles = ["a"];\n\n\n "a" if "b";\n # last\n}',
     'resource R {  # on the brace\n  roles = ["a"];\n\n  "a" if "b";\n  # last\n}\n'),
    ("resource R {\n  # nothing yet\n}", "resource R {\n  # nothing yet\n}\n"),
    ("f(1);   # spaces after are dropped   \n", "f(1);  # spaces after are dropped\n"),
]


@pytest.mark.parametrize(("text", "expected"), COMMENTS)
def test_comments_are_kept(text, expected):
    assert format_source(text) == expected
    assert format_source(expected) == expected


def test_parse_errors_are_the_loaders():
    text = "allow(x) if x = ;"
    with pytest.raises(ParserError) as expected:
        parse_program(Source(text, "p.polar"))
    with pytest.raises(ParserError) as raised:
        format_source(text, "p.polar")
    assert str(raised.value) == str(expected.value)
    assert "at line 1, column 17 of file p.polar" in str(raised.value)


def test_a_formatter_that_would_change_the_meaning_raises(monkeypatch):
    from oso_core.tooling.fmt import formatter

    monkeypatch.setattr(formatter, "render", lambda doc, width: "f(2);")
    with pytest.raises(FormatError, match="formatting would change the policy's meaning"):
        format_source("f(1);", "p.polar")


def test_very_deep_nesting_is_a_format_error():
    text = "f(x) if x = " + "[" * 2000 + "]" * 2000 + ";"
    with pytest.raises(FormatError, match="too deeply nested"):
        format_source(text)


def test_a_thousand_line_policy_formats_and_stays_formatted():
    rule = ('has_role(user: User, name: String, repo: Repo) if role in repo.roles and role.user = user and '
            'role.name = name and not role.revoked = true; # why\n"n{k}" if "r" on "parent";\n')
    block = 'resource R{k} {{\n  roles = ["a", "b"];\n  relations = {{ parent: Org }};\n'
    lines = []
    for k in range(130):
        lines += [block.format(k=k), '  "a" if "b";\n}\n', f"f{k}(x) if x in [1, 2, 3] and x.y(z, k: {k}) = 2;\n",
                  rule.replace('"n{k}" if "r" on "parent";\n', ""), "\n"]
    text = "".join(lines)
    assert text.count("\n") >= 1000
    # Its speed (about 0.2 s on an idle machine) is not asserted: unit tests never time.
    formatted = format_source(text)
    assert formatted.count("resource R") == 130
    assert format_source(formatted) == formatted


# The command line ---------------------------------------------------------------------------------

def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_fmt_rewrites_changed_files_in_place_only(tmp_path, capsys):
    messy = _write(tmp_path / "a.polar", "f( 1 );")
    clean = _write(tmp_path / "sub" / "b.polar", "g(2);\n")
    _write(tmp_path / "notes.txt", "f( 1 );")
    before = clean.stat().st_mtime_ns
    assert main([str(tmp_path)]) == 0
    assert messy.read_text() == "f(1);\n"
    assert clean.read_text() == "g(2);\n" and clean.stat().st_mtime_ns == before
    assert (tmp_path / "notes.txt").read_text() == "f( 1 );"
    assert capsys.readouterr().err == f"reformatted {messy}\n"


def test_fmt_check_lists_files_that_would_change_and_changes_nothing(tmp_path, capsys):
    messy = _write(tmp_path / "a.polar", "f( 1 );")
    clean = _write(tmp_path / "b.polar", "g(2);\n")
    assert main(["--check", str(messy), str(clean)]) == 1
    out, err = capsys.readouterr()
    assert out == f"{messy}\n" and "1 of 2 file(s) would be reformatted" in err
    assert messy.read_text() == "f( 1 );"
    assert main(["--check", str(clean)]) == 0


def test_fmt_stdin_to_stdout(monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", io.StringIO("f( 1 );g(2);"))
    assert main(["-"]) == 0
    assert capsys.readouterr().out == "f(1);\ng(2);\n"
    monkeypatch.setattr("sys.stdin", io.StringIO("f( 1 );"))
    assert main(["--check", "-"]) == 1
    assert capsys.readouterr().out == "<stdin>\n"


def test_fmt_parse_error_exits_2_with_file_line_column(tmp_path, capsys, monkeypatch):
    bad = _write(tmp_path / "bad.polar", "f(1);\ng(x) if x = ;\n")
    good = _write(tmp_path / "good.polar", "f( 1 );")
    assert main([str(bad), str(good)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"{bad}:2:13: error: did not expect to find the token ';' at line 2, column 13")
    assert bad.read_text() == "f(1);\ng(x) if x = ;\n"
    assert good.read_text() == "f(1);\n"  # the other files are still formatted
    monkeypatch.setattr("sys.stdin", io.StringIO("f(x"))
    assert main(["-"]) == 2
    assert capsys.readouterr().err.startswith("<stdin>:1:4: error: hit the end of the file unexpectedly")


def test_fmt_usage_errors_exit_2(tmp_path, capsys):
    assert main([str(tmp_path / "missing.polar")]) == 2
    assert "Could not find file" in capsys.readouterr().err
    _write(tmp_path / "x.txt", "")
    assert main([str(tmp_path / "x.txt")]) == 2
    with pytest.raises(SystemExit) as exited:
        main([])
    assert exited.value.code == 2
    with pytest.raises(SystemExit) as exited:
        main(["-", str(tmp_path)])
    assert exited.value.code == 2


def test_fmt_leaves_a_file_it_cannot_format_as_it_is(tmp_path, capsys):
    deep = _write(tmp_path / "deep.polar", "f(x) if x = " + "[" * 2000 + "]" * 2000 + ";")
    unreadable = tmp_path / "latin1.polar"
    unreadable.write_bytes(b'f("\xe9");')
    before = deep.read_text()
    assert main([str(deep), str(unreadable)]) == 2
    err = capsys.readouterr().err
    assert f"{deep}: error: the policy is too deeply nested to format\n" in err
    assert f"{unreadable}: error: cannot read" in err
    assert deep.read_text() == before
