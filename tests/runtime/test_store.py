"""The state store, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from decimal import Decimal
from pathlib import Path

import pytest

from accord.diagnostics import Diagnostic
from accord.engine.runtime.store import (
    MIGRATIONS,
    AuditEntry,
    Reservation,
    Store,
    Tx,
    open_store,
    redact_url,
)
from accord.errors import ErrorClass, StoreError

NOW = "2026-03-02T10:00:00Z"


def test_migrations_are_versioned_and_idempotent(fresh_store_url: str) -> None:
    store_url = fresh_store_url
    with open_store(store_url) as s:
        assert s.schema_version() == MIGRATIONS[-1].version
        assert s.migrate(NOW) == []  # already applied: nothing to do
    with open_store(store_url) as again:  # a second process opening the same database
        assert again.schema_version() == MIGRATIONS[-1].version


def test_reservation_never_oversells_and_ledger_records_deltas(store: Store) -> None:
    with store.transaction() as tx:
        tx.adjust_on_hand("SKU-1", "main", 2, op="receive", now=NOW)
        assert tx.try_reserve("SKU-1", "main", 1, ref="o1", event_key="e1", now=NOW)
        assert not tx.try_reserve("SKU-1", "main", 2, ref="o2", event_key="e2", now=NOW)
        assert tx.try_reserve("SKU-1", "main", 1, ref="o2", event_key="e2", now=NOW)
        assert not tx.try_reserve("SKU-1", "main", 1, ref="o3", event_key="e3", now=NOW)
        tx.release("SKU-1", "main", 1, ref="o1", event_key="e4", now=NOW)
        tx.commit_units("SKU-1", "main", 1, ref="o2", event_key="e5", now=NOW)
        level = tx.level("SKU-1", "main")
        entries = tx.ledger_entries("SKU-1")
    assert (level.on_hand, level.reserved, level.available) == (1, 0, 1)
    assert [(op, qty, ref) for _, _, op, qty, ref in entries] == [
        ("receive", 2, None),
        ("reserve", 1, "o1"),
        ("reserve", 1, "o2"),
        ("release", 1, "o1"),
        ("commit", 1, "o2"),
    ]


def test_unknown_sku_has_nothing_available(store: Store) -> None:
    with store.transaction() as tx:
        assert not tx.try_reserve("NOPE", "main", 1, ref="o", event_key=None, now=NOW)
        assert tx.level("NOPE", "main").available == 0


def test_rollback_leaves_no_trace(store: Store) -> None:
    def fail() -> None:
        with store.transaction() as tx:
            tx.adjust_on_hand("SKU-1", "main", 5, now=NOW)
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        fail()
    with store.transaction() as tx:
        assert tx.levels() == []


def test_savepoint_undoes_only_its_block(store: Store) -> None:
    def fail(tx: Tx) -> None:
        with tx.savepoint():
            tx.adjust_on_hand("B", "main", 1, now=NOW)
            raise ValueError("undo B")

    with store.transaction() as tx:
        tx.adjust_on_hand("A", "main", 1, now=NOW)
        with pytest.raises(ValueError, match="undo B"):
            fail(tx)
    with store.transaction() as tx:
        assert [lv.sku for lv in tx.levels()] == ["A"]


def test_last_unit_race_with_threads(store: Store) -> None:
    with store.transaction() as tx:
        tx.adjust_on_hand("LAST", "main", 3, now=NOW)
    wins: list[bool] = []
    lock = threading.Lock()
    barrier = threading.Barrier(8)

    def grab(n: int) -> None:
        barrier.wait()
        for i in range(5):
            ref = f"t{n}-{i}"
            ok = store.run(
                lambda tx, ref=ref: tx.try_reserve("LAST", "main", 1, ref=ref, event_key=None,
                                                   now=NOW)
            )  # fmt: skip
            with lock:
                wins.append(ok)

    threads = [threading.Thread(target=grab, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(wins) == 40
    assert sum(wins) == 3
    with store.transaction() as tx:
        level = tx.level("LAST", "main")
        reserves = [e for e in tx.ledger_entries("LAST") if e[2] == "reserve"]
    assert (level.on_hand, level.reserved) == (3, 3)
    assert len(reserves) == 3


def test_last_unit_race_with_processes(store_url: str) -> None:
    with open_store(store_url) as s, s.transaction() as tx:
        tx.adjust_on_hand("LASTP", "main", 5, now=NOW)
    worker = Path(__file__).with_name("race_worker.py")
    start_at = time.time() + 1.5
    procs = [
        subprocess.Popen(
            [sys.executable, str(worker), store_url, "LASTP", "10", str(start_at), f"p{n}"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(4)
    ]
    outs = [p.communicate(timeout=60) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1] for o in outs]
    assert sum(int(o[0]) for o in outs) == 5
    with open_store(store_url) as s, s.transaction() as tx:
        level = tx.level("LASTP", "main")
    assert (level.on_hand, level.reserved, level.available) == (5, 5, 0)


def test_event_claim_is_once(store: Store) -> None:
    with store.transaction() as tx:
        assert tx.claim_event("k1", "shopify", "order", "w1", NOW)
        assert not tx.claim_event("k1", "shopify", "order", "w1", NOW)
        tx.finish_event("k1", "shopify:1", "processed", '{"a":1}')
    with store.transaction() as tx:
        assert tx.event_result("k1") == ("processed", '{"a":1}')
        assert tx.event_result("k2") is None


def test_records_round_trip_and_version(store: Store) -> None:
    common = {"entity": "order", "record_id": "shopify:1", "channel": "shopify",
              "external_id": "1", "event_key": "k", "now": NOW}  # fmt: skip
    with store.transaction() as tx:
        tx.put_record(source_updated_at="2026-01-01T00:00:00Z", content_hash="h1",
                      data='{"total": {"amount": "1.10", "currency": "USD"}}', version=1,
                      **common)  # fmt: skip
        tx.put_record(source_updated_at="2026-01-02T00:00:00Z", content_hash="h2",
                      data='{"total": {"amount": "2.20", "currency": "USD"}}', version=2,
                      **common)  # fmt: skip
    with store.transaction() as tx:
        rec = tx.get_record("order", "shopify:1", lock=True)
        assert tx.count_records("order") == 1
    assert rec is not None
    assert rec.version == 2
    assert rec.data["total"] == {"amount": "2.20", "currency": "USD"}  # JSON form: exact text
    assert rec.source_updated_at == "2026-01-02T00:00:00Z"


def test_reservations_upsert(store: Store) -> None:
    r = Reservation("o1", "0", "SKU", "main", 2, 0, 0, 0)
    with store.transaction() as tx:
        tx.put_reservation(r)
        tx.put_reservation(Reservation("o1", "0", "SKU", "main", 0, 2, 0, 0))
        got = tx.reservations("o1", lock=True)
    assert got == [Reservation("o1", "0", "SKU", "main", 0, 2, 0, 0)]


def test_refund_ledger_is_exact_and_once(store: Store) -> None:
    with store.transaction() as tx:
        tx.set_captured("shopify:1", Decimal("100.10"), "USD", NOW)
        assert tx.add_refund("r1", "shopify:1", Decimal("0.10"), "USD", True, NOW)
        assert not tx.add_refund("r1", "shopify:1", Decimal("0.10"), "USD", True, NOW)
        assert tx.add_refund("r2", "shopify:1", Decimal("0.20"), "USD", False, NOW)
        captured = tx.captured("shopify:1", lock=True)
        refunds = tx.refunds("shopify:1")
    assert captured == (Decimal("100.10"), "USD")
    assert sum(r.amount for r in refunds) == Decimal("0.30")
    assert [(r.refund_id, r.restock, r.idempotency_key) for r in refunds] == [
        ("r1", True, "r1"),
        ("r2", False, "r2"),
    ]


def test_dead_letters_count_attempts_and_keep_payload(store: Store) -> None:
    diag = Diagnostic(code="MAP201", message="required field 'id' is missing", file="o.yaml",
                      line=3, column=5)  # fmt: skip
    kwargs = {"event_key": "shopify:order:w1", "channel": "shopify", "entity": "order",
              "event_id": "w1", "record_id": None, "raw_payload": '{"x": 1}',
              "error_class": ErrorClass.VALIDATION, "code": "MAP201", "message": "bad",
              "diagnostics": [diag], "received_at": NOW, "now": NOW}  # fmt: skip
    with store.transaction() as tx:
        first = tx.put_dead_letter(**kwargs)  # type: ignore[arg-type]
        second = tx.put_dead_letter(**kwargs)  # type: ignore[arg-type]
    assert first == second
    with store.transaction() as tx:
        dl = tx.dead_letter(first)
        assert dl is not None
        assert tx.dead_letters() == [dl]
        assert tx.set_dead_letter_status(first, "dropped", NOW)
        assert tx.dead_letters() == []
        assert [d.id for d in tx.dead_letters(None)] == [first]
    assert dl.attempts == 2
    assert dl.raw_payload == '{"x": 1}'
    assert dl.diagnostics == (diag,)
    assert dl.error_class is ErrorClass.VALIDATION
    assert dl.to_dict(with_payload=False)["code"] == "MAP201"


def test_audit_trail_by_record(store: Store) -> None:
    entry = AuditEntry(record_id="shopify:1", entity="order", action="created", at=NOW,
                       source_system="shopify", event_id="w1", mapping_id="shopify.order.inbound",
                       mapping_version="3", rule_versions={"order_policy": "2"},
                       reasons=[{"rule": "high_value", "reason": "total over 500"}],
                       details={"ledger": [{"op": "reserve", "qty": 1}]})  # fmt: skip
    with store.transaction() as tx:
        tx.add_audit([entry, AuditEntry("shopify:2", "order", "created", NOW, "shopify")])
    with store.transaction() as tx:
        got = tx.audit("shopify:1")
    assert len(got) == 1
    assert got[0].id is not None
    assert got[0].to_dict() | {"id": None} == entry.to_dict()


def test_queue_claims_are_disjoint_across_concurrent_transactions(store: Store) -> None:
    with store.transaction() as tx:
        for i in range(6):
            assert tx.enqueue(f"k{i}", "shopify", "order", f"w{i}", "{}", NOW)
        assert not tx.enqueue("k0", "shopify", "order", "w0", "{}", NOW)
    if store.dialect == "postgresql":
        # Two open transactions: SKIP LOCKED gives the second one different rows.
        with store.transaction() as t1:
            a = t1.claim_queue(3)
            other = open_store(store.url)
            with other.transaction() as t2:
                b = t2.claim_queue(3)
                t2.finish_queue([q.id for q in b], "w2", NOW)
            other.close()
            t1.finish_queue([q.id for q in a], "w1", NOW)
        assert {q.event_key for q in a}.isdisjoint({q.event_key for q in b})
    else:
        with store.transaction() as t1:
            a = t1.claim_queue(3)
            t1.finish_queue([q.id for q in a], "w1", NOW)
        with store.transaction() as t2:
            b = t2.claim_queue(10)
            t2.finish_queue([q.id for q in b], "w2", NOW)
        assert len(b) == 3
    with store.transaction() as tx:
        assert tx.queue_counts() == {"done": 6}


def test_crash_before_commit_leaves_queue_items_pending(store: Store) -> None:
    with store.transaction() as tx:
        tx.enqueue("k", "shopify", "order", None, "{}", None)

    def crash() -> None:
        with store.transaction() as tx:
            items = tx.claim_queue(5)
            tx.finish_queue([q.id for q in items], "w", NOW)
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        crash()
    with store.transaction() as tx:
        assert tx.queue_counts() == {"pending": 1}


def test_database_errors_are_classified(store: Store) -> None:
    with pytest.raises(StoreError) as info, store.transaction() as tx:
        tx.execute("SELECT * FROM no_such_table")
    assert info.value.code == "STORE004"
    assert info.value.error_class is ErrorClass.VALIDATION


def test_closed_store_refuses(store_url: str) -> None:
    s = open_store(store_url)
    s.close()
    with pytest.raises(StoreError) as info:
        s.schema_version()
    assert info.value.code == "STORE002"


@pytest.mark.parametrize(
    "url", ["mysql://x", "sqlite:///:memory:", "sqlite:///", "postgresql://h/db?schema=a;drop"]
)
def test_bad_urls_are_store_errors(url: str) -> None:
    with pytest.raises(StoreError) as info:
        open_store(url)
    assert info.value.code == "STORE006"


def test_unreachable_postgres_is_a_transient_store_error() -> None:
    with pytest.raises(StoreError) as info:
        open_store("postgresql://nobody@127.0.0.1:1/none?connect_timeout=1")
    assert info.value.code == "STORE001"
    assert info.value.error_class is ErrorClass.TRANSIENT


def test_relative_sqlite_path_is_resolved_against_base_dir(tmp_path: Path) -> None:
    with open_store("sqlite:///state/accord.db", base_dir=tmp_path) as s:
        assert s.schema_version() == MIGRATIONS[-1].version
    assert (tmp_path / "state" / "accord.db").is_file()


def test_redact_url_hides_passwords() -> None:
    assert redact_url("postgresql://u:pw@h/db") == "postgresql://u:***@h/db"
    assert redact_url("sqlite:///a.db") == "sqlite:///a.db"


def test_an_old_database_is_upgraded_in_place(fresh_store_url: str) -> None:
    with open_store(fresh_store_url, migrate=False) as s:
        with s.transaction() as tx:
            s._applied(tx)  # creates the bookkeeping table
            for statement in MIGRATIONS[0].statements(s.dialect):
                tx.execute(statement)
            tx.execute("INSERT INTO accord_schema_migrations VALUES (1, 'v1', ?)", (NOW,))
            tx.set_captured("o1", Decimal("1.00"), "USD", NOW)
        assert s.schema_version() == 1
        assert s.migrate(NOW) == [2, 3]
        with s.transaction() as tx:
            assert tx.outbox(None) == []  # the outbox table exists, empty
            assert tx.add_refund("r1", "o1", Decimal("1.00"), "USD", False, NOW, "k-1")
            assert tx.refunds("o1")[0].idempotency_key == "k-1"
            assert tx.captured("o1") == (Decimal("1.00"), "USD")  # data kept
