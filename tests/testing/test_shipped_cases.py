"""Every sidecar case file shipped in mappings/ and rules/ passes through the generic runner,
so a plain ``pytest`` run exercises the content as ``accord test`` does."""

from __future__ import annotations

from pathlib import Path

import pytest

from accord.testing import describe_failure, find_case_files, run_case_file

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = sorted(find_case_files([ROOT / "mappings", ROOT / "rules"]))


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: str(p.relative_to(ROOT)))
def test_shipped_case_file_passes(path: Path) -> None:
    result = run_case_file(path)
    assert not result.diagnostics, "\n".join(d.render() for d in result.diagnostics)
    problems = [describe_failure(str(path.relative_to(ROOT)), c) for c in result.cases if not c.ok]
    assert not problems, "\n".join(problems)
    assert result.cases, f"{path} has no cases"
