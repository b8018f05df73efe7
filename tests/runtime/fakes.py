"""Small stand-ins for the compiled parts, so the engine's own logic is tested in isolation.

They follow the interfaces of :mod:`accord.engine.mapping` and :mod:`accord.engine.rules`
(``apply(payload, *, record_id=None)``, ``evaluate(record, *, facts, now)``) and raise the
same classified errors.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from accord.diagnostics import Diagnostic
from accord.engine.runtime.config import (
    ChannelConfig,
    Endpoint,
    FlowConfig,
    InventoryConfig,
    Project,
    RulePackConfig,
)
from accord.errors import MappingError, RuleError


@dataclass
class FakeMapping:
    id: str
    version: int
    fn: Callable[[Any], dict[str, Any]]
    target: str | None = None

    def apply(self, payload: Any, *, record_id: str | None = None) -> dict[str, Any]:
        return self.fn(payload)


def _money(value: Any, currency: str) -> dict[str, Any]:
    return {"amount": Decimal(str(value)), "currency": currency}


def shop_order(p: Mapping[str, Any]) -> dict[str, Any]:
    if "id" not in p:
        raise MappingError(diagnostics=[Diagnostic(code="MAP201", message="id is required")])
    cur = p.get("currency", "USD")
    return {
        "id": str(p["id"]),
        "updated_at": p.get("updated_at"),
        "currency": cur,
        "financial_status": p.get("financial_status", "paid"),
        "fulfillment_status": p.get("fulfillment_status"),
        "cancelled_at": p.get("cancelled_at"),
        "total": _money(p.get("total_price", "10.00"), cur),
        "lines": [{"sku": li["sku"], "quantity": li["quantity"]} for li in p.get("line_items", [])],
    }


def shop_refund(p: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": str(p["id"]),
        "order_external_ids": {"shopify": str(p["order_id"])},
        "amount": _money(p["amount"], "USD"),
        "restock": bool(p.get("restock", False)),
        "lines": [{"sku": li["sku"], "quantity": li["quantity"]} for li in p.get("lines", [])],
        **{k: p[k] for k in ("reason", "idempotency_key") if k in p},
    }


def shop_fulfillment(p: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": str(p["id"]),
        "order_external_ids": {"shopify": str(p["order_id"])},
        "status": p.get("status", "shipped"),
        "lines": [{"sku": li["sku"], "quantity": li["quantity"]} for li in p.get("lines", [])],
    }


def ship_count(p: Mapping[str, Any]) -> dict[str, Any]:
    return {"id": f"{p['sku']}@{p['location']}", "sku": p["sku"], "location": p["location"],
            "on_hand": p["on_hand"], "updated_at": p.get("updated_at")}  # fmt: skip


def erp_sales_order(r: Mapping[str, Any]) -> dict[str, Any]:
    return {"externalId": r["id"], "total": str(r["total"]["amount"])}


def wms_order(r: Mapping[str, Any]) -> dict[str, Any]:
    return {"reference_id": r["id"], "items": [li["sku"] for li in r["lines"]]}


def shop_level_out(r: Mapping[str, Any]) -> dict[str, Any]:
    """A stock publication that needs no channel ids (the shipped Shopify spec does)."""
    return {"sku": r["sku"], "quantity": r["available"]}


@dataclass
class FakeCatalog:
    specs: dict[tuple[str, str, str], FakeMapping] = field(default_factory=dict)

    def find(self, channel: str, entity: str, direction: str) -> FakeMapping:
        try:
            return self.specs[(channel, entity, direction)]
        except KeyError:
            raise MappingError(
                diagnostics=[Diagnostic(code="MAP100", message=f"no spec {channel} {entity}")]
            ) from None


@dataclass
class Decision:
    outcomes: list[dict[str, Any]]
    fired: list[str]

    def to_dict(self) -> dict[str, Any]:
        return {"outcomes": self.outcomes, "fired": self.fired}


@dataclass
class FakeRuleSet:
    """Quarantines orders above ``limit``; records the facts of every evaluation."""

    version: str = "1"
    limit: Decimal = Decimal("1000")
    seen: list[dict[str, Any]] = field(default_factory=list)

    def evaluate(self, record: Mapping[str, Any], *, facts: Mapping[str, Any] = {},
                 now: datetime | None = None) -> Decision:  # fmt: skip
        self.seen.append(dict(facts))
        total = record.get("total") or record.get("amount") or {}
        if total.get("amount") is None:
            raise RuleError(diagnostics=[Diagnostic(code="RULE201", message="total missing")])
        if total["amount"] > self.limit:
            return Decision([{"kind": "quarantine"}], ["too_big"])
        return Decision([{"kind": "approve"}], ["ok"])


def make_catalog() -> FakeCatalog:
    def m(id_: str, fn: Callable[[Any], dict[str, Any]], target: str) -> FakeMapping:
        return FakeMapping(id_, 1, fn, target)

    return FakeCatalog({
        ("shopify", "order", "inbound"): m("shopify.order.inbound", shop_order, "order"),
        ("shopify", "refund", "inbound"): m("shopify.refund.inbound", shop_refund, "refund"),
        ("shopify", "fulfillment", "inbound"): m("shopify.fulfillment.inbound",
                                                 shop_fulfillment, "fulfillment"),
        ("shipbob", "inventory_level", "inbound"): m("shipbob.inventory.inbound", ship_count,
                                                     "inventory_level"),
        ("netsuite", "sales_order", "outbound"): m("netsuite.so.outbound", erp_sales_order,
                                                   "sales_order"),
        ("shipbob", "order", "outbound"): m("shipbob.order.outbound", wms_order, "order"),
        ("shopify", "inventory_level", "outbound"): m("shopify.inventory_level.outbound",
                                                      shop_level_out, "shopify.inventory_level"),
    })  # fmt: skip


def make_project(root: Path, store_url: str) -> Project:
    channels = {
        "shopify": ChannelConfig("shopify", "shopify", "2024-04", inventory_sync=True,
                                 buffer_stock=1),
        "netsuite": ChannelConfig("netsuite", "netsuite", "2024.1"),
        "shipbob": ChannelConfig("shipbob", "shipbob", "2.0"),
    }  # fmt: skip
    flows = (
        FlowConfig("orders", Endpoint("shopify", "order"), ("order_policy",),
                   (Endpoint("netsuite", "sales_order"), Endpoint("shipbob", "order"))),
        FlowConfig("refunds", Endpoint("shopify", "refund"), ("refund_governance",)),
        FlowConfig("fulfillments", Endpoint("shopify", "fulfillment")),
        FlowConfig("counts", Endpoint("shipbob", "inventory_level")),
    )  # fmt: skip
    packs = {
        "order_policy": RulePackConfig("order_policy", root / "order_policy.rules", {}),
        "refund_governance": RulePackConfig(
            "refund_governance", root / "refund_governance.rules", {"max_ratio": Decimal("1")}
        ),
    }
    return Project(
        path=root / "accord.yaml",
        name="test",
        store_url=store_url,
        mapping_roots=(),
        rule_roots=(),
        channels=channels,
        flows=flows,
        rule_packs=packs,
        inventory=InventoryConfig(locations=("main", "overflow"), source="shipbob"),
    )
