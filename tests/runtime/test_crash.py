"""Crash safety: SIGKILL a worker in the middle of a run, restart it, and find no duplicate,
no lost event and a ledger equal to a clean run's.

Every run, CI included, kills the worker in the middle of 10,000 events on each store (a few
seconds on SQLite, some 25 s on PostgreSQL); ``ACCORD_CRASH_EVENTS=1000`` makes a quicker
local run.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from accord.engine.runtime import Engine, Event, Store, open_store

from .conftest import PgSchemas
from .project import order, write_project

N_SQLITE = int(os.environ.get("ACCORD_CRASH_EVENTS", "10000"))
N_POSTGRES = int(os.environ.get("ACCORD_CRASH_EVENTS", "10000"))
SKUS = [f"SKU-{i}" for i in range(7)]


def events(n: int) -> list[Event]:
    """Orders, with every fifth one cancelled by a later update further down the stream."""
    out: list[Event] = []
    for i in range(n):
        out.append(Event("shopify", "order", order(i, sku=SKUS[i % 7], qty=1 + i % 3),
                         event_id=f"o{i}"))  # fmt: skip
        if i % 5 == 4 and len(out) < n:
            j = i - 2
            out.append(Event("shopify", "order", order(j, sku=SKUS[j % 7], qty=1 + j % 3,
                                                       minute=30, cancelled=True),
                             event_id=f"c{j}"))  # fmt: skip
        if len(out) >= n:
            break
    return out[:n]


def prepare(root: Path, store_url: str, n: int) -> Path:
    project = write_project(root, store_url)
    with Engine.from_project(project) as engine:
        with engine.store.transaction() as tx:
            for sku in SKUS:
                # Less stock than demand, so some lines are short: the outcome depends on
                # order, and a replayed or skipped event would show.
                tx.adjust_on_hand(sku, "main", n // 10, op="receive", now="t")
        assert engine.enqueue(events(n)) == n
    return project


def snapshot(url: str, n: int) -> dict[str, Any]:
    with open_store(url) as store, store.transaction() as tx:
        entries = tx.ledger_entries()
        return {
            "levels": [(lv.sku, lv.on_hand, lv.reserved) for lv in tx.levels()],
            "ledger": sorted(Counter((s, op, q, ref) for s, _, op, q, ref in entries).items()),
            "records": tx.count_records("order"),
            "events": tx.count_events(),
            "queue": tx.queue_counts(),
            "reservations": sorted(
                (r.order_id, r.outstanding, r.released, r.short)
                for i in range(n)
                for r in tx.reservations(f"shopify:{9_000_000_000_000 + i}")
            ),
            "dead_letters": len(tx.dead_letters(None)),
        }


def run_cli(project: Path, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as sink:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            [sys.executable, "-m", "accord", "run", "--project", str(project),
             "--batch-size", "25"],
            stdout=sink, stderr=subprocess.STDOUT,
        )  # fmt: skip


def done_count(store: Store) -> int:
    with store.transaction(readonly=True) as tx:
        return tx.queue_counts().get("done", 0)


@pytest.mark.slow
def test_sigkill_mid_run_loses_and_duplicates_nothing(
    store_url: str, tmp_path: Path, pg_schemas: PgSchemas | None
) -> None:
    n = N_SQLITE if store_url.startswith("sqlite") else N_POSTGRES
    if store_url.startswith("sqlite"):
        clean_url = f"sqlite:///{tmp_path / 'clean.db'}"
    else:
        assert pg_schemas is not None
        clean_url = pg_schemas.url()
    clean = prepare(tmp_path / "clean", clean_url, n)
    with Engine.from_project(clean, batch_size=25) as engine:
        assert engine.process_queue("clean") == n
    expected = snapshot(clean_url, n)

    crashed = prepare(tmp_path / "crashed", store_url, n)
    log = tmp_path / "worker.log"
    proc = run_cli(crashed, log)
    deadline = time.monotonic() + 60
    with open_store(store_url) as watch:
        while done_count(watch) < n // 3:
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "the worker made no progress"
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        assert proc.returncode == -signal.SIGKILL
        assert done_count(watch) < n  # really killed mid-run

    again = run_cli(crashed, log)
    assert again.wait(timeout=120) == 0, log.read_text()
    got = snapshot(store_url, n)
    assert got["queue"] == {"done": n}
    assert got["events"] == n  # every event applied exactly once
    assert got == expected
    reserves = Counter(
        ref for (_, op, _, ref), n in got["ledger"] for _ in range(n) if op == "reserve"
    )
    assert max(reserves.values()) == 1  # no order reserved twice
