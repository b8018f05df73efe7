"""``accord outbox list`` and ``accord outbox deliver`` as a user runs them (subprocesses), on a
real project and both stores."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from accord.engine.runtime import Engine
from accord.engine.runtime.outbox import outbox_key

from .project import order, write_project


def accord(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    # No channel credentials reach the child: nothing may be sent anywhere.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SHOPIFY", "GITHUB_"))}
    return subprocess.run(
        [sys.executable, "-m", "accord", *args],
        cwd=cwd, env=env, capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip


def test_outbox_list_and_deliver(store_url: str, tmp_path: Path) -> None:
    project = write_project(tmp_path, store_url)
    with Engine.from_project(project, store_url=store_url) as engine:
        with engine.store.transaction() as tx:
            tx.adjust_on_hand("SKU-1", "main", 10, op="receive", now="2026-03-01T00:00:00Z")
        result = engine.ingest("shopify", "order", order(1, qty=2), event_id="w1")
    assert result.outbound["shopify.inventory_level"][0]["payload"] == {
        "sku": "SKU-1", "available": 8}  # fmt: skip
    key = outbox_key("shopify:order:w1", "shopify.inventory_level", 0)

    listed = accord("outbox", "list", "--project", str(project), "--format", "json", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    (row,) = json.loads(listed.stdout)
    assert (row["destination"], row["entity"], row["ref"], row["status"]) == (
        "shopify", "inventory_level", "SKU-1", "pending")  # fmt: skip
    assert (row["idempotency_key"], row["record_id"]) == (key, "shopify:9000000000001")
    assert row["payload"] == {"sku": "SKU-1", "available": 8}

    text = accord("outbox", "list", "--project", str(project), cwd=tmp_path)
    assert text.returncode == 0
    assert "shopify.inventory_level SKU-1" in text.stdout
    assert "pending" in text.stdout

    # The test spec leaves out Shopify's location and inventory item ids, which the Shopify
    # connector requires: the row is refused before any request and kept as a dead letter.
    sent = accord("outbox", "deliver", "--project", str(project), cwd=tmp_path)
    assert sent.returncode == 1, sent.stderr
    assert "dead, validation CONN014 (dead letter 1)" in sent.stdout
    assert sent.stdout.rstrip().endswith("0 delivered, 0 to retry, 1 dead, 0 superseded")

    dead = accord("outbox", "list", "--status", "dead", "--project", str(project),
                  "--format", "json", cwd=tmp_path)  # fmt: skip
    assert [(r["idempotency_key"], r["attempts"]) for r in json.loads(dead.stdout)] == [(key, 1)]
    letters = accord("dlq", "list", "--project", str(project), "--format", "json", cwd=tmp_path)
    (letter,) = json.loads(letters.stdout)
    assert (letter["event_key"], letter["error_class"]) == (f"outbox:{key}", "validation")

    again = accord("outbox", "deliver", "--project", str(project), cwd=tmp_path)
    assert (again.returncode, again.stdout.strip()) == (0, "nothing to deliver")
    unknown = accord("outbox", "deliver", "--channel", "nope", "--project", str(project),
                     cwd=tmp_path)  # fmt: skip
    assert unknown.returncode == 2
    assert "no such channel in the project: nope" in unknown.stderr
