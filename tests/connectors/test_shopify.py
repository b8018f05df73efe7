"""Shopify connector and the shared request loop, against httpx2 MockTransport fakes."""

from __future__ import annotations

import json
import logging
from decimal import Decimal
from typing import Any

import httpx2
import pytest

from accord.connectors.secrets import StaticSecrets
from accord.connectors.shopify import ShopifyConnector
from accord.connectors.webhooks import hmac_sha256_base64
from accord.errors import (
    AuthError,
    ConflictError,
    ErrorClass,
    QuotaError,
    RequestRejectedError,
    TransientError,
)

TOKEN = "shpat_0123456789abcdef"
WEBHOOK_SECRET = "whsec_shopify_s3cret"
SHOP = "acme.myshopify.com"
BASE = f"https://{SHOP}/admin/api/2026-01"


def secrets(**extra: str) -> StaticSecrets:
    return StaticSecrets(
        {
            "SHOPIFY_SHOP": SHOP,
            "SHOPIFY_ACCESS_TOKEN": TOKEN,
            "SHOPIFY_WEBHOOK_SECRET": WEBHOOK_SECRET,
            **extra,
        }
    )


def order(n: int) -> dict[str, Any]:
    # Shaped like the REST 2024-04 order payloads: ids beyond 2^53, prices as strings.
    return {
        "id": 450789469000000 + n,
        "name": f"#10{n:02d}",
        "total_price": "199.65",
        "currency": "USD",
        "updated_at": f"2026-03-01T10:{n:02d}:00-05:00",
        "line_items": [{"id": 466157049, "sku": "IPOD2008GREEN", "quantity": 1}],
    }


@pytest.fixture
def make_shop(mock_client, clock, sleeper, policy):
    def make(handler, **kwargs: Any) -> ShopifyConnector:
        return ShopifyConnector(
            mock_client(handler),
            secrets=kwargs.pop("secrets", secrets()),
            retry=policy,
            clock=clock,
            sleep=sleeper,
            **kwargs,
        )

    return make


def test_requests_carry_the_token_and_the_pinned_version(make_shop):
    seen: list[httpx2.Request] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        return httpx2.Response(200, json={"order": order(1)})

    record = make_shop(handler).get("order", "450789469000001")
    assert record["name"] == "#1001"
    assert seen[0].headers["X-Shopify-Access-Token"] == TOKEN
    assert seen[0].url.path == "/admin/api/2026-01/orders/450789469000001.json"


def test_amounts_parse_as_decimal_never_float(make_shop):
    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, content=b'{"order": {"id": 1, "total_weight": 12.10}}')

    record = make_shop(handler).get("order", "1")
    assert record["total_weight"] == Decimal("12.10")
    assert isinstance(record["total_weight"], Decimal)


def test_429_honours_retry_after_then_succeeds(make_shop, sleeper):
    calls = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        calls.append(request)
        if len(calls) == 1:
            return httpx2.Response(429, headers={"Retry-After": "2.0"}, json={"errors": "slow"})
        return httpx2.Response(200, json={"order": order(1)})

    assert make_shop(handler).get("order", "1")["id"] == 450789469000001
    assert len(calls) == 2
    # Retry-After is honoured (never shortened); jitter adds at most base_delay / 2.
    quota_pause = max(sleeper.pauses)
    assert 2.0 <= quota_pause <= 2.25


def test_a_retry_after_beyond_the_cap_fails_as_quota(make_shop):
    calls = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        calls.append(request)
        return httpx2.Response(429, headers={"Retry-After": "3600"})

    with pytest.raises(QuotaError) as info:
        make_shop(handler).get("order", "1")
    assert info.value.retry_after == 3600.0
    assert info.value.error_class is ErrorClass.QUOTA
    assert len(calls) == 1


def test_5xx_is_retried_with_backoff_until_attempts_run_out(make_shop, sleeper):
    calls = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        calls.append(request)
        return httpx2.Response(503, text="upstream unavailable")

    with pytest.raises(TransientError) as info:
        make_shop(handler).get("order", "1")
    assert len(calls) == 4  # max_attempts
    assert info.value.status_code == 503
    assert info.value.code == "CONN001"
    backoff = [p for p in sleeper.pauses if p > 0.05]  # leave out rate-limiter pauses
    assert len(backoff) == 3
    # equal jitter: each wait lies within [ceiling/2, ceiling] for ceilings 0.5, 1, 2
    for pause, ceiling in zip(backoff, (0.5, 1.0, 2.0), strict=True):
        assert ceiling / 2 <= pause <= ceiling


@pytest.mark.parametrize(
    ("status", "error", "error_class"),
    [
        (400, RequestRejectedError, ErrorClass.VALIDATION),
        (404, RequestRejectedError, ErrorClass.VALIDATION),
        (422, RequestRejectedError, ErrorClass.VALIDATION),
        (409, ConflictError, ErrorClass.BUSINESS_CONFLICT),
    ],
)
def test_validation_and_conflicts_are_never_retried(make_shop, status, error, error_class):
    calls = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        calls.append(request)
        return httpx2.Response(status, json={"errors": {"sku": ["is invalid"]}})

    with pytest.raises(error) as info:
        make_shop(handler).get("order", "1")
    assert info.value.error_class is error_class
    assert info.value.status_code == status
    assert len(calls) == 1


def test_network_error_is_classified_transient_and_retried(make_shop):
    calls = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        calls.append(request)
        if len(calls) == 1:
            raise httpx2.ReadTimeout("read timed out", request=request)
        return httpx2.Response(200, json={"order": order(1)})

    assert make_shop(handler).get("order", "1")["name"] == "#1001"
    assert len(calls) == 2


def test_network_errors_that_persist_never_leak_httpx2(make_shop):
    def handler(request: httpx2.Request) -> httpx2.Response:
        raise httpx2.ConnectError("connection refused", request=request)

    with pytest.raises(TransientError) as info:
        make_shop(handler).get("order", "1")
    assert isinstance(info.value.__cause__, httpx2.ConnectError)
    assert "ConnectError" in str(info.value)


def test_malformed_json_is_classified_not_a_crash(make_shop):
    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, content=b'{"orders": [{"id": 1,')

    with pytest.raises(TransientError) as info:
        make_shop(handler).get("order", "1")
    assert info.value.code == "CONN010"


def test_a_truncated_body_once_is_retried(make_shop):
    calls = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        calls.append(request)
        if len(calls) == 1:
            return httpx2.Response(200, content=b'{"order": {"id"')
        return httpx2.Response(200, json={"order": order(2)})

    assert make_shop(handler).get("order", "2")["name"] == "#1002"


def test_unexpected_shape_is_a_validation_error(make_shop):
    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, json=["not", "an", "object"])

    with pytest.raises(RequestRejectedError) as info:
        make_shop(handler).get("order", "1")
    assert info.value.code == "CONN017"


def test_auth_failure_refreshes_credentials_and_retries_once(make_shop):
    vault = secrets()
    seen_tokens = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen_tokens.append(request.headers["X-Shopify-Access-Token"])
        if request.headers["X-Shopify-Access-Token"] == TOKEN:
            vault.set("SHOPIFY_ACCESS_TOKEN", "shpat_rotated_token_2")  # rotated meanwhile
            return httpx2.Response(401, json={"errors": "Invalid API key or access token"})
        return httpx2.Response(200, json={"order": order(3)})

    assert make_shop(handler, secrets=vault).get("order", "3")["name"] == "#1003"
    assert seen_tokens == [TOKEN, "shpat_rotated_token_2"]


def test_auth_failure_twice_gives_up_after_one_refresh(make_shop):
    calls = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        calls.append(request)
        return httpx2.Response(401, json={"errors": "Invalid API key or access token"})

    with pytest.raises(AuthError) as info:
        make_shop(handler).get("order", "1")
    assert len(calls) == 2
    assert info.value.error_class is ErrorClass.AUTH


def test_missing_credential_names_the_variable(make_shop):
    def handler(request: httpx2.Request) -> httpx2.Response:  # pragma: no cover - never sent
        raise AssertionError("no request may be sent without credentials")

    shop = make_shop(handler, secrets=StaticSecrets({"SHOPIFY_SHOP": SHOP}))
    with pytest.raises(AuthError) as info:
        shop.get("order", "1")
    assert info.value.code == "CONN013"
    assert "SHOPIFY_ACCESS_TOKEN" in str(info.value)


def test_credentials_never_reach_errors_or_logs(make_shop, caplog):
    caplog.set_level(logging.DEBUG, logger="accord.connectors")

    def handler(request: httpx2.Request) -> httpx2.Response:
        # A misbehaving proxy that echoes the request headers in its error body.
        echoed = json.dumps(dict(request.headers))
        return httpx2.Response(400, text=f"bad request; you sent {echoed}")

    shop = make_shop(handler)
    with pytest.raises(RequestRejectedError) as info:
        shop.get("order", "1")
    assert TOKEN not in str(info.value)
    assert "[REDACTED]" in str(info.value)
    assert all(TOKEN not in d.message for d in info.value.diagnostics)
    assert TOKEN not in caplog.text
    assert TOKEN not in repr(shop)
    assert TOKEN not in repr(shop.secrets)


def test_rest_pagination_follows_link_page_info(make_shop):
    seen: list[httpx2.URL] = []
    pages = {
        None: ([order(1), order(2)], "cursor-2"),
        "cursor-2": ([order(3), order(4)], "cursor-3"),
        "cursor-3": ([order(5)], None),
    }

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request.url)
        items, nxt = pages[request.url.params.get("page_info")]
        headers = {"X-Shopify-Shop-Api-Call-Limit": "1/40", "X-Shopify-API-Version": "2026-01"}
        if nxt:
            headers["Link"] = f'<{BASE}/orders.json?limit=2&page_info={nxt}>; rel="next"'
        return httpx2.Response(200, json={"orders": items}, headers=headers)

    from datetime import UTC, datetime

    since = datetime(2026, 3, 1, tzinfo=UTC)
    got = list(make_shop(handler).pages("order", since=since, page_size=2))
    assert [len(p.items) for p in got] == [2, 2, 1]
    assert [p.cursor for p in got] == [None, "cursor-2", "cursor-3"]
    assert got[-1].next_cursor is None
    assert got[0].api_version == "2026-01"
    # Filters go on the first request only; Shopify refuses them alongside page_info.
    assert seen[0].params["updated_at_min"] == "2026-03-01T00:00:00+00:00"
    assert seen[0].params["status"] == "any"
    assert "updated_at_min" not in seen[1].params
    assert seen[1].params["page_info"] == "cursor-2"


def test_network_error_mid_pagination_resumes_from_the_cursor_without_duplicates(make_shop):
    failures = {"cursor-2": 1}
    seen = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        page_info = request.url.params.get("page_info")
        seen.append(page_info)
        if failures.get(page_info):
            failures[page_info] -= 1
            raise httpx2.RemoteProtocolError("peer closed connection", request=request)
        if page_info is None:
            link = f'<{BASE}/orders.json?page_info=cursor-2>; rel="next"'
            return httpx2.Response(200, json={"orders": [order(1)]}, headers={"Link": link})
        return httpx2.Response(200, json={"orders": [order(2)]})

    ids = [item["id"] for page in make_shop(handler).pages("order") for item in page.items]
    assert ids == [450789469000001, 450789469000002]
    assert seen == [None, "cursor-2", "cursor-2"]


def test_call_limit_header_makes_the_client_wait(make_shop, sleeper):
    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(
            200, json={"order": order(1)}, headers={"X-Shopify-Shop-Api-Call-Limit": "40/40"}
        )

    shop = make_shop(handler)
    shop.get("order", "1")
    assert sleeper.pauses == []
    shop.get("order", "1")
    # The bucket is full (40/40) and leaks 2 per second: one call needs half a second.
    assert sleeper.pauses == [pytest.approx(0.5)]


def test_unknown_entity_is_rejected_with_a_code(make_shop):
    with pytest.raises(RequestRejectedError) as info:
        list(make_shop(lambda r: httpx2.Response(200)).pages("warehouse"))
    assert info.value.code == "CONN014"


# -- GraphQL ------------------------------------------------------------------------------


def throttle(available: int, requested: int = 0) -> dict[str, Any]:
    return {
        "cost": {
            "requestedQueryCost": requested,
            "actualQueryCost": None if requested else 12,
            "throttleStatus": {
                "maximumAvailable": 2000.0,
                "currentlyAvailable": available,
                "restoreRate": 100.0,
            },
        }
    }


def test_graphql_throttled_at_http_200_waits_for_the_restore_rate(make_shop, sleeper):
    calls = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        calls.append(json.loads(request.content))
        if len(calls) == 1:
            return httpx2.Response(
                200,
                json={
                    "errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}],
                    "extensions": throttle(available=50, requested=252),
                },
            )
        return httpx2.Response(
            200, json={"data": {"shop": {"name": "acme"}}, "extensions": throttle(1900)}
        )

    data = make_shop(handler).graphql("{ shop { name } }")
    assert data == {"shop": {"name": "acme"}}
    assert len(calls) == 2
    # (252 - 50) / 100 = 2.02 s, plus at most base_delay / 2 of jitter
    assert any(2.02 <= p <= 2.27 for p in sleeper.pauses)


def test_graphql_throttled_every_time_ends_as_a_quota_error(make_shop):
    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(
            200,
            json={
                "errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}],
                "extensions": throttle(available=0, requested=100),
            },
        )

    with pytest.raises(QuotaError) as info:
        make_shop(handler).graphql("{ shop { name } }")
    assert info.value.status_code == 200
    assert info.value.retry_after == pytest.approx(1.0)


def test_low_graphql_budget_slows_the_next_query(make_shop, sleeper):
    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, json={"data": {"ok": True}, "extensions": throttle(5)})

    shop = make_shop(handler)
    shop.graphql("{ ok }", cost=10)
    assert sleeper.pauses == []
    shop.graphql("{ ok }", cost=10)
    # 5 points left, 10 needed, restoring 100/s: 0.05 s
    assert sleeper.pauses == [pytest.approx(0.05)]


def test_other_graphql_errors_are_validation(make_shop):
    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, json={"errors": [{"message": "Field 'x' doesn't exist"}]})

    with pytest.raises(RequestRejectedError) as info:
        make_shop(handler).graphql("{ x }")
    assert info.value.code == "CONN016"
    assert "Field 'x'" in str(info.value)


def test_graphql_cursor_pagination(make_shop):
    query = "query($after: String) { orders(first: 2, after: $after) { nodes { id } pageInfo { hasNextPage endCursor } } }"  # noqa: E501
    afters = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        after = json.loads(request.content)["variables"]["after"]
        afters.append(after)
        if after is None:
            conn = {
                "nodes": [{"id": "gid://shopify/Order/1"}, {"id": "gid://shopify/Order/2"}],
                "pageInfo": {"hasNextPage": True, "endCursor": "eyJsYXN0X2lkIjoyfQ=="},
            }
        else:
            conn = {
                "edges": [{"node": {"id": "gid://shopify/Order/3"}}],
                "pageInfo": {"hasNextPage": False, "endCursor": "eyJsYXN0X2lkIjozfQ=="},
            }
        return httpx2.Response(200, json={"data": {"orders": conn}, "extensions": throttle(1990)})

    pages = list(make_shop(handler).graphql_pages(query, ["orders"], entity="order"))
    assert [n["id"] for p in pages for n in p.items] == [
        "gid://shopify/Order/1",
        "gid://shopify/Order/2",
        "gid://shopify/Order/3",
    ]
    assert afters == [None, "eyJsYXN0X2lkIjoyfQ=="]
    assert pages[-1].next_cursor is None


def test_inventory_adjustment_is_idempotent(make_shop):
    bodies = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        bodies.append(json.loads(request.content))
        result = {
            "inventoryAdjustQuantities": {
                "inventoryAdjustmentGroup": {"id": "gid://shopify/InventoryAdjustmentGroup/9"},
                "userErrors": [],
            }
        }
        return httpx2.Response(200, json={"data": result, "extensions": throttle(1990)})

    change = {
        "reason": "correction",
        "name": "available",
        "changes": [
            {
                "delta": -2,
                "inventoryItemId": "gid://shopify/InventoryItem/808950810",
                "locationId": "gid://shopify/Location/655441491",
            }
        ],
    }
    out = make_shop(handler).create(
        "inventory_adjustment", change, idempotency_key="adj-2026-03-02-0001"
    )
    assert out == {"id": "gid://shopify/InventoryAdjustmentGroup/9"}
    assert "inventoryAdjustQuantities(input: $input) @idempotent(key: $key)" in bodies[0]["query"]
    assert bodies[0]["variables"] == {"input": change, "key": "adj-2026-03-02-0001"}


def test_refund_user_errors_are_rejections(make_shop):
    def handler(request: httpx2.Request) -> httpx2.Response:
        assert (
            "refundCreate(input: $input) @idempotent(key: $key)"
            in json.loads(request.content)["query"]
        )
        result = {
            "refundCreate": {
                "refund": None,
                "userErrors": [{"field": ["input", "transactions"], "message": "exceeds"}],
            }
        }
        return httpx2.Response(200, json={"data": result})

    with pytest.raises(RequestRejectedError) as info:
        make_shop(handler).create(
            "refund", {"orderId": "gid://shopify/Order/1"}, idempotency_key="rf-1"
        )
    assert "input.transactions: exceeds" in str(info.value)


def test_create_refuses_non_idempotent_entities_and_blank_keys(make_shop):
    shop = make_shop(lambda r: httpx2.Response(500))
    with pytest.raises(RequestRejectedError):
        shop.create("order", {"line_items": []}, idempotency_key="k")
    with pytest.raises(RequestRejectedError):
        shop.create("refund", {}, idempotency_key="  ")


def test_decimal_amounts_go_out_as_strings(make_shop):
    bodies = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        bodies.append(request.content)
        return httpx2.Response(200, json={"product": {"id": 1}})

    make_shop(handler).update(
        "product", "1", {"variants": [{"price": Decimal("19.90")}]}, idempotency_key="p-1"
    )
    assert bodies[0] == b'{"product":{"variants":[{"price":"19.90"}]}}'


def test_served_api_version_is_recorded_and_a_mismatch_logged(make_shop, caplog):
    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(
            200, json={"order": order(1)}, headers={"X-Shopify-API-Version": "2026-04"}
        )

    shop = make_shop(handler)
    shop.get("order", "1")
    assert shop.served_api_version == "2026-04"
    assert "not the pinned 2026-01" in caplog.text


# -- webhooks -----------------------------------------------------------------------------


def delivery(body: bytes, *, secret: str = WEBHOOK_SECRET, webhook_id: str = "b54557e4-1") -> dict:
    return {
        "X-Shopify-Topic": "orders/create",
        "X-Shopify-Hmac-Sha256": hmac_sha256_base64(secret.encode(), body),
        "X-Shopify-Webhook-Id": webhook_id,
        "X-Shopify-API-Version": "2026-01",
        "X-Shopify-Shop-Domain": SHOP,
    }


def test_webhook_with_a_valid_hmac_parses(make_shop):
    body = json.dumps(order(7)).encode()
    event = make_shop(lambda r: httpx2.Response(500)).verify_webhook(delivery(body), body)
    assert (event.channel, event.entity, event.topic) == ("shopify", "order", "orders/create")
    assert event.event_id == "b54557e4-1"
    assert event.payload["id"] == 450789469000007
    assert event.api_version == "2026-01"


def test_webhook_with_a_bad_hmac_is_an_auth_error(make_shop):
    body = json.dumps(order(7)).encode()
    headers = delivery(body, secret="someone-elses-secret")
    with pytest.raises(AuthError) as info:
        make_shop(lambda r: httpx2.Response(500)).verify_webhook(headers, body)
    assert info.value.code == "CONN011"


def test_webhook_tampered_body_fails(make_shop):
    body = json.dumps(order(7)).encode()
    headers = delivery(body)
    with pytest.raises(AuthError):
        make_shop(lambda r: httpx2.Response(500)).verify_webhook(
            headers, body.replace(b"199.65", b"1.65")
        )


def test_replayed_webhook_keeps_its_event_id(make_shop):
    shop = make_shop(lambda r: httpx2.Response(500))
    body = json.dumps(order(8)).encode()
    first = shop.verify_webhook(delivery(body, webhook_id="dup-1"), body)
    again = shop.verify_webhook(delivery(body, webhook_id="dup-1"), body)
    assert first.event_id == again.event_id == "dup-1"


def test_signed_but_malformed_webhook_is_rejected(make_shop):
    body = b'{"id": 1, "total_price": '
    with pytest.raises(RequestRejectedError) as info:
        make_shop(lambda r: httpx2.Response(500)).verify_webhook(delivery(body), body)
    assert info.value.code == "CONN012"


def test_outbound_rest_bodies_become_idempotent_mutations(make_shop):
    bodies = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        body = json.loads(request.content)
        bodies.append(body)
        field = (
            "inventorySetQuantities"
            if "inventorySetQuantities" in body["query"]
            else ("inventoryAdjustQuantities")
        )
        result = {field: {"inventoryAdjustmentGroup": {"id": "g1"}, "userErrors": []}}
        return httpx2.Response(200, json={"data": result})

    shop = make_shop(handler)
    # what mappings/shopify/inventory_adjustment.outbound.yaml produces
    shop.create(
        "inventory_adjustment",
        {"location_id": 655441491, "inventory_item_id": 808950810, "available_adjustment": -3},
        idempotency_key="adj-1",
    )
    # what mappings/shopify/inventory_level.outbound.yaml produces
    shop.update(
        "inventory_level",
        "808950810",
        {"location_id": 655441491, "inventory_item_id": 808950810, "available": 42},
        idempotency_key="set-1",
    )
    adjust, setq = bodies
    assert "@idempotent(key: $key)" in adjust["query"]
    assert adjust["variables"]["key"] == "adj-1"
    assert adjust["variables"]["input"]["changes"] == [
        {
            "delta": -3,
            "inventoryItemId": "gid://shopify/InventoryItem/808950810",
            "locationId": "gid://shopify/Location/655441491",
        }
    ]
    assert "inventorySetQuantities(input: $input) @idempotent(key: $key)" in setq["query"]
    assert setq["variables"]["input"]["quantities"] == [
        {
            "quantity": 42,
            "inventoryItemId": "gid://shopify/InventoryItem/808950810",
            "locationId": "gid://shopify/Location/655441491",
            "changeFromQuantity": None,
        }
    ]


@pytest.mark.parametrize(
    "record",
    [
        {"location_id": 1, "inventory_item_id": 2, "available_adjustment": "3"},
        {"location_id": 1, "inventory_item_id": 2, "available_adjustment": 1.5},
        {"location_id": 1, "available_adjustment": 3},
    ],
)
def test_bad_inventory_bodies_are_rejected_before_sending(make_shop, record):
    def handler(request: httpx2.Request) -> httpx2.Response:  # pragma: no cover
        raise AssertionError("nothing may be sent")

    with pytest.raises(RequestRejectedError):
        make_shop(handler).create("inventory_adjustment", record, idempotency_key="k")


def test_webhook_topics_name_the_mapping_entities(make_shop):
    shop = make_shop(lambda r: httpx2.Response(500))
    body = b'{"inventory_item_id": 808950810, "location_id": 655441491, "available": 5}'
    headers = delivery(body)
    headers["X-Shopify-Topic"] = "inventory_levels/update"
    assert shop.verify_webhook(headers, body).entity == "inventory_level"
    headers["X-Shopify-Topic"] = "refunds/create"
    assert shop.verify_webhook(headers, body).entity == "refund"


def test_inventory_levels_list_by_location(make_shop):
    seen: list[httpx2.Request] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        level = {
            "inventory_item_id": 808950810,
            "location_id": 655441491,
            "available": 9,
            "updated_at": "2026-03-01T10:00:00-05:00",
        }
        return httpx2.Response(200, json={"inventory_levels": [level]})

    shop = make_shop(handler, secrets=secrets(SHOPIFY_LOCATION_IDS="655441491, 487838322"))
    pages = list(shop.pages("inventory_level"))
    assert seen[0].url.path.endswith("/inventory_levels.json")
    assert seen[0].url.params["location_ids"] == "655441491,487838322"
    assert shop.record_key("inventory_level", pages[0].items[0]) == (
        "shopify:inventory_level:808950810@655441491:2026-03-01T10:00:00-05:00"
    )
    with pytest.raises(AuthError) as info:  # no locations configured
        list(make_shop(handler).pages("inventory_level"))
    assert "SHOPIFY_LOCATION_IDS" in str(info.value)


def test_a_body_that_is_not_json_is_rejected_not_a_crash(make_shop):
    def handler(request: httpx2.Request) -> httpx2.Response:  # pragma: no cover
        raise AssertionError("nothing may be sent")

    with pytest.raises(RequestRejectedError) as info:
        make_shop(handler).update("product", "1", {"tags": {"a", "b"}}, idempotency_key="k")
    assert "not JSON-serialisable" in str(info.value)


def test_garbage_throttle_status_is_ignored_not_a_crash(make_shop):
    calls = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        calls.append(request)
        garbage = {"cost": {"requestedQueryCost": "lots", "throttleStatus": {
            "maximumAvailable": None, "currentlyAvailable": "x", "restoreRate": [1]}}}  # fmt: skip
        if len(calls) == 1:
            return httpx2.Response(
                200,
                json={"errors": [{"extensions": {"code": "THROTTLED"}}], "extensions": garbage},
            )
        return httpx2.Response(200, json={"data": {"ok": True}, "extensions": garbage})

    assert make_shop(handler).graphql("{ ok }") == {"ok": True}
    assert len(calls) == 2


# -- completing product events with the shop ---------------------------------------------------


def test_a_product_is_completed_with_the_cached_shop_and_maps_in_its_currency(make_shop, clock):
    from datetime import timedelta

    from accord.engine.mapping import MappingCatalog
    from accord.resources import mappings_dir

    calls: list[str] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        calls.append(request.url.path)
        assert request.url.path == "/admin/api/2026-01/shop.json"
        return httpx2.Response(200, json={"shop": {"id": 548380009, "currency": "CAD"}})

    shop = make_shop(handler, item_cache_ttl=timedelta(minutes=10))
    product = {"id": 632910392, "title": "IPod Nano", "variants": [
        {"id": 808950810, "sku": "IPOD2008PINK", "price": "199.00",
         "presentment_prices": [{"price": {"amount": "149.00", "currency_code": "USD"},
                                 "compare_at_price": None}]}]}  # fmt: skip
    entity, payload = shop.complete("product", product, topic="products/update")
    shop_object = {"id": 548380009, "currency": "CAD"}
    assert (entity, payload) == ("product", {"product": product, "shop": shop_object})
    # The REST wrapper is unwrapped, and the shop comes from the cache until it expires.
    assert shop.complete("product", {"product": product})[1]["product"] == product
    assert calls == ["/admin/api/2026-01/shop.json"]
    clock.advance(timedelta(minutes=11))
    shop.complete("product", product)
    assert len(calls) == 2
    # An already completed payload is handed over as it is.
    assert shop.complete("product", payload) == ("product", payload)

    spec = MappingCatalog([mappings_dir()]).find("shopify", "product", "inbound")
    (variant,) = spec.apply(payload)["variants"]
    assert variant["price"] == {"amount": Decimal("199.00"), "currency": "CAD"}
    assert variant["prices"] == [{"price": {"amount": Decimal("149.00"), "currency": "USD"}}]


def test_a_shop_reply_without_the_shop_is_a_validation_error(make_shop):
    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, json={"errors": "Not Found"})

    with pytest.raises(RequestRejectedError) as info:
        make_shop(handler).complete("product", {"id": 1, "title": "x", "variants": []})
    assert info.value.code == "CONN017"
