from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from accord.cli import main
from tests.cli.conftest import run_accord
from tests.cli.test_output import sarif_validator


def test_validate_subprocess_reports_every_problem_located(project: Path) -> None:
    done = run_accord("validate", "broken", "broken/notes.yaml")
    assert done.returncode == 1, done.stderr
    out = done.stdout
    # other stages' messages may be reworded: their codes and locations are the contract
    assert "broken/bad.rules:3:21: error RULE001: " in out
    assert "broken/order.inbound.yaml:10:3: error MAP101: " in out
    assert "  totl: {from: total, as: money, currency: USD}\n  ^^^^\n" in out
    assert "broken/order.inbound.yaml:11:36: error MAP107: " in out
    assert "broken/order.inbound.cases.yaml:5:5: error CASE002: duplicate case name" in out
    assert "broken/syntax.yaml:4:1: error YAML001: " in out
    assert "broken/notes.yaml: warning CLI004: not an accord file" in out
    assert out.rstrip().endswith("5 errors, 1 warning in 5 files")


def test_validate_good_project_and_default_paths(
    in_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["validate"]) == 0  # mappings/ and rules/ of the current folder
    out = capsys.readouterr().out
    assert out.strip() == "0 errors, 0 warnings in 6 files"


def test_validate_formats(
    in_project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # annotations are automatic under GitHub Actions
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    assert main(["validate", "broken"]) == 1
    assert "::error file=broken/order.inbound.yaml,line=10,col=3,endColumn=7,title=MAP101::" in (
        capsys.readouterr().out
    )
    monkeypatch.delenv("GITHUB_ACTIONS")
    assert main(["validate", "--format", "sarif", "broken"]) == 1
    log = json.loads(capsys.readouterr().out)
    sarif_validator().validate(log)
    codes = sorted(r["ruleId"] for r in log["runs"][0]["results"])
    assert codes == ["CASE002", "MAP101", "MAP107", "RULE001", "YAML001"]

    assert main(["validate", "--format", "junit", "broken", "mappings"]) == 1
    root = ET.fromstring(capsys.readouterr().out.split("\n", 1)[1])
    assert (root.get("tests"), root.get("failures")) == ("8", "4")

    assert main(["validate", "--format", "json", "broken/syntax.yaml"]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["summary"] == {"files": 1, "errors": 1, "warnings": 0, "infos": 0}
    assert doc["diagnostics"][0]["code"] == "YAML001"
    assert doc["diagnostics"][0]["line"] == 4


def test_validate_exit_codes(in_project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "no/such/file.yaml"]) == 3
    assert "CLI001" in capsys.readouterr().out
    assert main(["validate", "broken/notes.yaml"]) == 0  # a warning only
    assert main(["validate", "--strict", "broken/notes.yaml"]) == 1
    with pytest.raises(SystemExit) as usage:
        main(["validate", "--format", "xml"])
    assert usage.value.code == 2


def test_a_hundred_files_of_a_real_project_shape_validate_clean(
    tmp_path: Path, project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # the shape of a real project: every spec and rule pack with its sidecar case file. How
    # fast this is, is measured by the benchmark suite (bench/, "accord validate"), not here.
    spec = (project / "mappings/demo/order.inbound.yaml").read_text()
    spec_cases = (project / "mappings/demo/order.inbound.cases.yaml").read_text()
    rules = (project / "rules/order_review.rules").read_text()
    rule_cases = (project / "rules/order_review.cases.yaml").read_text()
    for i in range(25):
        (tmp_path / f"o{i}.inbound.yaml").write_text(spec.replace("demo.order", f"demo{i}.order"))
        (tmp_path / f"o{i}.inbound.cases.yaml").write_text(spec_cases)
        (tmp_path / f"r{i}.rules").write_text(rules)
        (tmp_path / f"r{i}.cases.yaml").write_text(rule_cases)
    assert main(["validate", "--jobs", "1", str(tmp_path)]) == 0
    assert capsys.readouterr().out.strip().endswith("0 errors, 0 warnings in 100 files")


def test_parallel_validation_reports_the_same_as_serial(
    in_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["validate", "--jobs", "1", "--format", "json", "broken", "mappings"]) == 1
    serial = capsys.readouterr().out
    assert main(["validate", "--jobs", "2", "--format", "json", "broken", "mappings"]) == 1
    assert capsys.readouterr().out == serial
