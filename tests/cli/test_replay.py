from __future__ import annotations

import gzip
import json
import shutil
import tracemalloc
from pathlib import Path

import pytest

from accord.cli import main
from tests.cli.conftest import run_accord


def _ndjson(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_replay_subprocess_writes_records_decisions_errors_and_summary(
    project: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    done = run_accord(
        "replay",
        "payloads",
        "--rules",
        "rules/order_review.rules",
        "--to",
        "erp",
        "--out",
        str(out),
    )  # channel and entity from payloads/<channel>/<entity>/
    assert done.returncode == 0, done.stderr
    text = done.stdout
    assert text.startswith("replayed 3 payloads in ")
    assert "  demo.order                               3" in text
    assert "  dead_lettered                            1" in text
    assert "  processed                                2" in text
    assert "errors by code:\n  MAP201                                   1" in text
    assert "  order_review: approve                    1" in text
    assert "  order_review: escalate                   1" in text
    assert "slowest records:" in text
    assert "unmapped fields (drift):\n  demo.order.inbound:\n    gift_wrap" in text
    assert "    items[].grams                                 1  e.g. 1002" in text

    records = _ndjson(out / "records.ndjson")
    assert [r["record_id"] for r in records] == ["1001", "1002"]
    assert records[1]["record"]["total"] == {"amount": "750.00", "currency": "USD"}
    decisions = _ndjson(out / "decisions.ndjson")
    kinds = [[o["kind"] for o in d["decision"]["outcomes"]] for d in decisions]
    assert kinds == [["approve"], ["escalate"]]
    outbound = _ndjson(out / "outbound/erp.ndjson")
    assert [o["payload"]["externalId"] for o in outbound] == ["1001", "1002"]
    assert outbound[1]["payload"]["amount"] == "750.00"
    assert "outbound payloads:\n  erp                                      2" in text
    (error,) = _ndjson(out / "errors.ndjson")
    assert error["source"] == "payloads/demo/order/1003-no-id.json"
    assert error["diagnostics"][0]["code"] == "MAP201"
    summary = json.loads((out / "summary.json").read_text())
    assert summary["statuses"] == {"dead_lettered": 1, "processed": 2}
    assert summary["errors_by_code"] == {"MAP201": 1}
    assert [u["path"] for u in summary["drift"]["demo.order.inbound"]] == [
        "gift_wrap",
        "items[].grams",
    ]


def test_replay_baseline_fails_only_on_new_unmapped_paths(
    in_project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    baseline = tmp_path / "baseline.json"
    args = ["replay", "payloads/demo/order", "--channel", "demo", "--entity", "order"]
    assert main([*args, "--write-baseline", str(baseline)]) == 0
    assert json.loads(baseline.read_text()) == {
        "unmapped": {"demo.order.inbound": ["gift_wrap", "items[].grams"]}
    }
    capsys.readouterr()
    assert main([*args, "--baseline", str(baseline)]) == 0
    assert "no unmapped paths beyond the baseline" in capsys.readouterr().out
    baseline.write_text(json.dumps({"unmapped": {"demo.order.inbound": ["gift_wrap"]}}))
    assert main([*args, "--baseline", str(baseline)]) == 1
    assert "NEW unmapped paths not in" in capsys.readouterr().out
    baseline.write_text("[]")
    assert main([*args, "--baseline", str(baseline)]) == 3
    assert "CLI031" in capsys.readouterr().err
    assert main([*args, "--strict"]) == 1  # one payload failed to map


def test_replay_streams_ndjson_gzip_and_reports_unroutable_and_bad_lines(
    in_project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dump = tmp_path / "dump.ndjson.gz"
    with gzip.open(dump, "wt") as stream:
        stream.write('{"id": 1, "currency": "USD"}\nnot json\n{"id": 2, "currency": "EUR"}\n')
    assert (
        main(["replay", str(dump), "--channel", "demo", "--entity", "order", "--format", "json"])
        == 0
    )
    doc = json.loads(capsys.readouterr().out)
    assert doc["payloads"] == 3
    assert doc["statuses"] == {"processed": 2, "unreadable": 1}
    assert doc["errors_by_code"] == {"CLI010": 1}
    assert main(["replay", str(dump), "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["statuses"] == {"unreadable": 1, "unroutable": 2}
    assert main(["replay", "no/such/dir"]) == 3


def test_replay_through_the_engine_with_a_project(
    project: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    shutil.copytree(project / "payloads", tmp_path / "payloads")
    shutil.copytree(project / "rules", tmp_path / "rules")
    spec = (project / "mappings/demo/order.inbound.yaml").read_text()
    (tmp_path / "mappings/demo").mkdir(parents=True)
    (tmp_path / "mappings/demo/order.inbound.yaml").write_text(spec)
    (tmp_path / "accord.yaml").write_text(
        "project: fixture-shop\nmappings: [mappings]\nrules: [rules]\n"
        "channels:\n  - {name: demo, kind: demo, api_version: '2026-01'}\n"
        "flows:\n  - name: demo-orders\n    from: {channel: demo, entity: order}\n"
        "    rules: [order_review]\n"
    )
    monkeypatch.chdir(tmp_path)
    assert main(["replay", "payloads", "--project", "accord.yaml", "--out", "out"]) == 0
    text = capsys.readouterr().out
    assert "  processed                                2" in text
    assert "  dead_lettered                            1" in text
    assert "  order_review: escalate                   1" in text
    assert "    gift_wrap" in text
    assert [r["record_id"] for r in _ndjson(tmp_path / "out/records.ndjson")] == [
        "demo:1001",
        "demo:1002",
    ]
    assert not (tmp_path / "accord.db").exists()  # a replay never touches the real store


def _replay_peak(tmp_path: Path, n: int) -> int:
    dump = tmp_path / f"many-{n}.ndjson"
    line = json.dumps(
        {
            "id": 0,
            "currency": "USD",
            "total": "9.99",
            "note": "x" * 200,
            "items": [{"sku": "A", "qty": 1, "price": "9.99"}],
        }
    )
    with dump.open("w") as stream:
        for i in range(n):
            stream.write(line.replace('"id": 0', f'"id": {i}') + "\n")
    tracemalloc.start()
    try:
        main(
            [
                "replay",
                str(dump),
                "--channel",
                "demo",
                "--entity",
                "order",
                "--out",
                str(tmp_path / f"out-{n}"),
                "--format",
                "json",
            ]
        )
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_replay_memory_stays_flat(
    in_project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _replay_peak(tmp_path, 50)  # warm caches: compiled mapping, imports
    small = _replay_peak(tmp_path, 200)
    large = _replay_peak(tmp_path, 2000)
    capsys.readouterr()
    # ten times the payloads: peak memory may not grow with the count (allow noise)
    assert large < small * 1.5 + 256 * 1024, (small, large)
    assert len((tmp_path / "out-2000/records.ndjson").read_text().splitlines()) == 2000


def test_a_pack_decides_only_records_of_its_entity(
    in_project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    refunds = tmp_path / "refunds.rules"
    refunds.write_text(
        'ruleset refunds\nversion "1"\nover refund\n'
        'rule any when amount > 0 USD then approve because "always"\n'
    )
    args = ["replay", "payloads", "--rules", "rules/order_review.rules", "--rules", str(refunds)]
    assert main([*args, "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["decisions_by_outcome"] == {"order_review: approve": 1, "order_review: escalate": 1}
    assert doc["errors_by_code"] == {"MAP201": 1}
