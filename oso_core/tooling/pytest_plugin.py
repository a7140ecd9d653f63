"""pytest plugin: collect policy test files (`*.polar-test.yaml`) as tests, one item per case.

Registered through the `pytest11` entry point of the oso-core distribution, so installing
oso-core is enough. It costs nothing for projects without such files: files are matched by
name only, and PyYAML and the engine are used only when a matching file is collected.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .policy_tests import TEST_FILE_SUFFIXES


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if file_path.name.endswith(TEST_FILE_SUFFIXES):
        return PolicyTestFile.from_parent(parent, path=file_path)
    return None


class PolicyTestFailure(Exception):
    """A case whose outcome is not the expected one (reported without a traceback)."""


class PolicyTestFile(pytest.File):
    """A policy test file; its cases are the items."""

    def collect(self) -> Iterator[pytest.Item]:
        from .policy_tests import PolicyTestError, PolicyTestSuite

        try:
            suite = PolicyTestSuite(self.path)
        except (PolicyTestError, ImportError) as error:
            raise self.CollectError(str(error)) from None
        for case in suite.cases:
            yield PolicyTestItem.from_parent(self, name=case.id, suite=suite, case=case)


class PolicyTestItem(pytest.Item):
    """One case of a policy test file."""

    def __init__(self, *, suite: Any, case: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.suite = suite
        self.case = case

    def runtest(self) -> None:
        from .policy_tests import PolicyTestError

        try:
            failure = self.suite.run(self.case)
        except PolicyTestError as error:
            raise PolicyTestFailure(str(error)) from None
        if failure is not None:
            raise PolicyTestFailure(f"{self.suite.path}:{self.case.line}: {failure}")

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException],
                     style: Any | None = None) -> str | Any:
        if isinstance(excinfo.value, PolicyTestFailure):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, self.case.line - 1, f"{self.case.kind}({self.case.title})"
