"""Quick check of the runtime's throughput target (issue 7).

End-to-end ingest of Shopify order webhooks (JSON bytes in): parse, map with the shipped
``shopify/order.inbound.yaml``, validate against the canonical model, evaluate a rule pack,
reserve stock in the inventory ledger, write the record, the audit entry and the
available-to-sell updates, with batched commits (``Engine.ingest_many``).

    .venv/bin/python bench/runtime_quick.py                    # SQLite, one core
    .venv/bin/python bench/runtime_quick.py --orders 20000
    .venv/bin/python bench/runtime_quick.py --postgres postgresql://postgres@127.0.0.1:5432/test

Target: >= 2,000 orders/s with SQLite. With ``--postgres`` it also drains the database queue
with 1 and then 2 worker processes and reports both throughputs.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from accord.engine.runtime import Engine, Event
from accord.engine.runtime.worker import run_workers

ROOT = Path(__file__).resolve().parent.parent
PAYLOAD = ROOT.parent / "shared" / "bench" / "shopify_order.json"

RULES = """\
ruleset order_policy
version "1"
over order

rule high_value
  when total > 500 USD
  then tag "high_value"
  because "order total {total} is over 500 USD"

rule standard
  when total <= 500 USD
  then approve
  because "order total {total} is within policy"
"""

PROJECT = """\
project: bench
store: {store}
mappings: [shipped]
rules: [rules]
channels:
  - {{name: shopify, kind: shopify, api_version: "2024-04", inventory_sync: {synced},
     buffer_stock: 2}}
flows:
  - name: orders
    from: {{channel: shopify, entity: order}}
    rules: [order_policy]
  - name: stock
    from: {{channel: shopify, entity: inventory_level}}
inventory: {{locations: [main], aliases: {{"71529087093": main}}}}
"""

SKUS = [f"SKU-{i:03d}" for i in range(200)]


def make_project(folder: Path, store: str, *, synced: bool = True) -> Path:
    """The bench project; ``synced=False`` leaves Shopify out of stock publication, so an
    order is mapped, validated, decided, reserved and audited, and nothing is published."""
    (folder / "rules").mkdir(parents=True, exist_ok=True)
    (folder / "rules" / "order_policy.rules").write_text(RULES)
    path = folder / "accord.yaml"
    path.write_text(PROJECT.format(store=json.dumps(store), synced=json.dumps(synced)))
    return path


def payloads(n: int) -> list[bytes]:
    base: dict[str, Any] = json.loads(PAYLOAD.read_text())["order"]
    out = []
    for i in range(n):
        order = dict(base)
        order["id"] = 10**12 + i
        order["name"] = f"#{100000 + i}"
        order["line_items"] = [
            dict(line, sku=SKUS[(i * 3 + k) % len(SKUS)])
            for k, line in enumerate(base["line_items"])
        ]
        out.append(json.dumps({"order": order}).encode())
    return out


def seed(engine: Engine) -> None:
    """Stock on hand for every SKU, and the shop's level of each (the Shopify location and
    inventory item ids its available-to-sell updates are addressed to), as a synced shop has."""
    with engine.store.transaction() as tx:
        for sku in SKUS:
            tx.adjust_on_hand(sku, "main", 10**6, op="receive", now="2026-01-01T00:00:00Z")
    levels = [
        Event("shopify", "inventory_level", json.dumps({
            "level": {"inventory_item_id": 43120017000 + i, "location_id": 71529087093,
                      "available": 10**6, "updated_at": "2026-01-01T00:00:00Z"},
            "item": {"inventory_item": {"id": 43120017000 + i, "sku": sku}},
        }).encode(), f"level-{sku}")
        for i, sku in enumerate(SKUS)
    ]  # fmt: skip
    statuses = {r.status for r in engine.ingest_many(levels)}
    assert statuses == {"processed"}, statuses


def bench_ingest(project: Path, bodies: list[bytes], batch: int) -> tuple[float, float]:
    """Orders per wall-clock second and per CPU second of this process (the one-core figure
    on a machine shared with other work)."""
    with Engine.from_project(project, batch_size=batch) as engine:
        seed(engine)
        # warm up: compile, first connection, first statements
        list(engine.ingest_many([Event("shopify", "order", bodies[0], "warm")]))
        events = (Event("shopify", "order", b, f"w{i}") for i, b in enumerate(bodies[1:]))
        start, cpu = time.perf_counter(), time.process_time()
        statuses: dict[str, int] = {}
        for result in engine.ingest_many(events):
            statuses[result.status] = statuses.get(result.status, 0) + 1
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    assert statuses == {"processed": len(bodies) - 1}, statuses
    return (len(bodies) - 1) / elapsed, (len(bodies) - 1) / cpu


def bench_workers(project: Path, bodies: list[bytes], workers: int, batch: int) -> float:
    with Engine.from_project(project, batch_size=batch) as engine:
        seed(engine)
        engine.enqueue(Event("shopify", "order", b, f"q{i}") for i, b in enumerate(bodies))
    report = run_workers(project, workers=workers, batch_size=batch)
    assert report.queue == {"done": len(bodies)}, report.queue
    return len(bodies) / report.seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=10000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--postgres", help="also measure PostgreSQL at this URL")
    args = parser.parse_args()
    bodies = payloads(args.orders + 1)
    with tempfile.TemporaryDirectory() as tmp:
        project = make_project(Path(tmp) / "sqlite", f"sqlite:///{tmp}/bench.db")
        wall, cpu = bench_ingest(project, bodies, args.batch)
        verdict = "ok" if cpu >= 2000 else "BELOW TARGET"
        print(f"sqlite  ingest_many, 1 process: {wall:8.0f} orders/s wall clock,"
              f" {cpu:.0f} per CPU second (target 2000: {verdict})")  # fmt: skip
        if args.postgres:
            for workers in (1, 2):
                schema = f"accord_bench_{uuid.uuid4().hex[:8]}"
                url = f"{args.postgres}{'&' if '?' in args.postgres else '?'}schema={schema}"
                project = make_project(Path(tmp) / f"pg{workers}", url)
                try:
                    rate = bench_workers(project, bodies[:-1], workers, args.batch)
                    print(f"postgres queue, {workers} worker(s):      {rate:8.0f} orders/s")
                finally:
                    import psycopg

                    with psycopg.connect(args.postgres, autocommit=True) as conn:
                        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


if __name__ == "__main__":
    main()
