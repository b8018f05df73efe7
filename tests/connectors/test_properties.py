"""Invariants over arbitrary input: classification is total, waits are bounded, webhooks never
crash, secrets never survive redaction."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
from collections.abc import Callable
from datetime import UTC, datetime
from types import SimpleNamespace

import httpx2
import pytest
from hypothesis import given
from hypothesis import strategies as st

from accord.clock import FrozenClock
from accord.connectors import (
    CONNECTORS,
    MemoryCheckpoints,
    RetryPolicy,
    ShopifyConnector,
    StaticSecrets,
    backfill,
    classify_status,
    parse_retry_after,
)
from accord.connectors.base import WebhookEvent
from accord.connectors.secrets import Redactor
from accord.connectors.webhooks import hmac_sha256_base64
from accord.errors import (
    AccordError,
    AuthError,
    ConnectorError,
    ErrorClass,
    QuotaError,
    TransientError,
)

SECRETS = StaticSecrets(
    {
        "SHOPIFY_WEBHOOK_SECRET": "prop-shopify-secret",
        "WOOCOMMERCE_WEBHOOK_SECRET": "prop-woo-secret",
        "TIKTOK_APP_KEY": "prop-app-key",
        "TIKTOK_APP_SECRET": "prop-tiktok-secret",
        "AMAZON_WEBHOOK_TOKEN": "prop-amazon-token",
        "SHIPBOB_WEBHOOK_SECRET": "whsec_" + base64.b64encode(b"prop-shipbob-key").decode(),
        "EBAY_CLIENT_ID": "prop-ebay-client",
        "EBAY_CLIENT_SECRET": "prop-ebay-secret",
    }
)
CLOCK = FrozenClock(datetime(2026, 3, 2, 10, 0, tzinfo=UTC))


def _no_network(request: httpx2.Request) -> httpx2.Response:
    if request.url.path == "/identity/v1/oauth2/token":
        return httpx2.Response(200, json={"access_token": "v^1.1#prop", "expires_in": 7200})
    # An eBay key lookup for a forged key id: eBay answers 404.
    return httpx2.Response(404, json={"errors": [{"message": "not found"}]})


CLIENT = httpx2.Client(transport=httpx2.MockTransport(_no_network))
INSTANCES = {name: cls(CLIENT, secrets=SECRETS, clock=CLOCK) for name, cls in CONNECTORS.items()}


def attempt(call: Callable[[], WebhookEvent]) -> WebhookEvent | AccordError:
    """The event, or the classified error; anything else propagates and fails the test."""
    try:
        return call()
    except AccordError as exc:
        return exc


header_text = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=0x2FF), max_size=40)


@given(status=st.integers(100, 599), retry_after=st.none() | st.floats(0, 1e6))
def test_every_status_classifies(status, retry_after):
    error = classify_status(status, "x", retry_after=retry_after)
    if 200 <= status < 300:
        assert error is None
    else:
        assert isinstance(error, ConnectorError)
        assert error.status_code == status
        assert (status == 429) == isinstance(error, QuotaError)
        assert error.error_class.retryable == (status in (408, 423, 425, 429) or status >= 500)


@given(
    seed=st.integers(0, 2**32),
    attempt=st.integers(1, 30),
    retry_after=st.none() | st.floats(0, 500, allow_nan=False),
)
def test_waits_are_bounded_and_honour_retry_after(seed, attempt, retry_after):
    policy = RetryPolicy(base_delay=0.5, max_delay=30.0, rng=random.Random(seed))
    error = TransientError("x", retry_after=retry_after)
    delay = policy.delay(error, attempt)
    if retry_after is None:
        assert 0 < delay <= 30.0
    else:
        assert retry_after <= delay <= retry_after + 0.25


@given(st.text(max_size=40))
def test_retry_after_parsing_never_raises(text):
    value = parse_retry_after(text, CLOCK.now())
    assert value is None or value >= 0


@given(
    name=st.sampled_from(sorted(INSTANCES)),
    body=st.binary(max_size=300),
    headers=st.dictionaries(
        st.sampled_from(
            [
                "X-Shopify-Hmac-Sha256",
                "X-Shopify-Topic",
                "X-Shopify-Webhook-Id",
                "X-WC-Webhook-Signature",
                "X-WC-Webhook-Topic",
                "Authorization",
                "x-api-key",
                "webhook-id",
                "webhook-timestamp",
                "webhook-signature",
                "X-EBAY-SIGNATURE",
            ]
        ),
        header_text,
        max_size=6,
    ),
)
def test_arbitrary_deliveries_are_verified_or_refused_never_crash(name, body, headers):
    with pytest.raises(AccordError) as info:  # a random signature never verifies
        INSTANCES[name].verify_webhook(headers, body)
    assert info.value.code.startswith("CONN")
    assert info.value.error_class in (ErrorClass.AUTH, ErrorClass.VALIDATION)


@given(body=st.binary(max_size=300), topic=header_text, webhook_id=header_text)
def test_correctly_signed_garbage_is_rejected_or_parsed(body, topic, webhook_id):
    shopify = INSTANCES["shopify"]
    headers = {
        "X-Shopify-Hmac-Sha256": hmac_sha256_base64(b"prop-shopify-secret", body),
        "X-Shopify-Topic": topic,
        "X-Shopify-Webhook-Id": webhook_id,
    }
    outcome = attempt(lambda: shopify.verify_webhook(headers, body))
    if isinstance(outcome, AccordError):
        assert outcome.code == "CONN012"
    else:
        assert isinstance(outcome.payload, dict)
        assert outcome.event_id == webhook_id


@given(body=st.binary(max_size=200))
def test_tiktok_signed_garbage_never_crashes(body):
    sig = hmac.new(b"prop-tiktok-secret", b"prop-app-key" + body, hashlib.sha256).hexdigest()
    outcome = attempt(lambda: INSTANCES["tiktok"].verify_webhook({"Authorization": sig}, body))
    if isinstance(outcome, AccordError):
        assert outcome.code == "CONN012"
    else:
        assert outcome.event_id


@given(
    secret=st.text(min_size=6, max_size=30).filter(lambda s: s.strip() == s and s),
    before=st.text(max_size=30),
    after=st.text(max_size=30),
)
def test_redaction_removes_every_occurrence(secret, before, after):
    redactor = Redactor()
    redactor.add(secret)
    text = redactor.redact(before + secret + after + secret)
    assert secret not in text


@given(kid=st.text(max_size=20), signature=st.binary(max_size=80), body=st.binary(max_size=100))
def test_ebay_forged_signatures_are_auth_errors(kid, signature, body):
    header = base64.b64encode(
        json.dumps(
            {"alg": "ECDSA", "kid": kid, "signature": base64.b64encode(signature).decode()}
        ).encode()
    ).decode()
    with pytest.raises(AuthError) as info:
        INSTANCES["ebay"].verify_webhook({"X-EBAY-SIGNATURE": header}, body)
    assert info.value.code == "CONN011"


# -- backfill and recorder invariants -----------------------------------------------------


class _Crash(Exception):
    pass


class _Engine:
    def __init__(self) -> None:
        self.seen: set[str | None] = set()
        self.processed: list[str | None] = []
        self.budget: int | None = None

    def ingest(self, channel, entity, payload, *, event_id=None, received_at=None):
        if self.budget is not None:
            if self.budget == 0:
                raise _Crash
            self.budget -= 1
        if event_id in self.seen:
            return SimpleNamespace(status="duplicate")
        self.seen.add(event_id)
        self.processed.append(event_id)
        return SimpleNamespace(status="processed")


def _paged_shop(total: int, per_page: int) -> ShopifyConnector:
    base = "https://acme.myshopify.com/admin/api/2026-01"

    def handler(request: httpx2.Request) -> httpx2.Response:
        start = int(request.url.params.get("page_info", 0))
        items = [{"id": n, "updated_at": "t"} for n in range(start, min(start + per_page, total))]
        headers = {}
        if start + per_page < total:
            headers["Link"] = f'<{base}/orders.json?page_info={start + per_page}>; rel="next"'
        return httpx2.Response(200, json={"orders": items}, headers=headers)

    return ShopifyConnector(
        httpx2.Client(transport=httpx2.MockTransport(handler)),
        secrets=StaticSecrets({"SHOPIFY_SHOP": "acme.myshopify.com", "SHOPIFY_ACCESS_TOKEN": "t"}),
        clock=CLOCK,
        sleep=lambda s: None,
    )


@given(
    total=st.integers(0, 15),
    per_page=st.integers(1, 6),
    crashes=st.lists(st.integers(0, 10), max_size=3),
)
def test_backfill_with_crashes_anywhere_processes_each_record_once(total, per_page, crashes):
    shop = _paged_shop(total, per_page)
    checkpoints = MemoryCheckpoints()
    engine = _Engine()
    for budget in [*crashes, None]:  # each run dies after `budget` records; the last finishes
        engine.budget = budget
        try:
            report = backfill(shop, "order", engine, since=None, checkpoints=checkpoints)
        except _Crash:
            continue
        assert report.finished
        break
    assert engine.processed == [f"shopify:order:{n}:t" for n in range(total)]


_SECRET_VALUES = ["shpat_property_secret_1", "refresh-property-secret-2"]


@given(
    body=st.recursive(
        st.none() | st.integers() | st.sampled_from(_SECRET_VALUES) | st.text(max_size=10),
        lambda children: (
            st.lists(children, max_size=3)
            | st.dictionaries(
                st.sampled_from(["id", "note", "token", "email", "nested", "value"]),
                children,
                max_size=3,
            )
        ),
        max_leaves=12,
    ),
    where=st.sampled_from(["request", "response", "query"]),
)
def test_recordings_never_contain_a_known_secret(body, where):
    from accord.connectors.recorder import RecordingTransport

    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, json=body if where == "response" else {"ok": True})

    recorder = RecordingTransport(httpx2.MockTransport(handler))
    shop = ShopifyConnector(
        httpx2.Client(transport=recorder),
        secrets=StaticSecrets(
            {
                "SHOPIFY_SHOP": "acme.myshopify.com",
                "SHOPIFY_ACCESS_TOKEN": _SECRET_VALUES[0],
                "SHOPIFY_WEBHOOK_SECRET": _SECRET_VALUES[1],
            }
        ),
        clock=CLOCK,
    )
    recorder.watch(shop)
    shop.secret("SHOPIFY_WEBHOOK_SECRET")  # read, hence known to the redactor
    if where == "request":
        shop.call("POST", "https://acme.myshopify.com/x.json", json_body={"data": body})
    elif where == "query":
        shop.call("GET", "https://acme.myshopify.com/x.json", params={"q": json.dumps(body)})
    else:
        shop.call("GET", "https://acme.myshopify.com/x.json")
    text = json.dumps(recorder.interactions)
    for secret in _SECRET_VALUES:
        assert secret not in text
