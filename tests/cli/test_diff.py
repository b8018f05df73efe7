from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from accord.cli import main
from tests.cli.conftest import run_accord

RULES = "rules/order_review.rules"


def _lower_threshold(src: Path, dst: Path) -> Path:
    dst.write_text(src.read_text().replace("= 500 USD", "= 20 USD"))
    return dst


def test_rule_diff_subprocess_groups_changes_by_rule(project: Path, tmp_path: Path) -> None:
    new = _lower_threshold(project / RULES, tmp_path / "order_review.rules")
    done = run_accord(
        "diff", RULES, str(new), "--payloads", "payloads", "--channel", "demo", "--entity", "order"
    )
    assert done.returncode == 1, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == f"rules diff: {RULES} -> {new}"
    assert lines[1] == "3 records: 1 changed, 1 unchanged, 1 failed in both or unreadable"
    assert lines[2:7] == [
        "changes by rule:",
        "       1  outcomes: approve -> escalate",
        "       1  rule big_order: not matched -> matched",
        "       1  rule small_order: matched -> not matched",
        "errors by code:",
    ]
    assert "  payloads/demo/order/1001.json (1001)" in lines


def test_rule_diff_on_canonical_records_and_json(
    in_project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    same = [
        "diff",
        RULES,
        RULES,
        "--payloads",
        "payloads",
        "--channel",
        "demo",
        "--entity",
        "order",
    ]
    assert main(same) == 0
    assert "no record changes" in capsys.readouterr().out
    records = tmp_path / "records.ndjson"
    records.write_text(
        '{"id": "a", "total": {"amount": "100.00", "currency": "USD"}}\n'
        '{"id": "b", "total": {"amount": "10.00", "currency": "USD"}}\n'
    )
    new = _lower_threshold(in_project / RULES, tmp_path / "new.rules")
    assert main(["diff", RULES, str(new), "--payloads", str(records), "--format", "json"]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert (doc["records"], doc["changed"], doc["unchanged"]) == (2, 1, 1)
    assert doc["changed_records"][0]["record_id"] == "a"
    assert {"change": "outcomes: approve -> escalate", "records": 1} in doc["changes"]


def test_mapping_diff_groups_by_field(
    in_project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = in_project / "mappings/demo/order.inbound.yaml"
    new = tmp_path / "order.inbound.yaml"
    new.write_text(spec.read_text().replace("{from: sku}", "{from: sku, transform: [lower]}"))
    assert main(["diff", str(spec), str(new), "--payloads", "payloads"]) == 1
    out = capsys.readouterr().out
    assert "3 records: 2 changed, 0 unchanged, 1 failed in both or unreadable" in out
    assert "changes by field:\n       2  lines[].sku: changed" in out


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
    )


def test_diff_between_git_revisions(
    project: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(project / "rules", repo / "rules")
    shutil.copytree(project / "payloads", repo / "payloads")
    shutil.copytree(project / "mappings", repo / "mappings")
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "first")
    _lower_threshold(repo / RULES, repo / RULES)
    monkeypatch.chdir(repo)
    args = ["diff", RULES, "--payloads", "payloads", "--channel", "demo", "--entity", "order"]
    assert main([*args, "--rev", "HEAD"]) == 1
    out = capsys.readouterr().out
    assert out.startswith(f"rules diff: {RULES}@HEAD -> {RULES} (working tree)\n")
    assert "rule big_order: not matched -> matched" in out
    _git(repo, "commit", "-q", "-am", "second")
    assert main([*args, "--rev", "HEAD~1", "--rev", "HEAD"]) == 1
    assert "1 changed" in capsys.readouterr().out
    assert main([*args, "--rev", "HEAD", "--rev", "HEAD"]) == 0
    capsys.readouterr()
    assert main([*args, "--rev", "nope"]) == 3
    assert "CLI042" in capsys.readouterr().err
    assert main([*args, "--rev=--upload-pack=x"]) == 3  # never passed to git as an option
    assert main(["diff", RULES, "--payloads", "payloads"]) == 3  # one path needs --rev
    assert "CLI040" in capsys.readouterr().err


def test_rule_diff_over_a_replay_output(
    in_project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    assert main(["replay", "payloads", "--out", str(out), "--format", "json"]) == 0
    new = _lower_threshold(in_project / RULES, tmp_path / "new.rules")
    capsys.readouterr()
    assert main(["diff", RULES, str(new), "--payloads", str(out / "records.ndjson")]) == 1
    text = capsys.readouterr().out
    assert "2 records: 1 changed, 1 unchanged" in text
    assert f"  {out / 'records.ndjson'}:1 (1001)" in text
