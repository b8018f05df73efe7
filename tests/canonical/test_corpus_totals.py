"""The totals invariant agrees with real platform orders.

Shopify and WooCommerce order payloads from the shared corpus are reduced by hand to the
canonical fields the invariant reads (no mapping engine involved), then validated strictly:
the documented semantics (subtotal = lines before discounts; taxes excluded unless the order
says otherwise) must hold for every real sample, and a one-cent change must break it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from accord.canonical import check_invariants, validate_record
from accord.errors import ValidationError


def _money(amount: object, currency: str) -> dict[str, Any]:
    # str() first: JSON numbers arrive as floats, and an amount never goes through float math.
    return {"amount": Decimal(str(amount)), "currency": currency}


def _orders(payload: Any) -> Iterator[dict[str, Any]]:
    if isinstance(payload, list):
        for item in payload:
            yield from _orders(item)
    elif isinstance(payload, dict):
        if "line_items" in payload and ("total_price" in payload or "total" in payload):
            yield payload
        else:
            for key in ("order", "orders", "update", "create"):
                if key in payload:
                    yield from _orders(payload[key])


def _shopify(order: dict[str, Any]) -> dict[str, Any]:
    cur = order["currency"]
    shipping = sum(
        (Decimal(str(s["price"])) for s in order.get("shipping_lines") or []), Decimal("0.00")
    )
    lines = [
        {
            "external_ids": {"shopify": str(li["id"])},
            "sku": li.get("sku"),
            "quantity": li["quantity"],
            "unit_price": _money(li["price"], cur),
        }
        for li in order["line_items"]
    ]
    return {
        "id": f"shopify:{order['id']}",
        "currency": cur,
        "lines": lines,
        "subtotal": _money(order["total_line_items_price"], cur),
        "discount_total": _money(order["total_discounts"], cur),
        "shipping_total": _money(shipping, cur),
        "tax_total": _money(order["total_tax"], cur),
        "total": _money(order["total_price"], cur),
        "taxes_included": bool(order.get("taxes_included")),
    }


def _woocommerce(order: dict[str, Any]) -> dict[str, Any]:
    cur = order["currency"]
    subtotal = sum((Decimal(li["subtotal"]) for li in order["line_items"]), Decimal("0.00"))
    return {
        "id": f"woocommerce:{order['id']}",
        "currency": cur,
        "lines": [
            {"sku": li.get("sku") or None, "quantity": li["quantity"]} for li in order["line_items"]
        ],
        "subtotal": _money(subtotal, cur),
        "discount_total": _money(order["discount_total"], cur),
        "shipping_total": _money(order["shipping_total"], cur),
        "tax_total": _money(order["total_tax"], cur),
        "total": _money(order["total"], cur),
        "taxes_included": bool(order.get("prices_include_tax")),
    }


def _samples(corpus: Path) -> list[tuple[str, dict[str, Any]]]:
    found: list[tuple[str, dict[str, Any]]] = []
    for channel, reduce in (("shopify", _shopify), ("woocommerce", _woocommerce)):
        for path in sorted((corpus / channel / "orders").glob("*.json")):
            for order in _orders(json.loads(path.read_text(encoding="utf-8"))):
                if order.get("id") is None or order.get("currency") is None:
                    continue  # a create *request*: the platform has not computed totals yet
                found.append((f"{path.name}#{order['id']}", reduce(order)))
    return found


def test_real_orders_reconcile(corpus: Path) -> None:
    samples = _samples(corpus)
    assert len(samples) >= 8
    for label, record in samples:
        order = validate_record("order", record, invariants=False)
        assert check_invariants(order) == [], label
        assert validate_record("order", record) == order, label


def test_shopify_subtotal_is_the_lines_before_discounts(corpus: Path) -> None:
    # The 2024-04 API samples only: the 2008-era fixtures had their line items edited
    # without recomputing total_line_items_price, so they cannot show this.
    checked = 0
    for label, record in _samples(corpus):
        if not label.startswith("rest-2024-04"):
            continue
        checked += 1
        lines = sum(
            (line["unit_price"]["amount"] * line["quantity"] for line in record["lines"]),
            Decimal(0),
        )
        assert lines == record["subtotal"]["amount"], label
    assert checked >= 3


def test_one_cent_off_breaks_every_real_order(corpus: Path) -> None:
    for label, record in _samples(corpus):
        total = record["total"]
        broken = dict(record, total={**total, "amount": total["amount"] + Decimal("0.01")})
        with pytest.raises(ValidationError) as info:
            validate_record("order", broken)
        assert [(d.code, d.data_path) for d in info.value.diagnostics] == [("CAN020", "total")], (
            label
        )
