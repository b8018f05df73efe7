"""Every connector behaves the same to the engine: one scenario table, seven channels.

Each channel gets a small fake that serves three pages of one record each in that channel's
own pagination style (Link page_info, NextToken, X-WP-TotalPages, offset/total, page_token,
hasMore, Page/total-pages) and token endpoint where it has one. Failures are injected on the
second page, where a backfill is mid-way."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx2
import pytest

from accord.connectors import (
    AmazonConnector,
    Connector,
    EbayConnector,
    NetSuiteConnector,
    ShipBobConnector,
    ShopifyConnector,
    StaticSecrets,
    TikTokShopConnector,
    WooCommerceConnector,
)
from accord.errors import AuthError, RequestRejectedError, TransientError

PAGES = 3
SHOP = "https://acme.myshopify.com/admin/api/2026-01"


@dataclass
class Channel:
    cls: type[Connector]
    secrets: dict[str, str]
    page_of: Callable[[httpx2.Request], int]
    respond: Callable[[int], httpx2.Response]
    token: Callable[[httpx2.Request], httpx2.Response | None] = lambda r: None
    kwargs: dict[str, Any] | None = None


def shopify_page(i: int) -> httpx2.Response:
    headers = {}
    if i + 1 < PAGES:
        headers["Link"] = f'<{SHOP}/orders.json?page_info={i + 1}>; rel="next"'
    return httpx2.Response(200, json={"orders": [{"id": 100 + i}]}, headers=headers)


def amazon_page(i: int) -> httpx2.Response:
    payload: dict[str, Any] = {"Orders": [{"AmazonOrderId": f"902-{i}"}]}
    if i + 1 < PAGES:
        payload["NextToken"] = str(i + 1)
    return httpx2.Response(200, json={"payload": payload})


def amazon_token(request: httpx2.Request) -> httpx2.Response | None:
    if request.url.host != "api.amazon.com":
        return None
    return httpx2.Response(200, json={"access_token": "Atza|matrix", "expires_in": 3600})


def ebay_token(request: httpx2.Request) -> httpx2.Response | None:
    if request.url.path != "/identity/v1/oauth2/token":
        return None
    return httpx2.Response(200, json={"access_token": "v^1.1#matrix", "expires_in": 7200})


CHANNELS = {
    "shopify": Channel(
        ShopifyConnector,
        {"SHOPIFY_SHOP": "acme.myshopify.com", "SHOPIFY_ACCESS_TOKEN": "shpat_matrix_token"},
        lambda r: int(r.url.params.get("page_info", 0)),
        shopify_page,
    ),
    "amazon": Channel(
        AmazonConnector,
        {
            "AMAZON_LWA_REFRESH_TOKEN": "Atzr|matrix-refresh",
            "AMAZON_LWA_CLIENT_ID": "client-matrix",
            "AMAZON_LWA_CLIENT_SECRET": "client-secret-matrix",
        },
        lambda r: int(r.url.params.get("NextToken", 0)),
        amazon_page,
        amazon_token,
        kwargs={"combine_items": False},  # items calls are covered in test_amazon.py
    ),
    "woocommerce": Channel(
        WooCommerceConnector,
        {
            "WOOCOMMERCE_URL": "https://shop.example.com",
            "WOOCOMMERCE_CONSUMER_KEY": "ck_matrix_key",
            "WOOCOMMERCE_CONSUMER_SECRET": "cs_matrix_secret",
        },
        lambda r: int(r.url.params["page"]) - 1,
        lambda i: httpx2.Response(
            200, json=[{"id": 700 + i}], headers={"X-WP-TotalPages": str(PAGES)}
        ),
    ),
    "ebay": Channel(
        EbayConnector,
        {"EBAY_CLIENT_ID": "ebay-matrix", "EBAY_CLIENT_SECRET": "ebay-matrix-secret"},
        lambda r: int(r.url.params["offset"]),
        lambda i: httpx2.Response(
            200, json={"orders": [{"orderId": f"12-{i}"}], "total": PAGES, "offset": i}
        ),
        ebay_token,
    ),
    "tiktok": Channel(
        TikTokShopConnector,
        {
            "TIKTOK_APP_KEY": "matrixkey",
            "TIKTOK_APP_SECRET": "tiktok-matrix-secret",
            "TIKTOK_ACCESS_TOKEN": "ROW_matrix_token",
        },
        lambda r: int(r.url.params.get("page_token", 0)),
        lambda i: httpx2.Response(
            200,
            json={
                "code": 0,
                "data": {
                    "orders": [{"id": f"57{i}"}],
                    "next_page_token": str(i + 1) if i + 1 < PAGES else "",
                },
            },
        ),
    ),
    "netsuite": Channel(
        NetSuiteConnector,
        {
            "NETSUITE_ACCOUNT_ID": "123456",
            "NETSUITE_CONSUMER_KEY": "ns-matrix-ck",
            "NETSUITE_CONSUMER_SECRET": "ns-matrix-cs",
            "NETSUITE_TOKEN_ID": "ns-matrix-tid",
            "NETSUITE_TOKEN_SECRET": "ns-matrix-ts",
        },
        lambda r: int(r.url.params["offset"]),
        lambda i: httpx2.Response(
            200, json={"items": [{"id": str(40 + i)}], "hasMore": i + 1 < PAGES}
        ),
        kwargs={"expand": False},
    ),
    "shipbob": Channel(
        ShipBobConnector,
        {"SHIPBOB_TOKEN": "shipbob-matrix-token"},
        lambda r: int(r.url.params["Page"]) - 1,
        lambda i: httpx2.Response(200, json=[{"id": 900 + i}], headers={"total-pages": "3"}),
    ),
}

Fault = Callable[[httpx2.Request], httpx2.Response]


class Fake:
    """Serves the channel's pages; ``faults`` answer the second page's first attempts."""

    def __init__(self, channel: Channel, faults: list[Fault]) -> None:
        self.channel = channel
        self.faults = list(faults)
        self.pages: list[int] = []
        self.tokens = 0

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        token = self.channel.token(request)
        if token is not None:
            self.tokens += 1
            return token
        page = self.channel.page_of(request)
        self.pages.append(page)
        if page == 1 and self.faults:
            return self.faults.pop(0)(request)
        return self.channel.respond(page)


def raise_connect(request: httpx2.Request) -> httpx2.Response:
    raise httpx2.ConnectError("connection refused", request=request)


def status(code: int, **headers: str) -> Fault:
    return lambda request: httpx2.Response(code, json={"errors": "injected"}, headers=headers)


def garbled(request: httpx2.Request) -> httpx2.Response:
    return httpx2.Response(200, content=b'{"truncated": ')


@pytest.fixture
def run(mock_client, clock, sleeper, policy):
    def go(name: str, faults: list[Fault]) -> tuple[list[str], Fake, Connector]:
        channel = CHANNELS[name]
        fake = Fake(channel, faults)
        connector = channel.cls(
            mock_client(fake),
            secrets=StaticSecrets(channel.secrets),
            retry=policy,
            clock=clock,
            sleep=sleeper,
            **(channel.kwargs or {}),
        )
        ids = [
            str(next(iter(item.values())))
            for page in connector.pages("order", page_size=1)
            for item in page.items
        ]
        return ids, fake, connector

    return go


names = pytest.mark.parametrize("name", sorted(CHANNELS))


@names
def test_clean_backfill_reads_every_page_once(run, name):
    ids, fake, _ = run(name, [])
    assert len(ids) == len(set(ids)) == PAGES
    assert fake.pages == [0, 1, 2]


@names
def test_429_with_retry_after_is_honoured(run, name, sleeper):
    ids, fake, _ = run(name, [status(429, **{"Retry-After": "3"})])
    assert len(set(ids)) == PAGES
    assert fake.pages == [0, 1, 1, 2]
    assert any(3.0 <= p <= 3.25 for p in sleeper.pauses)


@names
def test_network_error_mid_backfill_retries_the_same_page(run, name):
    ids, fake, _ = run(name, [raise_connect, raise_connect])
    assert len(ids) == len(set(ids)) == PAGES
    assert fake.pages == [0, 1, 1, 1, 2]


@names
def test_5xx_then_recovery(run, name):
    ids, fake, _ = run(name, [status(502), status(503)])
    assert len(set(ids)) == PAGES
    assert fake.pages.count(1) == 3


@names
def test_auth_failure_mid_backfill_refreshes_once(run, name):
    ids, fake, _ = run(name, [status(401)])
    assert len(ids) == len(set(ids)) == PAGES
    if name in ("amazon", "ebay"):
        assert fake.tokens == 2  # the cached token was dropped and exchanged again


@names
def test_auth_failure_twice_is_an_auth_error(run, name):
    with pytest.raises(AuthError):
        run(name, [status(401), status(403)])


@names
def test_malformed_json_is_classified(run, name):
    with pytest.raises(TransientError) as info:
        run(name, [garbled] * 10)
    assert info.value.code == "CONN010"


@names
def test_validation_errors_stop_at_once(run, name):
    with pytest.raises(RequestRejectedError) as info:
        run(name, [status(422), status(422)])
    assert info.value.status_code == 422


@names
def test_no_credential_appears_in_any_failure(run, name):
    with pytest.raises(TransientError) as info:
        run(name, [status(500)] * 10)
    secrets = CHANNELS[name].secrets
    hidden = [v for k, v in secrets.items() if "SECRET" in k or "TOKEN" in k or "KEY" in k]
    for value in hidden:
        assert value not in str(info.value)
