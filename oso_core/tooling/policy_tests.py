"""Policy tests: test cases written next to a policy, in `*.polar-test.yaml` files, and the
`test` blocks of Oso Cloud dialect policies (`*.polar`).

    python -m oso_core test [-v] [PATHS...]

A test file names the policy files to load, the classes and objects the cases use, and the
cases: `allow`/`deny` lists of `[actor, action, resource]`, and `queries` (a Polar query or a
rule call, with the expected outcome). The format is described in docs/policy-tooling.md.
Test blocks are evaluated by `policy_test_blocks`; this module loads their policy and reports.
The same files are collected by pytest (see `oso_core.tooling.pytest_plugin`).

YAML is read with PyYAML, which is imported only when a test file is read: the engine itself
does not need it.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import importlib
import io
import os
import re
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from ..exceptions import OsoError

__all__ = [
    "TEST_FILE_SUFFIXES",
    "Case",
    "PolicyTestError",
    "PolicyTestSuite",
    "discover",
    "has_test_blocks",
    "is_policy_test_file",
    "load_policy",
    "main",
    "run_policy",
]

TEST_FILE_SUFFIXES = (".polar-test.yaml", ".polar-test.yml")

# Top-level keys of a test file.
_KEYS = ("description", "policy", "policies", "module", "modules", "classes", "objects", "constants",
         "allow", "deny", "queries")
_QUERY_KEYS = ("name", "query", "rule", "args", "holds", "count", "results")
_SKIPPED_DIRECTORIES = {".git", ".hg", ".svn", ".venv", "venv", "node_modules", "__pycache__", ".tox", ".nox",
                        ".mypy_cache", ".pytest_cache"}


# A line that starts a test block or a fixture: the cheap check that tells a policy with tests
# from an ordinary policy without parsing it.
_TEST_BLOCK_LINE = re.compile(rb'^[ \t]*test[ \t]+(?:"|fixture\b)', re.MULTILINE)


def is_policy_test_file(path: os.PathLike | str) -> bool:
    """Is this the name of a policy test file (`*.polar-test.yaml` / `*.polar-test.yml`)?"""
    return os.fspath(path).endswith(TEST_FILE_SUFFIXES)


def has_test_blocks(path: os.PathLike | str) -> bool:
    """Is this a `.polar` file with a line starting `test "` or `test fixture`? Decided from the
    text alone (no parse), so ordinary policies cost one read; unreadable files have none."""
    if not os.fspath(path).endswith(".polar"):
        return False
    try:
        return _TEST_BLOCK_LINE.search(Path(path).read_bytes()) is not None
    except OSError:
        return False


class PolicyTestError(Exception):
    """A test file that cannot be read or is malformed; `line` is 1-based (0: the whole file)."""

    def __init__(self, path: str, line: int, message: str) -> None:
        self.path, self.line, self.message = path, line, message
        super().__init__(f"{path}:{line}: {message}" if line else f"{path}: {message}")


class Case:
    """One test case: its kind (`allow`, `deny`, `query`), a title, the line it is written on,
    the raw data of the case and where that is in the file (`path`: keys and indexes)."""

    def __init__(self, kind: str, title: str, line: int, data: Any, path: tuple) -> None:
        self.kind = kind
        self.title = title
        self.line = line
        self.data = data
        self.path = path

    @property
    def id(self) -> str:
        """The pytest item name: `kind[title]`."""
        return f"{self.kind}[{self.title}]"


# Reading a test file ----------------------------------------------------------------------------

def _yaml() -> Any:
    try:
        import yaml
    except ImportError:
        raise ImportError("policy test files are YAML: install PyYAML to run them (pip install pyyaml)") from None
    return yaml


def _line_map(node: Any) -> dict[tuple, int]:
    """1-based line of every node of a composed YAML document, by its path of keys/indexes."""
    lines: dict[tuple, int] = {}

    def visit(n: Any, path: tuple) -> None:
        lines[path] = n.start_mark.line + 1
        if n.id == "mapping":
            for key, value in n.value:
                if key.id == "scalar":
                    lines[path + (key.value, "key")] = key.start_mark.line + 1
                    visit(value, path + (key.value,))
        elif n.id == "sequence":
            for i, item in enumerate(n.value):
                visit(item, path + (i,))

    if node is not None:
        visit(node, ())
    return lines


class PolicyTestSuite:
    """A parsed test file: its cases, and (built on first use) the `Oso` they run against."""

    def __init__(self, path: os.PathLike | str) -> None:
        self.path = str(path)
        self._lines: dict[tuple, int] = {}
        self.cases: list[Case] = []
        self._oso: Any = None
        self._objects: dict[str, Any] = {}
        self._setup_error: str | None = None
        self._read()

    # Parsing ------------------------------------------------------------------------------------

    def line(self, *path: Any) -> int:
        """The line of the node at `path` (or of its nearest enclosing node)."""
        while path not in self._lines and path:
            path = path[:-1]
        return self._lines.get(path, 1)

    def _error(self, message: str, *path: Any) -> PolicyTestError:
        return PolicyTestError(self.path, self.line(*path), message)

    def _read(self) -> None:
        yaml = _yaml()
        try:
            text = Path(self.path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise PolicyTestError(self.path, 0, f"cannot read the file: {error}") from None
        try:
            self._lines = _line_map(yaml.compose(text, Loader=yaml.SafeLoader))
            data = yaml.safe_load(text)
        except yaml.YAMLError as error:
            mark = getattr(error, "problem_mark", None)
            raise PolicyTestError(self.path, mark.line + 1 if mark else 0, f"invalid YAML: {error}") from None
        if not isinstance(data, dict):
            raise self._error("a policy test file is a mapping with `policy`, `objects`, `allow`, `deny`, ...")
        for key in data:
            if key not in _KEYS:
                raise self._error(f"unknown key {key!r}; expected one of: {', '.join(_KEYS)}", key, "key")
        self.data = data
        policies = _as_list(data.get("policies", data.get("policy")))
        if not policies or not all(isinstance(p, str) for p in policies):
            raise self._error("`policy` (a file) or `policies` (a list of files) is required")
        base = Path(self.path).parent
        self.policy_files = [str(base / p) for p in policies]
        self.modules = _as_list(data.get("modules", data.get("module")))
        for key in ("classes", "objects", "constants"):
            if not isinstance(data.get(key) or {}, dict):
                raise self._error(f"`{key}` must be a mapping", key)
        for kind in ("allow", "deny"):
            entries = data.get(kind) or []
            if not isinstance(entries, list):
                raise self._error(f"`{kind}` must be a list of [actor, action, resource] lists", kind)
            for i, entry in enumerate(entries):
                if not (isinstance(entry, list) and len(entry) == 3):
                    raise self._error(f"each `{kind}` case is a list [actor, action, resource]", kind, i)
                self.cases.append(Case(kind, ", ".join(_show(a) for a in entry), self.line(kind, i), entry,
                                       (kind, i)))
        queries = data.get("queries") or []
        if not isinstance(queries, list):
            raise self._error("`queries` must be a list", "queries")
        for i, entry in enumerate(queries):
            self.cases.append(self._query_case(entry, i))
        seen: dict[str, int] = {}
        for case in self.cases:  # distinct ids: pytest needs them
            count = seen[case.id] = seen.get(case.id, 0) + 1
            if count > 1:
                case.title += f" #{count}"

    def _query_case(self, entry: Any, i: int) -> Case:
        where = ("queries", i)
        if not isinstance(entry, dict):
            raise self._error("each query case is a mapping with `query` or `rule`", *where)
        for key in entry:
            if key not in _QUERY_KEYS:
                raise self._error(f"unknown key {key!r} in a query case; expected one of: {', '.join(_QUERY_KEYS)}",
                                  *where, key, "key")
        if ("query" in entry) == ("rule" in entry):
            raise self._error("a query case has either `query` (Polar text) or `rule` (with `args`)", *where)
        if "query" in entry and not isinstance(entry["query"], str):
            raise self._error("`query` must be a string of Polar", *where, "query")
        if "rule" in entry and not (isinstance(entry["rule"], str) and isinstance(entry.get("args", []), list)):
            raise self._error("`rule` must be a rule name and `args` a list", *where)
        if len([k for k in ("holds", "count", "results") if k in entry]) > 1:
            raise self._error("give at most one of `holds`, `count` and `results`", *where)
        if "holds" in entry and not isinstance(entry["holds"], bool):
            raise self._error("`holds` must be true or false", *where, "holds")
        if "count" in entry and not (isinstance(entry["count"], int) and not isinstance(entry["count"], bool)):
            raise self._error("`count` must be a number", *where, "count")
        if "results" in entry and not (isinstance(entry["results"], list)
                                       and all(isinstance(r, dict) for r in entry["results"])):
            raise self._error("`results` must be a list of mappings (variable: value)", *where, "results")
        if "name" in entry:
            title = str(entry["name"])
        elif "query" in entry:
            title = entry["query"].strip()
        else:
            title = f"{entry['rule']}(" + ", ".join(_show(a) for a in entry.get("args", [])) + ")"
        return Case("query", title, self.line(*where), entry, where)

    # Setting up -------------------------------------------------------------------------------------

    def setup(self) -> Any:
        """The `Oso` with the classes registered and the policy loaded (made once); raises
        PolicyTestError (with the line of the culprit) when that fails."""
        if self._oso is not None:
            return self._oso
        if self._setup_error is not None:
            raise PolicyTestError(self.path, self.line("policies") if "policies" in self.data else
                                  self.line("policy"), self._setup_error)
        try:
            self._oso = self._build()
        except PolicyTestError as error:
            self._setup_error = error.message
            raise
        return self._oso

    def _build(self) -> Any:
        from ..oso import Oso
        from .repl_cli import register_module_classes

        oso = Oso()
        classes: dict[str, type] = {}
        directory = str(Path(self.path).parent.resolve())
        for name in self.modules:
            if not isinstance(name, str):
                raise self._error("`modules` lists module names", "modules")
            try:
                with _on_path(directory):
                    module = importlib.import_module(name)
                register_module_classes(oso, module)
            except Exception as error:  # noqa: BLE001 - the application's module may raise anything
                raise self._error(f"cannot use module {name}: {type(error).__name__}: {error}",
                                  "modules" if "modules" in self.data else "module") from None
            classes.update({n: c for n, c in vars(module).items() if isinstance(c, type)})
        for name, spec in (self.data.get("classes") or {}).items():
            try:
                cls = _make_class(str(name), spec, classes)
                oso.register_class(cls, name=str(name))
            except (TypeError, OsoError) as error:  # a bad spec, or a name that cannot be registered
                raise self._error(f"class {name}: {error}", "classes", name) from None
            classes[str(name)] = cls
        self._classes = classes
        raw_objects = self.data.get("objects") or {}
        self._raw_objects = {str(k): v for k, v in raw_objects.items()}
        for name in self._raw_objects:
            self._object(name, ())
        for name, value in (self.data.get("constants") or {}).items():
            try:
                oso.register_constant(self._value(value, ("constants", name), bare=False), str(name))
            except OsoError as error:
                raise self._error(f"constant {name}: {error}", "constants", name) from None
        missing = [p for p in self.policy_files if not Path(p).is_file()]
        if missing:
            raise self._error(f"policy file not found: {missing[0]}", "policies" if "policies" in self.data
                              else "policy")
        try:
            with contextlib.redirect_stdout(io.StringIO()):  # the loader prints its warnings
                oso.load_files(self.policy_files)
        except Exception as error:  # noqa: BLE001 - whatever the load raises, the test file reports it
            message = getattr(error, "message", None) or str(error)
            raise self._error(f"the policy does not load: {type(error).__name__}: {message}",
                              "policies" if "policies" in self.data else "policy") from None
        return oso

    def _object(self, name: str, resolving: tuple[str, ...]) -> Any:
        """The object `name` of `objects`, made on first use (objects may refer to each other)."""
        if name in self._objects:
            return self._objects[name]
        if name not in self._raw_objects:
            raise self._error(f"unknown object {name!r}", "objects")
        if name in resolving:
            raise self._error("objects refer to each other in a cycle: " + " -> ".join(resolving + (name,)),
                              "objects", name)
        spec = self._raw_objects[name]
        value = self._value(spec, ("objects", name), bare=False, resolving=resolving + (name,))
        self._objects[name] = value
        return value

    def _value(self, raw: Any, where: tuple, bare: bool, resolving: tuple[str, ...] = ()) -> Any:
        """The Python value a YAML value stands for: `$name` is object `name` (`$$` escapes a `$`);
        with `bare`, a plain word naming an object is that object too; a mapping with `class`
        makes an instance (the other keys are its fields); lists and mappings convert item-wise."""
        if isinstance(raw, str):
            if raw.startswith("$$"):
                return raw[1:]
            if raw.startswith("$"):
                name = raw[1:]
                if name not in self._raw_objects:
                    raise self._error(f"unknown object {name!r} (referred to as {raw!r})", *where)
                return self._object(name, resolving)
            if bare and raw in self._raw_objects:
                return self._object(raw, resolving)
            return raw
        if isinstance(raw, list):
            return [self._value(item, where + (i,), bare, resolving) for i, item in enumerate(raw)]
        if isinstance(raw, dict):
            if "class" not in raw:
                return {str(k): self._value(v, where + (k,), bare, resolving) for k, v in raw.items()}
            class_name = raw["class"]
            cls = self._classes.get(class_name) if isinstance(class_name, str) else None
            if cls is None:
                raise self._error(f"unknown class {class_name!r}: declare it under `classes` or name a module "
                                  "under `modules`", *where)
            fields = {str(k): self._value(v, where + (k,), False, resolving) for k, v in raw.items() if k != "class"}
            try:
                return cls(**fields)
            except Exception as error:  # noqa: BLE001 - an application constructor may raise anything
                raise self._error(f"cannot make a {class_name}: {type(error).__name__}: {error}", *where) from None
        return raw

    # Running ---------------------------------------------------------------------------------------

    def run(self, case: Case) -> str | None:
        """Run one case: None if it passes, else why it failed. Raises PolicyTestError when the
        policy or the objects cannot be set up."""
        oso = self.setup()
        try:
            if case.kind in ("allow", "deny"):
                args = [self._value(a, case.path + (i,), True) for i, a in enumerate(case.data)]
                allowed = oso.is_allowed(*args)
                if allowed != (case.kind == "allow"):
                    expected, got = ("allowed", "denied") if case.kind == "allow" else ("denied", "allowed")
                    return f"expected {case.kind}({case.title}) to be {expected}, but it is {got}"
                return None
            return self._run_query(oso, case)
        except PolicyTestError:
            raise
        except Exception as error:  # noqa: BLE001 - a case that raises fails, whatever the error
            message = getattr(error, "message", None) or str(error)
            return f"{case.kind}({case.title}) raised {type(error).__name__}: {message}"

    def _run_query(self, oso: Any, case: Case) -> str | None:
        entry = case.data
        where = case.path
        if "query" in entry:
            results = list(oso.query(entry["query"], bindings=dict(self._objects)))
            shown = f"query {entry['query'].strip()}"
        else:
            args = [self._value(a, where + ("args", i), True) for i, a in enumerate(entry.get("args", []))]
            results = list(oso.query_rule(entry["rule"], *args))
            shown = f"rule call {case.title}"
        bindings = [dict(r.get("bindings", r)) for r in results]
        if "results" in entry:
            expected = [{str(k): self._value(v, where + ("results", i, k), True) for k, v in row.items()}
                        for i, row in enumerate(entry["results"])]
            if len(bindings) != len(expected) or not all(
                    all(k in got and _equal(got[k], v) for k, v in want.items())
                    for got, want in zip(bindings, expected)):
                return f"{shown}: expected results {expected!r}, got {_shown_results(bindings, expected)!r}"
            return None
        if "count" in entry:
            if len(bindings) != entry["count"]:
                return f"{shown}: expected {entry['count']} result(s), got {len(bindings)}"
            return None
        holds = entry.get("holds", True)
        if bool(bindings) != holds:
            return f"{shown}: expected {'a result' if holds else 'no result'}, got {len(bindings)} result(s)"
        return None


def _shown_results(bindings: list[dict], expected: list[dict]) -> list[dict]:
    """The results restricted to the variables the expectation names (objects bound by the test
    would clutter the message)."""
    keys = {k for row in expected for k in row}
    return [{k: v for k, v in row.items() if k in keys} for row in bindings] if keys else bindings


def _equal(a: Any, b: Any) -> bool:
    # Type-strict for primitives (True is not 1), like the conformance runner.
    if isinstance(a, (bool, int, float, str)) or isinstance(b, (bool, int, float, str)):
        return type(a) is type(b) and a == b
    return a is b or a == b


def _as_list(value: Any) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _show(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "nil"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_show(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    return str(value)


@contextlib.contextmanager
def _on_path(directory: str) -> Iterator[None]:
    """Let imports find modules next to the test file (and in the working directory)."""
    added = [d for d in (directory, os.getcwd()) if d not in sys.path]
    sys.path[:0] = added
    try:
        yield
    finally:
        for d in added:
            if d in sys.path:
                sys.path.remove(d)


def _make_class(name: str, spec: Any, known: dict[str, type]) -> type:
    """A simple class for `classes:`: `[field, ...]`, `{field: default, ...}`, or
    `{fields: [...] or {...}, extends: OtherClass}`. Instances take their fields as keyword
    arguments (a missing field gets its default, else None) and compare by identity."""
    base: type | None = None
    if isinstance(spec, dict) and set(spec) <= {"fields", "extends"} and spec:
        fields_spec = spec.get("fields") or []
        extends = spec.get("extends")
        if extends is not None:
            base = known.get(extends) if isinstance(extends, str) else None
            if base is None:
                raise TypeError(f"extends unknown class {extends!r} (declare it first)")
    else:
        fields_spec = spec or []
    if isinstance(fields_spec, list):
        own = {str(f): None for f in fields_spec}
    elif isinstance(fields_spec, dict):
        own = {str(k): v for k, v in fields_spec.items()}
    else:
        raise TypeError("fields are a list of names or a mapping of names to defaults")
    fields = {**getattr(base, "_policy_test_fields", {}), **own}

    def __init__(self: Any, **values: Any) -> None:
        unknown = set(values) - set(fields)
        if unknown:
            raise TypeError(f"{name} has no field {min(unknown)!r} (fields: {', '.join(fields) or 'none'})")
        for field, default in fields.items():
            setattr(self, field, values[field] if field in values else copy.deepcopy(default))

    def __repr__(self: Any) -> str:
        # Only plain fields: objects may refer to each other in cycles.
        shown = ", ".join(f"{f}={getattr(self, f)!r}" for f in fields
                          if isinstance(getattr(self, f), (str, int, float, bool)))
        return f"{name}({shown})"

    namespace: dict[str, Any] = {"__init__": __init__, "__repr__": __repr__, "_policy_test_fields": fields,
                                 "__module__": __name__, "__qualname__": name}
    return type(name, (base,) if base is not None else (), namespace)


# Discovery and the command line -----------------------------------------------------------------

def discover(paths: Iterable[str]) -> list[Path]:
    """Policy test files: files as given, and those found under directories (hidden and tool
    directories such as `.venv` skipped): `*.polar-test.yaml` and `.polar` files with test
    blocks (`has_test_blocks`), sorted per directory."""
    found: list[Path] = []
    for name in paths:
        path = Path(name)
        if path.is_file():
            found.append(path)
        elif path.is_dir():
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if d not in _SKIPPED_DIRECTORIES and not d.startswith("."))
                found += [Path(root) / f for f in sorted(files)
                          if is_policy_test_file(f) or has_test_blocks(Path(root) / f)]
        else:
            raise FileNotFoundError(name)
    return found


def _policies(paths: list[str], files: list[Path]) -> list[list[Path]]:
    """The policies whose test blocks run: the `.polar` files named on the command line form one
    policy (loaded together, as `oso-cloud test a.polar b.polar` does); each one found in a
    directory is a policy of its own."""
    named = list(dict.fromkeys(f for f in files if f.suffix == ".polar" and f in {Path(p) for p in paths}))
    found = [[f] for f in files if f.suffix == ".polar" and f not in named]
    return ([named] if named else []) + found


def load_policy(paths: list[Path]) -> tuple[Any, Any]:
    """The `Oso` with `paths` loaded in the cloud dialect, and its test blocks. Raises what the
    load raises."""
    from ..oso import Oso

    oso = Oso()
    with contextlib.redirect_stdout(io.StringIO()):  # the loader prints its warnings
        oso.load_files(paths, dialect="cloud")
    return oso, oso.policy_tests()


def load_error_line(paths: list[Path], error: BaseException) -> str:
    """`FILE:LINE:COLUMN: ERROR the policy does not load: ...`, at the error's place when known."""
    details = getattr(error, "details", None) or {}
    where = f"{details.get('file') or paths[0]}"
    if details.get("line"):
        where += f":{details['line']}:{details.get('column', 1)}"
    message = getattr(error, "message", None) or str(error)
    return f"{where}: ERROR the policy does not load: {type(error).__name__}: {message}".rstrip()


def run_policy(paths: list[Path], report: Callable[[str], None], verbose: bool = False) -> tuple[int, int]:
    """Run every test block of the policy made of `paths`; returns (passed, failed) tests. A
    policy that does not load is one failure, reported once."""
    from .policy_test_blocks import outcome_lines, run_test

    report = _rstripped(report)
    try:
        oso, blocks = load_policy(paths)
    except Exception as error:  # noqa: BLE001 - whatever the load raises, the run reports it
        report(load_error_line(paths, error))
        return 0, 1
    passed = failed = 0
    for test in blocks.tests:
        outcome = run_test(oso, test, blocks)
        for line in outcome_lines(outcome, verbose):
            report(line)
        passed += outcome.passed
        failed += not outcome.passed
    return passed, failed


def run_file(path: Path, report: Callable[[str], None], verbose: bool = False) -> tuple[int, int]:
    """Run every case of one test file, reporting failures (and passes if `verbose`) as
    `FILE:LINE: FAIL|PASS|ERROR ...` lines; returns (passed, failed)."""
    report = _rstripped(report)
    try:
        suite = PolicyTestSuite(path)
    except PolicyTestError as error:
        report(f"{error.path}:{error.line or 1}: ERROR {error.message}")
        return 0, 1
    passed = failed = 0
    setup_reported = False
    for case in suite.cases:
        try:
            failure = suite.run(case)
        except PolicyTestError as error:
            failed += 1
            if not setup_reported:  # once per file: every case fails the same way
                report(f"{error.path}:{error.line}: ERROR {error.message}")
                setup_reported = True
            continue
        if failure is None:
            passed += 1
            if verbose:
                report(f"{suite.path}:{case.line}: PASS {case.kind}({case.title})")
        else:
            failed += 1
            report(f"{suite.path}:{case.line}: FAIL {failure}")
    return passed, failed


def _rstripped(report: Callable[[str], None]) -> Callable[[str], None]:
    # Engine messages end with a blank line after the excerpt; one report is one block.
    return lambda text: report(text.rstrip())


def main(argv: list | None = None) -> int:
    """Run `test`; returns the exit status (0 all passed, 1 failures, 2 usage errors)."""
    parser = argparse.ArgumentParser(prog="python -m oso_core test",
                                     description="Run policy test files (*.polar-test.yaml) and the test blocks "
                                                 "of Oso Cloud dialect policies (*.polar).")
    parser.add_argument("paths", nargs="*", default=["."], metavar="PATH",
                        help="test files and policies (the .polar files named are loaded together), or "
                             "directories searched for *.polar-test.yaml and .polar files with test blocks "
                             "(default: .)")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="also list the cases, tests and assertions that pass")
    options = parser.parse_args(argv)
    try:
        files = discover(options.paths)
    except FileNotFoundError as error:
        print(f"error: no such file or directory: {error}", file=sys.stderr)
        return 2
    if not files:
        print("error: no policy test files (*.polar-test.yaml, or .polar files with test blocks) found",
              file=sys.stderr)
        return 2
    named_polar = [f for f in files if f.suffix == ".polar" and f in {Path(p) for p in options.paths}]
    if named_polar and not any(map(has_test_blocks, named_polar)):
        print(f"error: no test blocks in {', '.join(map(str, named_polar))}", file=sys.stderr)
        return 2
    yaml_files = [f for f in files if f.suffix != ".polar"]
    if yaml_files:
        try:
            _yaml()
        except ImportError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
    passed = failed = 0
    for path in yaml_files:
        p, f = run_file(path, print, options.verbose)
        passed += p
        failed += f
    for policy in _policies(options.paths, files):
        p, f = run_policy(policy, print, options.verbose)
        passed += p
        failed += f
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0
