"""pytest plugin: collect policy test files (`*.polar-test.yaml`) as tests, one item per case,
and `.polar` policies with `test` blocks (Oso Cloud dialect), one item per test block.

Registered through the `pytest11` entry point of the oso-core distribution, so installing
oso-core is enough. It costs nothing for projects without such files: YAML files are matched by
name only, `.polar` files by a look at their text for a line starting `test "` or
`test fixture` (never a parse), and PyYAML and the engine are used only when a matching file is
collected.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .policy_tests import TEST_FILE_SUFFIXES, has_test_blocks


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if file_path.name.endswith(TEST_FILE_SUFFIXES):
        return PolicyTestFile.from_parent(parent, path=file_path)
    if file_path.suffix == ".polar" and has_test_blocks(file_path):
        return PolicyTestBlocksFile.from_parent(parent, path=file_path)
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


class PolicyTestBlocksFile(pytest.File):
    """A `.polar` policy with test blocks, loaded on its own in the cloud dialect; its test
    blocks are the items."""

    def collect(self) -> Iterator[pytest.Item]:
        from .policy_tests import load_error_line, load_policy

        try:
            oso, blocks = load_policy([self.path])
        except Exception as error:  # noqa: BLE001 - whatever the load raises, collection reports it
            raise self.CollectError(load_error_line([self.path], error)) from None
        seen: dict[str, int] = {}
        for test in blocks.tests:
            count = seen[test.name] = seen.get(test.name, 0) + 1  # distinct ids: pytest needs them
            name = f"test[{test.name}]" if count == 1 else f"test[{test.name} #{count}]"
            yield PolicyTestBlockItem.from_parent(self, name=name, oso=oso, blocks=blocks, test=test)


class PolicyTestBlockItem(pytest.Item):
    """One `test "NAME" { ... }` block."""

    def __init__(self, *, oso: Any, blocks: Any, test: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.oso = oso
        self.blocks = blocks
        self.test = test

    def runtest(self) -> None:
        from .policy_test_blocks import outcome_lines, run_test

        outcome = run_test(self.oso, self.test, self.blocks)
        if not outcome.passed:
            raise PolicyTestFailure("\n".join(line.rstrip() for line in outcome_lines(outcome)))

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException],
                     style: Any | None = None) -> str | Any:
        if isinstance(excinfo.value, PolicyTestFailure):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self) -> tuple[Path, int, str]:
        line = self.test.spot.line - 1 if self.test.spot is not None else 0
        return self.path, line, f"test {self.test.name!r}"
