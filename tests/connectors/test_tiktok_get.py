"""TikTok Shop ``get("order", id)``: Get Order Detail, signed, every failure classified."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx2
import pytest

from accord.connectors.secrets import StaticSecrets
from accord.connectors.tiktok import TikTokShopConnector, tiktok_sign
from accord.errors import RequestRejectedError, TransientError

SECRETS = {
    "TIKTOK_APP_KEY": "6abc12def",
    "TIKTOK_APP_SECRET": "tiktok-app-secret-0003",
    "TIKTOK_ACCESS_TOKEN": "ROW_access_token_1",
    "TIKTOK_SHOP_CIPHER": "ROW_cipher_1",
}
FIXTURES = Path(__file__).parents[1] / "channels" / "fixtures" / "tiktok" / "order"
ORDER_ID = "576486316948490001"


def fixture_order(order_id: str = ORDER_ID) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / f"order-{order_id}.json").read_text())
    return data


class FakeOrders:
    """Get Order Detail over the fixture orders; refuses a request whose ``sign`` is wrong;
    ``replies`` overrides the answers in order."""

    def __init__(self) -> None:
        self.orders = {ORDER_ID: fixture_order()}
        self.requests: list[httpx2.Request] = []
        self.replies: list[httpx2.Response] = []

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        params = dict(request.url.params)
        expected = tiktok_sign(
            SECRETS["TIKTOK_APP_SECRET"], request.url.path, params, request.content
        )
        if params.get("sign") != expected:
            return httpx2.Response(200, json={"code": 106001, "message": "invalid sign"})
        if self.replies:
            return self.replies.pop(0)
        assert (request.method, request.url.path) == ("GET", "/order/202309/orders")
        found = [self.orders[i] for i in params["ids"].split(",") if i in self.orders]
        return httpx2.Response(
            200, json={"code": 0, "message": "Success", "data": {"orders": found}}
        )


@pytest.fixture
def fake() -> FakeOrders:
    return FakeOrders()


@pytest.fixture
def tiktok(fake, mock_client, clock, sleeper, policy) -> TikTokShopConnector:
    return TikTokShopConnector(
        mock_client(fake), secrets=StaticSecrets(SECRETS), retry=policy, clock=clock,
        sleep=sleeper,
    )  # fmt: skip


def test_get_order_returns_the_one_order_of_the_signed_detail_call(tiktok, fake, clock):
    order = tiktok.get("order", ORDER_ID)
    assert order == fixture_order()
    assert order["payment"]["total_amount"] == "73.91"  # amounts stay strings, never floats
    (request,) = fake.requests
    assert request.url.params["ids"] == ORDER_ID
    assert request.url.params["app_key"] == "6abc12def"
    assert request.url.params["shop_cipher"] == "ROW_cipher_1"
    assert request.url.params["timestamp"] == str(int(clock.now().timestamp()))
    assert request.headers["x-tts-access-token"] == "ROW_access_token_1"


def test_an_order_tiktok_does_not_return_is_a_classified_not_found(tiktok, fake):
    with pytest.raises(RequestRejectedError) as info:
        tiktok.get("order", "576486316948499999")
    assert info.value.code == "CONN019"
    assert info.value.error_class.value == "validation"
    assert "576486316948499999" in str(info.value)
    assert len(fake.requests) == 1  # not retried: asking again gets the same answer


def test_a_not_found_error_code_is_validation(tiktok, fake):
    fake.replies = [httpx2.Response(200, json={"code": 36004001, "message": "order not exist"})]
    with pytest.raises(RequestRejectedError) as info:
        tiktok.get("order", ORDER_ID)
    assert dict(info.value.diagnostics[0].details)["code"] == "36004001"
    assert len(fake.requests) == 1


def test_malformed_json_is_retried_then_a_transient_error(tiktok, fake, policy):
    fake.replies = [
        httpx2.Response(200, content=b'{"code": 0, "data": {"orders": [')
        for _ in range(policy.max_attempts)
    ]
    with pytest.raises(TransientError) as info:
        tiktok.get("order", ORDER_ID)
    assert info.value.code == "CONN010"
    assert len(fake.requests) == policy.max_attempts
    assert SECRETS["TIKTOK_APP_SECRET"] not in str(info.value)


def test_a_reply_without_an_orders_list_is_an_unexpected_shape(tiktok, fake):
    fake.replies = [httpx2.Response(200, json={"code": 0, "data": {"order_list": []}})]
    with pytest.raises(RequestRejectedError) as info:
        tiktok.get("order", ORDER_ID)
    assert info.value.code == "CONN017"


@pytest.mark.parametrize(
    ("entity", "id"), [("product", ORDER_ID), ("order", "12ab"), ("order", "")]
)
def test_bad_requests_are_refused_before_any_call(tiktok, fake, entity, id):
    with pytest.raises(RequestRejectedError) as info:
        tiktok.get(entity, id)
    assert info.value.code == "CONN014"
    assert fake.requests == []
