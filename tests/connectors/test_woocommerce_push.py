"""WooCommerce creates: the idempotency key lives in meta data and is looked up before every
try, so a create retried after a timeout never makes a second record; the webhook ping."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx2
import pytest

from accord.connectors.secrets import StaticSecrets
from accord.connectors.woocommerce import IDEMPOTENCY_META, WooCommerceConnector
from accord.errors import AuthError, RequestRejectedError, TransientError

KEY = "ck_push_4f2b3c9d8e7f6a5b"
SECRET = "cs_push_9a8b7c6d5e4f3a2b"
SECRETS = StaticSecrets(
    {
        "WOOCOMMERCE_URL": "https://shop.example.com",
        "WOOCOMMERCE_CONSUMER_KEY": KEY,
        "WOOCOMMERCE_CONSUMER_SECRET": SECRET,
        "WOOCOMMERCE_WEBHOOK_SECRET": "hook-secret",
    }
)
ORDER = {
    "status": "processing",
    "currency": "USD",
    "customer_id": 25,
    "billing": {"email": "john.doe@example.com"},
    "line_items": [{"sku": "WOO-1", "quantity": 2}],
    "meta_data": [{"key": "channel_order", "value": "A-1"}],
}


class FakeStore:
    """A WooCommerce store that really stores what is posted. ``after_create`` fails the
    reply of a create that has landed (a timeout or a mangled body); ``script`` fails
    request number N before it runs."""

    def __init__(self) -> None:
        self.records: dict[str, list[dict[str, Any]]] = {"orders": [], "products": []}
        self.requests: list[httpx2.Request] = []
        self.after_create: list[str] = []
        self.script: dict[int, httpx2.Response] = {}

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        if len(self.requests) in self.script:
            return self.script.pop(len(self.requests))
        collection = request.url.path.rsplit("/", 1)[1]
        stored = self.records[collection]
        if request.method == "GET":
            params = request.url.params
            found = [
                r
                for r in stored
                if ("sku" not in params or r.get("sku") == params["sku"])
                and ("customer" not in params or str(r.get("customer_id")) == params["customer"])
            ]
            return httpx2.Response(200, json=sorted(found, key=lambda r: -r["id"]))
        record = {**json.loads(request.content), "id": 900 + len(stored)}
        stored.append(record)
        if self.after_create:
            failure = self.after_create.pop(0)
            if failure == "timeout":
                raise httpx2.ReadTimeout("timed out", request=request)
            return httpx2.Response(201, content=b'{"id": 9')
        return httpx2.Response(201, json=record)

    def posts(self) -> list[httpx2.Request]:
        return [r for r in self.requests if r.method == "POST"]


@pytest.fixture
def woo(mock_client, clock, sleeper, policy):
    store = FakeStore()
    connector = WooCommerceConnector(
        mock_client(store), secrets=SECRETS, retry=policy, clock=clock, sleep=sleeper
    )
    return connector, store


def test_create_stores_the_key_in_meta_data_after_a_lookup(woo):
    connector, store = woo
    created = connector.create("order", ORDER, idempotency_key="order-A-1")
    assert created["id"] == 900
    assert [r.method for r in store.requests] == ["GET", "POST"]
    lookup = store.requests[0].url.params
    assert lookup["customer"] == "25"
    assert lookup["after"] == "2026-02-23T10:00:00"  # the frozen clock minus seven days
    assert lookup["orderby"] == "id"
    assert lookup["order"] == "desc"
    body = json.loads(store.requests[1].content)
    assert body["meta_data"] == [
        {"key": "channel_order", "value": "A-1"},
        {"key": IDEMPOTENCY_META, "value": "order-A-1"},
    ]
    assert store.requests[1].headers["Idempotency-Key"] == "order-A-1"


@pytest.mark.parametrize("failure", ["timeout", "malformed"])
def test_create_retried_after_it_landed_makes_no_second_record(woo, failure):
    connector, store = woo
    store.after_create = [failure]
    created = connector.create("order", ORDER, idempotency_key="order-A-1")
    assert len(store.records["orders"]) == 1
    assert len(store.posts()) == 1
    assert created["id"] == 900
    assert [r.method for r in store.requests] == ["GET", "POST", "GET"]


def test_the_same_create_later_returns_the_first_record(woo):
    connector, store = woo
    first = connector.create("order", ORDER, idempotency_key="order-A-1")
    again = connector.create("order", ORDER, idempotency_key="order-A-1")
    other = connector.create("order", ORDER, idempotency_key="order-A-2")
    assert again["id"] == first["id"] == 900
    assert other["id"] == 901
    assert len(store.posts()) == 2


def test_product_lookup_uses_the_sku_filter(woo):
    connector, store = woo
    product = {"name": "Mug", "sku": "MUG-1", "regular_price": "12.50"}
    connector.create("product", product, idempotency_key="p-1")
    connector.create("product", product, idempotency_key="p-1")
    assert store.requests[0].url.params["sku"] == "MUG-1"
    assert "after" not in store.requests[0].url.params
    assert len(store.records["products"]) == 1


def test_quota_on_the_create_is_retried_without_a_duplicate(woo, sleeper):
    connector, store = woo
    store.script = {2: httpx2.Response(429, headers={"Retry-After": "2"})}
    connector.create("order", ORDER, idempotency_key="order-A-1")
    assert len(store.records["orders"]) == 1
    assert any(2.0 <= p <= 2.5 for p in sleeper.pauses)


def test_auth_refusal_is_refreshed_once_then_succeeds(woo):
    connector, store = woo
    store.script = {2: httpx2.Response(401, json={"code": "woocommerce_rest_cannot_create"})}
    created = connector.create("order", ORDER, idempotency_key="order-A-1")
    assert created["id"] == 900
    assert len(store.records["orders"]) == 1


def test_auth_refused_twice_is_an_auth_error_without_secrets(woo):
    connector, store = woo
    refused = httpx2.Response(401, json={"code": "woocommerce_rest_cannot_create"})
    store.script = {2: refused, 3: refused}
    with pytest.raises(AuthError) as info:
        connector.create("order", ORDER, idempotency_key="order-A-1")
    assert KEY not in str(info.value)
    assert SECRET not in str(info.value)
    assert store.records["orders"] == []


def test_timeouts_on_every_try_end_as_transient(woo, policy, mock_client):
    connector, store = woo
    store.after_create = ["timeout"] * 10

    # Every create lands but the lookup cannot see it (another store's view): it is the
    # worst case, and the connector must still stop after the policy's attempts.
    def blind(request: httpx2.Request) -> httpx2.Response:
        response = FakeStore.__call__(store, request)
        return httpx2.Response(200, json=[]) if request.method == "GET" else response

    blind_connector = WooCommerceConnector(
        mock_client(blind),
        secrets=SECRETS,
        retry=policy,
        clock=connector.clock,
        sleep=connector.sleep,
    )
    with pytest.raises(TransientError):
        blind_connector.create("order", ORDER, idempotency_key="order-A-1")
    assert len(store.posts()) == policy.max_attempts


def test_validation_error_is_not_retried(woo):
    connector, store = woo
    store.script = {2: httpx2.Response(400, json={"code": "woocommerce_rest_invalid_sku"})}
    with pytest.raises(RequestRejectedError):
        connector.create("order", ORDER, idempotency_key="order-A-1")
    assert len(store.posts()) == 1


def test_a_malformed_lookup_reply_is_classified(woo):
    connector, store = woo
    store.script = {1: httpx2.Response(200, json={"not": "a list"})}
    with pytest.raises(RequestRejectedError) as info:
        connector.create("order", ORDER, idempotency_key="order-A-1")
    assert info.value.code == "CONN017"
    assert store.posts() == []


def test_blank_key_and_bad_meta_data_are_refused(woo):
    connector, store = woo
    with pytest.raises(RequestRejectedError):
        connector.create("order", ORDER, idempotency_key="  ")
    with pytest.raises(RequestRejectedError):
        connector.create("order", {**ORDER, "meta_data": "x"}, idempotency_key="k")
    assert store.requests == []


def test_ping_is_recognised_only_for_the_exact_body(woo):
    connector, _ = woo
    assert connector.webhook_ping({"user-agent": "WooCommerce/9.0 Hookshot"}, b"webhook_id=12")
    assert not connector.webhook_ping({}, b"webhook_id=12&x=1")
    assert not connector.webhook_ping({"X-WC-Webhook-Topic": "order.updated"}, b"webhook_id=12")
    assert not connector.webhook_ping({}, b'{"id": 12}')


def test_lookup_window_follows_the_clock(mock_client, clock, sleeper, policy):
    store = FakeStore()
    connector = WooCommerceConnector(
        mock_client(store), secrets=SECRETS, retry=policy, clock=clock, sleep=sleeper
    )
    clock.set(datetime(2026, 4, 1, tzinfo=UTC))
    connector.create("order", {**ORDER, "customer_id": 0}, idempotency_key="k")
    params = store.requests[0].url.params
    assert params["after"] == "2026-03-25T00:00:00"
    assert params["search"] == "john.doe@example.com"
    assert "customer" not in params
