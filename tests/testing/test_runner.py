from __future__ import annotations

from pathlib import Path

import pytest

from accord.testing import describe_failure, run_case_file, run_paths

pytestmark = pytest.mark.usefixtures("fake_subject")

CASES = """\
# Cases for the fake order mapping.
cases:
  - name: passes
    given: {id: 7, price: 9.99, currency: USD, email: A@X.COM}
    expect:
      id: "7"
      total: {amount: "9.99"}   # partial: currency not compared
  - name: wrong amount
    given: {id: 8, price: 1.50, currency: USD}
    expect:
      id: "8"
      total: {amount: "1.55", currency: USD}
  - name: exact with extra key
    given: {id: 9, email: b@y}
    expect: {id: "9"}
    expect_exact: true
  - name: expected error
    given: {price: 1}
    expect_error: MAP201
  - name: wrong error code
    given: {}
    expect_error: MAP999
  - name: error expected but it succeeded
    given: {id: 1}
    expect_error: MAP201
  - name: unexpected error
    given: {}
    expect: {id: "1"}
  - name: engine bug
    given: {id: 1, explode: true}
    expect: {id: "1"}
  - name: no expectation yet
    given: {id: 2, email: Q@Q}
  - name: ignored volatile field
    given: {id: 3, email: z@z}
    expect: {id: "3", email: "whatever"}
    ignore: [email]
"""


def _write(case_dir: Path, text: str = CASES) -> Path:
    path = case_dir / "order.inbound.cases.yaml"
    path.write_text(text)
    return path


def test_every_outcome_is_classified(case_dir: Path) -> None:
    result = run_case_file(_write(case_dir))
    statuses = {c.name: c.status for c in result.cases}
    assert statuses == {
        "passes": "passed",
        "wrong amount": "failed",
        "exact with extra key": "failed",
        "expected error": "passed",
        "wrong error code": "failed",
        "error expected but it succeeded": "failed",
        "unexpected error": "error",
        "engine bug": "error",
        "no expectation yet": "failed",
        "ignored volatile field": "passed",
    }
    assert result.status == "error"
    assert result.counts() == {"passed": 3, "failed": 5, "error": 2}
    by = {c.name: c for c in result.cases}
    assert by["wrong error code"].message.startswith("expected error MAP999, got MAP201")
    assert by["unexpected error"].error_code == "MAP201"
    assert by["engine bug"].message == "internal error RuntimeError: engine bug"
    # the diagnostic of an error without a file is located at the case
    assert by["unexpected error"].diagnostics[0].line == by["unexpected error"].line == 26


def test_failure_report_is_a_readable_structural_diff(case_dir: Path) -> None:
    path = _write(case_dir)
    result = run_case_file(path)
    wrong = next(c for c in result.cases if c.name == "wrong amount")
    assert describe_failure(str(path), wrong) == (
        f"{path}:8: FAILED 'wrong amount': 1 difference\n"
        '  total.amount: expected "1.55", got "1.50"'
    )
    extra = next(c for c in result.cases if c.name == "exact with extra key")
    assert 'email: not expected, got "b@y"' in describe_failure(str(path), extra)


def test_coverage_counts_fields_the_cases_produced(case_dir: Path) -> None:
    path = _write(case_dir, "cases:\n  - name: a\n    given: {id: 1}\n    expect: {id: '1'}\n")
    result = run_case_file(path)
    assert result.ok
    assert result.coverage.items == {"field:id", "field:total", "field:email"}
    assert result.coverage.missed == ["field:email", "field:total"]
    assert round(result.coverage.percent, 1) == 33.3


def test_bad_case_file_and_missing_path_are_file_level_errors(case_dir: Path) -> None:
    path = _write(case_dir, "cases:\n  - name: a\n")
    (result,) = run_paths([path])
    assert result.status == "error"
    assert [d.code for d in result.diagnostics] == ["CASE007"]
    (missing,) = run_paths([case_dir / "nope"])
    assert [d.code for d in missing.diagnostics] == ["CASE009"]


def test_run_paths_walks_folders_in_order(case_dir: Path) -> None:
    sub = case_dir / "b"
    sub.mkdir()
    (sub / "x.yaml").write_text("mapping: x\n")
    (sub / "x.cases.yaml").write_text("cases:\n  - name: a\n    given: {id: 1}\n    expect: {}\n")
    _write(case_dir, "cases:\n  - name: a\n    given: {id: 1}\n    expect: {}\n")
    results = run_paths([case_dir])
    assert [r.path.name for r in results] == ["x.cases.yaml", "order.inbound.cases.yaml"]
    assert all(r.ok for r in results)
