"""WooCommerce connector: basic auth, page/per_page with X-WP-TotalPages, webhook signature."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

import httpx2
import pytest

from accord.connectors.secrets import StaticSecrets
from accord.connectors.webhooks import hmac_sha256_base64
from accord.connectors.woocommerce import WooCommerceConnector
from accord.errors import AuthError, RequestRejectedError, TransientError

KEY = "ck_4f2b3c9d8e7f6a5b4c3d2e1f"
SECRET = "cs_9a8b7c6d5e4f3a2b1c0d9e8f"
HOOK_SECRET = "wc-hook-secret-value"
SECRETS = StaticSecrets(
    {
        "WOOCOMMERCE_URL": "https://shop.example.com/",
        "WOOCOMMERCE_CONSUMER_KEY": KEY,
        "WOOCOMMERCE_CONSUMER_SECRET": SECRET,
        "WOOCOMMERCE_WEBHOOK_SECRET": HOOK_SECRET,
    }
)


def wc_order(n: int) -> dict[str, Any]:
    return {
        "id": 700 + n,
        "status": "processing",
        "currency": "USD",
        "total": "29.35",
        "date_modified_gmt": f"2026-03-01T12:{n:02d}:00",
        "billing": {"first_name": "John", "email": "john.doe@example.com"},
        "line_items": [{"id": 315, "sku": "WOO-1", "quantity": 2, "price": 3}],
    }


@pytest.fixture
def make_woo(mock_client, clock, sleeper, policy):
    def make(handler, **kwargs: Any) -> WooCommerceConnector:
        return WooCommerceConnector(
            mock_client(handler),
            secrets=SECRETS,
            retry=policy,
            clock=clock,
            sleep=sleeper,
            **kwargs,
        )

    return make


def paged(total: int, per_page: int = 2, fail: dict[int, int] | None = None):
    seen: list[httpx2.Request] = []
    fail = dict(fail or {})

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        page = int(request.url.params["page"])
        if fail.get(page):
            fail[page] -= 1
            raise httpx2.ReadError("connection reset", request=request)
        start = (page - 1) * per_page
        items = [wc_order(n) for n in range(start, min(start + per_page, total))]
        pages = -(-total // per_page)
        return httpx2.Response(
            200, json=items, headers={"X-WP-Total": str(total), "X-WP-TotalPages": str(pages)}
        )

    return handler, seen


def test_basic_auth_and_page_pagination(make_woo):
    handler, seen = paged(total=5)
    since = datetime(2026, 3, 1, 8, 30, tzinfo=UTC)
    pages = list(make_woo(handler).pages("order", since=since, page_size=2))
    assert [p.cursor for p in pages] == [None, "2", "3"]
    assert [len(p.items) for p in pages] == [2, 2, 1]
    expected = "Basic " + base64.b64encode(f"{KEY}:{SECRET}".encode()).decode()
    assert seen[0].headers["Authorization"] == expected
    assert seen[0].url.path == "/wp-json/wc/v3/orders"
    assert seen[0].url.params["modified_after"] == "2026-03-01T08:30:00"
    assert seen[0].url.params["dates_are_gmt"] == "true"
    assert seen[2].url.params["page"] == "3"


def test_query_auth_for_hosts_that_strip_authorization(make_woo):
    handler, seen = paged(total=1)
    list(make_woo(handler, query_auth=True).pages("order"))
    assert seen[0].url.params["consumer_key"] == KEY
    assert "Authorization" not in seen[0].headers


def test_read_error_mid_pagination_resumes_from_that_page(make_woo):
    handler, seen = paged(total=6, fail={2: 2})
    ids = [o["id"] for p in make_woo(handler).pages("order") for o in p.items]
    assert ids == [700, 701, 702, 703, 704, 705]
    assert [int(r.url.params["page"]) for r in seen] == [1, 2, 2, 2, 3]


def test_resume_from_a_stored_cursor(make_woo):
    handler, _ = paged(total=6)
    ids = [o["id"] for p in make_woo(handler).pages("order", cursor="3") for o in p.items]
    assert ids == [704, 705]


def test_error_page_persisting_is_transient_and_keys_stay_secret(make_woo):
    handler, _ = paged(total=6, fail={1: 99})
    with pytest.raises(TransientError) as info:
        list(make_woo(handler).pages("order"))
    assert KEY not in str(info.value)
    assert SECRET not in str(info.value)


def test_woocommerce_error_body_is_classified(make_woo):
    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(
            401,
            json={"code": "woocommerce_rest_cannot_view", "message": "Sorry, you cannot list"},
        )

    with pytest.raises(AuthError) as info:
        make_woo(handler).get("order", "727")
    assert "woocommerce_rest_cannot_view" in str(info.value)


def test_update_puts_fields(make_woo):
    sent = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        sent.append((request.method, request.url.path, json.loads(request.content)))
        return httpx2.Response(200, json={**wc_order(1), "status": "completed"})

    out = make_woo(handler).update("order", "701", {"status": "completed"}, idempotency_key="u1")
    assert out["status"] == "completed"
    assert sent == [("PUT", "/wp-json/wc/v3/orders/701", {"status": "completed"})]


def test_cursor_that_is_not_a_page_number_is_rejected(make_woo):
    with pytest.raises(RequestRejectedError):
        list(make_woo(lambda r: httpx2.Response(200, json=[])).pages("order", cursor="abc"))


def hook(body: bytes, secret: str = HOOK_SECRET, delivery: str = "d-1") -> dict[str, str]:
    return {
        "X-WC-Webhook-Source": "https://shop.example.com/",
        "X-WC-Webhook-Topic": "order.updated",
        "X-WC-Webhook-Resource": "order",
        "X-WC-Webhook-Event": "updated",
        "X-WC-Webhook-Signature": hmac_sha256_base64(secret.encode(), body),
        "X-WC-Webhook-ID": "12",
        "X-WC-Webhook-Delivery-ID": delivery,
    }


def test_webhook_signature_and_stable_event_id(make_woo):
    woo = make_woo(lambda r: httpx2.Response(500))
    body = json.dumps(wc_order(3)).encode()
    first = woo.verify_webhook(hook(body, delivery="d-1"), body)
    redelivered = woo.verify_webhook(hook(body, delivery="d-2"), body)
    assert first.entity == "order"
    assert first.event_id == redelivered.event_id == "woocommerce:order:703:2026-03-01T12:03:00"
    assert first.event_id == woo.record_key("order", wc_order(3))


def test_webhook_bad_signature(make_woo):
    body = json.dumps(wc_order(3)).encode()
    with pytest.raises(AuthError) as info:
        make_woo(lambda r: httpx2.Response(500)).verify_webhook(hook(body, "other"), body)
    assert info.value.code == "CONN011"
