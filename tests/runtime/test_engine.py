"""The Engine's pipeline, idempotency, ledgers and dead-letter path, on both stores."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from accord.clock import FrozenClock
from accord.diagnostics import Diagnostic
from accord.engine.mapping import compile_mapping, load_spec
from accord.engine.runtime.config import Endpoint, FlowConfig
from accord.engine.runtime.engine import Engine, Event
from accord.engine.runtime.store import open_store
from accord.engine.yamlsource import load_yaml
from accord.errors import ErrorClass, StoreError
from accord.resources import mappings_dir

from .fakes import FakeMapping, FakeRuleSet, make_catalog, make_project, shop_order

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def order(oid: int, *, updated: str = "2026-03-01T10:00:00Z", qty: int = 1, sku: str = "SKU-1",
          **extra: Any) -> dict[str, Any]:  # fmt: skip
    return {"id": oid, "updated_at": updated, "total_price": "25.00",
            "line_items": [{"sku": sku, "quantity": qty}], **extra}  # fmt: skip


@pytest.fixture
def rules() -> dict[str, FakeRuleSet]:
    return {"order_policy": FakeRuleSet(), "refund_governance": FakeRuleSet()}


@pytest.fixture
def engine(store_url: str, tmp_path: Path, rules: dict[str, FakeRuleSet]) -> Iterator[Engine]:
    store = open_store(store_url)
    eng = Engine(make_project(tmp_path, store_url), store, catalog=make_catalog(),
                 rulesets=rules, clock=FrozenClock(T0), batch_size=4)  # fmt: skip
    yield eng
    eng.close()


def stock(engine: Engine, sku: str, qty: int, location: str = "main") -> None:
    with engine.store.transaction() as tx:
        tx.adjust_on_hand(sku, location, qty, op="receive", now="t")


def level(engine: Engine, sku: str, location: str = "main") -> tuple[int, int]:
    with engine.store.transaction() as tx:
        lv = tx.level(sku, location)
    return lv.on_hand, lv.reserved


def test_order_is_mapped_decided_reserved_routed_and_audited(engine: Engine) -> None:
    stock(engine, "SKU-1", 5)
    r = engine.ingest("shopify", "order", order(1001, qty=2), event_id="w-1")
    assert r.status == "processed"
    assert r.record_id == "shopify:1001"
    assert r.record is not None
    assert r.record["total"] == {"amount": Decimal("25.00"), "currency": "USD"}
    assert r.decisions["order_policy"].fired == ["ok"]
    assert r.outbound["netsuite.sales_order"] == {"externalId": "1001", "total": "25.00"}
    assert r.outbound["shipbob.order"] == {"reference_id": "1001", "items": ["SKU-1"]}
    # 5 on hand - 2 reserved - 1 buffer for shopify
    assert r.outbound["shopify.inventory_level"] == [
        {"sku": "SKU-1", "available": 2, "payload": {"sku": "SKU-1", "quantity": 2}}
    ]
    assert [(o["op"], o["qty"], o["location"]) for o in r.ledger] == [("reserve", 2, "main")]
    assert level(engine, "SKU-1") == (5, 2)
    with engine.store.transaction() as tx:
        audit = tx.audit("shopify:1001")
    assert len(audit) == 1
    entry = audit[0]
    assert (entry.action, entry.source_system, entry.event_id) == ("created", "shopify", "w-1")
    assert (entry.mapping_id, entry.mapping_version) == ("shopify.order.inbound", "1")
    assert entry.rule_versions == {"order_policy": "1"}
    assert entry.at == "2026-03-02T10:00:00Z"  # the injected clock
    assert entry.details["ledger"][0]["op"] == "reserve"
    as_json = r.to_dict()
    assert as_json["record"]["total"] == {"amount": "25.00", "currency": "USD"}
    assert as_json["decisions"]["order_policy"] == {"outcomes": [{"kind": "approve"}],
                                                    "fired": ["ok"]}  # fmt: skip


def test_same_event_twice_gives_same_result_and_no_second_write(engine: Engine) -> None:
    stock(engine, "SKU-1", 5)
    first = engine.ingest("shopify", "order", order(1), event_id="w-1")
    again = engine.ingest("shopify", "order", order(1), event_id="w-1")
    assert again.status == "duplicate"
    assert {**again.to_dict(), "status": "processed"} == first.to_dict()
    # same payload without an event id: deduplicated by its content, then by natural key
    third = engine.ingest("shopify", "order", order(1))
    assert third.status == "duplicate"
    assert level(engine, "SKU-1") == (5, 1)
    with engine.store.transaction() as tx:
        assert len(tx.audit("shopify:1")) == 1
        assert tx.count_records("order") == 1


def test_redelivery_with_new_webhook_id_is_a_natural_key_duplicate(engine: Engine) -> None:
    stock(engine, "SKU-1", 5)
    engine.ingest("shopify", "order", order(1), event_id="w-1")
    r = engine.ingest("shopify", "order", order(1, total_price="99.00"), event_id="w-2")
    assert r.status == "duplicate"
    assert r.record is not None
    assert r.record["total"]["amount"] == "25.00"  # the stored state, untouched
    assert level(engine, "SKU-1") == (5, 1)


def test_older_update_after_newer_is_stale_and_never_overwrites(engine: Engine) -> None:
    stock(engine, "SKU-1", 5)
    engine.ingest("shopify", "order", order(1, updated="2026-03-01T12:00:00Z",
                                             total_price="30.00"), event_id="new")  # fmt: skip
    r = engine.ingest("shopify", "order", order(1, updated="2026-03-01T09:00:00-02:00",
                                                 total_price="20.00"), event_id="old")  # fmt: skip
    # 09:00-02:00 is 11:00Z: older than 12:00Z although the text sorts later
    assert r.status == "stale"
    assert [d.code for d in r.diagnostics] == ["STORE010"]
    with engine.store.transaction() as tx:
        rec = tx.get_record("order", "shopify:1")
        actions = [a.action for a in tx.audit("shopify:1")]
    assert rec is not None
    assert rec.data["total"]["amount"] == "30.00"
    assert rec.version == 1
    assert actions == ["created", "stale_ignored"]


def test_newer_update_applies_and_cancel_releases(engine: Engine) -> None:
    stock(engine, "SKU-1", 3)
    engine.ingest("shopify", "order", order(1, qty=2), event_id="a")
    assert level(engine, "SKU-1") == (3, 2)
    r = engine.ingest("shopify", "order", order(1, qty=2, updated="2026-03-01T11:00:00Z",
                                                 cancelled_at="2026-03-01T11:00:00Z"),
                      event_id="b")  # fmt: skip
    assert r.status == "processed"
    assert r.version == 2
    assert [(o["op"], o["qty"]) for o in r.ledger] == [("release", 2)]
    assert r.outbound["shopify.inventory_level"][0]["available"] == 2  # 3 - 0 - buffer 1
    assert level(engine, "SKU-1") == (3, 0)


def test_fulfillment_commits_reserved_units(engine: Engine) -> None:
    stock(engine, "SKU-1", 3)
    engine.ingest("shopify", "order", order(7, qty=2), event_id="o")
    r = engine.ingest(
        "shopify",
        "fulfillment",
        {"id": 70, "order_id": 7, "lines": [{"sku": "SKU-1", "quantity": 2}]},
    )
    assert r.status == "processed"
    assert [(o["op"], o["qty"]) for o in r.ledger] == [("commit", 2)]
    assert level(engine, "SKU-1") == (1, 0)
    with engine.store.transaction() as tx:
        assert [a.action for a in tx.audit("shopify:7")] == ["created", "fulfillment_applied"]


def test_refund_gets_ledger_facts_and_restocks(
    engine: Engine, rules: dict[str, FakeRuleSet]
) -> None:
    stock(engine, "SKU-1", 3)
    engine.ingest("shopify", "order", order(9, qty=2), event_id="o")
    engine.ingest("shopify", "refund", {"id": 91, "order_id": 9, "amount": "5.00",
                                        "restock": True,
                                        "lines": [{"sku": "SKU-1", "quantity": 1}]})  # fmt: skip
    r = engine.ingest("shopify", "refund", {"id": 92, "order_id": 9, "amount": "7.50"})
    assert r.status == "processed"
    facts = rules["refund_governance"].seen
    assert facts[0]["captured"] == {"amount": Decimal("25.00"), "currency": "USD"}
    assert facts[0]["already_refunded"] == {"amount": Decimal("0"), "currency": "USD"}
    assert facts[0]["previous_refunds"] == []
    assert facts[0]["max_ratio"] == Decimal("1")  # from the project's rule_packs facts
    assert facts[1]["already_refunded"] == {"amount": Decimal("5.00"), "currency": "USD"}
    assert facts[1]["previous_refunds"] == [
        {"key": "shopify:91", "amount": {"amount": Decimal("5.00"), "currency": "USD"}, "at": T0}
    ]
    assert r.record is not None
    assert r.record["captured"] == {"amount": Decimal("25.00"), "currency": "USD"}
    assert r.record["order_id"] == "shopify:9"
    assert level(engine, "SKU-1") == (3, 1)  # one of the two held units released


def test_restock_of_shipped_units_returns_them(engine: Engine) -> None:
    stock(engine, "SKU-1", 2)
    engine.ingest("shopify", "order", order(5, qty=2), event_id="o")
    engine.ingest("shopify", "fulfillment", {"id": 50, "order_id": 5})
    assert level(engine, "SKU-1") == (0, 0)
    r = engine.ingest(
        "shopify",
        "refund",
        {
            "id": 51,
            "order_id": 5,
            "amount": "1.00",
            "restock": True,
            "lines": [{"sku": "SKU-1", "quantity": 2}],
        },
    )
    assert [(o["op"], o["qty"]) for o in r.ledger] == [("return", 2)]
    assert level(engine, "SKU-1") == (2, 0)


def test_counts_from_the_inventory_source_become_deltas(engine: Engine) -> None:
    stock(engine, "SKU-9", 4)
    r = engine.ingest("shipbob", "inventory_level", {"sku": "SKU-9", "location": "main",
                                                     "on_hand": 10})  # fmt: skip
    assert [(o["op"], o["qty"]) for o in r.ledger] == [("adjust", 6)]
    assert level(engine, "SKU-9") == (10, 0)


def test_allocation_falls_back_to_the_next_location_and_never_oversells(engine: Engine) -> None:
    stock(engine, "SKU-2", 1, "main")
    stock(engine, "SKU-2", 2, "overflow")
    a = engine.ingest("shopify", "order", order(1, qty=2, sku="SKU-2"), event_id="a")
    b = engine.ingest("shopify", "order", order(2, qty=2, sku="SKU-2"), event_id="b")
    assert [(o["op"], o["location"]) for o in a.ledger] == [("reserve", "overflow")]
    assert [o["op"] for o in b.ledger] == ["short"]
    assert b.status == "processed"
    assert [d.code for d in b.diagnostics] == ["STORE020"]
    assert level(engine, "SKU-2", "overflow") == (2, 2)
    assert level(engine, "SKU-2", "main") == (1, 0)


def test_mapping_failure_is_dead_lettered_then_retried_after_a_fix(engine: Engine) -> None:
    raw = b'{"updated_at": "2026-03-01T10:00:00Z", "total_price": 12.5, "line_items": []}'
    r = engine.ingest("shopify", "order", raw, event_id="bad-1")
    assert r.status == "dead_lettered"
    assert [d.code for d in r.diagnostics] == ["MAP201"]
    again = engine.ingest("shopify", "order", raw, event_id="bad-1")
    assert again.dlq_id == r.dlq_id
    with engine.store.transaction() as tx:
        dl = tx.dead_letter(r.dlq_id or 0)
    assert dl is not None
    assert dl.raw_payload == raw.decode()
    assert dl.attempts == 2
    assert dl.error_class is ErrorClass.VALIDATION
    # "fix the spec": ids now come from a fallback field
    catalog = engine._catalog
    catalog.specs[("shopify", "order", "inbound")] = FakeMapping(  # type: ignore[attr-defined]
        "shopify.order.inbound", 2, lambda p: shop_order({"id": "fixed-1", **p}), "order"
    )
    engine._inbound.clear()
    fixed = engine.retry_dead_letter(r.dlq_id or 0)
    assert fixed.status == "processed"
    assert fixed.record_id == "shopify:fixed-1"
    assert fixed.record is not None
    assert fixed.record["total"]["amount"] == Decimal("12.5")  # parsed as Decimal, not float
    with engine.store.transaction() as tx:
        done = tx.dead_letter(r.dlq_id or 0)
        assert tx.dead_letters() == []
    assert done is not None
    assert done.status == "resolved"
    # and the original webhook, redelivered, is now a duplicate
    assert engine.ingest("shopify", "order", raw, event_id="bad-1").status == "duplicate"


def test_unparseable_payload_and_unknown_flow_are_dead_lettered(engine: Engine) -> None:
    bad = engine.ingest("shopify", "order", b"{not json", event_id="x")
    assert (bad.status, bad.diagnostics[0].code) == ("dead_lettered", "RUN001")
    none = engine.ingest("ebay", "order", {"id": 1})
    assert (none.status, none.diagnostics[0].code) == ("dead_lettered", "RUN002")
    with engine.store.transaction() as tx:
        assert [d.raw_payload for d in tx.dead_letters()] == ["{not json", '{"id":1}']


def test_rule_error_and_quarantine_are_kept_with_their_class(engine: Engine) -> None:
    stock(engine, "SKU-1", 5)
    big = engine.ingest("shopify", "order", order(3, total_price="5000.00"), event_id="big")
    assert big.status == "quarantined"
    assert big.diagnostics[0].code == "RUN010"
    assert level(engine, "SKU-1") == (5, 0)  # nothing reserved, nothing stored
    with engine.store.transaction() as tx:
        dl = tx.dead_letter(big.dlq_id or 0)
        assert tx.count_records() == 0
    assert dl is not None
    assert dl.error_class is ErrorClass.BUSINESS_CONFLICT


def test_drop_dead_letter(engine: Engine) -> None:
    r = engine.ingest("shopify", "order", {"nope": 1})
    assert engine.drop_dead_letter(r.dlq_id or 0)
    with engine.store.transaction() as tx:
        assert tx.dead_letters() == []
        dl = tx.dead_letter(r.dlq_id or 0)
    assert dl is not None
    assert dl.status == "dropped"


def test_ingest_many_commits_in_batches_and_isolates_failures(engine: Engine) -> None:
    stock(engine, "SKU-1", 100)
    events = [Event("shopify", "order", order(i), event_id=f"e{i}") for i in range(9)]
    events.insert(5, Event("shopify", "order", {"broken": True}, event_id="bad"))
    events.append(Event("shopify", "order", order(0), event_id="e0"))  # duplicate in stream
    results = list(engine.ingest_many(events))
    assert [r.status for r in results] == ["processed"] * 5 + ["dead_lettered"] + [
        "processed"] * 4 + ["duplicate"]  # fmt: skip
    assert [r.event_id for r in results] == [e.event_id for e in events]
    assert level(engine, "SKU-1") == (100, 9)


def test_ingest_many_accepts_plain_dicts(engine: Engine) -> None:
    out = list(engine.ingest_many([{"channel": "shopify", "entity": "order",
                                    "payload": order(1), "event_id": "d1"}]))  # fmt: skip
    assert [r.status for r in out] == ["processed"]


def test_threads_racing_for_the_last_unit_never_oversell(engine: Engine) -> None:
    stock(engine, "LAST", 1)
    barrier = threading.Barrier(8)
    results: list[str] = []
    lock = threading.Lock()

    def buy(n: int) -> None:
        barrier.wait()
        r = engine.ingest("shopify", "order", order(500 + n, sku="LAST"), event_id=f"t{n}")
        with lock:
            results.append(next(o["op"] for o in r.ledger))

    threads = [threading.Thread(target=buy, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["reserve"] + ["short"] * 7
    assert level(engine, "LAST") == (1, 1)


def test_threads_delivering_the_same_webhook_apply_it_once(engine: Engine) -> None:
    stock(engine, "SKU-1", 10)
    barrier = threading.Barrier(6)
    statuses: list[str] = []

    def deliver() -> None:
        barrier.wait()
        statuses.append(engine.ingest("shopify", "order", order(77), event_id="same").status)

    threads = [threading.Thread(target=deliver) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) == ["duplicate"] * 5 + ["processed"]
    assert level(engine, "SKU-1") == (10, 1)


def test_queue_round_trip(engine: Engine) -> None:
    stock(engine, "SKU-1", 10)
    events = [Event("shopify", "order", order(i), event_id=f"q{i}") for i in range(6)]
    assert engine.enqueue(events) == 6
    assert engine.enqueue(events[:2]) == 0  # already queued
    assert engine.process_queue("w1", limit=2) == 2
    assert engine.process_queue("w1") == 4
    assert engine.process_queue("w1") == 0
    with engine.store.transaction() as tx:
        assert tx.queue_counts() == {"done": 6}
        assert tx.count_records("order") == 6
    assert level(engine, "SKU-1") == (10, 6)


def test_frozen_clock_stamps_received_at(engine: Engine) -> None:
    clock = engine.clock
    assert isinstance(clock, FrozenClock)
    clock.advance(timedelta(hours=1))
    r = engine.ingest("shopify", "order", {"bad": 1})
    with engine.store.transaction() as tx:
        dl = tx.dead_letter(r.dlq_id or 0)
    assert dl is not None
    assert dl.received_at == "2026-03-02T11:00:00Z"


def test_missing_outbound_spec_dead_letters_with_its_code(
    store_url: str, tmp_path: Path, rules: dict[str, FakeRuleSet]
) -> None:
    catalog = make_catalog()
    del catalog.specs[("shipbob", "order", "outbound")]
    with Engine(make_project(tmp_path, store_url), open_store(store_url), catalog=catalog,
                rulesets=rules) as eng:  # fmt: skip
        r = eng.ingest("shopify", "order", order(1))
    assert r.status == "dead_lettered"
    assert r.diagnostics[0].code == "MAP100"


def test_a_poison_event_in_the_queue_is_dead_lettered_and_the_rest_commit(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    stock(engine, "SKU-1", 10)
    real = Engine._apply_ok

    def refuse(self: Engine, tx: Any, p: Any) -> Any:
        if p.event_id == "q2":
            raise StoreError(diagnostics=[Diagnostic(code="STORE004", message="refused")])
        return real(self, tx, p)

    monkeypatch.setattr(Engine, "_apply_ok", refuse)
    engine.enqueue([Event("shopify", "order", order(i), event_id=f"q{i}") for i in range(6)])
    assert engine.process_queue("w") == 6
    with engine.store.transaction() as tx:
        assert tx.queue_counts() == {"done": 6}
        assert tx.count_records("order") == 5
        dead = tx.dead_letters()
    assert [(d.event_id, d.code) for d in dead] == [("q2", "STORE004")]
    assert level(engine, "SKU-1") == (10, 5)


def test_flow_defaults_fill_only_missing_fields(
    store_url: str, tmp_path: Path, rules: dict[str, FakeRuleSet]
) -> None:
    project = make_project(tmp_path, store_url)
    orders = replace(project.flows[0], defaults={"customer.external_ids.netsuite": "4812",
                                                 "currency": "EUR"})  # fmt: skip
    project = replace(project, flows=(orders, *project.flows[1:]))
    with Engine(project, open_store(store_url), catalog=make_catalog(), rulesets=rules) as eng:
        r = eng.ingest("shopify", "order", order(1))
    assert r.record is not None
    assert r.record["customer"] == {"external_ids": {"netsuite": "4812"}}
    assert r.record["currency"] == "USD"  # the channel's value wins


def test_threads_delivering_one_new_order_under_different_ids_create_it_once(
    engine: Engine,
) -> None:
    stock(engine, "SKU-1", 10)
    barrier = threading.Barrier(6)
    statuses: list[str] = []

    def deliver(n: int) -> None:
        barrier.wait()
        statuses.append(engine.ingest("shopify", "order", order(88), event_id=f"d{n}").status)

    threads = [threading.Thread(target=deliver, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) == ["duplicate"] * 5 + ["processed"]
    assert level(engine, "SKU-1") == (10, 1)
    with engine.store.transaction() as tx:
        assert [a.action for a in tx.audit("shopify:88")] == ["created"]


def shopify_level_engine(store_url: str, tmp_path: Path, rules: dict[str, FakeRuleSet],
                         source: str = "shipbob") -> Engine:  # fmt: skip
    """The fake project plus the shipped Shopify inventory level specs: Shopify levels are
    stored (they count stock when ``source`` is shopify) and its location 655441491 is the
    main one."""
    project = make_project(tmp_path, store_url)
    project = replace(
        project,
        flows=(*project.flows, FlowConfig("levels", Endpoint("shopify", "inventory_level"))),
        inventory=replace(project.inventory, aliases={"655441491": "main"}, source=source),
    )
    catalog = make_catalog()
    for direction in ("inbound", "outbound"):
        spec = load_spec(mappings_dir() / "shopify" / f"inventory_level.{direction}.yaml")
        catalog.specs[("shopify", "inventory_level", direction)] = compile_mapping(spec)  # type: ignore[assignment]
    return Engine(project, open_store(store_url), catalog=catalog, rulesets=rules,
                  clock=FrozenClock(T0))  # fmt: skip


def test_available_to_sell_goes_out_through_the_shopify_set_spec(
    store_url: str, tmp_path: Path, rules: dict[str, FakeRuleSet]
) -> None:
    cases = load_yaml(mappings_dir() / "shopify" / "inventory_level.outbound.cases.yaml").data[
        "cases"
    ]
    known = next(c for c in cases if "expect" in c)
    given, expected = known["given"], known["expect"]
    with shopify_level_engine(store_url, tmp_path, rules) as eng:
        # Shopify reports the level (its inventory item and location ids) of the case's SKU
        item_id = int(given["external_ids"]["shopify_inventory_item"])
        level = {"level": {"inventory_item_id": item_id, "location_id": int(given["location"]),
                           "available": 7, "updated_at": "2026-03-01T09:00:00Z"},
                 "item": {"id": item_id, "sku": given["sku"]}}  # fmt: skip
        assert eng.ingest("shopify", "inventory_level", level).status == "processed"
        # the ledger holds 45: an order of 2 leaves 43, less Shopify's buffer of 1
        stock(eng, given["sku"], given["available"] + 3)
        r = eng.ingest("shopify", "order", order(1, sku=given["sku"], qty=2), event_id="o")
        assert r.status == "processed"
        assert r.diagnostics == []
        [update] = r.outbound["shopify.inventory_level"]
        assert update["payload"] == expected  # the body inventory_levels/set.json takes
        assert (update["sku"], update["available"], update["location"]) == (
            given["sku"], given["available"], given["location"])  # fmt: skip
        # a SKU Shopify never reported has no inventory item id: nothing broken is sent
        stock(eng, "NEW-SKU", 5)
        r = eng.ingest("shopify", "order", order(2, sku="NEW-SKU"), event_id="o2")
    assert r.status == "processed"
    assert [(o["op"], o["qty"]) for o in r.ledger] == [("reserve", 1)]
    assert "shopify.inventory_level" not in r.outbound
    [warning] = r.diagnostics
    assert (warning.code, warning.severity) == ("RUN012", "warning")
    assert "NEW-SKU for shopify not published" in warning.message
    assert "MAP201" in warning.message  # what the case file expects of a level without ids


def test_a_count_from_the_channel_publishes_with_the_ids_it_just_reported(
    store_url: str, tmp_path: Path, rules: dict[str, FakeRuleSet]
) -> None:
    level = {"level": {"inventory_item_id": 808950810, "location_id": 655441491, "available": 6,
                       "updated_at": "2026-03-01T09:00:00Z"},
             "item": {"id": 808950810, "sku": "IPOD2008PINK"}}  # fmt: skip
    with shopify_level_engine(store_url, tmp_path, rules, source="shopify") as eng:
        r = eng.ingest("shopify", "inventory_level", level)
    assert r.status == "processed"
    assert [(o["op"], o["qty"], o["location"]) for o in r.ledger] == [("adjust", 6, "main")]
    # the level is not stored yet when the count is published: its own ids are used
    assert r.outbound["shopify.inventory_level"] == [{
        "sku": "IPOD2008PINK", "available": 5, "location": "655441491",
        "payload": {"location_id": 655441491, "inventory_item_id": 808950810, "available": 5},
    }]  # fmt: skip
    assert r.diagnostics == []


def test_a_level_the_channel_reports_again_is_published_with_its_new_ids(
    store_url: str, tmp_path: Path, rules: dict[str, FakeRuleSet]
) -> None:
    # The engine keeps channel levels parsed between orders; a new write must replace them.
    def level(item_id: int, at: str) -> dict[str, Any]:
        return {"level": {"inventory_item_id": item_id, "location_id": 655441491,
                          "available": 6, "updated_at": at},
                "item": {"id": item_id, "sku": "IPOD2008PINK"}}  # fmt: skip

    def published_item(eng: Engine, n: int) -> int:
        r = eng.ingest("shopify", "order", order(n, sku="IPOD2008PINK"), event_id=f"o{n}")
        assert r.status == "processed", r.diagnostics
        [update] = r.outbound["shopify.inventory_level"]
        return int(update["payload"]["inventory_item_id"])

    with shopify_level_engine(store_url, tmp_path, rules) as eng:
        stock(eng, "IPOD2008PINK", 50)
        assert eng.ingest("shopify", "inventory_level", level(111, "2026-03-01T09:00:00Z")).ok
        assert published_item(eng, 1) == 111
        assert published_item(eng, 2) == 111  # from the engine's parsed copy
        assert eng.ingest("shopify", "inventory_level", level(222, "2026-03-01T10:00:00Z")).ok
        assert published_item(eng, 3) == 222
        # a second engine on the same store wrote the level: this one reads the new write
        with shopify_level_engine(store_url, tmp_path, rules) as other:
            assert other.ingest("shopify", "inventory_level", level(333, "2026-03-01T11:00:00Z")).ok
        assert published_item(eng, 4) == 333
