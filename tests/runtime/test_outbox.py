"""The transactional outbox: rows kept with their ingest, delivered through connectors, on both
stores."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2
import pytest

from accord.clock import FrozenClock
from accord.connectors.registry import connector_for
from accord.connectors.retry import RetryPolicy
from accord.connectors.secrets import StaticSecrets
from accord.diagnostics import Diagnostic
from accord.engine.runtime.engine import Engine, Event
from accord.engine.runtime.outbox import OUTBOX_EVENT_PREFIX, deliver, outbox_key
from accord.engine.runtime.store import open_store
from accord.errors import ErrorClass, RequestRejectedError, TransientError

from .fakes import FakeRuleSet, make_catalog, make_project

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
DESTINATIONS = ["netsuite.sales_order", "shipbob.order", "shopify.inventory_level"]


def order(oid: int, *, updated: str = "2026-03-01T10:00:00Z", total: str = "25.00",
          sku: str = "SKU-1") -> dict[str, Any]:  # fmt: skip
    return {"id": oid, "updated_at": updated, "total_price": total,
            "line_items": [{"sku": sku, "quantity": 1}]}  # fmt: skip


@pytest.fixture
def engine(store_url: str, tmp_path: Path) -> Iterator[Engine]:
    rules = {"order_policy": FakeRuleSet(), "refund_governance": FakeRuleSet()}
    eng = Engine(make_project(tmp_path, store_url), open_store(store_url), catalog=make_catalog(),
                 rulesets=rules, clock=FrozenClock(T0), batch_size=4)  # fmt: skip
    with eng.store.transaction() as tx:
        for sku in ("SKU-1", "SKU-2"):
            tx.adjust_on_hand(sku, "main", 50, op="receive", now="t")
    yield eng
    eng.close()


@dataclass
class Stub:
    """A connector that records every write and answers with a made-up id, or raises the
    errors it is given (one per call, then succeeds)."""

    channel: str
    errors: list[Exception] = field(default_factory=list)
    calls: list[tuple[str, str, str | None, dict[str, Any]]] = field(default_factory=list)
    pause: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def _answer(self, op: str, entity: str, id: str | None, record: Mapping[str, Any],
                key: str) -> dict[str, Any]:  # fmt: skip
        if self.pause:
            time.sleep(self.pause)
        with self.lock:
            if self.errors:
                raise self.errors.pop(0)
            self.calls.append((op, entity, id, {"key": key, **record}))
            return {"id": f"{self.channel}-{len(self.calls)}"}

    def create(self, entity: str, record: Mapping[str, Any], *,
               idempotency_key: str) -> dict[str, Any]:  # fmt: skip
        return self._answer("create", entity, None, record, idempotency_key)

    def update(self, entity: str, id: str, record: Mapping[str, Any], *,
               idempotency_key: str) -> dict[str, Any]:  # fmt: skip
        return self._answer("update", entity, id, record, idempotency_key)


def stubs() -> dict[str, Stub]:
    return {name: Stub(name) for name in ("netsuite", "shipbob", "shopify")}


def rows(engine: Engine, status: str | None = "pending") -> list[Any]:
    return engine.outbox(status)


def test_ingest_keeps_one_row_per_destination_payload(engine: Engine) -> None:
    result = engine.ingest("shopify", "order", order(1), event_id="e1")
    assert result.status == "processed"
    kept = rows(engine)
    assert [f"{r.destination}.{r.entity}" for r in kept] == DESTINATIONS
    so, wms, level = kept
    assert json.loads(so.payload) == {"externalId": "1", "total": "25.00"}
    assert json.loads(wms.payload) == result.outbound["shipbob.order"]
    entry = result.outbound["shopify.inventory_level"][0]
    assert (level.ref, json.loads(level.payload)) == ("SKU-1", entry["payload"])
    assert json.loads(level.payload) == {"sku": "SKU-1", "quantity": 48}  # 50 - 1 - buffer 1
    assert {r.event_key for r in kept} == {"shopify:order:e1"}
    assert {r.record_id for r in kept} == {"shopify:1"}
    assert [r.idempotency_key for r in kept] == [
        outbox_key("shopify:order:e1", "netsuite.sales_order"),
        outbox_key("shopify:order:e1", "shipbob.order"),
        outbox_key("shopify:order:e1", "shopify.inventory_level", 0),
    ]
    assert {(r.status, r.attempts, r.response_id) for r in kept} == {("pending", 0, None)}
    assert {r.created_at for r in kept} == {"2026-03-02T10:00:00Z"}


def test_rows_share_the_ingest_transaction(engine: Engine) -> None:
    prepared = engine._prepare(Event("shopify", "order", order(2), "e2"))
    kept_inside: list[int] = []

    def die_before_commit() -> None:
        with engine.store.transaction() as tx:
            engine._apply(tx, prepared)
            kept_inside.append(len(tx.outbox()))  # written, but only if the event commits
            raise RuntimeError("the host died before commit")

    with pytest.raises(RuntimeError):
        die_before_commit()
    assert kept_inside == [3]
    assert rows(engine, None) == []
    with engine.store.transaction() as tx:
        assert tx.count_events() == 0


def test_failed_duplicate_and_stale_events_keep_nothing(engine: Engine) -> None:
    quarantined = engine.ingest("shopify", "order", order(3, total="5000.00"), event_id="big")
    assert quarantined.status == "quarantined"
    assert rows(engine, None) == []
    engine.ingest("shopify", "order", order(4, updated="2026-03-01T11:00:00Z"), event_id="a")
    assert len(rows(engine)) == 3
    again = engine.ingest("shopify", "order", order(4, updated="2026-03-01T11:00:00Z"),
                          event_id="a")  # fmt: skip
    redelivered = engine.ingest("shopify", "order", order(4, updated="2026-03-01T11:00:00Z"),
                                event_id="b")  # fmt: skip
    stale = engine.ingest("shopify", "order", order(4, updated="2026-03-01T09:00:00Z"),
                          event_id="c")  # fmt: skip
    assert [again.status, redelivered.status, stale.status] == ["duplicate", "duplicate", "stale"]
    assert len(rows(engine, None)) == 3


def test_deliver_sends_each_row_with_its_key(engine: Engine) -> None:
    engine.ingest("shopify", "order", order(5), event_id="e5")
    kept = rows(engine)
    conns = stubs()
    report = deliver(engine, conns, limit=10)
    assert [(d.status, d.response_id, d.attempts) for d in report.deliveries] == [
        ("delivered", "netsuite-1", 1), ("delivered", "shipbob-1", 1),
        ("delivered", "shopify-1", 1),
    ]  # fmt: skip
    assert conns["netsuite"].calls == [("create", "sales_order", None, {
        "key": kept[0].idempotency_key, "externalId": "5", "total": "25.00"})]  # fmt: skip
    assert conns["shopify"].calls == [("update", "inventory_level", "SKU-1", {
        "key": kept[2].idempotency_key, "sku": "SKU-1", "quantity": 48})]  # fmt: skip
    done = rows(engine, "delivered")
    assert [(r.response_id, r.attempts, r.status) for r in done] == [
        ("netsuite-1", 1, "delivered"), ("shipbob-1", 1, "delivered"),
        ("shopify-1", 1, "delivered"),
    ]  # fmt: skip
    assert rows(engine) == []
    assert deliver(engine, conns).deliveries == []  # nothing is sent twice
    assert len(conns["netsuite"].calls) == 1


def test_transient_failure_waits_then_delivers_with_the_same_key(engine: Engine) -> None:
    engine.ingest("shopify", "order", order(6), event_id="e6")
    conns = stubs()
    conns["netsuite"].errors.append(TransientError("ERP timed out", status_code=503))
    first = deliver(engine, conns, now=T0)
    failed = [d for d in first.deliveries if d.destination == "netsuite"]
    assert [(d.status, d.attempts, d.error_class, d.next_attempt_at) for d in failed] == [
        ("pending", 1, "transient", "2026-03-02T10:00:30Z")]  # fmt: skip
    (row,) = rows(engine)
    assert (row.destination, row.attempts, row.error_class) == ("netsuite", 1, "transient")
    assert "ERP timed out" in (row.last_error or "")
    assert deliver(engine, conns, now=T0 + timedelta(seconds=10)).deliveries == []  # not due
    second = deliver(engine, conns, now=T0 + timedelta(seconds=30))
    assert [(d.status, d.attempts, d.response_id) for d in second.deliveries] == [
        ("delivered", 2, "netsuite-1")]  # fmt: skip
    assert conns["netsuite"].calls[0][3]["key"] == row.idempotency_key
    with engine.store.transaction() as tx:
        assert tx.dead_letters(None) == []


def test_quota_failure_waits_as_long_as_the_channel_asks(engine: Engine) -> None:
    engine.ingest("shopify", "order", order(7), event_id="e7")
    conns = stubs()
    from accord.errors import QuotaError

    conns["shipbob"].errors.append(QuotaError("slow down", status_code=429, retry_after=600.0))
    report = deliver(engine, conns, now=T0)
    (late,) = [d for d in report.deliveries if d.status == "pending"]
    assert (late.destination, late.error_class) == ("shipbob", "quota")
    assert late.next_attempt_at == "2026-03-02T10:10:00Z"


def test_rejected_payload_is_dead_and_dead_lettered(engine: Engine) -> None:
    engine.ingest("shopify", "order", order(8), event_id="e8")
    conns = stubs()
    conns["netsuite"].errors.append(RequestRejectedError(
        "invalid field total", status_code=400,
        diagnostics=(Diagnostic(code="CONN003", message="invalid field total"),),
    ))  # fmt: skip
    report = deliver(engine, conns, now=T0)
    dead = [d for d in report.deliveries if d.status == "dead"]
    assert [(d.destination, d.error_class, d.code) for d in dead] == [
        ("netsuite", "validation", "CONN003")]  # fmt: skip
    assert report.count("delivered") == 2
    (row,) = rows(engine, "dead")
    with engine.store.transaction() as tx:
        (letter,) = tx.dead_letters("open")
    assert letter.id == dead[0].dlq_id
    assert letter.event_key == OUTBOX_EVENT_PREFIX + row.idempotency_key
    assert (letter.channel, letter.entity, letter.record_id) == (
        "netsuite",
        "sales_order",
        "shopify:8",
    )
    assert letter.error_class is ErrorClass.VALIDATION
    assert json.loads(letter.raw_payload) == {"externalId": "8", "total": "25.00"}
    # After the fix, dlq retry puts it back; the next run delivers it with the same key.
    again = engine.retry_dead_letter(letter.id)
    assert again.status == "requeued"
    assert [r.id for r in rows(engine)] == [row.id]
    later = deliver(engine, conns, now=T0 + timedelta(minutes=1))
    assert [(d.status, d.attempts) for d in later.deliveries] == [("delivered", 2)]
    assert conns["netsuite"].calls[0][3]["key"] == row.idempotency_key
    with engine.store.transaction() as tx:
        assert tx.dead_letter(letter.id).status == "resolved"  # type: ignore[union-attr]


def test_transient_failures_end_dead_after_max_attempts(engine: Engine) -> None:
    engine.ingest("shopify", "order", order(9), event_id="e9")
    conns = stubs()
    conns["shopify"].errors += [TransientError("down"), TransientError("still down")]
    deliver(engine, conns, now=T0, max_attempts=2)
    report = deliver(engine, conns, now=T0 + timedelta(hours=1), max_attempts=2)
    assert [(d.destination, d.status, d.attempts) for d in report.deliveries] == [
        ("shopify", "dead", 2)]  # fmt: skip
    with engine.store.transaction() as tx:
        assert [d.error_class for d in tx.dead_letters()] == [ErrorClass.TRANSIENT]


def test_missing_connector_and_unsupported_entity_are_dead(engine: Engine) -> None:
    engine.ingest("shopify", "order", order(10), event_id="e10")

    def refuse(request: httpx2.Request) -> httpx2.Response:
        raise AssertionError("nothing may be sent")

    # A real ShipBob connector asked for a NetSuite sales order: it writes only orders.
    client = httpx2.Client(transport=httpx2.MockTransport(refuse))
    shipbob = connector_for("shipbob", client, secrets=StaticSecrets({}))
    report = deliver(engine, {"netsuite": shipbob, "shopify": Stub("shopify")}, now=T0)
    outcome = {d.destination: (d.status, d.code, d.error_class) for d in report.deliveries}
    assert outcome == {
        "netsuite": ("dead", "CONN014", "validation"),
        "shipbob": ("dead", "OUT001", "validation"),
        "shopify": ("delivered", None, None),
    }
    with engine.store.transaction() as tx:
        assert sorted(d.code for d in tx.dead_letters()) == ["CONN014", "OUT001"]


def test_real_connector_over_http_gets_the_key(engine: Engine) -> None:
    engine.ingest("shopify", "order", order(11), event_id="e11")
    seen: list[dict[str, Any]] = []

    def shipbob(request: httpx2.Request) -> httpx2.Response:
        body = json.loads(request.content)
        seen.append(body)
        if len(seen) == 1:
            return httpx2.Response(503, json={"message": "maintenance"})
        return httpx2.Response(201, json={"id": 777001, "reference_id": body["reference_id"]})

    client = httpx2.Client(transport=httpx2.MockTransport(shipbob))
    conn = connector_for(
        "shipbob", client, secrets=StaticSecrets({"SHIPBOB_TOKEN": "t", "SHIPBOB_CHANNEL_ID": "9"}),
        retry=RetryPolicy(max_attempts=1), sleep=lambda s: None,
    )  # fmt: skip
    conns: dict[str, Any] = {**stubs(), "shipbob": conn}
    first = deliver(engine, conns, now=T0)
    assert [d.status for d in first.deliveries if d.destination == "shipbob"] == ["pending"]
    second = deliver(engine, conns, now=T0 + timedelta(minutes=5))
    assert [(d.status, d.response_id) for d in second.deliveries] == [("delivered", "777001")]
    key = outbox_key("shopify:order:e11", "shipbob.order")
    assert [b["reference_id"] for b in seen] == [key, key]
    assert seen[1]["items"] == ["SKU-1"]


def test_a_killed_dispatcher_leaves_its_rows_due_after_the_lease(engine: Engine) -> None:
    engine.ingest("shopify", "order", order(12), event_id="e12")
    with engine.store.transaction() as tx:  # claimed, then the process died
        assert len(tx.claim_outbox(10, "2026-03-02T10:00:00Z", "2026-03-02T10:05:00Z")) == 3
    conns = stubs()
    assert deliver(engine, conns, now=T0 + timedelta(minutes=1)).deliveries == []
    report = deliver(engine, conns, now=T0 + timedelta(minutes=5))
    assert report.count("delivered") == 3


def test_two_dispatchers_never_deliver_a_row_twice(engine: Engine) -> None:
    for n in range(12):
        engine.ingest("shopify", "order", order(100 + n, sku=f"SKU-{n % 2 + 1}"),
                      event_id=f"c{n}")  # fmt: skip
    total = len(rows(engine))
    assert total == 36
    conns = {name: Stub(name, pause=0.002) for name in ("netsuite", "shipbob", "shopify")}
    done: list[int] = []
    lock = threading.Lock()
    start = threading.Barrier(2)

    def dispatcher() -> None:
        start.wait()
        while True:
            report = deliver(engine.store, conns, limit=4, now=T0)
            if not report.deliveries:
                return
            with lock:
                done.extend(d.id for d in report.deliveries)

    threads = [threading.Thread(target=dispatcher) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(done) == sorted(set(done))
    assert len(done) == total  # every row handled once
    keys = [c[3]["key"] for s in conns.values() for c in s.calls]
    superseded = rows(engine, "superseded")
    # Each SKU's stock level was queued six times; older ones still queued behind a newer one
    # are superseded, the rest are sent, and none twice.
    assert {r.entity for r in superseded} <= {"inventory_level"}
    assert len(keys) == len(set(keys)) == total - len(superseded)
    assert len(rows(engine, "delivered")) == total - len(superseded)
    assert len([c for c in conns["netsuite"].calls if c[0] == "create"]) == 12
    latest = {r.ref: json.loads(r.payload)["quantity"] for r in rows(engine, None)
              if r.entity == "inventory_level"}  # fmt: skip
    delivered_last = {c[2]: c[3]["quantity"] for c in sorted(
        conns["shopify"].calls, key=lambda c: c[3]["quantity"], reverse=True)}  # fmt: skip
    assert delivered_last == latest == {"SKU-1": 43, "SKU-2": 43}


def test_an_older_stock_level_is_superseded_not_sent_after_a_newer_one(engine: Engine) -> None:
    # Order 20 leaves 48 of SKU-1 to publish; its update fails for a while. Order 21 leaves 47,
    # delivered first. Retrying 48 after 47 would set the shop's stock back: it is superseded.
    engine.ingest("shopify", "order", order(20), event_id="e20")
    conns = stubs()
    conns["shopify"].errors.append(TransientError("shop down", status_code=503))
    first = deliver(engine, conns, now=T0)
    assert [d.status for d in first.deliveries if d.destination == "shopify"] == ["pending"]
    engine.ingest("shopify", "order", order(21), event_id="e21")
    engine.ingest("shopify", "order", order(22, sku="SKU-2"), event_id="e22")
    later = deliver(engine, conns, now=T0 + timedelta(minutes=5))
    by_status = {(d.ref, d.status) for d in later.deliveries if d.entity == "inventory_level"}
    assert by_status == {("SKU-1", "superseded"), ("SKU-1", "delivered"), ("SKU-2", "delivered")}
    sent = [c[3] for c in conns["shopify"].calls]
    assert [(s["sku"], s["quantity"]) for s in sent] == [("SKU-1", 47), ("SKU-2", 48)]
    assert not later.failed  # a superseded level is not a failure
    (old,) = rows(engine, "superseded")
    assert (old.ref, json.loads(old.payload)["quantity"], old.attempts) == ("SKU-1", 48, 1)
    # orders themselves are never superseded: each is its own record downstream
    assert len([c for c in conns["netsuite"].calls if c[0] == "create"]) == 3
    assert rows(engine) == []


def test_the_latest_stock_level_is_sent_even_when_an_older_one_was_delivered(
    engine: Engine,
) -> None:
    engine.ingest("shopify", "order", order(30), event_id="e30")
    conns = stubs()
    deliver(engine, conns, now=T0)
    engine.ingest("shopify", "order", order(31), event_id="e31")
    report = deliver(engine, conns, now=T0)
    assert [(d.ref, d.status) for d in report.deliveries if d.entity == "inventory_level"] == [
        ("SKU-1", "delivered")
    ]
    assert [c[3]["quantity"] for c in conns["shopify"].calls] == [48, 47]


def test_a_batch_keeps_one_stock_level_per_sku_the_latest(engine: Engine) -> None:
    # Four orders of SKU-1 and one of SKU-2 commit together (batch_size=4 and one more): the
    # shop needs the last quantity of each SKU per commit, not every step down to it.
    events = [Event("shopify", "order", order(40 + n, sku="SKU-2" if n == 2 else "SKU-1"),
                    f"b{n}") for n in range(5)]  # fmt: skip
    results = list(engine.ingest_many(events))
    assert [r.status for r in results] == ["processed"] * 5
    # each event's result still says what it published
    published = [r.outbound["shopify.inventory_level"][0]["payload"] for r in results]
    assert [(p["sku"], p["quantity"]) for p in published] == [
        ("SKU-1", 48), ("SKU-1", 47), ("SKU-2", 48), ("SKU-1", 46), ("SKU-1", 45)]  # fmt: skip
    kept = rows(engine)
    levels = [(r.ref, json.loads(r.payload)["quantity"], r.event_key) for r in kept
              if r.entity == "inventory_level"]  # fmt: skip
    # first commit (events b0-b3): SKU-2 at 48, SKU-1 at 46; second commit (b4): SKU-1 at 45
    assert levels == [("SKU-2", 48, "shopify:order:b2"), ("SKU-1", 46, "shopify:order:b3"),
                      ("SKU-1", 45, "shopify:order:b4")]  # fmt: skip
    assert len([r for r in kept if r.entity == "sales_order"]) == 5
    conns = stubs()
    deliver(engine, conns, now=T0)
    assert [(c[3]["sku"], c[3]["quantity"]) for c in conns["shopify"].calls] == [
        ("SKU-2", 48), ("SKU-1", 45)]  # fmt: skip
