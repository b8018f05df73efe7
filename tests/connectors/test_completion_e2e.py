"""Events completed into the shape the shipped inbound specs take, through the real engine.

A Shopify stock level needs its inventory item (the SKU), a WooCommerce product its
variations and the store settings, a TikTok order notification the order itself, and ShipBob
shipment topics go to the fulfillment spec. Each is delivered over real HTTP to ``accord
serve``'s app, or pulled by a backfill, with the channel faked by an ``httpx2.MockTransport``;
the assertions read the canonical record the engine produced.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx2
import pytest
import uvicorn

from accord.cli import build_parser
from accord.cli import pull as pull_cli
from accord.connectors import (
    MemoryCheckpoints,
    ShipBobConnector,
    ShopifyConnector,
    StaticSecrets,
    TikTokShopConnector,
    WooCommerceConnector,
    backfill,
)
from accord.connectors.retry import RetryPolicy
from accord.connectors.server import create_app
from accord.connectors.tiktok import tiktok_sign
from accord.connectors.webhooks import hmac_sha256_base64, hmac_sha256_hex
from accord.engine.runtime import Engine
from accord.errors import TransientError

PROJECT = """\
project: completion
store: sqlite:///state.db
channels:
  - {name: shopify, kind: shopify}
  - {name: woocommerce, kind: woocommerce}
  - {name: tiktok, kind: tiktok}
  - {name: shipbob, kind: shipbob}
flows:
  - name: stock
    from: {channel: shopify, entity: inventory_level}
  - name: products
    from: {channel: woocommerce, entity: product}
  - name: tiktok-orders
    from: {channel: tiktok, entity: order}
  - name: shipments
    from: {channel: shipbob, entity: fulfillment}
"""
SHIPBOB_KEY = b"shipbob-completion-key-01"
SECRETS = {
    "SHOPIFY_SHOP": "acme.myshopify.com",
    "SHOPIFY_ACCESS_TOKEN": "shpat_completion",
    "SHOPIFY_WEBHOOK_SECRET": "shopify-completion-secret",
    "SHOPIFY_LOCATION_IDS": "71529087093",
    "WOOCOMMERCE_URL": "https://shop.example.com",
    "WOOCOMMERCE_CONSUMER_KEY": "ck_completion",
    "WOOCOMMERCE_CONSUMER_SECRET": "cs_completion",
    "WOOCOMMERCE_WEBHOOK_SECRET": "woo-completion-secret",
    "TIKTOK_APP_KEY": "6abc12def",
    "TIKTOK_APP_SECRET": "tiktok-completion-secret",
    "TIKTOK_ACCESS_TOKEN": "ROW_access_token_1",
    "SHIPBOB_TOKEN": "shipbob-pat-completion",
    "SHIPBOB_WEBHOOK_SECRET": "whsec_" + base64.b64encode(SHIPBOB_KEY).decode(),
}
SHOPIFY = "/admin/api/2026-01"
WOO = "/wp-json/wc/v3"
TIKTOK_ORDER = json.loads(
    (
        Path(__file__).parents[1] / "channels/fixtures/tiktok/order/order-576486316948490001.json"
    ).read_text()
)

LEVEL = {
    "inventory_item_id": 43120017002,
    "location_id": 71529087093,
    "available": 30,
    "updated_at": "2026-02-22T08:12:00-05:00",
    "admin_graphql_api_id": "gid://shopify/InventoryLevel/71529087093?inventory_item_id=43120017002",
}
ITEM = {"id": 43120017002, "sku": " mug-stone-12 ", "tracked": True, "cost": "7.41"}
VARIABLE = {
    "id": 455,
    "name": "Organic Cotton Tee &ndash; Classic",
    "slug": "organic-cotton-tee",
    "type": "variable",
    "status": "publish",
    "date_modified_gmt": "2026-03-01T10:00:00",
    "attributes": [{"id": 6, "name": "Color", "variation": True, "options": ["Black", "White"]}],
    "images": [],
    "price": "",
    "variations": [456, 457],
}
SIMPLE = {
    "id": 794,
    "name": "Premium Quality",
    "type": "simple",
    "status": "publish",
    "sku": "pq-19",
    "price": "21.99",
    "date_modified_gmt": "2026-03-01T11:00:00",
    "attributes": [],
    "images": [],
    "variations": [],
}
VARIATIONS = [
    {"id": 456, "sku": "tee-org-blk-m", "price": "24.00", "regular_price": "28.00",
     "sale_price": "24.00", "on_sale": True, "attributes": [{"name": "Color", "option": "Black"}]},
    {"id": 457, "sku": "TEE-ORG-WHT-L", "price": "28.00", "regular_price": "28.00",
     "sale_price": "", "on_sale": False, "attributes": [{"name": "Color", "option": "White"}]},
]  # fmt: skip
SETTINGS = [
    {"id": "woocommerce_currency", "label": "Currency", "value": "EUR"},
    {"id": "woocommerce_default_country", "value": "DE:BE"},
]
SHIPMENT = {
    "id": 100810005,
    "order_id": 258830221,
    "reference_id": "shopify-5824913261692",
    "status": "Completed",
    "tracking": {"carrier": "USPS", "carrier_service": "Priority",
                 "tracking_number": "9405511899560471234567",
                 "shipping_date": "2026-02-12T21:00:00Z"},
    "products": [{"id": 5501, "sku": "TEE-ORG-WHT-L",
                  "inventory_items": [{"id": 1, "quantity": 2}]}],
}  # fmt: skip


class Channels:
    """One fake for the four channels; ``fail`` answers the next requests to a path with
    the given responses first; every request is kept."""

    def __init__(self) -> None:
        self.requests: list[httpx2.Request] = []
        self.fail: dict[str, list[httpx2.Response]] = {}

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        path = request.url.path
        queued = self.fail.get(path)
        if queued:
            return queued.pop(0)
        if path == f"{SHOPIFY}/inventory_items/43120017002.json":
            assert request.headers["X-Shopify-Access-Token"] == "shpat_completion"
            return httpx2.Response(200, json={"inventory_item": ITEM})
        if path == f"{SHOPIFY}/inventory_levels.json":
            return httpx2.Response(200, json={"inventory_levels": [LEVEL]})
        if path == f"{WOO}/products":
            return httpx2.Response(200, json=[VARIABLE, SIMPLE], headers={"X-WP-TotalPages": "1"})
        if path == f"{WOO}/products/455/variations":
            page = request.url.params["page"]
            return httpx2.Response(
                200, json=[VARIATIONS[int(page) - 1]], headers={"X-WP-TotalPages": "2"}
            )
        if path == f"{WOO}/settings/general":
            return httpx2.Response(200, json=SETTINGS)
        if path == "/order/202309/orders":
            params = dict(request.url.params)
            sign = tiktok_sign(SECRETS["TIKTOK_APP_SECRET"], path, params, request.content)
            assert params["sign"] == sign
            found = [TIKTOK_ORDER] if params["ids"] == TIKTOK_ORDER["id"] else []
            return httpx2.Response(200, json={"code": 0, "data": {"orders": found}})
        if path == "/2026-01/order/258830221/shipment/100810005":
            assert request.headers["Authorization"] == "Bearer shipbob-pat-completion"
            return httpx2.Response(200, json=SHIPMENT)
        return httpx2.Response(404, json={"message": f"no route {path}"})

    def count(self, path: str) -> int:
        return sum(1 for r in self.requests if r.url.path == path)


class Recording:
    """The engine, keeping every result it returned (for the canonical records)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.results: list[Any] = []

    def ingest(self, *args: Any, **kwargs: Any) -> Any:
        result = self.engine.ingest(*args, **kwargs)
        self.results.append(result)
        return result


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("completion") / "accord.yaml"
    path.write_text(PROJECT)
    return path


@pytest.fixture(scope="module")
def engine(project: Path) -> Iterator[Engine]:
    # One engine for the module: building one compiles the shipped mappings.
    with Engine.from_project(project) as built:
        yield built


@pytest.fixture
def fake() -> Channels:
    return Channels()


@pytest.fixture
def connectors(fake: Channels) -> dict[str, Any]:
    client = httpx2.Client(transport=httpx2.MockTransport(fake))
    options: dict[str, Any] = {
        "secrets": StaticSecrets(SECRETS),
        "retry": RetryPolicy(max_attempts=2, base_delay=0.0, max_delay=0.0),
        "sleep": lambda seconds: None,
    }
    return {
        "shopify": ShopifyConnector(client, **options),
        "woocommerce": WooCommerceConnector(client, **options),
        "tiktok": TikTokShopConnector(client, **options),
        "shipbob": ShipBobConnector(client, **options),
    }


@pytest.fixture
def serve(connectors: dict[str, Any], engine: Engine) -> Iterator[tuple[str, Recording]]:
    sink = Recording(engine)
    app = create_app(connectors, sink)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(
        uvicorn.Config(
            app, log_level="warning", ws="none", http="h11", lifespan="on", access_log=False
        )
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}", sink
    server.should_exit = True
    thread.join(10)


def post(url: str, channel: str, headers: dict[str, str], body: bytes) -> httpx2.Response:
    with httpx2.Client(base_url=url, timeout=30) as client:
        return client.post(f"/webhooks/{channel}", headers=headers, content=body)


def shopify_headers(topic: str, webhook_id: str, body: bytes) -> dict[str, str]:
    return {
        "X-Shopify-Topic": topic,
        "X-Shopify-Webhook-Id": webhook_id,
        "X-Shopify-Hmac-Sha256": hmac_sha256_base64(
            SECRETS["SHOPIFY_WEBHOOK_SECRET"].encode(), body
        ),
    }


def shipbob_headers(topic: str, msg_id: str, body: bytes) -> dict[str, str]:
    stamp = str(int(time.time()))
    mac = hmac.new(SHIPBOB_KEY, f"{msg_id}.{stamp}.".encode() + body, hashlib.sha256).digest()
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": stamp,
        "webhook-signature": "v1," + base64.b64encode(mac).decode(),
        "x-webhook-topic": topic,
    }


# -- Shopify inventory levels -------------------------------------------------------------


def test_shopify_inventory_level_webhook_is_joined_with_its_item(serve, fake):
    url, sink = serve
    body = json.dumps(LEVEL).encode()
    reply = post(url, "shopify", shopify_headers("inventory_levels/update", "sc-lvl-1", body), body)
    assert reply.status_code == 200, reply.text
    assert reply.json()["status"] == "processed"
    (result,) = sink.results
    assert result.entity == "inventory_level"
    assert result.record["sku"] == "MUG-STONE-12"
    assert result.record["location"] == "71529087093"
    assert result.record["available"] == 30
    assert result.record["external_ids"]["shopify_inventory_item"] == "43120017002"
    # The redelivery is a duplicate, and the item came from the cache.
    again = post(url, "shopify", shopify_headers("inventory_levels/update", "sc-lvl-1", body), body)
    assert again.json()["status"] == "duplicate"
    assert fake.count(f"{SHOPIFY}/inventory_items/43120017002.json") == 1


def test_shopify_inventory_level_pull_is_joined_with_its_item(connectors, engine, fake):
    sink = Recording(engine)
    report = backfill(
        connectors["shopify"], "inventory_level", sink, since=None,
        checkpoints=MemoryCheckpoints(), channel="shopify",
    )  # fmt: skip
    assert report.finished
    assert report.items == 1
    (result,) = sink.results
    assert result.status in ("processed", "duplicate"), result.diagnostics
    assert result.record["sku"] == "MUG-STONE-12"
    assert not any(r.status == "dead_lettered" for r in sink.results)


def test_shopify_item_outage_is_503_and_nothing_reaches_the_engine(serve, fake):
    url, sink = serve
    fake.fail[f"{SHOPIFY}/inventory_items/43120017002.json"] = [
        httpx2.Response(503, text="down"),
        httpx2.Response(503, text="down"),
    ]
    body = json.dumps({**LEVEL, "available": 29, "updated_at": "2026-02-22T09:00:00-05:00"})
    reply = post(
        url, "shopify", shopify_headers("inventory_levels/update", "sc-lvl-2", body.encode()),
        body.encode(),
    )  # fmt: skip
    assert reply.status_code == 503
    assert sink.results == []  # the channel delivers it again; nothing was half-processed
    reply = post(
        url, "shopify", shopify_headers("inventory_levels/update", "sc-lvl-2", body.encode()),
        body.encode(),
    )  # fmt: skip
    assert reply.json()["status"] == "processed"
    assert sink.results[0].record["available"] == 29


# -- WooCommerce products -----------------------------------------------------------------


def test_woocommerce_product_pull_brings_variations_and_settings(
    project, engine, fake, monkeypatch, capsys
):
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    sink = Recording(engine)
    args = build_parser().parse_args(
        ["pull", "woocommerce", "product", "--all", "--project", str(project)]
    )
    client = httpx2.Client(transport=httpx2.MockTransport(fake))
    assert pull_cli.run(args, sink_factory=lambda a: sink, client=client) == 0
    assert "2 records in 1 pages" in capsys.readouterr().out
    variable, simple = (r.record for r in sink.results)
    assert [r.status for r in sink.results] == ["processed", "processed"]
    assert variable["title"] == "Organic Cotton Tee – Classic"
    assert [v["sku"] for v in variable["variants"]] == ["TEE-ORG-BLK-M", "TEE-ORG-WHT-L"]
    assert variable["variants"][0]["price"] == {"amount": Decimal("24.00"), "currency": "EUR"}
    assert simple["variants"][0]["price"] == {"amount": Decimal("21.99"), "currency": "EUR"}
    # Variations of the variable product only (two pages); settings fetched once.
    assert fake.count(f"{WOO}/products/455/variations") == 2
    assert fake.count(f"{WOO}/products/794/variations") == 0
    assert fake.count(f"{WOO}/settings/general") == 1


def test_woocommerce_product_webhook_brings_variations_and_settings(serve):
    url, sink = serve
    body = json.dumps({**VARIABLE, "date_modified_gmt": "2026-03-01T12:00:00"}).encode()
    headers = {
        "X-WC-Webhook-Topic": "product.updated",
        "X-WC-Webhook-Resource": "product",
        "X-WC-Webhook-Signature": hmac_sha256_base64(
            SECRETS["WOOCOMMERCE_WEBHOOK_SECRET"].encode(), body
        ),
    }
    reply = post(url, "woocommerce", headers, body)
    assert reply.status_code == 200, reply.text
    (result,) = sink.results
    assert result.status == "processed", result.diagnostics
    assert [v["price"]["amount"] for v in result.record["variants"]] == [
        Decimal("24.00"),
        Decimal("28.00"),
    ]


# -- TikTok order notifications ----------------------------------------------------------


def tiktok_delivery(notification_id: str, order_id: str) -> tuple[dict[str, str], bytes]:
    body = json.dumps(
        {
            "type": 1,
            "tts_notification_id": notification_id,
            "shop_id": "7494049642642441621",
            "timestamp": 1771239967,
            "data": {"order_id": order_id, "order_status": "AWAITING_SHIPMENT",
                     "update_time": 1771239967},
        }
    ).encode()  # fmt: skip
    signature = hmac_sha256_hex(
        SECRETS["TIKTOK_APP_SECRET"].encode(), SECRETS["TIKTOK_APP_KEY"].encode() + body
    )
    return {"Authorization": signature}, body


def test_tiktok_order_notification_is_completed_with_the_order(serve, fake):
    url, sink = serve
    headers, body = tiktok_delivery("7327112393057371910", TIKTOK_ORDER["id"])
    reply = post(url, "tiktok", headers, body)
    assert reply.status_code == 200, reply.text
    assert reply.json()["status"] == "processed"
    (result,) = sink.results
    record = result.record
    assert record["id"] == "576486316948490001"
    assert record["currency"] == "USD"
    assert record["channel"] == "tiktok"
    assert fake.count("/order/202309/orders") == 1


def test_tiktok_notification_for_an_unknown_order_is_kept_as_a_dead_letter(serve, engine):
    url, sink = serve
    headers, body = tiktok_delivery("7327112393057371911", "576486316948499999")
    reply = post(url, "tiktok", headers, body)
    assert reply.json()["status"] == "dead_lettered"
    (result,) = sink.results
    letter = engine.store.run(lambda tx: tx.dead_letter(result.dlq_id))
    assert "576486316948499999" in str(letter)  # the notification is kept, not lost


# -- ShipBob shipments --------------------------------------------------------------------


def test_shipbob_shipment_topic_goes_to_the_fulfillment_spec(serve, fake):
    url, sink = serve
    body = json.dumps({"order_id": 258830221, "shipment_id": 100810005}).encode()
    reply = post(url, "shipbob", shipbob_headers("order.shipment.delivered", "msg_c1", body), body)
    assert reply.status_code == 200, reply.text
    assert reply.json()["status"] == "processed"
    (result,) = sink.results
    assert result.entity == "fulfillment"
    assert result.record["status"] == "shipped"
    assert result.record["carrier"] == "usps"
    assert result.record["tracking_numbers"] == ["9405511899560471234567"]
    assert result.record["order_external_ids"] == {"accord": "shopify-5824913261692"}


def test_shipbob_order_shipped_with_one_shipment_maps_that_shipment(serve, fake):
    url, sink = serve
    shipment = {k: v for k, v in SHIPMENT.items() if k not in ("order_id", "reference_id")}
    shipment = {**shipment, "id": 100810006}
    order = {"id": 258830221, "reference_id": "shopify-5824913261692", "shipments": [shipment]}
    body = json.dumps(order).encode()
    reply = post(url, "shipbob", shipbob_headers("order.shipped", "msg_c2", body), body)
    assert reply.json()["status"] == "processed", reply.text
    (result,) = sink.results
    assert result.record["id"] == "100810006"
    assert result.record["external_ids"]["shipbob_order"] == "258830221"
    assert fake.requests == []  # nothing to fetch


def test_shipbob_return_topics_are_acknowledged_not_handed_to_a_missing_spec(serve):
    url, sink = serve
    body = json.dumps({"id": 5001, "status": "Completed"}).encode()
    reply = post(url, "shipbob", shipbob_headers("return.completed", "msg_c3", body), body)
    assert reply.status_code == 200
    assert reply.json() == {"status": "ignored", "event_id": "msg_c3"}
    assert sink.results == []


def test_a_pull_whose_item_fetch_fails_stops_before_its_checkpoint(connectors, engine, fake):
    sink = Recording(engine)
    checkpoints = MemoryCheckpoints()
    fake.fail[f"{SHOPIFY}/inventory_items/43120017002.json"] = [
        httpx2.Response(503, text="down"),
        httpx2.Response(503, text="down"),
    ]
    args: dict[str, Any] = {"since": None, "checkpoints": checkpoints, "channel": "shopify"}
    with pytest.raises(TransientError):
        backfill(connectors["shopify"], "inventory_level", sink, **args)
    assert checkpoints.saved == {}  # the page is fetched again on the next run
    assert sink.results == []
    report = backfill(connectors["shopify"], "inventory_level", sink, **args)
    assert report.finished
    assert report.items == 1
    assert "dead_lettered" not in report.statuses
    assert sink.results[0].record["sku"] == "MUG-STONE-12"
