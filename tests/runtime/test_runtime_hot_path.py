"""What the ingest hot path does to save time, and that it changes no outcome."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from accord.clock import FrozenClock
from accord.engine.runtime.engine import Engine, Event
from accord.engine.runtime.store import open_store

from .fakes import FakeRuleSet, make_catalog, make_project

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def order(oid: int, *, sku: str = "SKU-1", qty: int = 1) -> dict[str, Any]:
    return {"id": oid, "updated_at": "2026-03-01T10:00:00Z", "total_price": "25.00",
            "line_items": [{"sku": sku, "quantity": qty}]}  # fmt: skip


def build(tmp_path: Path, seen: list[bool], *, pause_gc: bool = True) -> Engine:
    url = f"sqlite:///{tmp_path / 'state.db'}"

    def validator(entity: str, record: dict[str, Any], record_id: str | None) -> None:
        seen.append(gc.isenabled())

    rules = {"order_policy": FakeRuleSet(), "refund_governance": FakeRuleSet()}
    return Engine(make_project(tmp_path, url), open_store(url), catalog=make_catalog(),
                  rulesets=rules, validator=validator, clock=FrozenClock(T0), batch_size=2,
                  pause_gc=pause_gc)  # fmt: skip


@pytest.fixture
def gc_on() -> Iterator[None]:
    was = gc.isenabled()
    gc.enable()
    yield
    if not was:
        gc.disable()


def events(n: int) -> list[Event]:
    return [Event("shopify", "order", order(1000 + i), f"e{i}") for i in range(n)]


def test_batches_run_with_the_collector_paused_and_restore_it(tmp_path: Path, gc_on: None) -> None:
    seen: list[bool] = []
    with build(tmp_path, seen) as engine:
        statuses = []
        for result in engine.ingest_many(events(5)):
            # the caller's code between results runs with the collector as it was
            assert gc.isenabled()
            statuses.append(result.status)
    assert statuses == ["processed"] * 5
    assert seen == [False] * 5
    assert gc.isenabled()


def test_the_pause_can_be_turned_off(tmp_path: Path, gc_on: None) -> None:
    seen: list[bool] = []
    with build(tmp_path, seen, pause_gc=False) as engine:
        assert [r.status for r in engine.ingest_many(events(3))] == ["processed"] * 3
    assert seen == [True] * 3


def test_a_collector_the_embedder_turned_off_stays_off(tmp_path: Path, gc_on: None) -> None:
    seen: list[bool] = []
    gc.disable()
    with build(tmp_path, seen) as engine:
        assert [r.status for r in engine.ingest_many(events(3))] == ["processed"] * 3
    assert not gc.isenabled()


def test_the_queue_is_drained_with_the_collector_paused(tmp_path: Path, gc_on: None) -> None:
    seen: list[bool] = []
    with build(tmp_path, seen) as engine:
        assert engine.enqueue(events(3)) == 3
        assert engine.process_queue("w1") == 3
    assert seen == [False] * 3
    assert gc.isenabled()
