"""Amazon SP-API connector: LWA tokens, NextToken pagination, per-operation token buckets,
notification envelopes."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

import httpx2
import pytest

from accord.connectors.amazon import AmazonConnector, parse_notification
from accord.connectors.secrets import StaticSecrets
from accord.errors import AuthError, QuotaError, RequestRejectedError

REFRESH = "Atzr|IwEBIrefresh-token-value"
CLIENT_SECRET = "amzn1.oa2-cs.v1.client-secret"
WEBHOOK_TOKEN = "eventbridge-shared-secret-1"
SECRETS = StaticSecrets(
    {
        "AMAZON_LWA_REFRESH_TOKEN": REFRESH,
        "AMAZON_LWA_CLIENT_ID": "amzn1.application-oa2-client.abc",
        "AMAZON_LWA_CLIENT_SECRET": CLIENT_SECRET,
        "AMAZON_SELLER_ID": "A3TH9S8BH6GOGM",
        "AMAZON_WEBHOOK_TOKEN": WEBHOOK_TOKEN,
    }
)


def amazon_order(n: int) -> dict[str, Any]:
    return {
        "AmazonOrderId": f"902-3159896-139{n:04d}",
        "PurchaseDate": "2026-03-01T19:49:35Z",
        "LastUpdateDate": f"2026-03-01T20:{n:02d}:00Z",
        "OrderStatus": "Unshipped",
        "OrderTotal": {"CurrencyCode": "USD", "Amount": "25.00"},
        "MarketplaceId": "ATVPDKIKX0DER",
    }


class FakeSpApi:
    """LWA plus the orders API, issuing numbered tokens that expire after ``ttl`` seconds."""

    def __init__(self, clock, *, ttl: int = 3600, pages: int = 3) -> None:
        self.clock = clock
        self.ttl = ttl
        self.pages = pages
        self.issued: dict[str, datetime] = {}
        self.token_requests: list[dict[str, list[str]]] = []
        self.order_requests: list[httpx2.Request] = []
        self.rate_limit = "0.0167"

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        if request.url.host == "api.amazon.com":
            form = parse_qs(request.content.decode())
            self.token_requests.append(form)
            if form["refresh_token"] != [REFRESH]:
                return httpx2.Response(400, json={"error": "invalid_grant"})
            token = f"Atza|access-{len(self.issued) + 1}"
            self.issued[token] = self.clock.now() + timedelta(seconds=self.ttl)
            return httpx2.Response(
                200, json={"access_token": token, "token_type": "bearer", "expires_in": self.ttl}
            )
        token = request.headers.get("x-amz-access-token")
        if token not in self.issued or self.clock.now() >= self.issued[token]:
            return httpx2.Response(
                403,
                json={
                    "errors": [
                        {
                            "code": "Unauthorized",
                            "message": "Access to requested resource is denied.",
                            "details": "The access token you provided has expired.",
                        }
                    ]
                },
            )
        self.order_requests.append(request)
        n = int(request.url.params.get("NextToken", "page-0").split("-")[1])
        payload: dict[str, Any] = {"Orders": [amazon_order(2 * n), amazon_order(2 * n + 1)]}
        if n + 1 < self.pages:
            payload["NextToken"] = f"page-{n + 1}"
        return httpx2.Response(
            200, json={"payload": payload}, headers={"x-amzn-RateLimit-Limit": self.rate_limit}
        )


@pytest.fixture
def make_amazon(mock_client, clock, sleeper, policy):
    # Bare orders unless a test asks for the combined order + items records.
    def make(handler, **kwargs: Any) -> AmazonConnector:
        kwargs.setdefault("combine_items", False)
        return AmazonConnector(
            mock_client(handler),
            secrets=kwargs.pop("secrets", SECRETS),
            retry=policy,
            clock=clock,
            sleep=sleeper,
            **kwargs,
        )

    return make


def test_lwa_token_is_exchanged_once_and_cached(make_amazon, clock):
    api = FakeSpApi(clock)
    amazon = make_amazon(api)
    pages = list(amazon.pages("order", since=datetime(2026, 3, 1, tzinfo=UTC)))
    assert len(api.token_requests) == 1
    assert api.token_requests[0]["grant_type"] == ["refresh_token"]
    assert api.token_requests[0]["client_secret"] == [CLIENT_SECRET]
    assert {r.headers["x-amz-access-token"] for r in api.order_requests} == {"Atza|access-1"}
    assert [p.next_cursor for p in pages] == ["page-1", "page-2", None]


def test_next_token_pagination_sends_the_token_and_marketplaces(make_amazon, clock):
    api = FakeSpApi(clock)
    ids = [o["AmazonOrderId"] for p in make_amazon(api).pages("order") for o in p.items]
    assert len(ids) == len(set(ids)) == 6
    first, second = api.order_requests[0].url.params, api.order_requests[1].url.params
    assert first["MarketplaceIds"] == "ATVPDKIKX0DER"
    assert first["LastUpdatedAfter"] == "1970-01-01T00:00:00Z"
    assert second["NextToken"] == "page-1"
    assert "LastUpdatedAfter" not in second


def test_token_expiring_mid_pagination_is_renewed_without_duplicates(make_amazon, clock, sleeper):
    # Tokens live 70 s; getOrders allows a burst of 20 then ~1 call a minute, so the clock
    # is moved by hand between pages to cross the expiry.
    api = FakeSpApi(clock, ttl=70)
    amazon = make_amazon(api)
    seen: list[str] = []
    for page in amazon.pages("order"):
        seen.extend(o["AmazonOrderId"] for o in page.items)
        clock.advance(timedelta(seconds=30))
    assert len(seen) == len(set(seen)) == 6
    # 70 s tokens renewed a minute early: each page after the first needs a fresh one.
    assert len(api.token_requests) == 3


def test_token_revoked_early_is_refreshed_once_on_403(make_amazon, clock):
    api = FakeSpApi(clock)
    amazon = make_amazon(api)
    pages = amazon.pages("order")
    first = next(pages)
    api.issued.clear()  # Amazon forgets our token before its announced expiry
    second = next(pages)
    assert first.next_cursor == "page-1"
    assert second.cursor == "page-1"
    assert len(api.token_requests) == 2
    assert api.order_requests[-1].headers["x-amz-access-token"] == "Atza|access-1"


def test_bad_refresh_token_is_an_auth_error_and_never_leaks(make_amazon, clock):
    api = FakeSpApi(clock)
    bad = StaticSecrets({**{k: SECRETS.get(k) or "" for k in ("AMAZON_LWA_CLIENT_ID",)},
                         "AMAZON_LWA_CLIENT_SECRET": CLIENT_SECRET,
                         "AMAZON_LWA_REFRESH_TOKEN": "Atzr|revoked-refresh-token"})  # fmt: skip
    with pytest.raises(AuthError) as info:
        make_amazon(api, secrets=bad).get("order", "902-1")
    assert len(api.token_requests) == 2  # refreshed once, then gave up
    assert "revoked-refresh-token" not in str(info.value)
    assert CLIENT_SECRET not in str(info.value)


def test_rate_limit_header_drives_the_operation_bucket(make_amazon, clock, sleeper):
    api = FakeSpApi(clock, pages=25)
    api.rate_limit = "2.0"
    amazon = make_amazon(api)
    list(amazon.pages("order"))
    assert amazon.bucket("getOrders").rate == 2.0
    # The burst of 20 is spent on the first 20 pages; the next 5 each wait half a second.
    waits = [p for p in sleeper.pauses if p > 0]
    assert waits == [pytest.approx(0.5)] * 5


def test_default_limits_make_get_orders_wait_a_minute_after_the_burst(make_amazon, clock):
    api = FakeSpApi(clock, pages=21)
    api.rate_limit = "0.0167"
    amazon = make_amazon(api)
    list(amazon.pages("order"))
    assert len(api.order_requests) == 21
    assert clock.now() >= datetime(2026, 3, 2, 10, 0, 59, tzinfo=UTC)


def test_429_without_retry_after_waits_one_token(make_amazon, clock, sleeper):
    calls = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        if request.url.host == "api.amazon.com":
            return httpx2.Response(200, json={"access_token": "Atza|t1", "expires_in": 3600})
        calls.append(request)
        if len(calls) == 1:
            return httpx2.Response(429, json={"errors": [{"code": "QuotaExceeded"}]})
        return httpx2.Response(200, json={"payload": amazon_order(1)})

    order = make_amazon(handler).get("order", "902-3159896-1390001")
    assert order["OrderTotal"] == {"CurrencyCode": "USD", "Amount": "25.00"}
    # getOrder allows 0.5 requests per second: a refused call waits 2 s (plus jitter)
    assert any(2.0 <= p <= 2.25 for p in sleeper.pauses)


def test_quota_errors_that_persist_surface_as_quota(make_amazon):
    def handler(request: httpx2.Request) -> httpx2.Response:
        if request.url.host == "api.amazon.com":
            return httpx2.Response(200, json={"access_token": "Atza|t1", "expires_in": 3600})
        return httpx2.Response(429, headers={"Retry-After": "1"})

    with pytest.raises(QuotaError):
        make_amazon(handler).get("order", "1")


def test_inventory_update_is_a_replace_patch(make_amazon):
    bodies = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        if request.url.host == "api.amazon.com":
            return httpx2.Response(200, json={"access_token": "Atza|t1", "expires_in": 3600})
        bodies.append((request.method, request.url.path, json.loads(request.content)))
        return httpx2.Response(200, json={"sku": "SKU-1", "status": "ACCEPTED"})

    out = make_amazon(handler).update(
        "inventory", "SKU-1", {"quantity": 7}, idempotency_key="inv-1"
    )
    assert out["status"] == "ACCEPTED"
    method, path, body = bodies[0]
    assert (method, path) == ("PATCH", "/listings/2021-08-01/items/A3TH9S8BH6GOGM/SKU-1")
    assert body["patches"][0]["op"] == "replace"
    assert body["patches"][0]["value"][0]["quantity"] == 7
    with pytest.raises(RequestRejectedError):
        make_amazon(handler).update("inventory", "SKU-1", {"quantity": 1.5}, idempotency_key="k")
    # the entity name every channel gives a stock level, as the outbox sends it
    make_amazon(handler).update("inventory_level", "SKU-2", {"quantity": 3}, idempotency_key="k2")
    assert bodies[-1][1].endswith("/SKU-2")
    assert bodies[-1][2]["patches"][0]["value"][0]["quantity"] == 3


# -- notifications ------------------------------------------------------------------------

NOTIFICATION = {
    "NotificationVersion": "1.0",
    "NotificationType": "ORDER_CHANGE",
    "PayloadVersion": "1.0",
    "EventTime": "2026-03-01T00:09:53.109Z",
    "Payload": {
        "OrderChangeNotification": {
            "NotificationLevel": "OrderLevel",
            "SellerId": "A3TH9S8BH6GOGM",
            "AmazonOrderId": "903-8868176-2219830",
            "OrderChangeType": "BuyerRequestedChange",
        }
    },
    "NotificationMetadata": {
        "ApplicationId": "app-id-1",
        "SubscriptionId": "subscription-id-1",
        "PublishTime": "2026-03-01T00:09:54.000Z",
        "NotificationId": "d0e9e693-c3ad-4373-979f-ed4ec98dd746",
    },
}


@pytest.mark.parametrize(
    "envelope",
    [
        NOTIFICATION,
        {"MessageId": "sqs-1", "ReceiptHandle": "rh", "Body": json.dumps(NOTIFICATION)},
        {
            "MessageId": "sqs-2",
            "Body": json.dumps(
                {"Type": "Notification", "MessageId": "sns-1", "Message": json.dumps(NOTIFICATION)}
            ),
        },
        {
            "version": "0",
            "id": "eb-1",
            "detail-type": "ORDER_CHANGE",
            "source": "aws.partner/sellingpartnerapi.amazon",
            "detail": NOTIFICATION,
        },
    ],
    ids=["bare", "sqs", "sqs-sns", "eventbridge"],
)
def test_order_change_is_unwrapped_from_every_envelope(envelope):
    event = parse_notification(envelope)
    assert event.entity == "order"  # mappings/amazon_notifications/order.inbound.yaml
    assert event.topic == "ORDER_CHANGE"
    assert event.event_id == "d0e9e693-c3ad-4373-979f-ed4ec98dd746"
    assert event.payload == NOTIFICATION  # the whole notification, as the mapping reads it


def test_notification_without_metadata_uses_the_message_id():
    bare = {k: v for k, v in NOTIFICATION.items() if k != "NotificationMetadata"}
    event = parse_notification({"MessageId": "sqs-77", "Body": json.dumps(bare)})
    assert event.event_id == "sqs-77"


@pytest.mark.parametrize(
    "envelope",
    [
        {"Body": "{not json"},
        {"something": "else"},
        {"NotificationType": "ORDER_CHANGE"},
        {**NOTIFICATION, "NotificationType": "SOMETHING_NEW"},
        {"Body": "[1, 2]"},
    ],
)
def test_unreadable_notifications_raise_value_error(envelope):
    with pytest.raises(ValueError):  # noqa: PT011 - the message is what varies
        parse_notification(envelope)


def test_api_destination_webhook_checks_the_shared_secret(make_amazon):
    amazon = make_amazon(lambda r: httpx2.Response(500))
    body = json.dumps({"id": "eb-9", "detail": NOTIFICATION}).encode()
    event = amazon.verify_webhook({"Authorization": f"Bearer {WEBHOOK_TOKEN}"}, body)
    assert event.event_id == "d0e9e693-c3ad-4373-979f-ed4ec98dd746"
    with pytest.raises(AuthError) as info:
        amazon.verify_webhook({"x-api-key": "wrong-secret-value"}, body)
    assert info.value.code == "CONN011"
    with pytest.raises(RequestRejectedError) as rejected:
        amazon.verify_webhook({"x-api-key": WEBHOOK_TOKEN}, b'{"detail": {"x": 1}}')
    assert rejected.value.code == "CONN012"


def test_fba_inventory_summaries_one_record_each_with_next_token(make_amazon):
    seen: list[httpx2.Request] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        if request.url.host == "api.amazon.com":
            return httpx2.Response(200, json={"access_token": "Atza|t1", "expires_in": 3600})
        seen.append(request)
        token = request.url.params.get("nextToken")
        sku = "SKU-2" if token else "SKU-1"
        body: dict[str, Any] = {
            "payload": {
                "granularity": {"granularityType": "Marketplace"},
                "inventorySummaries": [
                    {
                        "sellerSku": sku,
                        "fnSku": "X0" + sku,
                        "lastUpdatedTime": "2026-03-01T10:00:00Z",
                        "inventoryDetails": {"fulfillableQuantity": 7},
                    }
                ],
            }
        }
        if not token:
            body["pagination"] = {"nextToken": "seed-2"}
        return httpx2.Response(200, json=body)

    amazon = make_amazon(handler)
    pages = list(amazon.pages("inventory_level", since=datetime(2026, 3, 1, tzinfo=UTC)))
    assert [s["sellerSku"] for p in pages for s in p.items] == ["SKU-1", "SKU-2"]
    assert seen[0].url.params["granularityId"] == "ATVPDKIKX0DER"
    assert seen[0].url.params["startDateTime"] == "2026-03-01T00:00:00Z"
    assert seen[1].url.params["nextToken"] == "seed-2"
    assert amazon.record_key("inventory_level", pages[0].items[0]) == (
        "amazon:inventory_level:SKU-1:2026-03-01T10:00:00Z"
    )


def test_orders_come_with_their_items_as_the_v0_mapping_reads_them(make_amazon, clock):
    items_requests: list[httpx2.Request] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        if request.url.host == "api.amazon.com":
            return httpx2.Response(200, json={"access_token": "Atza|t1", "expires_in": 3600})
        if request.url.path.endswith("/orderItems"):
            items_requests.append(request)
            order_id = request.url.path.split("/")[-2]
            token = request.url.params.get("NextToken")
            payload: dict[str, Any] = {
                "AmazonOrderId": order_id,
                "OrderItems": [
                    {
                        "OrderItemId": f"{order_id}-{'b' if token else 'a'}",
                        "SellerSKU": "SKU-1",
                        "QuantityOrdered": 1,
                        "ItemPrice": {"CurrencyCode": "USD", "Amount": "25.00"},
                    }
                ],
            }
            if token is None and order_id.endswith("0000"):
                payload["NextToken"] = "more-items"
            return httpx2.Response(200, json={"payload": payload})
        if request.url.path.endswith("/orders"):
            return httpx2.Response(
                200, json={"payload": {"Orders": [amazon_order(0), amazon_order(1)]}}
            )
        return httpx2.Response(200, json={"payload": amazon_order(1)})

    amazon = make_amazon(handler, combine_items=True)
    (page,) = list(amazon.pages("order"))
    first, second = page.items
    assert first["order"]["AmazonOrderId"] == "902-3159896-1390000"
    assert [i["OrderItemId"] for i in first["items"]["OrderItems"]] == [
        "902-3159896-1390000-a",
        "902-3159896-1390000-b",
    ]
    assert len(second["items"]["OrderItems"]) == 1
    assert len(items_requests) == 3
    assert amazon.record_key("order", first) == (
        "amazon:order:902-3159896-1390000:2026-03-01T20:00:00Z"
    )
    single = amazon.get("order", "902-3159896-1390001")
    assert set(single) == {"order", "items"}


def test_orders_2026_search_pages_with_pagination_token(mock_client, clock, sleeper, policy):
    from accord.connectors.amazon import Amazon2026Connector

    seen: list[httpx2.Request] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        if request.url.host == "api.amazon.com":
            return httpx2.Response(200, json={"access_token": "Atza|t1", "expires_in": 3600})
        seen.append(request)
        token = request.url.params.get("paginationToken")
        order = {
            "orderId": "902-2" if token else "902-1",
            "createdTime": "2026-03-01T10:00:00Z",
            "lastUpdatedTime": "2026-03-01T11:00:00Z",
            "proceeds": {"grandTotal": {"amount": "25.00", "currencyCode": "USD"}},
        }
        body: dict[str, Any] = {"orders": [order], "lastUpdatedBefore": "2026-03-02T00:00:00Z"}
        if not token:
            body["pagination"] = {"nextToken": "2YgYW55IGNhcm5hbCBwbGVhc3VyZS4"}
        return httpx2.Response(200, json=body)

    amazon = Amazon2026Connector(
        mock_client(handler), secrets=SECRETS, retry=policy, clock=clock, sleep=sleeper
    )
    pages = list(amazon.pages("order", since=datetime(2026, 3, 1, tzinfo=UTC)))
    assert [o["orderId"] for p in pages for o in p.items] == ["902-1", "902-2"]
    assert seen[0].url.path == "/orders/2026-01-01/orders"
    assert seen[0].url.params["includedData"] == "PROCEEDS,FULFILLMENT,CANCELLATION"
    # Amazon wants the date filter on every page, the token only after the first.
    assert seen[1].url.params["lastUpdatedAfter"] == "2026-03-01T00:00:00Z"
    assert seen[1].url.params["paginationToken"] == "2YgYW55IGNhcm5hbCBwbGVhc3VyZS4"
    assert amazon.record_key("order", pages[0].items[0]) == (
        "amazon_2026:order:902-1:2026-03-01T11:00:00Z"
    )
    assert amazon.record_key("order", {"order": pages[0].items[0]}) == (
        "amazon_2026:order:902-1:2026-03-01T11:00:00Z"
    )
