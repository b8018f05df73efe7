"""Amazon Multi-Channel Fulfillment creates and eBay bulk quantity updates against fakes:
429, auth refresh, malformed JSON, and a create retried after it landed."""

from __future__ import annotations

import json
from typing import Any

import httpx2
import pytest

from accord.connectors.amazon import AmazonConnector
from accord.connectors.ebay import EbayConnector
from accord.connectors.secrets import StaticSecrets
from accord.errors import AuthError, QuotaError, RequestRejectedError, TransientError

AMAZON = StaticSecrets(
    {
        "AMAZON_LWA_REFRESH_TOKEN": "Atzr|mcf-refresh",
        "AMAZON_LWA_CLIENT_ID": "amzn1.application-oa2-client.mcf",
        "AMAZON_LWA_CLIENT_SECRET": "amzn1.oa2-cs.v1.mcf-secret",
    }
)
MCF_PATH = "/fba/outbound/2020-07-01/fulfillmentOrders"
# Shaped like what mappings/amazon/fulfillment_order.outbound.yaml produces.
MCF_ORDER = {
    "sellerFulfillmentOrderId": "shopify-450789469",
    "displayableOrderId": "1001",
    "displayableOrderDate": "2026-03-01T10:00:00Z",
    "displayableOrderComment": "Thank you for your order",
    "shippingSpeedCategory": "Standard",
    "destinationAddress": {"name": "Jane", "addressLine1": "1 Main St", "countryCode": "US"},
    "items": [{"sellerSku": "TEE-1", "sellerFulfillmentOrderItemId": "1", "quantity": 2}],
}


class FakeMcf:
    """LWA plus the Fulfillment Outbound API keeping created orders. ``lost`` makes the
    reply of the Nth create fail after it landed; ``script`` fails request N outright."""

    def __init__(self) -> None:
        self.orders: dict[str, dict[str, Any]] = {}
        self.requests: list[httpx2.Request] = []
        self.tokens = 0
        self.script: dict[int, httpx2.Response] = {}
        self.lost: list[str] = []
        self.expired: set[str] = set()
        self.not_found_status = 404

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        if request.url.host == "api.amazon.com":
            self.tokens += 1
            return httpx2.Response(
                200, json={"access_token": f"Atza|mcf-{self.tokens}", "expires_in": 3600}
            )
        self.requests.append(request)
        if len(self.requests) in self.script:
            return self.script.pop(len(self.requests))
        if request.headers["x-amz-access-token"] in self.expired:
            return httpx2.Response(403, json={"errors": [{"code": "Unauthorized"}]})
        if request.method == "GET":
            wanted = request.url.path.rsplit("/", 1)[1]
            if wanted not in self.orders:
                message = "Requested order not found"
                return httpx2.Response(
                    self.not_found_status,
                    json={"errors": [{"code": "InvalidInput", "message": message}]},
                )
            return httpx2.Response(200, json={"payload": {"fulfillmentOrder": self.orders[wanted]}})
        body = json.loads(request.content)
        self.orders[body["sellerFulfillmentOrderId"]] = {**body, "status": "RECEIVED"}
        if self.lost:
            if self.lost.pop(0) == "timeout":
                raise httpx2.ReadTimeout("timed out", request=request)
            return httpx2.Response(200, content=b'{"payload": ')
        return httpx2.Response(200, json={})

    def creates(self) -> list[httpx2.Request]:
        return [r for r in self.requests if r.method == "POST"]


@pytest.fixture
def mcf(mock_client, clock, sleeper, policy):
    fake = FakeMcf()
    amazon = AmazonConnector(
        mock_client(fake), secrets=AMAZON, retry=policy, clock=clock, sleep=sleeper
    )
    return amazon, fake


def test_mcf_create_looks_up_then_posts(mcf):
    amazon, fake = mcf
    out = amazon.create("fulfillment_order", MCF_ORDER, idempotency_key="k-1")
    assert out == {"sellerFulfillmentOrderId": "shopify-450789469"}
    assert [(r.method, r.url.path) for r in fake.requests] == [
        ("GET", f"{MCF_PATH}/shopify-450789469"),
        ("POST", MCF_PATH),
    ]
    assert json.loads(fake.requests[1].content) == MCF_ORDER


@pytest.mark.parametrize("failure", ["timeout", "malformed"])
def test_mcf_create_retried_after_it_landed_is_not_sent_again(mcf, failure):
    amazon, fake = mcf
    fake.lost = [failure]
    out = amazon.create("fulfillment_order", MCF_ORDER, idempotency_key="k-1")
    assert out["status"] == "RECEIVED"
    assert len(fake.creates()) == 1
    assert len(fake.orders) == 1


def test_mcf_create_of_an_existing_order_returns_it(mcf):
    amazon, fake = mcf
    amazon.create("fulfillment_order", MCF_ORDER, idempotency_key="k-1")
    again = amazon.create("fulfillment_order", MCF_ORDER, idempotency_key="k-1")
    assert again["sellerFulfillmentOrderId"] == "shopify-450789469"
    assert len(fake.creates()) == 1


def test_mcf_not_found_as_400_counts_as_absent(mcf):
    amazon, fake = mcf
    fake.not_found_status = 400
    amazon.create("fulfillment_order", MCF_ORDER, idempotency_key="k-1")
    assert len(fake.creates()) == 1


def test_mcf_lookup_refused_otherwise_is_not_a_create(mcf):
    amazon, fake = mcf
    fake.script = {1: httpx2.Response(400, json={"errors": [{"message": "bad id"}]})}
    with pytest.raises(RequestRejectedError):
        amazon.create("fulfillment_order", MCF_ORDER, idempotency_key="k-1")
    assert fake.creates() == []


def test_mcf_quota_and_auth_refresh(mcf, sleeper):
    amazon, fake = mcf
    fake.expired.add("Atza|mcf-1")
    fake.script = {3: httpx2.Response(429, headers={"Retry-After": "2"})}
    amazon.create("fulfillment_order", MCF_ORDER, idempotency_key="k-1")
    assert fake.tokens == 2
    assert len(fake.orders) == 1
    assert len(fake.creates()) == 2  # the 429 was refused before it ran; then one create
    assert any(2.0 <= p <= 2.5 for p in sleeper.pauses)


def test_mcf_quota_that_persists_is_quota(mcf, policy):
    amazon, fake = mcf
    fake.script = {
        n: httpx2.Response(429, headers={"Retry-After": "1"})
        for n in range(1, policy.max_attempts + 1)
    }
    with pytest.raises(QuotaError):
        amazon.create("fulfillment_order", MCF_ORDER, idempotency_key="k-1")
    assert fake.orders == {}


@pytest.mark.parametrize("order_id", [None, "", "x" * 41])
def test_mcf_needs_a_seller_fulfillment_order_id(mcf, order_id):
    amazon, fake = mcf
    with pytest.raises(RequestRejectedError):
        amazon.create(
            "fulfillment_order",
            {**MCF_ORDER, "sellerFulfillmentOrderId": order_id},
            idempotency_key="k-1",
        )
    with pytest.raises(RequestRejectedError):
        amazon.create("order", MCF_ORDER, idempotency_key="k-1")
    assert fake.requests == []


# -- eBay bulkUpdatePriceQuantity ---------------------------------------------------------

EBAY = StaticSecrets(
    {
        "EBAY_CLIENT_ID": "acme-app-PRD-1234",
        "EBAY_CLIENT_SECRET": "PRD-ebay-push-secret",
        "EBAY_REFRESH_TOKEN": "v^1.1#i^1#push-refresh",
    }
)
# What mappings/ebay/inventory_level.outbound.yaml produces.
BULK = {"requests": [{"sku": "TEE-1", "shipToLocationAvailability": {"quantity": 7}}]}


class FakeEbayInventory:
    def __init__(self) -> None:
        self.quantity: dict[str, int] = {}
        self.requests: list[httpx2.Request] = []
        self.script: dict[int, httpx2.Response] = {}
        self.tokens = 0
        self.revoked: set[str] = set()

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        if request.url.path == "/identity/v1/oauth2/token":
            self.tokens += 1
            return httpx2.Response(
                200, json={"access_token": f"v^1.1#token-{self.tokens}", "expires_in": 7200}
            )
        self.requests.append(request)
        if len(self.requests) in self.script:
            return self.script.pop(len(self.requests))
        if request.headers["Authorization"].removeprefix("Bearer ") in self.revoked:
            return httpx2.Response(401, json={"errors": [{"errorId": 1001}]})
        responses = []
        for item in json.loads(request.content)["requests"]:
            self.quantity[item["sku"]] = item["shipToLocationAvailability"]["quantity"]
            responses.append({"statusCode": 200, "sku": item["sku"], "offerId": "9001"})
        return httpx2.Response(200, json={"responses": responses})


@pytest.fixture
def ebay(mock_client, clock, sleeper, policy):
    fake = FakeEbayInventory()
    connector = EbayConnector(
        mock_client(fake), secrets=EBAY, retry=policy, clock=clock, sleep=sleeper
    )
    return connector, fake


def test_ebay_bulk_quantity_update(ebay):
    connector, fake = ebay
    out = connector.update("inventory_level", "TEE-1", BULK, idempotency_key="k-1")
    assert out["responses"][0]["sku"] == "TEE-1"
    request = fake.requests[0]
    assert (request.method, request.url.path) == (
        "POST",
        "/sell/inventory/v1/bulk_update_price_quantity",
    )
    assert json.loads(request.content) == BULK
    assert fake.quantity == {"TEE-1": 7}


def test_ebay_bulk_quota_auth_and_malformed_are_retried(ebay, sleeper):
    connector, fake = ebay
    fake.revoked.add("v^1.1#token-1")
    fake.script = {
        2: httpx2.Response(429, headers={"Retry-After": "4"}),
        3: httpx2.Response(200, content=b'{"responses": ['),
    }
    connector.update("inventory_level", "TEE-1", BULK, idempotency_key="k-1")
    assert fake.tokens == 2
    assert len(fake.requests) == 4
    assert fake.quantity == {"TEE-1": 7}
    assert any(4.0 <= p <= 4.5 for p in sleeper.pauses)


def test_ebay_bulk_refused_sku_is_named(ebay):
    connector, fake = ebay
    fake.script = {
        1: httpx2.Response(
            207,
            json={
                "responses": [
                    {"statusCode": 200, "sku": "A"},
                    {"statusCode": 400, "sku": "B", "errors": [{"errorId": 25702}]},
                ]
            },
        )
    }
    with pytest.raises(RequestRejectedError) as info:
        connector.update("inventory_level", "A", BULK, idempotency_key="k-1")
    assert "B" in str(info.value)
    assert "A," not in str(info.value)


def test_ebay_bulk_revoked_twice_is_auth_without_secrets(ebay):
    connector, fake = ebay
    fake.revoked.update({"v^1.1#token-1", "v^1.1#token-2"})
    with pytest.raises(AuthError) as info:
        connector.update("inventory_level", "TEE-1", BULK, idempotency_key="k-1")
    assert "PRD-ebay-push-secret" not in str(info.value)
    assert "push-refresh" not in str(info.value)


def test_ebay_bulk_malformed_every_time_is_transient(ebay, policy):
    connector, fake = ebay
    fake.script = {
        n: httpx2.Response(200, content=b"<html>") for n in range(1, policy.max_attempts + 1)
    }
    with pytest.raises(TransientError):
        connector.update("inventory_level", "TEE-1", BULK, idempotency_key="k-1")


@pytest.mark.parametrize(
    "body",
    [{}, {"requests": []}, {"requests": [{"sku": ""}]}, {"requests": [{"sku": "A"}] * 26}],
)
def test_ebay_bulk_bad_bodies_are_refused_before_sending(ebay, body):
    connector, fake = ebay
    with pytest.raises(RequestRejectedError):
        connector.update("inventory_level", "A", body, idempotency_key="k-1")
    assert fake.requests == []
