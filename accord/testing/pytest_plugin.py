"""pytest plugin: sidecar case files (``*.cases.yaml``) become pytest items.

Registered under the ``pytest11`` entry point ``accord``, so installing accord is enough::

    pytest mappings rules          # every case of every shipped spec and rule pack

Only case files under the folders named by the ``accord_case_paths`` ini option are collected
(default: ``mappings`` and ``rules`` relative to the rootdir), so fixtures that are broken on
purpose elsewhere (``tests/``) are never picked up. Disable collection entirely with
``-p no:accord`` or ``accord_case_paths =`` (empty).

This module is imported by every pytest run in an environment where accord is installed, so it
imports nothing from accord at module level: the runner is loaded only when a case file is
actually collected.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from accord.testing.runner import CaseResult, FileResult

DEFAULT_CASE_PATHS = ("mappings", "rules")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        "accord_case_paths",
        type="paths",
        help="folders whose *.cases.yaml files are collected as accord case tests "
        "(default: mappings rules)",
        default=[],
    )
    parser.addini(
        "accord_collect_cases",
        type="bool",
        help="collect accord *.cases.yaml files at all (default: true)",
        default=True,
    )


def _roots(config: pytest.Config) -> list[Path]:
    configured: list[Path] = list(config.getini("accord_case_paths"))
    if configured:
        return [p.resolve() for p in configured]
    return [(config.rootpath / name).resolve() for name in DEFAULT_CASE_PATHS]


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if not file_path.name.endswith((".cases.yaml", ".cases.yml")):
        return None
    config = parent.config
    if not config.getini("accord_collect_cases"):
        return None
    resolved = file_path.resolve()
    if not any(resolved.is_relative_to(root) for root in _roots(config)):
        return None
    result: pytest.Collector = CaseFileCollector.from_parent(parent, path=file_path)
    return result


class CaseFileCollector(pytest.File):
    """One case file; its cases run together (the subject is compiled once)."""

    _result: FileResult | None = None

    def run_all(self) -> FileResult:
        if self._result is None:
            from accord.testing.runner import run_case_file

            self._result = run_case_file(self.display_path)
        return self._result

    @property
    def display_path(self) -> Path:
        """The file relative to the working directory when inside it: shorter reports."""
        try:
            return self.path.relative_to(Path.cwd())
        except ValueError:
            return self.path

    def collect(self) -> Iterator[pytest.Item]:
        from accord.errors import SpecError
        from accord.testing.cases import load_case_file

        try:
            loaded = load_case_file(self.display_path)
        except SpecError as exc:
            yield CaseFileProblem.from_parent(self, name="case file", diagnostics=exc.diagnostics)
            return
        for case in loaded.cases:
            yield CaseItem.from_parent(self, name=case.name, line=case.line)


class CaseFileProblem(pytest.Item):
    """Stands for a case file that cannot be loaded, so the problem fails the run."""

    def __init__(self, *, diagnostics: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.diagnostics = tuple(diagnostics)

    def runtest(self) -> None:
        raise CaseFailure("\n".join(d.render() for d in self.diagnostics))

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        return str(excinfo.value)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, 0, f"{self.path.name}: cannot load"


class CaseFailure(Exception):
    """A case did not pass; the message is the readable report."""


class CaseItem(pytest.Item):
    """One case of a case file."""

    def __init__(self, *, line: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.line = line

    def runtest(self) -> None:
        from accord.testing.runner import describe_failure

        assert isinstance(self.parent, CaseFileCollector)
        file_result = self.parent.run_all()
        if file_result.diagnostics:
            raise CaseFailure("\n".join(d.render() for d in file_result.diagnostics))
        found: CaseResult | None = next((c for c in file_result.cases if c.name == self.name), None)
        if found is None:  # pragma: no cover - the file changed between collect and run
            raise CaseFailure(f"case {self.name!r} vanished from {self.path}")
        if not found.ok:
            raise CaseFailure(describe_failure(str(self.parent.display_path), found))

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, CaseFailure):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, self.line - 1, f"{self.path.name}::{self.name}"
