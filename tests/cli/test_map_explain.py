from __future__ import annotations

import gzip
import io
import json
import sys
from pathlib import Path

import pytest

from accord.cli import main
from tests.cli.conftest import run_accord

SPEC = "mappings/demo/order.inbound.yaml"
ORDERS = "payloads/demo/order"


def test_map_subprocess_prints_canonical_json_and_reports_failures(project: Path) -> None:
    done = run_accord(
        "map",
        "--channel",
        "demo",
        "--entity",
        "order",
        "--validate",
        f"{ORDERS}/1001.json",
        f"{ORDERS}/1003-no-id.json",
    )
    assert done.returncode == 1
    (record,) = json.loads(done.stdout)
    assert record["id"] == "1001"
    assert record["total"] == {"amount": "30.00", "currency": "USD"}
    assert record["placed_at"] == "2026-03-01T14:30:00Z"
    assert record["lines"][1]["unit_price"] == {"amount": "10.00", "currency": "USD"}
    assert f"{ORDERS}/1003-no-id.json: {SPEC}:12:3: error MAP201: " in done.stderr


def test_map_ndjson_gzip_stdin_and_usage_errors(
    in_project: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # stdin, and a payload that is not JSON: unreadable input is exit code 3
    monkeypatch.setattr(sys, "stdin", io.StringIO('{"id": 7, "currency": "EUR"}'))
    assert main(["map", "--spec", SPEC, "-"]) == 0
    assert json.loads(capsys.readouterr().out)["id"] == "7"
    monkeypatch.setattr(sys, "stdin", io.StringIO("{not json"))
    assert main(["map", "--spec", SPEC, "-"]) == 3
    assert "CLI010" in capsys.readouterr().err
    dump = tmp_path / "orders.ndjson.gz"
    with gzip.open(dump, "wt") as out:
        out.write('{"id": 1, "currency": "USD", "total": "1.10"}\n\n{"id": 2, "currency": "JPY"}\n')
    assert main(["map", "--spec", SPEC, "--ndjson", str(dump)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [json.loads(line)["id"] for line in lines] == ["1", "2"]
    assert json.loads(lines[0])["total"] == {"amount": "1.10", "currency": "USD"}

    assert main(["map", f"{ORDERS}/1001.json"]) == 3  # no channel/entity/spec
    assert "CLI020" in capsys.readouterr().err
    assert main(["map", "--channel", "demo", "--entity", "refund", f"{ORDERS}/1001.json"]) == 1
    assert "MAP010" in capsys.readouterr().err
    assert main(["map", "--spec", SPEC, "missing.json"]) == 3
    assert "CLI010" in capsys.readouterr().err


def test_explain_subprocess_shows_spec_line_source_value_and_rules(project: Path) -> None:
    done = run_accord(
        "explain",
        "--channel",
        "demo",
        "--entity",
        "order",
        "--rules",
        "rules/order_review.rules",
        f"{ORDERS}/1002.json",
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert out.startswith(f"== {ORDERS}/1002.json (demo.order.inbound v1)\n")
    # per field: the value, the spec line, the source path and the value read
    lines = {line.split(" = ")[0]: line for line in out.splitlines() if " = " in line}
    # values in their JSON form: ids and amounts as strings, timestamps ISO-8601 UTC
    assert lines["id"].startswith('id = "1002"')
    assert f"{SPEC}:12" in lines["id"]
    assert "id read 1002" in lines["id"]
    assert f"{SPEC}:14" in lines["number"]
    assert 'name read "#1002"' in lines["number"]  # the first of the fallback chain
    assert lines["total"].startswith('total = {"amount": "750.00", "currency": "USD"}  ')
    assert lines["total"].endswith(' from[0] total read "750.00"')
    assert lines["placed_at"].startswith('placed_at = "2026-03-02T10:00:00Z"  ')
    assert lines["note"].endswith(" absent")
    assert "Decimal(" not in out
    assert "datetime." not in out
    assert "'open' -> 'pending'" in lines["financial_status"]  # the map entry used
    assert "-- rules rules/order_review.rules" in out
    assert 'outcome escalate(queue="finance") by big_order: order total 750.00 USD' in out
    assert "rule big_order: matched; read" in out
    assert "rule small_order: not matched" in out


def test_explain_json_facts_and_failures(
    in_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["explain", "--spec", SPEC, "--rules", "rules/order_review.rules", "--format", "json"]
    facts = ["--facts", '{"review_above": "1000.00 USD"}', "--now", "2026-03-02T10:00:00Z"]
    assert main([*args, *facts, f"{ORDERS}/1002.json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["record"]["id"] == "1002"
    decision = doc["decisions"]["rules/order_review.rules"]
    assert [o["kind"] for o in decision["outcomes"]] == ["approve"]
    fields = {f["target"]: f for f in doc["fields"]["fields"]}
    assert fields["total"]["value"] == {"amount": "750.00", "currency": "USD"}
    assert fields["total"]["read"] == "750.00"
    assert fields["placed_at"]["value"] == "2026-03-02T10:00:00Z"
    assert fields["id"]["read"] == 1002  # what the payload holds
    assert fields["note"]["produced"] is False

    assert main(["explain", "--spec", SPEC, f"{ORDERS}/1003-no-id.json"]) == 1
    captured = capsys.readouterr()
    assert "mapping failed" in captured.out
    assert "MAP201" in captured.err
    assert main([*args, "--facts", "[1]", f"{ORDERS}/1002.json"]) == 3
    assert "CLI021" in capsys.readouterr().err
    assert main([*args, "--now", "yesterday", f"{ORDERS}/1002.json"]) == 3
    assert "CLI022" in capsys.readouterr().err


def test_map_outbound_revives_the_canonical_record(
    in_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["map", "--channel", "erp", "--entity", "order", "--direction", "outbound"]
    assert main([*args, "records/order-1001.json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload == {
        "externalId": "1001",
        "orderDate": "2026-03-01",
        "currency": "USD",
        "amount": "30.00",
        "lines": [{"item": "A-1", "qty": 1}, {"item": "B-2", "qty": 2}],
    }
