"""Run sidecar case files: dispatch each case to its subject, match, report, update, cover.

>>> from pathlib import Path
>>> results = run_paths([Path("no/such/dir")])
>>> results[0].status, results[0].diagnostics[0].code
('error', 'CASE009')
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from accord.diagnostics import Diagnostic
from accord.errors import AccordError, SpecError
from accord.testing.cases import Case, is_case_file, load_case_file
from accord.testing.match import Mismatch, compare, render_mismatches, to_json_form
from accord.testing.subjects import Subject, load_subject

__all__ = [
    "CaseResult",
    "Coverage",
    "FileResult",
    "find_case_files",
    "run_case_file",
    "run_paths",
]

PASSED = "passed"
FAILED = "failed"
ERROR = "error"


@dataclass(slots=True)
class CaseResult:
    """The outcome of one case."""

    name: str
    line: int
    status: str  # passed | failed | error
    message: str = ""
    mismatches: list[Mismatch] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    output: Any = None  # the JSON form of what the subject produced
    error_code: str | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status == PASSED


@dataclass(slots=True)
class Coverage:
    """Which spec fields / rules / table rows the cases exercised."""

    items: set[str] = field(default_factory=set)
    hit: set[str] = field(default_factory=set)

    @property
    def percent(self) -> float:
        return 100.0 if not self.items else 100.0 * len(self.hit & self.items) / len(self.items)

    @property
    def missed(self) -> list[str]:
        return sorted(self.items - self.hit)

    def merge(self, other: Coverage) -> None:
        self.items |= other.items
        self.hit |= other.hit


@dataclass(slots=True)
class FileResult:
    """The outcome of one case file."""

    path: Path
    subject: Path | None = None
    cases: list[CaseResult] = field(default_factory=list)
    #: Problems that stopped the whole file (bad case file, invalid subject).
    diagnostics: list[Diagnostic] = field(default_factory=list)
    coverage: Coverage = field(default_factory=Coverage)
    #: What ``update=True`` changed, one line per edit.
    updates: list[str] = field(default_factory=list)

    @property
    def status(self) -> str:
        if self.diagnostics:
            return ERROR
        if any(c.status == ERROR for c in self.cases):
            return ERROR
        if any(c.status == FAILED for c in self.cases):
            return FAILED
        return PASSED

    @property
    def ok(self) -> bool:
        return self.status == PASSED

    def counts(self) -> dict[str, int]:
        out = {PASSED: 0, FAILED: 0, ERROR: 0}
        for c in self.cases:
            out[c.status] += 1
        return out


def find_case_files(paths: Iterable[Path]) -> Iterator[Path]:
    """Every ``*.cases.yaml`` named or under the given folders, in sorted order; a path that
    does not exist is yielded as is (the runner reports it)."""
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*.cases.y*ml") if is_case_file(p))
        else:
            yield path


def run_paths(
    paths: Sequence[Path], *, update: bool = False, only: str | None = None
) -> list[FileResult]:
    """Run every case file found under ``paths``."""
    return [run_case_file(p, update=update, only=only) for p in find_case_files(paths)]


def run_case_file(path: str | Path, *, update: bool = False, only: str | None = None) -> FileResult:
    """Run every case in one file (with ``only``, the cases whose name contains it, ignoring
    case). With ``update``, failing expectations are rewritten from the actual outputs
    (comments kept) and :attr:`FileResult.updates` says what changed."""
    path = Path(path)
    result = FileResult(path=path)
    if not path.is_file():
        result.diagnostics.append(
            Diagnostic(code="CASE009", message="no such case file or folder", file=str(path))
        )
        return result
    try:
        loaded = load_case_file(path)
    except SpecError as exc:
        result.diagnostics.extend(exc.diagnostics)
        return result
    result.subject = loaded.subject
    if loaded.subject is None:  # pragma: no cover - load_case_file reports CASE003
        return result
    try:
        subject = load_subject(loaded.subject)
    except AccordError as exc:
        result.diagnostics.extend(exc.diagnostics or [_diag_of(exc, loaded.subject)])
        return result
    except ImportError as exc:
        result.diagnostics.append(
            Diagnostic(
                code="CASE008",
                message=f"cannot run {loaded.subject.name}: engine module missing ({exc})",
                file=str(loaded.subject),
            )
        )
        return result
    except Exception as exc:  # an engine bug: the file cannot run, the others still do
        result.diagnostics.append(
            Diagnostic(
                code="CASE008",
                message=f"cannot run {loaded.subject.name}: internal error "
                f"{type(exc).__name__}: {exc}",
                file=str(loaded.subject),
            )
        )
        return result
    result.coverage.items = subject.universe()
    for case in loaded.cases:
        if only is not None and only.casefold() not in case.name.casefold():
            continue
        outcome, raw = run_case(subject, case, file=str(path))
        result.cases.append(outcome)
        if raw is not None:
            # coverage is a report: an odd output must never fail the run
            with contextlib.suppress(Exception):
                result.coverage.hit |= subject.covered(raw)
    if update:
        from accord.testing.update import update_case_file

        changes = update_case_file(loaded, result.cases)
        if changes:
            # report the file as it now stands, with the edits that got it there
            result = run_case_file(path, only=only)
            result.updates = changes
    return result


def _diag_of(exc: AccordError, file: Path) -> Diagnostic:
    return Diagnostic(code=exc.code, message=exc.message, file=str(file))


def run_case(subject: Subject, case: Case, *, file: str) -> tuple[CaseResult, Any]:
    """Run one case; return its result and the raw output (for coverage)."""
    res = CaseResult(name=case.name, line=case.line, status=PASSED)
    started = time.perf_counter()
    raw: Any = None
    try:
        raw = subject.run(case)
    except AccordError as exc:
        res.error_code = exc.code
        res.diagnostics = list(exc.diagnostics)
        codes = {exc.code, *(d.code for d in exc.diagnostics)}
        if case.expect_error is None:
            res.status = ERROR
            res.message = f"unexpected {type(exc).__name__} {exc.code}: {_first_line(exc)}"
        elif case.expect_error not in codes:
            res.status = FAILED
            res.message = f"expected error {case.expect_error}, got {exc.code}: {_first_line(exc)}"
    except Exception as exc:  # an engine bug must show as a failing case, not stop the run
        res.status = ERROR
        res.error_code = "INTERNAL"
        res.message = f"internal error {type(exc).__name__}: {exc}"
    else:
        res.output = to_json_form(raw)
        if case.expect_error is not None:
            res.status = FAILED
            res.message = f"expected error {case.expect_error}, but it succeeded"
        elif case.has_expect:
            res.mismatches = compare(case.expect, raw, exact=case.expect_exact, ignore=case.ignore)
            if res.mismatches:
                res.status = FAILED
                n = len(res.mismatches)
                res.message = f"{n} difference{'s' if n != 1 else ''}"
        else:
            res.status = FAILED
            res.message = "no expect or expect_error (run with --update to record the output)"
    res.seconds = time.perf_counter() - started
    for i, d in enumerate(res.diagnostics):
        if d.file is None:
            res.diagnostics[i] = d.at(file=file, line=case.line)
    return res, raw


def _first_line(exc: AccordError) -> str:
    if exc.diagnostics:
        return exc.diagnostics[0].message
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def describe_failure(file: str, result: CaseResult) -> str:
    """A readable report of one failing case: where it is, what differs."""
    head = f"{file}:{result.line}: {result.status.upper()} {result.name!r}: {result.message}"
    parts = [head]
    if result.mismatches:
        parts.append(render_mismatches(result.mismatches))
    if result.status == ERROR and result.diagnostics:
        parts.extend("  " + d.render().replace("\n", "\n  ") for d in result.diagnostics[:5])
    return "\n".join(parts)
