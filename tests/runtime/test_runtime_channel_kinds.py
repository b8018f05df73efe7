"""Channel kinds with their own shipped mapping folders (the Amazon 2026 Orders API and Amazon
order notifications) can be named in a project and carry flows end to end."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from accord.engine.runtime import Engine, check_project_file, load_project

ROOT = Path(__file__).resolve().parents[2]

PROJECT = """\
project: amazon
store: {store}
mappings: [shipped]
channels:
  - {{name: amz, kind: amazon_2026, api_version: "2026-01-01"}}
  - {{name: amz_events, kind: amazon_notifications, api_version: "1.0"}}
flows:
  - name: orders
    from: {{channel: amz, entity: order}}
  - name: order_events
    from: {{channel: amz_events, entity: order}}
inventory: {{locations: [main]}}
"""


def first_case(kind: str) -> dict[str, Any]:
    cases = YAML(typ="safe").load(ROOT / "mappings" / kind / "order.inbound.cases.yaml")
    given: dict[str, Any] = cases["cases"][0]["given"]
    return given


@pytest.fixture
def project(tmp_path: Path) -> Path:
    path = tmp_path / "accord.yaml"
    path.write_text(PROJECT.format(store=json.dumps(f"sqlite:///{tmp_path / 'a.db'}")))
    return path


def test_the_kinds_are_valid_in_a_project(project: Path) -> None:
    assert check_project_file(project) == []
    loaded = load_project(project)
    assert loaded.channels["amz"].kind == "amazon_2026"
    assert loaded.channels["amz_events"].kind == "amazon_notifications"


def test_a_near_miss_of_a_shipped_kind_is_refused(project: Path) -> None:
    project.write_text(project.read_text().replace("amazon_notifications", "amazon_notification"))
    found = [(d.code, d.severity.value, d.line, d.hint) for d in check_project_file(project)]
    assert found == [
        ("PRJ107", "error", 6, "did you mean 'amazon_notifications'?"),
        ("PRJ105", "error", 11, None),
    ]


@pytest.mark.parametrize(("channel", "kind"), [("amz", "amazon_2026"),
                                               ("amz_events", "amazon_notifications")])  # fmt: skip
def test_orders_from_the_kind_are_mapped_and_stored(project: Path, channel: str, kind: str) -> None:
    payload = first_case(kind)
    with Engine.from_project(project) as engine:
        result = engine.ingest(channel, "order", json.dumps(payload), event_id=f"{kind}-1")
        assert result.status == "processed", result.diagnostics
        assert result.record is not None
        assert result.record_id == f"{channel}:{result.record['id']}"
        with engine.store.transaction() as tx:
            audit = tx.audit(result.record_id)
    assert [(e.action, e.mapping_id) for e in audit] == [("created", f"{kind}.order.inbound")]


def test_a_notification_is_stored_as_the_entity_its_spec_produces(tmp_path: Path) -> None:
    """The MFN quantity notification's spec targets inventory_level: the record is stored,
    deduplicated and audited as an inventory level, not as a 'notification' record."""
    project = tmp_path / "accord.yaml"
    project.write_text(
        PROJECT.format(store=json.dumps(f"sqlite:///{tmp_path / 'a.db'}")).replace(
            "  - name: order_events\n",
            "  - name: stock_events\n"
            "    from: {channel: amz_events, entity: listings_item_mfn_quantity_change}\n"
            "  - name: order_events\n",
        )
    )
    cases = YAML(typ="safe").load(
        ROOT / "mappings" / "amazon_notifications"
        / "listings_item_mfn_quantity_change.inbound.cases.yaml"
    )  # fmt: skip
    payload = cases["cases"][0]["given"]
    with Engine.from_project(project) as engine:
        result = engine.ingest("amz_events", "listings_item_mfn_quantity_change",
                               json.dumps(payload), event_id="n-1")  # fmt: skip
        assert result.status == "processed", result.diagnostics
        assert result.record is not None
        assert (result.record["sku"], result.record["available"]) == ("MUG-STONE-12", 11)
        with engine.store.transaction() as tx:
            stored = tx.get_record("inventory_level", result.record_id)
            audit = tx.audit(result.record_id)
        again = engine.ingest("amz_events", "listings_item_mfn_quantity_change",
                              json.dumps(payload), event_id="n-1")  # fmt: skip
    assert stored is not None
    assert [(e.action, e.entity) for e in audit][:1] == [("created", "inventory_level")]
    assert again.status == "duplicate"
