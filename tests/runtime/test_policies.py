"""The engine with the shipped rule packs: refund governance fed by the refund ledger,
buffer-stock publication, and ownership quarantine."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from accord.clock import FrozenClock
from accord.engine.rules import load_ruleset
from accord.engine.runtime.config import RulePackConfig
from accord.engine.runtime.engine import Engine
from accord.engine.runtime.store import open_store
from accord.errors import ErrorClass
from accord.resources import rules_dir

from .fakes import FakeRuleSet, make_catalog, make_project

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


@dataclass
class Verdict:
    allowed: bool
    reason: str = ""


class OnlyShopifyCreates:
    """An ownership policy stand-in: after creation, `total` belongs to the ERP."""

    def check_write(self, system: str, entity: str, fields: list[str], record: Any, *,
                    now: datetime | None = None) -> Verdict:  # fmt: skip
        if "total" in fields and system != "erp":
            return Verdict(False, f"{system} may not write {entity}.total: owned by erp")
        return Verdict(True)


@pytest.fixture
def engine(store_url: str, tmp_path: Path) -> Iterator[Engine]:
    project = make_project(tmp_path, store_url)
    buffer_path = rules_dir() / "buffer_stock.rules"
    project = replace(
        project,
        rule_packs={**project.rule_packs,
                    "buffer_stock": RulePackConfig("buffer_stock", buffer_path, {})},
        inventory=replace(project.inventory, buffer_rules="buffer_stock"),
    )  # fmt: skip
    rulesets = {
        "order_policy": FakeRuleSet(),
        "refund_governance": load_ruleset(rules_dir() / "refund_governance.rules"),
        "buffer_stock": load_ruleset(buffer_path),
    }
    with Engine(project, open_store(store_url), catalog=make_catalog(), rulesets=rulesets,
                ownership=OnlyShopifyCreates(), clock=FrozenClock(T0)) as eng:  # fmt: skip
        with eng.store.transaction() as tx:
            tx.adjust_on_hand("SKU-1", "main", 10, op="receive", now="t")
        yield eng


def order(oid: int, total: str = "100.00", updated: str = "2026-03-01T10:00:00Z") -> dict[str, Any]:
    return {"id": oid, "updated_at": updated, "total_price": total,
            "line_items": [{"sku": "SKU-1", "quantity": 2}]}  # fmt: skip


def refund(rid: int, amount: str, **extra: Any) -> dict[str, Any]:
    return {"id": rid, "order_id": 1, "amount": amount, "idempotency_key": f"r-{rid}",
            "lines": [{"sku": "SKU-1", "quantity": 1}], **extra}  # fmt: skip


def test_buffer_stock_rules_decide_what_each_channel_may_publish(engine: Engine) -> None:
    r = engine.ingest("shopify", "order", order(1), event_id="o1")
    # pool 10 - 2 reserved = 8; shopify's buffer 1 -> 7, with the rule's reason
    [update] = r.outbound["shopify.inventory_level"]
    reason = update.pop("reason")
    assert update == {"sku": "SKU-1", "available": 7, "payload": {"sku": "SKU-1", "quantity": 7}}
    # the rule's own reason (its wording after the numbers belongs to the rule pack)
    assert reason.startswith("shopify may publish 7 of 8 for SKU-1 (allotted 8")


def test_refunds_are_governed_with_ledger_facts(engine: Engine) -> None:
    engine.ingest("shopify", "order", order(1), event_id="o1")  # paid: 100.00 captured
    ok = engine.ingest("shopify", "refund", refund(11, "30.00", reason="damaged"))
    assert ok.status == "processed"
    decision = ok.decisions["refund_governance"]
    assert decision.kinds()[0] == "approve"  # within the 50 USD limit, a common reason
    assert ok.record is not None
    assert ok.record["captured"] == {"amount": Decimal("100.00"), "currency": "USD"}
    assert ok.record["restock"] is False  # the restock table: damaged goods are written off

    review = engine.ingest("shopify", "refund", refund(12, "20.00", reason="changed_mind"))
    assert review.decisions["refund_governance"].kinds()[0] == "escalate"

    too_much = engine.ingest("shopify", "refund", refund(13, "60.00", reason="damaged"))
    assert too_much.status == "quarantined"  # 100 - 30 - 20 = 50 left
    assert too_much.diagnostics[0].code == "RUN010"
    assert "exceeds the 50.00 USD left" in too_much.diagnostics[0].message
    with engine.store.transaction() as tx:
        dl = tx.dead_letter(too_much.dlq_id or 0)
        assert [r.refund_id for r in tx.refunds("shopify:1")] == ["shopify:11", "shopify:12"]
    assert dl is not None
    assert dl.error_class is ErrorClass.BUSINESS_CONFLICT


def test_update_writing_a_field_another_system_owns_is_quarantined(engine: Engine) -> None:
    assert engine.ingest("shopify", "order", order(1), event_id="o1").status == "processed"
    r = engine.ingest("shopify", "order", order(1, "90.00", "2026-03-01T11:00:00Z"),
                      event_id="o2")  # fmt: skip
    assert r.status == "quarantined"
    assert r.diagnostics[0].code == "RUN011"
    assert "owned by erp" in r.diagnostics[0].message
    with engine.store.transaction() as tx:
        rec = tx.get_record("order", "shopify:1")
    assert rec is not None
    assert rec.version == 1
    assert rec.data["total"]["amount"] == "100.00"


def test_audit_entry_keeps_the_rendered_decision_reasons(engine: Engine) -> None:
    engine.ingest("shopify", "order", order(1), event_id="o1")  # 100.00 captured
    r = engine.ingest("shopify", "refund", refund(11, "30.00", reason="damaged"))
    assert r.status == "processed"
    with engine.store.transaction() as tx:
        entries = tx.audit("shopify:11")
    assert [e.action for e in entries] == ["created"]
    assert entries[0].rule_versions == {"refund_governance": "1"}
    assert entries[0].reasons == [{
        "ruleset": "refund_governance",
        "outcomes": ["approve", "set"],
        "reasons": [
            "refund of 30.00 USD for 'damaged' is within the 50 USD auto-approve limit",
            "damaged or defective goods are written off",
        ],
    }]  # fmt: skip
