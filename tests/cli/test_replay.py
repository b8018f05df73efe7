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


REPO = Path(__file__).resolve().parents[2]


def _section(text: str, title: str) -> dict[str, int]:
    """The ``name  count`` lines of one section of the printed summary."""
    _, found, rest = text.partition(f"\n{title}:\n")
    assert found, f"no {title!r} section in:\n{text}"
    counts = {}
    for line in rest.splitlines():
        if not line.startswith("  "):
            break
        name, _, count = line.strip().rpartition(" ")
        counts[name.strip()] = int(count)
    return counts


def test_the_readme_main_job_replays_the_bundled_samples(tmp_path: Path) -> None:
    # The Quickstart's main job, as `tasks.py demo` runs it, from the repository root.
    out = tmp_path / "out"
    done = run_accord(
        "replay",
        "samples/payloads",
        "--project",
        "accord.yaml",
        "--out",
        str(out),
        "--store",
        f"sqlite:///{tmp_path / 'accord.db'}",
        cwd=REPO,
    )
    assert done.returncode == 0, done.stderr
    text = done.stdout
    samples = {
        f"{folder.parent.name}.{folder.name}": sum(1 for p in folder.iterdir() if p.is_file())
        for folder in (REPO / "samples" / "payloads").glob("*/*")
        if folder.is_dir()
    }
    total = sum(samples.values())
    assert total >= 30
    assert text.startswith(f"replayed {total} payloads in ")
    summary = json.loads((out / "summary.json").read_text())
    assert summary["payloads"] == total
    assert summary["flows"] == samples  # every sample folder has a flow in the example project

    # order-1042-redelivery.json is order 1042 delivered again: one duplicate, nothing lost.
    statuses = _section(text, "status")
    assert statuses == summary["statuses"] == {"duplicate": 1, "processed": total - 1}
    assert "errors by code:" not in text
    assert summary["errors_by_code"] == {}

    records = _ndjson(out / "records.ndjson")
    assert len(records) == total
    (duplicate,) = [r for r in records if r["status"] == "duplicate"]
    assert duplicate["record_id"] == "shopify:5824913262723"
    assert duplicate["source"].startswith("samples/payloads/shopify/order/order-1042")
    order_1040 = next(r for r in records if r["source"].endswith("/order-1040.json"))
    assert order_1040["record"]["number"] == "#1040"
    assert order_1040["record"]["external_ids"] == {"shopify": "5824913260661"}

    decisions = _ndjson(out / "decisions.ndjson")
    assert decisions
    refund = next(d for d in decisions if d["record_id"] == "shopify:932811315")
    assert refund["ruleset"] == "refund_governance"
    outcomes = [(o["kind"], o.get("rule")) for o in refund["decision"]["outcomes"]]
    assert outcomes[:1] == [("approve", "small_common_refund")]
    assert _section(text, "decisions by outcome")["refund_governance: approve"] >= 1

    # Every Shopify order becomes a NetSuite sales order.
    sales_orders = _ndjson(out / "outbound" / "netsuite.sales_order.ndjson")
    shopify_orders = {
        r["record_id"] for r in records if r["channel"] == "shopify" and r["entity"] == "order"
    }
    assert {s["record_id"] for s in sales_orders} == shopify_orders
    # ... exactly once: the redelivered order 1042 sends nothing a second time.
    assert len(sales_orders) == len(shopify_orders)
    shipbob = _ndjson(out / "outbound" / "shipbob.order.ndjson")
    assert sorted(s["record_id"] for s in shipbob) == sorted(shopify_orders)
    assert len(shopify_orders) == samples["shopify.order"] - 1
    printed = _section(text, "outbound payloads")
    assert printed == summary["outbound"]
    assert printed["netsuite.sales_order"] == len(sales_orders)
    first = next(s for s in sales_orders if s["record_id"] == "shopify:5824913260661")
    assert first["payload"]["otherrefnum"] == "1040"
    assert first["payload"]["externalId"] == "accord-5824913260661"
    assert first["payload"]["tranDate"] == "2026-02-10"
    assert first["payload"]["item"]["items"] == [
        {
            "item": {"id": 102},
            "quantity": 1,
            "description": "Stoneware Mug",
            "price": {"id": "-1"},
            "rate": "19.50",
        }
    ]
    assert text.endswith(f"wrote {out}/ (records, decisions, outbound, errors, summary.json)\n")

    # Then the README's "look around" commands, each on this run's store.
    readme = (REPO / "README.md").read_text()
    block = readme.split("Then look around:", 1)[1].split("```console\n", 1)[1].split("```", 1)[0]
    commands = [line.split() for line in block.splitlines() if line.strip()]
    assert len(commands) >= 4
    store = f"sqlite:///{tmp_path / 'accord.db'}"
    for words in commands:
        assert words[0] == ".venv/bin/accord", words
        args = [store if w == "sqlite:///out/accord.db" else w for w in words[1:]]
        shown = run_accord(*args, cwd=REPO)
        assert shown.returncode == 0, (words, shown.stdout, shown.stderr)
        assert shown.stdout.strip(), words
        if words[1] == "audit":
            assert "created" in shown.stdout
        if words[1] == "outbox":
            assert "netsuite.sales_order" in shown.stdout
