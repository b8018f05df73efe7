"""The project docs/adding-a-channel.md builds (docs/tutorial/bol: a channel accord does not
ship) passes every step of the tutorial through the command line, and its drift check fails
when the channel starts sending a field nobody decided about."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from accord.cli import main
from accord.engine.runtime import Engine, check_project_file, load_project

TUTORIAL = Path(__file__).resolve().parents[2] / "docs" / "tutorial" / "bol"
PAYLOADS = sorted((TUTORIAL / "payloads").glob("*.json"))


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "bol-trial"
    shutil.copytree(TUTORIAL, root)
    monkeypatch.chdir(root)
    return root


def test_the_new_channel_is_a_valid_project(project: Path) -> None:
    assert check_project_file(project / "accord.yaml") == []
    assert load_project(project / "accord.yaml").channels["bol-nl"].kind == "bol"


def test_validate_and_test_pass(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "mappings", "accord.yaml"]) == 0
    assert capsys.readouterr().out.strip().endswith("0 errors, 0 warnings in 3 files")
    assert main(["test", "mappings", "--coverage"]) == 0
    out = capsys.readouterr().out
    assert "4 passed in 1 case file; coverage 100.0%" in out
    assert "not exercised" not in out


@pytest.mark.parametrize("payload", PAYLOADS, ids=lambda p: p.stem)
def test_every_payload_maps_to_a_valid_record(
    project: Path, payload: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["map", "--channel", "bol", "--entity", "order", "--validate",
                 f"payloads/{payload.name}"])  # fmt: skip
    captured = capsys.readouterr()
    assert (code, captured.err) == (0, "")
    record = json.loads(captured.out)
    assert record["id"] == json.loads(payload.read_text())["orderId"]
    assert record["currency"] == "EUR"
    assert all(line["unit_price"]["currency"] == "EUR" for line in record["lines"])


def test_the_project_ingests_the_orders(project: Path) -> None:
    payload = PAYLOADS[0].read_text()
    project_file = project / "accord.yaml"
    project_file.write_text(
        project_file.read_text() + f"store: sqlite:///{project / 'accord.db'}\n"
    )
    with Engine.from_project(project_file) as engine:
        result = engine.ingest("bol-nl", "order", payload, event_id="bol-1")
    assert result.status == "processed", result.diagnostics
    assert result.record_id == "bol-nl:1043946570"
    assert result.record is not None
    assert [line["sku"] for line in result.record["lines"]] == ["TEE-ORG-BLK-M", "MUG-STONE-12"]


def test_the_drift_baseline_holds_and_catches_a_new_field(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["replay", "payloads", "--channel", "bol", "--entity", "order"]
    assert main([*args, "--baseline", "drift-baseline.json"]) == 0
    assert "none: every payload field is mapped, kept in extra, or ignored" in (
        capsys.readouterr().out
    )
    path = project / "payloads" / "order-1043946571.json"
    order = json.loads(path.read_text())
    order["billingDetails"]["orderReference"] = "PO-2231"
    path.write_text(json.dumps(order))
    assert main([*args, "--baseline", "drift-baseline.json"]) == 1
    out = capsys.readouterr().out
    assert "bol.order.inbound: billingDetails.orderReference (1)" in out
