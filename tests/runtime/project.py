"""A small real project for end-to-end tests: project-local Shopify order and stock specs,
compiled by the real mapping compiler, validated against the real canonical model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

ORDER_SPEC = """\
mapping: shopify.order.inbound
channel: shopify
api_version: "2024-04"
direction: inbound
source: shopify.order
target: order
version: {version}
fields:
  id: {{from: {id_path}, as: string, required: true}}
  updated_at: {{from: updated_at, as: datetime}}
  currency: {{from: currency, required: true}}
  total: {{from: total_price, as: money, currency: {{from: currency}}}}
  cancelled_at: {{from: cancelled_at, as: datetime}}
  lines:
    each: line_items
    fields:
      sku: {{from: sku}}
      quantity: {{from: quantity, as: int, required: true}}
"""

# What the project publishes to Shopify after every stock move (the shipped spec needs
# Shopify's inventory item ids, which these tests never ingest).
LEVEL_SPEC = """\
mapping: shopify.inventory_level.outbound
channel: shopify
api_version: "2024-04"
direction: outbound
source: inventory_level
target: shopify.inventory_level.set
version: 1
fields:
  sku: {from: sku, required: true}
  available: {from: available, as: int, required: true}
"""

PROJECT = """\
project: test-shop
store: {store}
mappings: [mappings]
rules: [shipped]
channels:
  - {{name: shopify, kind: shopify, api_version: "2024-04", inventory_sync: true}}
flows:
  - name: orders
    from: {{channel: shopify, entity: order}}
inventory: {{locations: [main]}}
"""


def write_project(root: Path, store_url: str, *, id_path: str = "id", version: int = 1) -> Path:
    """Write ``accord.yaml`` and the two specs under ``root``; returns the project file."""
    spec = root / "mappings" / "shopify" / "order.inbound.yaml"
    spec.parent.mkdir(parents=True, exist_ok=True)
    spec.write_text(ORDER_SPEC.format(id_path=id_path, version=version), encoding="utf-8")
    spec.with_name("inventory_level.outbound.yaml").write_text(LEVEL_SPEC, encoding="utf-8")
    path = root / "accord.yaml"
    path.write_text(PROJECT.format(store=json.dumps(store_url)), encoding="utf-8")
    return path


def order(n: int, *, sku: str = "SKU-1", qty: int = 1, minute: int = 0,
          cancelled: bool = False) -> dict[str, Any]:  # fmt: skip
    """A Shopify-shaped order payload (the fields the test spec reads)."""
    return {
        "id": 9_000_000_000_000 + n,  # beyond 2^53 / 1000: ids must stay exact strings
        "updated_at": f"2026-03-01T10:{minute:02d}:00Z",
        "currency": "USD",
        "total_price": "19.99",
        "cancelled_at": f"2026-03-01T10:{minute:02d}:00Z" if cancelled else None,
        "line_items": [{"sku": sku, "quantity": qty}],
    }
