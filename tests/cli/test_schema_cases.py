from __future__ import annotations

import json
from pathlib import Path

import pytest

from accord.cli import main
from accord.testing import case_file_schema

ROOT = Path(__file__).resolve().parents[2]


def test_schema_cases_prints_writes_and_checks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["schema", "cases"]) == 0
    assert json.loads(capsys.readouterr().out) == case_file_schema()
    target = tmp_path / "schemas" / "cases.schema.json"
    assert main(["schema", "cases", "--check", str(target)]) == 1
    assert "out of date" in capsys.readouterr().err
    assert main(["schema", "cases", "--write", str(target)]) == 0
    assert main(["schema", "cases", "--check", str(target)]) == 0
    assert main(["schema", "cases", "--check", str(ROOT / "docs/schemas/cases.schema.json")]) == 0
