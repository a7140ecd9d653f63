"""Code lenses that run policy tests: on a policy, one lens per test file (`*.polar-test.yaml`
in the workspace) that loads it, which runs the file's cases (on the saved files), and after a
run a lens with the result. Failing cases also become diagnostics of the test file."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from lsprotocol import types
from pygls import uris

from ..policy_tests import PolicyTestError, PolicyTestSuite, discover, is_policy_test_file

RUN_TESTS = "oso.runPolicyTests"


@dataclass
class TestRun:
    """The outcome of running one test file: counts, and (line, message) per failing case."""

    path: str
    passed: int = 0
    failed: int = 0
    failures: list[tuple[int, str]] = field(default_factory=list)

    @property
    def title(self) -> str:
        if self.failed:
            return f"✘ {self.failed} of {self.passed + self.failed} policy test(s) failed"
        return f"✔ {self.passed} policy test(s) passed"

    def to_json(self) -> dict:
        return {"path": self.path, "passed": self.passed, "failed": self.failed,
                "failures": [{"line": line, "message": message} for line, message in self.failures]}


def run_tests(path: str) -> TestRun:
    """Run every case of a test file (the saved policy files), as `python -m oso_core test` does."""
    run = TestRun(path)
    try:
        suite = PolicyTestSuite(path)
    except PolicyTestError as error:
        run.failed, run.failures = 1, [(error.line or 1, error.message)]
        return run
    for case in suite.cases:
        try:
            failure = suite.run(case)
        except PolicyTestError as error:  # setup failed: every case fails the same way
            run.failed += 1
            if not any(line == error.line for line, _ in run.failures):
                run.failures.append((error.line, error.message.rstrip()))
            continue
        if failure is None:
            run.passed += 1
        else:
            run.failed += 1
            run.failures.append((case.line, failure.rstrip()))
    return run


class TestFiles:
    """The workspace's test files and which policy files each loads (re-read when changed)."""

    def __init__(self) -> None:
        self._read: dict[str, tuple[float, list[str]]] = {}
        self.runs: dict[str, TestRun] = {}

    def _policies(self, path: Path) -> list[str]:
        try:
            mtime = path.stat().st_mtime
        except OSError:
            return []
        cached = self._read.get(str(path))
        if cached is not None and cached[0] == mtime:
            return cached[1]
        try:
            policies = [os.path.abspath(p) for p in PolicyTestSuite(path).policy_files]
        except (PolicyTestError, ImportError):
            policies = []
        self._read[str(path)] = (mtime, policies)
        return policies

    def testing(self, policy_path: str, roots: tuple[str, ...]) -> list[str]:
        """The test files under `roots` that load the policy file."""
        wanted = os.path.abspath(policy_path)
        found = []
        for root in roots:
            try:
                files = discover([root])
            except FileNotFoundError:
                continue
            found += [str(f) for f in files if is_policy_test_file(f) and wanted in self._policies(f)]
        return found

    def lenses(self, policy_path: str | None, roots: tuple[str, ...]) -> list[types.CodeLens]:
        """The lenses of a policy document, at its first line."""
        if policy_path is None:
            return []
        top = types.Range(start=types.Position(line=0, character=0), end=types.Position(line=0, character=0))
        lenses = []
        for test_file in self.testing(policy_path, roots):
            name = os.path.basename(test_file)
            command = types.Command(title=f"▶ Run policy tests: {name}", command=RUN_TESTS, arguments=[test_file])
            lenses.append(types.CodeLens(range=top, command=command))
            run = self.runs.get(test_file)
            if run is not None:
                result = types.Command(title=f"{run.title} ({name})", command=RUN_TESTS, arguments=[test_file])
                lenses.append(types.CodeLens(range=top, command=result))
        return lenses

    def run(self, test_file: str) -> TestRun:
        run = self.runs[test_file] = run_tests(test_file)
        return run


def failure_diagnostics(run: TestRun) -> tuple[str, list[types.Diagnostic]]:
    """The test file's URI and a diagnostic per failing case, at the case's line."""
    try:
        lines = Path(run.path).read_text(encoding="utf-8").split("\n")
    except (OSError, UnicodeDecodeError):
        lines = []
    diagnostics = []
    for line, message in run.failures:
        number = max(line, 1) - 1
        text = lines[number] if number < len(lines) else ""
        position = types.Position(line=number, character=len(text) - len(text.lstrip()))
        end = types.Position(line=number, character=len(text.encode("utf-16-le")) // 2)
        diagnostics.append(types.Diagnostic(range=types.Range(start=position, end=end), message=message,
                                            severity=types.DiagnosticSeverity.Error, source="oso_core test",
                                            code="policy-test"))
    uri = uris.from_fs_path(run.path)
    assert uri is not None
    return uri, diagnostics
