"""Invariants under arbitrary input, with hypothesis (SQLite; the same code runs on both
stores, and the store-level behaviour is covered for both in the other files).

* any JSON through the engine yields a result or a classified dead letter, never an exception;
* whatever sequence of orders, cancels, fulfilments and refunds arrives, in any order and with
  redeliveries, stock is conserved: reserved equals what the reservations still hold, on hand
  equals receipts minus shipments plus returns, and nothing is ever negative.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from accord.clock import FrozenClock
from accord.engine.runtime import Engine
from accord.engine.runtime.store import open_store

from .fakes import FakeRuleSet, make_catalog, make_project
from .project import write_project

SKUS = ["A", "B", "C"]
START = 5

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.text(max_size=8)
    | st.decimals(allow_nan=False, allow_infinity=False, places=2),
    lambda kids: (
        st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=6), kids, max_size=4)
    ),
    max_leaves=12,
)


@contextmanager
def fake_engine() -> Iterator[Engine]:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/state.db"
        rules = {"order_policy": FakeRuleSet(), "refund_governance": FakeRuleSet()}
        clock = FrozenClock(datetime(2026, 3, 2, tzinfo=UTC))
        with Engine(
            make_project(Path(tmp), url),
            open_store(url),
            catalog=make_catalog(),
            rulesets=rules,
            clock=clock,
        ) as engine:
            yield engine


def test_any_json_gives_a_result_or_a_classified_dead_letter(tmp_path: Path) -> None:
    # One engine (real compiler, real canonical model) for every example: compile once.
    project = write_project(tmp_path, f"sqlite:///{tmp_path}/state.db")
    with Engine.from_project(project) as engine:
        seen = iter(range(10**9))

        @given(payload=json_values, as_text=st.booleans())
        def check(payload: Any, as_text: bool) -> None:
            body = json.dumps(payload, default=str) if as_text else payload
            result = engine.ingest("shopify", "order", body, event_id=f"e{next(seen)}")
            assert result.status in ("processed", "dead_lettered")
            if result.status == "dead_lettered":
                assert result.dlq_id is not None
                assert result.diagnostics
                assert all(d.code for d in result.diagnostics)

        check()


order_ids = st.integers(min_value=1, max_value=4)
actions = st.one_of(
    st.tuples(st.just("order"), order_ids, st.sampled_from(SKUS), st.integers(1, 4)),
    st.tuples(st.just("cancel"), order_ids),
    st.tuples(st.just("ship"), order_ids),
    st.tuples(st.just("refund"), order_ids, st.integers(1, 3), st.booleans()),
    st.tuples(st.just("redeliver"), st.integers(0, 20)),
)


TABLES = (
    "events",
    "records",
    "inventory",
    "inventory_ledger",
    "reservations",
    "payments",
    "refunds",
    "dead_letters",
    "audit",
    "queue",
)


def test_stock_is_conserved_whatever_arrives() -> None:
    with fake_engine() as engine:

        @given(steps=st.lists(actions, max_size=14))
        def check(steps: list[tuple[Any, ...]]) -> None:
            with engine.store.transaction() as tx:  # a clean slate, without a new database
                for table in TABLES:
                    tx.execute(f"DELETE FROM accord_{table}")
            conserve(engine, steps)

        check()


def conserve(engine: Engine, steps: list[tuple[Any, ...]]) -> None:
    """Apply the steps, then check the stock equations."""
    with engine.store.transaction() as tx:
        for sku in SKUS:
            tx.adjust_on_hand(sku, "main", START, op="receive", now="t")
    sent: list[tuple[str, dict[str, Any], str]] = []
    lines: dict[int, tuple[str, int]] = {}
    for n, step in enumerate(steps):
        kind = step[0]
        if kind == "order":
            _, oid, sku, qty = step
            lines.setdefault(oid, (sku, qty))
            sku, qty = lines[oid]
            event = (
                "order",
                {
                    "id": oid,
                    "updated_at": "2026-03-01T10:00:00Z",
                    "line_items": [{"sku": sku, "quantity": qty}],
                },
                f"o{n}",
            )
        elif kind == "cancel" and step[1] in lines:
            sku, qty = lines[step[1]]
            event = (
                "order",
                {
                    "id": step[1],
                    "updated_at": f"2026-03-01T11:{n:02d}:00Z",
                    "cancelled_at": "2026-03-01T11:00:00Z",
                    "line_items": [{"sku": sku, "quantity": qty}],
                },
                f"c{n}",
            )
        elif kind == "ship" and step[1] in lines:
            event = ("fulfillment", {"id": 100 + n, "order_id": step[1]}, f"f{n}")
        elif kind == "refund" and step[1] in lines:
            sku = lines[step[1]][0]
            event = (
                "refund",
                {
                    "id": 200 + n,
                    "order_id": step[1],
                    "amount": "1.00",
                    "restock": step[3],
                    "lines": [{"sku": sku, "quantity": step[2]}],
                },
                f"r{n}",
            )
        elif kind == "redeliver" and sent:
            event = sent[step[1] % len(sent)]
        else:
            continue
        sent.append(event)
        result = engine.ingest("shopify", event[0], event[1], event_id=event[2])
        assert result.status != "dead_lettered", result.diagnostics

    with engine.store.transaction() as tx:
        entries = tx.ledger_entries()
        for level in tx.levels():
            mine = [e for e in entries if e[0] == level.sku]
            received = sum(q for _, _, op, q, _ in mine if op == "receive")
            shipped = sum(q for _, _, op, q, _ in mine if op == "commit")
            returned = sum(q for _, _, op, q, _ in mine if op == "return")
            assert level.on_hand == received - shipped + returned
            assert 0 <= level.reserved <= level.on_hand
            held = sum(
                r.outstanding
                for oid in lines
                for r in tx.reservations(f"shopify:{oid}")
                if r.sku == level.sku
            )
            assert level.reserved == held
