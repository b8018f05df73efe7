"""Outbound payloads validate against the platforms' official schemas, and bundled samples
are shaped like the real API.

Canonical records come from the bundled sample payloads mapped inbound (so this also proves
the round trip channel -> canonical -> other channel), or from the corpus request bodies that
the outbound specs must reproduce exactly.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
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


def openapi3(node: Any) -> Any:
    """Read an OpenAPI 3.0 schema the way OpenAPI defines it, for a JSON Schema validator.

    Two OpenAPI 3.0 rules differ from JSON Schema: keywords beside a ``$ref`` are ignored, and
    ShipBob's generated document also puts ``additionalProperties: false`` on every node,
    including ``allOf``/``oneOf`` wrappers that declare no properties (which, read as JSON
    Schema, would refuse every property). So: siblings of ``$ref`` are dropped, and
    ``additionalProperties`` is kept only where the node declares its ``properties``; an
    ``allOf`` whose node already lists every property is redundant and dropped.
    """
    if isinstance(node, list):
        return [openapi3(n) for n in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        return {"$ref": node["$ref"]}
    out = {k: openapi3(v) for k, v in node.items()}
    if "properties" not in out:
        out.pop("additionalProperties", None)
    elif "allOf" in out:
        out.pop("allOf")
    return out


def validator(corpus: Path, schema_file: str, definition: str) -> jsonschema.Draft7Validator:
    """A validator for one definition of a Swagger 2.0 or OpenAPI 3 document."""
    doc = _document(corpus, schema_file)
    if "definitions" in doc:  # Swagger 2.0 (Amazon SP-API models)
        schema = {"$ref": f"#/definitions/{definition}", "definitions": doc["definitions"]}
    else:  # OpenAPI 3 (eBay, ShipBob)
        components = openapi3(doc["components"])
        schema = {"$ref": f"#/components/schemas/{definition}", "components": components}
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


# -- NetSuite: the sales order body matches Oracle's SuiteTalk REST tutorial bodies ----------

NETSUITE_CREATE_BODIES = [
    "netsuite/orders/rest.salesOrder.case-1-create-your-sales-order.request.2.json",
    "netsuite/orders/rest.salesOrder.case-1-create-your-sales-order.request.3.json",
    "netsuite/orders/rest.salesOrder.case-2-apply-promotion-to-sales-order.request.json",
    "netsuite/orders/rest.salesOrder.case-2-apply-promotion-to-sales-order.request.2.json",
    "netsuite/orders/rest.salesOrder.case-5-approve-sales-order.request.json",
]
# Fields the spec sends beyond the tutorial bodies, all standard sales order fields:
# externalId (idempotent creation), and per line the channel's price (price level -1, rate).
NETSUITE_ADDED = {"externalId"}
NETSUITE_LINE_ADDED = {"price", "rate", "description"}
# Tutorial fields the spec does not send: promotions need account-specific discount items.
NETSUITE_NOT_SENT = {"discountitem", "promocode"}

TUTORIAL_ORDER = {
    "id": "11037",
    "number": "11037",
    "channel": "shopify",
    "placed_at": "2020-06-15T18:00:00Z",
    "financial_status": "paid",
    "note": "This is a test memo!",
    "customer": {"external_ids": {"netsuite": "110"}},
    "lines": [
        {
            "sku": "TEE-ORG-BLK-M",
            "title": "Test Item",
            "quantity": 1,
            "unit_price": {"amount": "28.00", "currency": "USD"},
        }
    ],
}


def _netsuite_body() -> dict[str, Any]:
    from accord.testing.subjects import revive

    order = revive(TUTORIAL_ORDER)
    validate_record("order", order)
    body = to_json_form(compiled("netsuite/sales_order.outbound.yaml").apply(order))
    assert isinstance(body, dict)
    return body


def test_netsuite_sales_order_equals_the_tutorial_body(corpus: Path) -> None:
    body = _netsuite_body()
    expected = read_json(
        corpus / "netsuite/orders/rest.salesOrder.case-1-create-your-sales-order.request.3.json"
    )
    # The tutorial writes the date unpadded ("2020-6-15"); NetSuite reads ISO dates too.
    assert expected.pop("tranDate") == "2020-6-15"
    assert body.pop("tranDate") == "2020-06-15"
    (line,) = body["item"]["items"]
    (documented,) = expected["item"]["items"]
    assert line["item"] == documented["item"]
    assert line["quantity"] == documented["quantity"]
    assert line["description"] == documented["Description"]
    for key in ("entity", "customForm", "otherrefnum", "memo"):
        assert body[key] == expected[key], key


def test_netsuite_sales_order_sends_only_documented_fields(corpus: Path) -> None:
    body = _netsuite_body()
    documented: set[str] = set()
    documented_line: set[str] = set()
    for name in NETSUITE_CREATE_BODIES:
        sample = read_json(corpus / name)
        documented |= set(sample)
        for item in sample["item"]["items"]:
            documented_line |= set(item)
    assert set(body) <= documented | NETSUITE_ADDED
    assert documented - set(body) == NETSUITE_NOT_SENT
    for line in body["item"]["items"]:
        assert set(line) <= documented_line | NETSUITE_LINE_ADDED
    # case 5 creates the order approved: a paid order does the same.
    approved = read_json(corpus / NETSUITE_CREATE_BODIES[4])
    assert body["orderStatus"] == approved["orderStatus"] == "B"


# -- ShipBob: the order body validates against ShipBob's OpenAPI document -------------------


def wire_form(value: Any) -> Any:
    """The payload as it goes on the wire: like the JSON form, but amounts stay numbers
    (ShipBob's prices are JSON numbers; jsonschema accepts Decimal as a number)."""
    if isinstance(value, dict):
        return {k: wire_form(v) for k, v in value.items()}
    if isinstance(value, list):
        return [wire_form(v) for v in value]
    if isinstance(value, Decimal):
        return value
    return to_json_form(value)


@pytest.mark.parametrize(
    ("channel", "spec"),
    [("shopify", "shopify/order.inbound.yaml"), ("woocommerce", "woocommerce/order.inbound.yaml")],
)
def test_shipbob_order_from_other_channels_validates(channel: str, spec: str, corpus: Path) -> None:
    check = validator(corpus, "shipbob/schemas/openapi-2026-01.json", "Orders.CreateOrderModel")
    for sample in samples(channel, "order"):
        order = canonical(spec, read_json(sample))
        body = wire_form(compiled("shipbob/order.outbound.yaml").apply(order))
        errors = [f"{list(e.absolute_path)}: {e.message}" for e in check.iter_errors(body)]
        assert errors == [], sample.name
        assert body["reference_id"] == f"{order['channel']}-{order['id']}"
        assert [p["reference_id"] for p in body["products"]] == [li["sku"] for li in order["lines"]]


def test_the_shipbob_schema_check_catches_a_bad_order(corpus: Path) -> None:
    check = validator(corpus, "shipbob/schemas/openapi-2026-01.json", "Orders.CreateOrderModel")
    bad = {
        "reference_id": "x",
        "type": "Retail",
        "shipping_method": "Standard",
        "recipient": {"name": "A", "nickname": "B", "address": {"address1": "1 St"}},
        "products": [{"reference_id": "SKU", "quantity": 1}],
    }
    messages = sorted(e.message for e in check.iter_errors(bad))
    assert any("'Retail' is not one of" in m for m in messages)
    assert any("'nickname' was unexpected" in m for m in messages)
    assert any("is not valid under any of the given schemas" in m for m in messages)
    assert len(messages) == 4, messages


# -- eBay: fixtures and outbound bodies against eBay's published OpenAPI documents ----------


def test_ebay_order_fixtures_follow_the_fulfillment_api(corpus: Path) -> None:
    check = validator(corpus, "ebay/schemas/sell_fulfillment_v1_oas3.json", "Order")
    for sample in samples("ebay", "order", FIXTURES):
        payload = read_json(sample)
        errors = [f"{list(e.absolute_path)}: {e.message}" for e in check.iter_errors(payload)]
        assert errors == [], sample.name
        order = canonical("ebay/order.inbound.yaml", payload)
        assert order["total"]["amount"] == Decimal(payload["pricingSummary"]["total"]["value"])


def test_the_ebay_order_check_catches_a_wrong_type(corpus: Path) -> None:
    check = validator(corpus, "ebay/schemas/sell_fulfillment_v1_oas3.json", "Order")
    bad = {"orderId": 12, "lineItems": [{"quantity": "2"}]}
    assert len(list(check.iter_errors(bad))) == 2


@pytest.mark.parametrize(
    "sample", list(samples("shopify", "inventory_level")), ids=lambda p: p.name
)
def test_ebay_quantity_update_from_a_shopify_level_validates(sample: Path, corpus: Path) -> None:
    level = canonical("shopify/inventory_level.inbound.yaml", read_json(sample))
    body = compiled("ebay/inventory_level.outbound.yaml").apply(level)
    errors = schema_errors(
        corpus, "ebay/schemas/sell_inventory_v1_oas3.json", "BulkPriceQuantity", body
    )
    assert errors == []
    (request,) = body["requests"]
    assert request == {
        "sku": level["sku"],
        "shipToLocationAvailability": {"quantity": level["available"]},
    }


#: Corpus products mapped inbound, then published to eBay one variant at a time.
PRODUCTS = [
    "shopify/products/rest-2024-04.product.get-product-with-variants.response.json",
    "shopify/products/rest-2024-04.product.create-product-with-variants.response.json",
    "shopify/products/rest.product.json",
]


def _per_variant(product: dict[str, Any]) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """The product narrowed to each of its variants, as the inventory item spec takes it."""
    for variant in product.get("variants") or []:
        yield variant, {**product, "variants": [variant]}


@pytest.mark.parametrize("file", PRODUCTS, ids=lambda v: Path(v).name)
def test_ebay_inventory_item_from_a_shopify_product_validates(file: str, corpus: Path) -> None:
    check = validator(corpus, "ebay/schemas/sell_inventory_v1_oas3.json", "InventoryItem")
    product = canonical("shopify/product.inbound.yaml", {"product": read_json(corpus / file)})
    narrowed = list(_per_variant(product))
    assert narrowed, file
    for variant, record in narrowed:
        body = wire_form(compiled("ebay/inventory_item.outbound.yaml").apply(record))
        errors = [f"{list(e.absolute_path)}: {e.message}" for e in check.iter_errors(body)]
        assert errors == [], (file, variant.get("sku"))
        assert body["product"]["title"] == product["title"]
        assert body["product"].get("brand") == product.get("vendor")
        assert body["condition"] == "NEW"
        weight = variant.get("weight")
        if weight is not None:
            assert body["packageWeightAndSize"]["weight"]["value"] == weight["value"]
            unit = {"g": "GRAM", "kg": "KILOGRAM", "oz": "OUNCE", "lb": "POUND"}[weight["unit"]]
            assert body["packageWeightAndSize"]["weight"]["unit"] == unit
        urls = body["product"].get("imageUrls", [])
        assert len(urls) == len(set(urls))
        assert set(urls) <= {m["url"] for m in product.get("media") or []}


def test_the_ebay_inventory_item_check_catches_a_bad_body(corpus: Path) -> None:
    check = validator(corpus, "ebay/schemas/sell_inventory_v1_oas3.json", "InventoryItem")
    bad = {"product": {"title": 12, "imageUrls": "https://x/a.jpg"},
           "packageWeightAndSize": {"weight": {"value": "heavy"}}}  # fmt: skip
    assert len(list(check.iter_errors(bad))) == 3
