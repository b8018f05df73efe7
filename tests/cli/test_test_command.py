from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from accord.cli import main
from tests.cli.conftest import run_accord


def test_accord_test_subprocess_runs_mapping_and_rule_cases(project: Path) -> None:
    done = run_accord("test", "--coverage")
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines == [
        "ok     mappings/demo/order.inbound.cases.yaml  2 passed  coverage 74%",
        "  not exercised: branch:financial_status default, branch:number from[1], field:note, "
        "map:financial_status open, map:financial_status refunded",
        "ok     mappings/erp/order.outbound.cases.yaml  1 passed  coverage 100%",
        "ok     rules/order_review.cases.yaml  2 passed  coverage 100%",
        "5 passed in 3 case files; coverage 80.8% "
        "(21/26 fields, branches, map entries, rules and rows)",
    ]


def _copy(project: Path, tmp_path: Path) -> Path:
    shutil.copytree(project / "mappings", tmp_path / "mappings")
    shutil.copytree(project / "rules", tmp_path / "rules")
    shutil.copytree(project / "records", tmp_path / "records")
    return tmp_path


def test_failures_update_and_min_coverage(
    project: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = _copy(project, tmp_path)
    monkeypatch.chdir(root)
    cases = root / "rules/order_review.cases.yaml"
    cases.write_text(cases.read_text().replace("queue: finance", "queue: support"))
    assert main(["test", "rules"]) == 1
    out = capsys.readouterr().out
    assert "FAILED rules/order_review.cases.yaml  1 passed, 1 failed" in out
    assert (
        "rules/order_review.cases.yaml:2: FAILED 'a big order goes to finance': 1 difference" in out
    )
    assert 'outcomes[0].queue: expected "support", got "finance"' in out

    assert main(["test", "--update", "rules"]) == 0  # fixed, and says what it changed
    out = capsys.readouterr().out
    assert (
        "updated: case 'a big order goes to finance': "
        'expect.outcomes[0].queue: "support" -> "finance"' in out
    )
    assert "queue: finance" in cases.read_text()
    assert main(["test", "rules"]) == 0
    capsys.readouterr()

    assert main(["test", "--min-coverage", "81"]) == 1
    assert "coverage 80.8% is below --min-coverage 81" in capsys.readouterr().out
    assert main(["test", "--min-coverage", "80"]) == 0
    capsys.readouterr()


def test_broken_case_file_missing_path_and_formats(
    in_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["test", "broken/order.inbound.cases.yaml"]) == 1
    out = capsys.readouterr().out
    assert "ERROR  broken/order.inbound.cases.yaml  0 passed" in out
    assert "broken/order.inbound.cases.yaml:5:5: error CASE002" in out
    assert main(["test", "nowhere"]) == 3
    capsys.readouterr()

    assert main(["test", "--format", "json", "mappings/demo"]) == 0
    doc = json.loads(capsys.readouterr().out)
    (file,) = doc["files"]
    assert [c["status"] for c in file["cases"]] == ["passed", "passed"]
    assert file["coverage"]["missed"] == [
        "branch:financial_status default",
        "branch:number from[1]",
        "field:note",
        "map:financial_status open",
        "map:financial_status refunded",
    ]
    assert doc["summary"] == {"passed": 2, "failed": 0, "error": 0}

    assert main(["test", "--format", "junit", "mappings/demo", "broken"]) == 1
    root = ET.fromstring(capsys.readouterr().out.split("\n", 1)[1])
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("3", "0", "1")

    assert main(["test", "--format", "github", "broken"]) == 1
    assert "::error file=broken/order.inbound.cases.yaml,line=5,col=5" in (capsys.readouterr().out)


def test_a_broken_subject_fails_its_case_file_with_the_subjects_diagnostics(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "bad.rules").write_text(
        "ruleset bad\nover order\nrule r when total > then approve\n"
    )
    (tmp_path / "bad.cases.yaml").write_text("cases:\n  - name: a\n    given: {}\n    expect: {}\n")
    monkeypatch.chdir(tmp_path)
    assert main(["test", "."]) == 1
    out = capsys.readouterr().out
    assert "ERROR  bad.cases.yaml  0 passed" in out
    assert "bad.rules:3:21: error RULE001: " in out


def test_match_runs_only_the_named_cases(
    in_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["test", "-k", "THRESHOLD", "rules"]) == 0
    assert "ok     rules/order_review.cases.yaml  1 passed" in capsys.readouterr().out
