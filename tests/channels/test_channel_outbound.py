"""Outbound payloads validate against the platforms' official schemas, and bundled samples
are shaped like the real API.

Canonical records come from the bundled sample payloads mapped inbound (so this also proves
the round trip channel -> canonical -> other channel), or from the corpus request bodies that
the outbound specs must reproduce exactly.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from channel_corpus import ROOT, compiled, read_json

from accord.canonical import validate_record
from accord.testing.match import to_json_form

SAMPLES = ROOT / "samples" / "payloads"
#: Payloads of our own for entities the Quickstart project does not replay.
FIXTURES = Path(__file__).with_name("fixtures")


@cache
def _document(corpus: Path, schema_file: str) -> dict[str, Any]:
    doc = read_json(corpus / schema_file)
    assert isinstance(doc, dict)
    return doc


def validator(corpus: Path, schema_file: str, definition: str) -> jsonschema.Draft7Validator:
    """A validator for one definition of a Swagger 2.0 or OpenAPI 3 document."""
    doc = _document(corpus, schema_file)
    if "definitions" in doc:  # Swagger 2.0 (Amazon SP-API models)
        schema = {"$ref": f"#/definitions/{definition}", "definitions": doc["definitions"]}
    else:  # OpenAPI 3 (eBay, ShipBob)
        schema = {"$ref": f"#/components/schemas/{definition}", "components": doc["components"]}
    return jsonschema.Draft7Validator(schema)


def schema_errors(corpus: Path, schema_file: str, definition: str, payload: Any) -> list[str]:
    found = validator(corpus, schema_file, definition).iter_errors(to_json_form(payload))
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in found]


def canonical(spec: str, payload: Any) -> dict[str, Any]:
    """Map a sample payload inbound and check that the record is valid canonical data."""
    record = compiled(spec).apply(payload)
    entity = str(compiled(spec).spec.target)
    validate_record(entity, record)
    return record


def samples(channel: str, entity: str, root: Path = SAMPLES) -> Iterator[Path]:
    found = sorted((root / channel / entity).glob("*.json"))
    assert found, f"no samples under {channel}/{entity}"
    yield from found


# -- Shopify: outbound bodies equal the documented request bodies ----------------------------


def test_shopify_inventory_set_reproduces_the_documented_request(corpus: Path) -> None:
    level = {
        "sku": "IPOD2008PINK",
        "location": "655441491",
        "available": 42,
        "external_ids": {"shopify_inventory_item": "808950810"},
    }
    body = compiled("shopify/inventory_level.outbound.yaml").apply(level)
    expected = read_json(corpus / "shopify/inventory/rest-2024-04.inventory_level.set.request.json")
    assert body == expected


def test_shopify_inventory_adjust_reproduces_the_documented_request(corpus: Path) -> None:
    adjustment = {
        "sku": "IPOD2008PINK",
        "location": "655441491",
        "delta": 5,
        "reason": "received",
        "idempotency_key": "receipt-1",
        "external_ids": {"shopify_inventory_item": "808950810"},
    }
    validate_record("inventory_adjustment", adjustment)
    body = compiled("shopify/inventory_adjustment.outbound.yaml").apply(adjustment)
    expected = read_json(
        corpus / "shopify/inventory/rest-2024-04.inventory_level.adjust.request.json"
    )
    assert body == expected


# -- Amazon: outbound bodies validate against the SP-API models ------------------------------


@pytest.mark.parametrize(
    "sample", list(samples("shopify", "inventory_level")), ids=lambda p: p.name
)
def test_listings_patch_from_a_shopify_level_validates(sample: Path, corpus: Path) -> None:
    level = canonical("shopify/inventory_level.inbound.yaml", read_json(sample))
    body = compiled("amazon/inventory_level.outbound.yaml").apply(level)
    errors = schema_errors(
        corpus,
        "amazon-sp-api/schemas/listingsItems_2021-08-01.json",
        "ListingsItemPatchRequest",
        body,
    )
    assert errors == []
    (patch,) = body["patches"]
    assert patch["value"] == [
        {"fulfillment_channel_code": "DEFAULT", "quantity": level["available"]}
    ]


def test_the_listings_schema_check_catches_a_bad_patch(corpus: Path) -> None:
    bad = {"productType": "PRODUCT", "patches": [{"op": "upsert", "path": "/attributes/x"}]}
    errors = schema_errors(
        corpus,
        "amazon-sp-api/schemas/listingsItems_2021-08-01.json",
        "ListingsItemPatchRequest",
        bad,
    )
    assert len(errors) == 1
    assert "upsert" in errors[0]


@pytest.mark.parametrize(
    ("channel", "spec"),
    [("shopify", "shopify/order.inbound.yaml"), ("woocommerce", "woocommerce/order.inbound.yaml")],
)
def test_mcf_fulfillment_order_from_other_channels_validates(
    channel: str, spec: str, corpus: Path
) -> None:
    for sample in samples(channel, "order"):
        order = canonical(spec, read_json(sample))
        body = compiled("amazon/fulfillment_order.outbound.yaml").apply(order)
        errors = schema_errors(
            corpus,
            "amazon-sp-api/schemas/fulfillmentOutbound_2020-07-01.json",
            "CreateFulfillmentOrderRequest",
            body,
        )
        assert errors == [], sample.name
        assert [i["sellerSku"] for i in body["items"]] == [line["sku"] for line in order["lines"]]
        assert sum(i["quantity"] for i in body["items"]) == sum(
            line["quantity"] for line in order["lines"]
        )


def test_fba_summary_samples_follow_the_fba_inventory_model(corpus: Path) -> None:
    for sample in samples("amazon", "inventory_level", FIXTURES):
        payload = read_json(sample)
        errors = schema_errors(
            corpus, "amazon-sp-api/schemas/fbaInventory.json", "InventorySummary", payload
        )
        assert errors == [], sample.name
        level = canonical("amazon/inventory_level.inbound.yaml", payload)
        details = payload["inventoryDetails"]
        assert level["available"] == details["fulfillableQuantity"]
        assert level["on_hand"] + level["incoming"] == payload["totalQuantity"]
