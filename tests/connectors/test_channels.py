"""eBay, TikTok Shop, NetSuite and ShipBob connectors against local fakes."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

import httpx2
import pytest

from accord.connectors.ebay import EbayConnector
from accord.connectors.netsuite import NetSuiteConnector, oauth1_authorization
from accord.connectors.secrets import StaticSecrets
from accord.connectors.shipbob import ShipBobConnector
from accord.connectors.tiktok import TikTokShopConnector, tiktok_sign
from accord.errors import AuthError, QuotaError, RequestRejectedError


@pytest.fixture
def make(mock_client, clock, sleeper, policy):
    def build(cls, handler, values: dict[str, str], **kwargs: Any):
        return cls(
            mock_client(handler),
            secrets=StaticSecrets(values),
            retry=policy,
            clock=clock,
            sleep=sleeper,
            **kwargs,
        )

    return build


# -- eBay ---------------------------------------------------------------------------------

EBAY = {
    "EBAY_CLIENT_ID": "acme-app-PRD-1234",
    "EBAY_CLIENT_SECRET": "PRD-ebay-client-secret",
    "EBAY_REFRESH_TOKEN": "v^1.1#i^1#refresh-token",
}


class FakeEbay:
    def __init__(self, total: int = 5) -> None:
        self.total = total
        self.token_forms: list[dict[str, list[str]]] = []
        self.token_auth: list[str] = []
        self.requests: list[httpx2.Request] = []
        self.valid: set[str] = set()

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        if request.url.path == "/identity/v1/oauth2/token":
            self.token_forms.append(parse_qs(request.content.decode()))
            self.token_auth.append(request.headers["Authorization"])
            token = f"v^1.1#user-token-{len(self.token_forms)}"
            self.valid = {token}
            return httpx2.Response(200, json={"access_token": token, "expires_in": 7200})
        if request.headers.get("Authorization", "").removeprefix("Bearer ") not in self.valid:
            return httpx2.Response(401, json={"errors": [{"errorId": 1001, "message": "Invalid"}]})
        self.requests.append(request)
        if not request.url.path.endswith("/order"):
            return httpx2.Response(200, json={"orderId": request.url.path.rsplit("/", 1)[-1]})
        offset = int(request.url.params["offset"])
        limit = int(request.url.params["limit"])
        orders = [
            {
                "orderId": f"12-0{n}",
                "lastModifiedDate": "2026-03-01T10:00:00.000Z",
                "pricingSummary": {"total": {"value": "10.00", "currency": "USD"}},
            }
            for n in range(offset, min(offset + limit, self.total))
        ]
        return httpx2.Response(
            200, json={"orders": orders, "total": self.total, "limit": limit, "offset": offset}
        )


def test_ebay_refresh_token_grant_and_offset_pagination(make):
    fake = FakeEbay(total=5)
    ebay = make(EbayConnector, fake, EBAY)
    since = datetime(2026, 3, 1, tzinfo=UTC)
    pages = list(ebay.pages("order", since=since, page_size=2))
    assert [p.cursor for p in pages] == [None, "2", "4"]
    assert [o["orderId"] for p in pages for o in p.items] == [f"12-0{n}" for n in range(5)]
    assert fake.token_forms[0]["grant_type"] == ["refresh_token"]
    assert "sell.fulfillment" in fake.token_forms[0]["scope"][0]
    basic = base64.b64encode(b"acme-app-PRD-1234:PRD-ebay-client-secret").decode()
    assert fake.token_auth == [f"Basic {basic}"]
    assert fake.requests[0].url.params["filter"] == "lastmodifieddate:[2026-03-01T00:00:00.000Z..]"


def test_ebay_client_credentials_without_refresh_token(make):
    fake = FakeEbay(total=1)
    values = {k: v for k, v in EBAY.items() if k != "EBAY_REFRESH_TOKEN"}
    list(make(EbayConnector, fake, values).pages("order"))
    assert fake.token_forms[0]["grant_type"] == ["client_credentials"]


def test_ebay_token_revoked_mid_pagination_is_renewed(make):
    fake = FakeEbay(total=4)
    ebay = make(EbayConnector, fake, EBAY)
    pages = ebay.pages("order", page_size=2)
    first = next(pages)
    fake.valid = set()  # revoked
    second = next(pages)
    assert [o["orderId"] for o in first.items + second.items] == [
        "12-00",
        "12-01",
        "12-02",
        "12-03",
    ]
    assert len(fake.token_forms) == 2


def test_ebay_token_expiry_by_clock(make, clock):
    fake = FakeEbay(total=4)
    ebay = make(EbayConnector, fake, EBAY)
    assert ebay.get("order", "12-00") == {"orderId": "12-00"}
    clock.advance(timedelta(minutes=100))
    ebay.get("order", "12-00")
    assert len(fake.token_forms) == 1  # still valid
    clock.advance(timedelta(minutes=19, seconds=1))  # within a minute of expiry: renewed
    ebay.get("order", "12-00")
    assert len(fake.token_forms) == 2


def ebay_signed(key, body: bytes, kid: str = "kid-1") -> str:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    signature = key.sign(body, ec.ECDSA(hashes.SHA1()))
    header = {"alg": "ECDSA", "kid": kid, "signature": base64.b64encode(signature).decode(),
              "digest": "SHA1"}  # fmt: skip
    return base64.b64encode(json.dumps(header).encode()).decode()


def test_ebay_notification_signature_with_cached_public_key(make, clock):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    pem = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    one_line = pem.replace("\n", "")  # eBay returns the PEM on one line
    lookups: list[httpx2.Request] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        if request.url.path == "/identity/v1/oauth2/token":
            form = parse_qs(request.content.decode())
            assert form["grant_type"] == ["client_credentials"]  # an application token
            return httpx2.Response(200, json={"access_token": "v^1.1#app", "expires_in": 7200})
        lookups.append(request)
        if request.url.path.endswith("/kid-1"):
            return httpx2.Response(
                200, json={"key": one_line, "algorithm": "ECDSA", "digest": "SHA1"}
            )
        return httpx2.Response(404, json={"errors": [{"errorId": 195000, "message": "not found"}]})

    ebay = make(EbayConnector, handler, EBAY)
    body = json.dumps(
        {
            "metadata": {"topic": "MARKETPLACE_ACCOUNT_DELETION", "schemaVersion": "1.0"},
            "notification": {"notificationId": "49feeaeb-4982-42d9-a377-9645b8479411",
                             "data": {"username": "test_user", "userId": "ma8vp1jySJC"}},
        }
    ).encode()  # fmt: skip
    event = ebay.verify_webhook({"X-EBAY-SIGNATURE": ebay_signed(key, body)}, body)
    assert (event.entity, event.event_id) == (
        "marketplace_account_deletion",
        "49feeaeb-4982-42d9-a377-9645b8479411",
    )
    ebay.verify_webhook({"X-EBAY-SIGNATURE": ebay_signed(key, body)}, body)
    assert len(lookups) == 1  # the key is cached
    assert lookups[0].headers["Authorization"] == "Bearer v^1.1#app"
    with pytest.raises(AuthError):
        ebay.verify_webhook({"X-EBAY-SIGNATURE": ebay_signed(key, body)}, body + b" ")
    other = ec.generate_private_key(ec.SECP256R1())
    with pytest.raises(AuthError):
        ebay.verify_webhook({"X-EBAY-SIGNATURE": ebay_signed(other, body)}, body)
    with pytest.raises(AuthError) as unknown:
        ebay.verify_webhook({"X-EBAY-SIGNATURE": ebay_signed(key, body, kid="kid-9")}, body)
    assert "unknown signing key" in str(unknown.value)
    clock.advance(timedelta(hours=2))
    ebay.verify_webhook({"X-EBAY-SIGNATURE": ebay_signed(key, body)}, body)
    assert [r.url.path.rsplit("/", 1)[-1] for r in lookups] == ["kid-1", "kid-9", "kid-1"]


def test_ebay_endpoint_challenge(make):
    values = {**EBAY, "EBAY_VERIFICATION_TOKEN": "verification-token-of-32-chars-long",
              "EBAY_WEBHOOK_ENDPOINT": "https://hooks.example.com/webhooks/ebay"}  # fmt: skip
    ebay = make(EbayConnector, lambda r: httpx2.Response(500), values)
    expected = hashlib.sha256(
        b"abc123verification-token-of-32-chars-longhttps://hooks.example.com/webhooks/ebay"
    ).hexdigest()
    assert ebay.webhook_challenge({"challenge_code": "abc123"}) == {"challengeResponse": expected}
    assert ebay.webhook_challenge({}) is None


# -- TikTok Shop --------------------------------------------------------------------------

TIKTOK = {
    "TIKTOK_APP_KEY": "6abc12def",
    "TIKTOK_APP_SECRET": "tiktok-app-secret-0001",
    "TIKTOK_ACCESS_TOKEN": "ROW_access_token_1",
    "TIKTOK_SHOP_CIPHER": "ROW_cipher_1",
}


def test_tiktok_sign_follows_the_documented_recipe():
    params = {"app_key": "6abc12def", "timestamp": "1700000000", "shop_cipher": "c", "sign": "x"}
    body = b'{"update_time_ge":1}'
    text = b"tiktok-app-secret-0001/order/202309/orders/searchapp_key6abc12defshop_ciphercti"
    text += b'mestamp1700000000{"update_time_ge":1}tiktok-app-secret-0001'
    expected = hmac.new(b"tiktok-app-secret-0001", text, hashlib.sha256).hexdigest()
    assert (
        tiktok_sign(TIKTOK["TIKTOK_APP_SECRET"], "/order/202309/orders/search", params, body)
        == expected
    )


def test_tiktok_requests_are_signed_and_paged(make, clock):
    seen: list[httpx2.Request] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        params = dict(request.url.params)
        assert params["sign"] == tiktok_sign(
            TIKTOK["TIKTOK_APP_SECRET"], request.url.path, params, request.content
        )
        token = params.get("page_token")
        data = (
            {"orders": [{"id": "576461413038785752", "update_time": 1}], "next_page_token": "p2"}
            if token is None
            else {"orders": [{"id": "576461413038785753", "update_time": 2}], "next_page_token": ""}
        )
        return httpx2.Response(200, json={"code": 0, "message": "Success", "data": data})

    tiktok = make(TikTokShopConnector, handler, TIKTOK)
    pages = list(tiktok.pages("order", since=datetime(2026, 3, 1, tzinfo=UTC)))
    assert [o["id"] for p in pages for o in p.items] == ["576461413038785752", "576461413038785753"]
    first = seen[0]
    assert first.headers["x-tts-access-token"] == "ROW_access_token_1"
    assert first.url.params["timestamp"] == str(int(clock.now().timestamp()))
    assert first.url.params["shop_cipher"] == "ROW_cipher_1"
    assert json.loads(first.content) == {"update_time_ge": 1772323200}
    assert seen[1].url.params["page_token"] == "p2"


def test_tiktok_error_codes_at_http_200_are_classified(make):
    def rate_limited(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, json={"code": 36009003, "message": "too many requests"})

    def invalid(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, json={"code": 12019001, "message": "invalid order status"})

    with pytest.raises(QuotaError):
        list(make(TikTokShopConnector, rate_limited, TIKTOK).pages("order"))
    with pytest.raises(RequestRejectedError) as info:
        list(make(TikTokShopConnector, invalid, TIKTOK).pages("order"))
    assert "12019001" in str(info.value)


def test_tiktok_expired_token_is_refreshed_once(make):
    tokens: list[str] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        if request.url.host == "auth.tiktok-shops.com":
            assert request.url.params["grant_type"] == "refresh_token"
            return httpx2.Response(
                200, json={"code": 0, "data": {"access_token": "ROW_access_token_2"}}
            )
        tokens.append(request.headers["x-tts-access-token"])
        if request.headers["x-tts-access-token"] == "ROW_access_token_1":
            return httpx2.Response(200, json={"code": 105002, "message": "access token expired"})
        return httpx2.Response(200, json={"code": 0, "data": {"orders": []}})

    values = {**TIKTOK, "TIKTOK_REFRESH_TOKEN": "ROW_refresh_token_1"}
    list(make(TikTokShopConnector, handler, values).pages("order"))
    assert tokens == ["ROW_access_token_1", "ROW_access_token_2"]


def test_tiktok_expired_token_without_refresh_is_auth(make):
    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, json={"code": 105002, "message": "access token expired"})

    with pytest.raises(AuthError) as info:
        list(make(TikTokShopConnector, handler, TIKTOK).pages("order"))
    assert "ROW_access_token_1" not in str(info.value)


def test_tiktok_webhook_signature(make):
    tiktok = make(TikTokShopConnector, lambda r: httpx2.Response(500), TIKTOK)
    body = json.dumps(
        {
            "type": 1,
            "tts_notification_id": "7327112393057371910",
            "shop_id": "7494049642642441621",
            "timestamp": 1644412885,
            "data": {"order_id": "576461413038785752", "order_status": "AWAITING_SHIPMENT"},
        }
    ).encode()
    signature = hmac.new(b"tiktok-app-secret-0001", b"6abc12def" + body, hashlib.sha256).hexdigest()
    event = tiktok.verify_webhook({"Authorization": signature}, body)
    assert (event.entity, event.event_id) == ("order", "7327112393057371910")
    assert event.payload["data"]["order_id"] == "576461413038785752"
    with pytest.raises(AuthError):
        tiktok.verify_webhook({"Authorization": signature}, body + b" ")


# -- NetSuite -----------------------------------------------------------------------------

NETSUITE = {
    "NETSUITE_ACCOUNT_ID": "1234567_sb1",
    "NETSUITE_CONSUMER_KEY": "ns-consumer-key-0001",
    "NETSUITE_CONSUMER_SECRET": "ns-consumer-secret-0001",
    "NETSUITE_TOKEN_ID": "ns-token-id-0001",
    "NETSUITE_TOKEN_SECRET": "ns-token-secret-0001",
}


def test_oauth1_matches_the_published_hmac_sha1_example():
    # The worked example of the OAuth 1.0a signing guide most libraries test against.
    header = oauth1_authorization(
        "POST",
        "https://api.twitter.com/1.1/statuses/update.json",
        [
            ("include_entities", "true"),
            ("status", "Hello Ladies + Gentlemen, a signed OAuth request!"),
        ],
        consumer_key="xvz1evFS4wEEPTGEFPHBog",
        consumer_secret="kAcSOqF21Fu85e7zjz7ZN2U4ZRhfV3WpwPAoE3Z7kBw",
        token="370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb",
        token_secret="LswwdoUaIvS8ltyTt5jkRh4J50vUPVVHtR2YPi5kE",
        timestamp="1318622958",
        nonce="kYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg",
        signature_method="HMAC-SHA1",
    )
    assert 'oauth_signature="hCtSmYh%2BiHYCEqBWrE7C7hYmtUk%3D"' in header


def parse_oauth(header: str) -> dict[str, str]:
    from urllib.parse import unquote

    assert header.startswith("OAuth ")
    return {
        k: unquote(v.strip('"'))
        for k, _, v in (part.partition("=") for part in header[6:].split(", "))
    }


def verify_netsuite(request: httpx2.Request) -> None:
    """Recompute the HMAC-SHA256 signature the way NetSuite does and compare."""
    fields = parse_oauth(request.headers["Authorization"])
    assert fields["realm"] == "1234567_SB1"
    assert fields["oauth_signature_method"] == "HMAC-SHA256"
    expected = oauth1_authorization(
        request.method,
        str(request.url.copy_with(query=None)),
        list(request.url.params.multi_items()),
        consumer_key=NETSUITE["NETSUITE_CONSUMER_KEY"],
        consumer_secret=NETSUITE["NETSUITE_CONSUMER_SECRET"],
        token=NETSUITE["NETSUITE_TOKEN_ID"],
        token_secret=NETSUITE["NETSUITE_TOKEN_SECRET"],
        timestamp=fields["oauth_timestamp"],
        nonce=fields["oauth_nonce"],
        realm="1234567_SB1",
    )
    assert parse_oauth(expected)["oauth_signature"] == fields["oauth_signature"]


def test_netsuite_tba_signing_paging_and_expansion(make):
    seen: list[httpx2.Request] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        verify_netsuite(request)
        seen.append(request)
        assert request.url.host == "1234567-sb1.suitetalk.api.netsuite.com"
        path = request.url.path.removeprefix("/services/rest/record/v1/")
        if path == "salesOrder":
            offset = int(request.url.params["offset"])
            ids = [str(100 + offset), str(101 + offset)]
            return httpx2.Response(
                200,
                json={
                    "items": [{"id": i, "links": []} for i in ids],
                    "hasMore": offset == 0,
                    "offset": offset,
                    "count": 2,
                },
            )
        record_id = path.rsplit("/", 1)[-1]
        return httpx2.Response(
            200, json={"id": record_id, "tranId": f"SO{record_id}", "total": 120.5}
        )

    nonces = iter(f"nonce{n}" for n in range(100))
    netsuite = make(NetSuiteConnector, handler, NETSUITE, nonce=lambda: next(nonces))
    since = datetime(2026, 3, 1, tzinfo=UTC)
    pages = list(netsuite.pages("order", since=since, page_size=2))
    assert [r["tranId"] for p in pages for r in p.items] == ["SO100", "SO101", "SO102", "SO103"]
    assert seen[0].url.params["q"] == 'lastModifiedDate ON_OR_AFTER "03/01/2026"'
    assert str(pages[0].items[0]["total"]) == "120.5"


def test_netsuite_create_upserts_by_external_id(make):
    seen: list[httpx2.Request] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        verify_netsuite(request)
        seen.append(request)
        return httpx2.Response(
            204,
            headers={
                "Location": "https://1234567-sb1.suitetalk.api.netsuite.com/services/rest/"
                "record/v1/salesOrder/4242"
            },
        )

    netsuite = make(NetSuiteConnector, handler, NETSUITE)
    out = netsuite.create("order", {"entity": {"id": "7"}}, idempotency_key="shopify-order-1001")
    assert out == {"id": "4242", "externalId": "shopify-order-1001"}
    assert seen[0].method == "PUT"
    assert seen[0].url.path.endswith("/salesOrder/eid:shopify-order-1001")


def test_netsuite_concurrency_limit_is_quota(make):
    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(
            429,
            json={
                "title": "Too Many Requests",
                "o:errorDetails": [{"o:errorCode": "CONCURRENCY_LIMIT_EXCEEDED"}],
            },
        )

    with pytest.raises(QuotaError) as info:
        make(NetSuiteConnector, handler, NETSUITE).get("order", "1")
    assert "CONCURRENCY_LIMIT_EXCEEDED" in str(info.value)
    assert "ns-token-secret-0001" not in str(info.value)


# -- ShipBob ------------------------------------------------------------------------------

SHIPBOB_KEY = b"shipbob-webhook-signing-key-0001"
SHIPBOB = {
    "SHIPBOB_TOKEN": "shipbob-pat-0001",
    "SHIPBOB_CHANNEL_ID": "100102",
    "SHIPBOB_WEBHOOK_SECRET": "whsec_" + base64.b64encode(SHIPBOB_KEY).decode(),
}


def test_shipbob_bearer_and_page_pagination(make):
    seen: list[httpx2.Request] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        page = int(request.url.params["Page"])
        orders = [
            {"id": page * 10 + n, "reference_id": f"r{page}{n}"}
            for n in range(2 if page < 3 else 1)
        ]
        return httpx2.Response(200, json=orders)

    shipbob = make(ShipBobConnector, handler, SHIPBOB)
    ids = [o["id"] for p in shipbob.pages("order", page_size=2) for o in p.items]
    assert ids == [10, 11, 20, 21, 30]
    assert seen[0].headers["Authorization"] == "Bearer shipbob-pat-0001"
    assert seen[0].url.path == "/2026-01/order"


def test_shipbob_inventory_follows_next_links(make):
    def handler(request: httpx2.Request) -> httpx2.Response:
        if request.url.params.get("Cursor") == "abc":
            return httpx2.Response(200, json={"items": [{"inventory_id": 2}], "next": None})
        return httpx2.Response(
            200,
            json={"items": [{"inventory_id": 1}], "next": "/2026-01/inventory-level?Cursor=abc"},
        )

    pages = list(make(ShipBobConnector, handler, SHIPBOB).pages("inventory"))
    assert [i["inventory_id"] for p in pages for i in p.items] == [1, 2]
    assert pages[1].cursor == "/2026-01/inventory-level?Cursor=abc"


def test_shipbob_retried_create_returns_the_existing_order(make):
    created: list[dict[str, Any]] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        if request.method == "POST":
            body = json.loads(request.content)
            assert request.headers["shipbob_channel_id"] == "100102"
            if created:
                return httpx2.Response(422, json={"reference_id": ["already exists"]})
            created.append({"id": 555, **body})
            return httpx2.Response(201, json=created[-1])
        assert request.url.params["ReferenceIds"] == "ord-1001"
        return httpx2.Response(200, json=created)

    shipbob = make(ShipBobConnector, handler, SHIPBOB)
    first = shipbob.create("order", {"recipient": {"name": "A"}}, idempotency_key="ord-1001")
    again = shipbob.create("order", {"recipient": {"name": "A"}}, idempotency_key="ord-1001")
    assert first["id"] == again["id"] == 555
    assert len(created) == 1


def standard_signature(msg_id: str, stamp: int, body: bytes, key: bytes = SHIPBOB_KEY) -> str:
    mac = hmac.new(key, f"{msg_id}.{stamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def test_shipbob_webhook_standard_signature(make, clock):
    shipbob = make(ShipBobConnector, lambda r: httpx2.Response(500), SHIPBOB)
    body = json.dumps({"order_id": 7, "shipment_id": 9, "status": "Completed"}).encode()
    stamp = int(clock.now().timestamp())
    headers = {
        "webhook-id": "msg_2b4c",
        "webhook-timestamp": str(stamp),
        "webhook-signature": "v1,b2xkLXNlY3JldA== " + standard_signature("msg_2b4c", stamp, body),
        "x-webhook-topic": "order.shipped",
    }
    event = shipbob.verify_webhook(headers, body)
    assert (event.entity, event.event_id, event.topic) == (
        "fulfillment",
        "msg_2b4c",
        "order.shipped",
    )
    stale = {**headers, "webhook-timestamp": str(stamp - 600)}
    stale["webhook-signature"] = standard_signature("msg_2b4c", stamp - 600, body)
    with pytest.raises(AuthError):
        shipbob.verify_webhook(stale, body)
    forged = {**headers, "webhook-signature": standard_signature("msg_2b4c", stamp, body, b"x")}
    with pytest.raises(AuthError):
        shipbob.verify_webhook(forged, body)


@pytest.mark.parametrize("stamp", ["²³", "12a", "", "-5"])
def test_shipbob_odd_timestamps_are_refused_not_a_crash(make, stamp):
    shipbob = make(ShipBobConnector, lambda r: httpx2.Response(500), SHIPBOB)
    headers = {"webhook-id": "msg_1", "webhook-timestamp": stamp, "webhook-signature": "v1,x"}
    with pytest.raises(AuthError):
        shipbob.verify_webhook(headers, b"{}")


def test_ebay_odd_expires_in_falls_back_to_the_default(make, clock):
    calls = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        if request.url.path == "/identity/v1/oauth2/token":
            calls.append(request)
            return httpx2.Response(200, json={"access_token": "v^1.1#t", "expires_in": "soon"})
        return httpx2.Response(200, json={"orderId": "1"})

    ebay = make(EbayConnector, handler, EBAY)
    ebay.get("order", "1")
    clock.advance(timedelta(minutes=100))
    ebay.get("order", "1")
    assert len(calls) == 1  # treated as eBay's documented two hours
