"""The runtime's commands end to end, on a real project (real compiler, real canonical model),
on both stores."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from accord.cli import main
from accord.engine.runtime import Engine

from .project import order, write_project


def seed(project: Path, store_url: str, sku: str, qty: int) -> None:
    with (
        Engine.from_project(project, store_url=store_url) as engine,
        engine.store.transaction() as tx,
    ):
        tx.adjust_on_hand(sku, "main", qty, op="receive", now="2026-03-01T00:00:00Z")


def write_inbox(inbox: Path, payloads: dict[str, dict]) -> None:  # type: ignore[type-arg]
    folder = inbox / "shopify" / "order"
    folder.mkdir(parents=True, exist_ok=True)
    for name, payload in payloads.items():
        (folder / f"{name}.json").write_text(json.dumps(payload), encoding="utf-8")


def test_run_inbox_then_audit(
    store_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = write_project(tmp_path, store_url)
    seed(project, store_url, "SKU-1", 10)
    inbox = tmp_path / "inbox"
    write_inbox(inbox, {f"w{n}": order(n) for n in range(5)})
    (inbox / "env.jsonl").write_text(
        json.dumps({"channel": "shopify", "entity": "order", "event_id": "w0",
                    "payload": order(0)}) + "\n"
    )  # fmt: skip
    (inbox / "junk.json").write_text("{nope")
    code = main(["run", "--project", str(project), "--inbox", str(inbox), "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 1  # one file was rejected
    assert report["inbox"]["files"] == 7
    assert report["inbox"]["queued"] == 5  # env.jsonl repeats event w0
    assert report["inbox"]["already_queued"] == 1
    assert [r["code"] for r in report["inbox"]["rejected"]] == ["RUN020"]
    assert report["queue"] == {"done": 5}
    assert sum(report["processed"].values()) == 5
    assert (inbox / ".rejected" / "junk.json.error.txt").is_file()
    assert not (inbox / "shopify").exists()
    assert len(list((inbox / ".accepted").rglob("*.json"))) == 5

    code = main(["audit", "shopify:9000000000003", "--project", str(project), "--format", "json"])
    entries = json.loads(capsys.readouterr().out)
    assert code == 0
    assert [e["action"] for e in entries] == ["created"]
    assert entries[0]["event_id"] == "w3"
    assert entries[0]["mapping_id"] == "shopify.order.inbound"
    assert entries[0]["details"]["ledger"][0] == {"op": "reserve", "sku": "SKU-1",
                                                  "location": "main", "qty": 1,
                                                  "order_id": "shopify:9000000000003"}  # fmt: skip
    assert main(["audit", "shopify:nope", "--project", str(project)]) == 1


def test_run_with_two_worker_processes(store_url: str, tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    project = write_project(tmp_path, store_url)
    seed(project, store_url, "SKU-1", 25)
    inbox = tmp_path / "inbox"
    write_inbox(inbox, {f"w{n}": order(n) for n in range(40)})
    code = main(["run", "--project", str(project), "--inbox", str(inbox), "--workers", "2",
                 "--batch-size", "5", "--format", "json"])  # fmt: skip
    report = json.loads(capsys.readouterr().out)
    assert code == 0, report
    assert report["exit_codes"] == {"worker-0": 0, "worker-1": 0}
    assert sum(report["processed"].values()) == 40
    with Engine.from_project(project) as engine, engine.store.transaction() as tx:
        level = tx.level("SKU-1", "main")
        assert tx.count_records("order") == 40
        shorts = sum(1 for _, _, op, _, _ in tx.ledger_entries("SKU-1") if op == "reserve")
    assert (level.on_hand, level.reserved) == (25, 25)  # 40 orders, 25 units: never oversold
    assert shorts == 25


def test_dlq_retry_succeeds_after_the_spec_is_fixed(
    store_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The spec reads the id from the wrong field: every order fails with MAP201.
    project = write_project(tmp_path, store_url, id_path="order_ref")
    seed(project, store_url, "SKU-1", 3)
    with Engine.from_project(project) as engine:
        failed = engine.ingest("shopify", "order", json.dumps(order(1)), event_id="w1")
    assert failed.status == "dead_lettered"
    assert [d.code for d in failed.diagnostics] == ["MAP201"]
    assert failed.diagnostics[0].file is not None
    assert failed.diagnostics[0].file.endswith("order.inbound.yaml")

    assert main(["dlq", "list", "--project", str(project), "--format", "json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(d["id"], d["code"], d["error_class"], d["attempts"]) for d in listed] == [
        (failed.dlq_id, "MAP201", "validation", 1)
    ]
    assert main(["dlq", "show", str(failed.dlq_id), "--project", str(project)]) == 0
    shown = capsys.readouterr().out
    assert '"id": 9000000000001' in shown  # the raw payload, byte for byte
    assert "MAP201" in shown

    assert main(["dlq", "retry", str(failed.dlq_id), "--project", str(project)]) == 1
    assert "dead_lettered (MAP201)" in capsys.readouterr().out

    write_project(tmp_path, store_url, id_path="id", version=2)  # the fix
    assert main(["dlq", "retry", "--all", "--project", str(project), "--format", "json"]) == 0
    retried = json.loads(capsys.readouterr().out)
    assert retried == [{"id": failed.dlq_id, "status": "processed",
                        "record_id": "shopify:9000000000001", "diagnostics": []}]  # fmt: skip
    assert main(["dlq", "list", "--project", str(project)]) == 0
    assert "no dead letters" in capsys.readouterr().out
    assert main(["audit", "shopify:9000000000001", "--project", str(project)]) == 0
    assert "shopify.order.inbound v2" in capsys.readouterr().out


def test_dlq_drop_and_unknown_ids(store_url: str, tmp_path: Path,
                                  capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    project = write_project(tmp_path, store_url)
    with Engine.from_project(project) as engine:
        bad = engine.ingest("shopify", "order", b"{broken", event_id="b1")
    assert bad.diagnostics[0].code == "RUN001"
    assert main(["dlq", "drop", str(bad.dlq_id), "999", "--project", str(project)]) == 1
    out = capsys.readouterr()
    assert f"dropped {bad.dlq_id}" in out.out
    assert "no dead letter 999" in out.err
    assert main(["dlq", "list", "--status", "dropped", "--project", str(project)]) == 0
    assert "RUN001" in capsys.readouterr().out
    assert main(["dlq", "show", "999", "--project", str(project)]) == 1
    assert main(["dlq", "retry", "--project", str(project)]) == 2
