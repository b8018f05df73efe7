"""Run every sidecar case file shipped beside the channel mapping specs.

Each ``mappings/<channel>/<entity>.<direction>.cases.yaml`` is run through the generic case
runner (:mod:`accord.testing.runner`), the same one ``accord test`` uses, so a case that passes
here passes in CI and in an analyst's editor.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from accord.testing.runner import describe_failure, run_case_file

MAPPINGS = Path(__file__).resolve().parents[2] / "mappings"
CASE_FILES = sorted(MAPPINGS.rglob("*.cases.yaml"))


def test_every_spec_has_a_case_file() -> None:
    specs = sorted(
        p
        for p in MAPPINGS.rglob("*.yaml")
        if p.name.count(".") == 2 and p.name.split(".")[1] in ("inbound", "outbound")
    )
    assert specs, "no mapping specs found"
    missing = [
        str(p.relative_to(MAPPINGS)) for p in specs if not p.with_suffix(".cases.yaml").exists()
    ]
    assert missing == []


@pytest.mark.parametrize(
    "case_file", CASE_FILES, ids=[str(p.relative_to(MAPPINGS)) for p in CASE_FILES]
)
def test_case_file(case_file: Path) -> None:
    result = run_case_file(case_file)
    problems = [d.render() for d in result.diagnostics]
    assert problems == []
    assert result.cases, f"{case_file.name} has no cases"
    failures = [describe_failure(str(case_file), c) for c in result.cases if not c.ok]
    assert failures == [], "\n\n".join(failures)
