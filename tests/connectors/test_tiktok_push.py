"""TikTok Shop inventory update push: signed body, absolute quantities, every failure class."""

from __future__ import annotations

import json
from typing import Any

import httpx2
import pytest

from accord.connectors.secrets import StaticSecrets
from accord.connectors.tiktok import TikTokShopConnector, tiktok_sign
from accord.errors import AuthError, QuotaError, RequestRejectedError, TransientError

SECRETS = {
    "TIKTOK_APP_KEY": "6abc12def",
    "TIKTOK_APP_SECRET": "tiktok-app-secret-0002",
    "TIKTOK_ACCESS_TOKEN": "ROW_access_token_1",
    "TIKTOK_SHOP_CIPHER": "ROW_cipher_1",
}
PRODUCT = "1729587769570301478"
# What mappings/tiktok/inventory_level.outbound.yaml produces.
BODY = {
    "skus": [
        {
            "id": "1729587769570367014",
            "inventory": [{"warehouse_id": "7068517275539719942", "quantity": 116}],
        }
    ]
}


class FakeTikTok:
    """Keeps stock per (sku, warehouse); verifies every signature; ``script`` fails request
    number N (after applying it when the entry is ``"lost-reply"``)."""

    def __init__(self) -> None:
        self.stock: dict[tuple[str, str], int] = {}
        self.requests: list[httpx2.Request] = []
        self.script: dict[int, Any] = {}
        self.refreshes = 0

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        if request.url.host == "auth.tiktok-shops.com":
            self.refreshes += 1
            return httpx2.Response(
                200, json={"code": 0, "data": {"access_token": "ROW_access_token_2"}}
            )
        self.requests.append(request)
        params = dict(request.url.params)
        expected = tiktok_sign(
            SECRETS["TIKTOK_APP_SECRET"], request.url.path, params, request.content
        )
        if params.get("sign") != expected:
            return httpx2.Response(200, json={"code": 106001, "message": "invalid sign"})
        action = self.script.pop(len(self.requests), None)
        if isinstance(action, httpx2.Response):
            return action
        if request.headers["x-tts-access-token"] == "expired":
            return httpx2.Response(200, json={"code": 105002, "message": "access token expired"})
        for sku in json.loads(request.content)["skus"]:
            for level in sku["inventory"]:
                self.stock[(sku["id"], level["warehouse_id"])] = level["quantity"]
        if action == "lost-reply":
            raise httpx2.ReadTimeout("timed out", request=request)
        return httpx2.Response(200, json={"code": 0, "message": "Success", "data": {}})


@pytest.fixture
def tiktok(mock_client, clock, sleeper, policy):
    def build(values: dict[str, str] = SECRETS) -> tuple[TikTokShopConnector, FakeTikTok]:
        fake = FakeTikTok()
        connector = TikTokShopConnector(
            mock_client(fake),
            secrets=StaticSecrets(values),
            retry=policy,
            clock=clock,
            sleep=sleeper,
        )
        return connector, fake

    return build


def test_inventory_update_posts_the_signed_body_to_the_product(tiktok):
    connector, fake = tiktok()
    assert connector.update("inventory_level", PRODUCT, BODY, idempotency_key="inv-1") == {}
    request = fake.requests[0]
    assert request.method == "POST"
    assert request.url.path == f"/product/202309/products/{PRODUCT}/inventory/update"
    assert json.loads(request.content) == BODY
    assert request.url.params["shop_cipher"] == "ROW_cipher_1"
    assert fake.stock == {("1729587769570367014", "7068517275539719942"): 116}


def test_a_lost_reply_retried_leaves_the_same_stock(tiktok):
    connector, fake = tiktok()
    fake.script = {1: "lost-reply"}
    connector.update("inventory_level", PRODUCT, BODY, idempotency_key="inv-1")
    assert len(fake.requests) == 2
    assert fake.stock == {("1729587769570367014", "7068517275539719942"): 116}


def test_rate_limits_at_http_200_and_429_are_retried(tiktok, sleeper):
    connector, fake = tiktok()
    fake.script = {
        1: httpx2.Response(200, json={"code": 36009003, "message": "too many requests"}),
        2: httpx2.Response(429, headers={"Retry-After": "3"}),
    }
    connector.update("inventory", PRODUCT, BODY, idempotency_key="inv-1")
    assert len(fake.requests) == 3
    assert any(3.0 <= p <= 3.5 for p in sleeper.pauses)


def test_quota_that_persists_is_a_quota_error(tiktok, policy):
    connector, fake = tiktok()
    fake.script = {
        n: httpx2.Response(200, json={"code": 36009003, "message": "too many requests"})
        for n in range(1, policy.max_attempts + 1)
    }
    with pytest.raises(QuotaError):
        connector.update("inventory_level", PRODUCT, BODY, idempotency_key="inv-1")
    assert fake.stock == {}


def test_expired_token_is_refreshed_once(tiktok):
    connector, fake = tiktok(
        {**SECRETS, "TIKTOK_ACCESS_TOKEN": "expired", "TIKTOK_REFRESH_TOKEN": "ROW_refresh_1"}
    )
    connector.update("inventory_level", PRODUCT, BODY, idempotency_key="inv-1")
    assert fake.refreshes == 1
    assert [r.headers["x-tts-access-token"] for r in fake.requests] == [
        "expired",
        "ROW_access_token_2",
    ]


def test_expired_token_without_refresh_is_auth_and_secret_free(tiktok):
    connector, _ = tiktok({**SECRETS, "TIKTOK_ACCESS_TOKEN": "expired"})
    with pytest.raises(AuthError) as info:
        connector.update("inventory_level", PRODUCT, BODY, idempotency_key="inv-1")
    assert SECRETS["TIKTOK_APP_SECRET"] not in str(info.value)


def test_malformed_json_is_retried_then_transient(tiktok, policy):
    connector, fake = tiktok()
    fake.script = {
        n: httpx2.Response(200, content=b'{"code": 0, "data": ')
        for n in range(1, policy.max_attempts + 1)
    }
    with pytest.raises(TransientError) as info:
        connector.update("inventory_level", PRODUCT, BODY, idempotency_key="inv-1")
    assert info.value.code == "CONN010"
    assert len(fake.requests) == policy.max_attempts


def test_a_business_error_code_is_validation_and_not_retried(tiktok):
    connector, fake = tiktok()
    fake.script = {1: httpx2.Response(200, json={"code": 17019001, "message": "sku not found"})}
    with pytest.raises(RequestRejectedError) as info:
        connector.update("inventory_level", PRODUCT, BODY, idempotency_key="inv-1")
    assert "17019001" in str(info.value)
    assert len(fake.requests) == 1


@pytest.mark.parametrize(
    ("product", "body"),
    [
        ("not-an-id", BODY),
        (PRODUCT, {"skus": []}),
        (PRODUCT, {"skus": [{"id": "1", "inventory": "9"}]}),
        (PRODUCT, {"skus": [{"id": "1", "inventory": [{"warehouse_id": "w", "quantity": -1}]}]}),
        (PRODUCT, {"skus": [{"id": "1", "inventory": [{"warehouse_id": "w", "quantity": "5"}]}]}),
        (PRODUCT, {"skus": [{"id": "1", "inventory": [{"quantity": 5}]}]}),
        (PRODUCT, {"skus": ["1"]}),
    ],
)
def test_bad_bodies_are_refused_before_any_request(tiktok, product, body):
    connector, fake = tiktok()
    with pytest.raises(RequestRejectedError) as info:
        connector.update("inventory_level", product, body, idempotency_key="inv-1")
    assert info.value.code == "CONN014"
    assert fake.requests == []


def test_other_entities_are_not_updated(tiktok):
    connector, _ = tiktok()
    with pytest.raises(RequestRejectedError):
        connector.update("order", "1", {}, idempotency_key="k")
