"""``accord serve`` over real HTTP on loopback: signatures, fast acks, bursts with duplicates."""

from __future__ import annotations

import hashlib
import json
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx2
import pytest
import uvicorn

from accord.connectors.ebay import EbayConnector
from accord.connectors.secrets import StaticSecrets
from accord.connectors.server import create_app
from accord.connectors.shopify import ShopifyConnector
from accord.connectors.webhooks import hmac_sha256_base64
from accord.connectors.woocommerce import WooCommerceConnector
from accord.errors import StoreError

SHOPIFY_SECRET = "shopify-webhook-secret-1"
WOO_SECRET = "woo-webhook-secret-1"


@dataclass(frozen=True)
class Result:
    status: str


class FakeEngine:
    """Deduplicates on event id like the engine does; records which thread ingested."""

    def __init__(self, delay: float = 0.0, fail: type[Exception] | None = None) -> None:
        self.delay = delay
        self.fail = fail
        self.processed: list[tuple[str, str, str | None]] = []
        self.seen: set[str | None] = set()
        self.threads: set[str] = set()
        self.lock = threading.Lock()
        self.gate: threading.Event | None = None  # when set, ingest waits for it to open

    def ingest(
        self,
        channel: str,
        entity: str,
        payload: dict[str, Any],
        *,
        event_id: str | None = None,
        received_at: datetime | None = None,
    ) -> Result:
        self.threads.add(threading.current_thread().name)
        if self.fail is not None:
            raise self.fail("store unavailable")
        if self.delay:
            time.sleep(self.delay)
        if self.gate is not None:
            self.gate.wait(10)
        with self.lock:
            if event_id in self.seen:
                return Result("duplicate")
            self.seen.add(event_id)
            self.processed.append((channel, entity, event_id))
        assert received_at is not None
        return Result("processed")


def connectors() -> dict[str, Any]:
    secrets = StaticSecrets(
        {
            "SHOPIFY_WEBHOOK_SECRET": SHOPIFY_SECRET,
            "WOOCOMMERCE_WEBHOOK_SECRET": WOO_SECRET,
            "EBAY_VERIFICATION_TOKEN": "ebay-verification-token-0001",
            "EBAY_WEBHOOK_ENDPOINT": "https://hooks.example.com/webhooks/ebay",
        }
    )
    client = httpx2.Client()  # never used: verification is local
    return {
        "shopify": ShopifyConnector(client, secrets=secrets),
        "woocommerce": WooCommerceConnector(client, secrets=secrets),
        "ebay": EbayConnector(client, secrets=secrets),
    }


def start_server(sink: Any, **kwargs: Any) -> tuple[str, uvicorn.Server, threading.Thread]:
    app = create_app(connectors(), sink, **kwargs)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))  # loopback, ephemeral port
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app, log_level="warning", ws="none", http="h11", lifespan="on", access_log=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    return f"http://127.0.0.1:{port}", server, thread


def stop_server(server: uvicorn.Server, thread: threading.Thread) -> None:
    server.should_exit = True
    thread.join(10)


class Switch:
    """The shared server's sink: forwards to whichever fake engine the current test set."""

    def __init__(self) -> None:
        self.current = FakeEngine()

    def ingest(self, *args: Any, **kwargs: Any) -> Result:
        return self.current.ingest(*args, **kwargs)


@pytest.fixture(scope="module")
def shared() -> Iterator[tuple[str, Switch]]:
    switch = Switch()
    url, server, thread = start_server(switch)
    yield url, switch
    stop_server(server, thread)


@pytest.fixture
def serve(shared: tuple[str, Switch]) -> Iterator[Any]:
    """``serve(engine)`` -> the URL of a server feeding ``engine``: the shared one with the
    default settings (starting uvicorn is the slow part), a fresh one otherwise."""
    own: list[tuple[uvicorn.Server, threading.Thread]] = []

    def start(engine: FakeEngine, **kwargs: Any) -> str:
        if not kwargs:
            url, switch = shared
            switch.current = engine
            return url
        url, server, thread = start_server(engine, **kwargs)
        own.append((server, thread))
        return url

    yield start
    for server, thread in own:
        stop_server(server, thread)


def shopify_delivery(n: int, *, secret: str = SHOPIFY_SECRET) -> tuple[dict[str, str], bytes]:
    body = json.dumps({"id": 820982911946154508 + n, "total_price": "10.00"}).encode()
    headers = {
        "Content-Type": "application/json",
        "X-Shopify-Topic": "orders/updated",
        "X-Shopify-Hmac-Sha256": hmac_sha256_base64(secret.encode(), body),
        "X-Shopify-Webhook-Id": f"webhook-{n}",
        "X-Shopify-API-Version": "2026-01",
    }
    return headers, body


def test_valid_delivery_is_processed(serve):
    engine = FakeEngine()
    url = serve(engine)
    headers, body = shopify_delivery(1)
    with httpx2.Client(base_url=url, timeout=10) as client:
        response = client.post("/webhooks/shopify", headers=headers, content=body)
        assert client.get("/healthz").text == "ok"
    assert response.status_code == 200
    assert response.json() == {"status": "processed", "event_id": "webhook-1"}
    assert engine.processed == [("shopify", "order", "webhook-1")]
    assert engine.threads == {"accord-sink"}  # the engine is only used on the worker thread


def test_bad_signature_is_401_and_nothing_is_processed(serve):
    engine = FakeEngine()
    url = serve(engine)
    headers, body = shopify_delivery(2, secret="forged")
    with httpx2.Client(base_url=url, timeout=10) as client:
        forged = client.post("/webhooks/shopify", headers=headers, content=body)
        unsigned = client.post("/webhooks/shopify", content=body)
    assert forged.status_code == 401
    assert forged.json()["error"] == "CONN011"
    assert unsigned.status_code == 401
    assert engine.processed == []


def test_unknown_channel_and_malformed_body(serve):
    engine = FakeEngine()
    url = serve(engine)
    body = b"not json"
    headers = {
        "X-Shopify-Topic": "orders/create",
        "X-Shopify-Hmac-Sha256": hmac_sha256_base64(SHOPIFY_SECRET.encode(), body),
        "X-Shopify-Webhook-Id": "w-bad",
    }
    with httpx2.Client(base_url=url, timeout=10) as client:
        assert client.post("/webhooks/ebay-motors", content=b"{}").status_code == 404
        malformed = client.post("/webhooks/shopify", headers=headers, content=body)
    assert malformed.status_code == 400
    assert malformed.json()["error"] == "CONN012"
    assert engine.processed == []


def test_burst_of_concurrent_deliveries_with_duplicates(serve):
    engine = FakeEngine(delay=0.002)
    url = serve(engine)
    deliveries = [shopify_delivery(n % 10) for n in range(60)]  # each id six times
    deliveries += [shopify_delivery(99, secret="forged")] * 5
    with httpx2.Client(base_url=url, timeout=20) as client, ThreadPoolExecutor(16) as pool:
        responses = list(
            pool.map(
                lambda d: client.post("/webhooks/shopify", headers=d[0], content=d[1]),
                deliveries,
            )
        )
    codes = [r.status_code for r in responses]
    assert codes.count(200) == 60
    assert codes.count(401) == 5
    statuses = [r.json()["status"] for r in responses if r.status_code == 200]
    assert statuses.count("processed") == 10
    assert statuses.count("duplicate") == 50
    assert sorted(e for _, _, e in engine.processed) == sorted(f"webhook-{n}" for n in range(10))


def test_slow_engine_is_acknowledged_with_202_and_still_processed(serve):
    engine = FakeEngine()
    engine.gate = threading.Event()  # the engine cannot finish until the answer is in
    url = serve(engine, ack_timeout=0.05)
    headers, body = shopify_delivery(5)
    with httpx2.Client(base_url=url, timeout=10) as client:
        response = client.post("/webhooks/shopify", headers=headers, content=body)
    # 202, not 200: the answer went out while the engine was still working on the event
    assert response.status_code == 202
    assert engine.processed == []
    engine.gate.set()
    deadline = time.monotonic() + 5
    while not engine.processed and time.monotonic() < deadline:
        time.sleep(0.02)
    assert engine.processed == [("shopify", "order", "webhook-5")]


def test_engine_store_failure_is_503_so_the_channel_redelivers(serve):
    url = serve(FakeEngine(fail=StoreError))
    headers, body = shopify_delivery(6)
    with httpx2.Client(base_url=url, timeout=10) as client:
        response = client.post("/webhooks/shopify", headers=headers, content=body)
    assert response.status_code == 503
    assert response.json()["error"] == "STORE"


def test_second_channel_on_the_same_server(serve):
    engine = FakeEngine()
    url = serve(engine)
    body = json.dumps({"id": 727, "date_modified_gmt": "2026-03-01T12:00:00"}).encode()
    headers = {
        "X-WC-Webhook-Topic": "order.updated",
        "X-WC-Webhook-Resource": "order",
        "X-WC-Webhook-Signature": hmac_sha256_base64(WOO_SECRET.encode(), body),
        "X-WC-Webhook-Delivery-ID": "9",
    }
    with httpx2.Client(base_url=url, timeout=10) as client:
        response = client.post("/webhooks/woocommerce", headers=headers, content=body)
    assert response.json()["event_id"] == "woocommerce:order:727:2026-03-01T12:00:00"
    assert engine.processed == [
        ("woocommerce", "order", "woocommerce:order:727:2026-03-01T12:00:00")
    ]


def test_endpoint_challenge_is_answered_on_get(serve):
    engine = FakeEngine()
    url = serve(engine)
    with httpx2.Client(base_url=url, timeout=10) as client:
        answer = client.get("/webhooks/ebay", params={"challenge_code": "c0de"})
        no_challenge = client.get("/webhooks/shopify", params={"challenge_code": "c0de"})
    expected = hashlib.sha256(
        b"c0de" + b"ebay-verification-token-0001" + b"https://hooks.example.com/webhooks/ebay"
    ).hexdigest()
    assert answer.status_code == 200
    assert answer.json() == {"challengeResponse": expected}
    assert no_challenge.status_code == 404
    assert engine.processed == []


def test_events_queued_behind_a_slow_engine_are_not_lost_when_acknowledged(serve):
    engine = FakeEngine(delay=0.1)
    url = serve(engine, ack_timeout=0.01)
    deliveries = [shopify_delivery(n) for n in range(20, 24)]
    with httpx2.Client(base_url=url, timeout=10) as client, ThreadPoolExecutor(4) as pool:
        responses = list(
            pool.map(
                lambda d: client.post("/webhooks/shopify", headers=d[0], content=d[1]),
                deliveries,
            )
        )
    assert [r.status_code for r in responses] == [202] * 4
    deadline = time.monotonic() + 10
    while len(engine.processed) < 4 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert sorted(e for _, _, e in engine.processed) == [f"webhook-{n}" for n in range(20, 24)]


def test_a_full_backlog_answers_503_without_blocking(serve):
    engine = FakeEngine(delay=0.15)
    url = serve(engine, ack_timeout=0.01, max_backlog=1)
    deliveries = [shopify_delivery(n) for n in range(30, 36)]
    with httpx2.Client(base_url=url, timeout=10) as client, ThreadPoolExecutor(6) as pool:
        responses = list(
            pool.map(
                lambda d: client.post("/webhooks/shopify", headers=d[0], content=d[1]),
                deliveries,
            )
        )
    codes = [r.status_code for r in responses]
    assert set(codes) <= {202, 503}
    assert codes.count(503) >= 1
    busy = [r for r in responses if r.status_code == 503]
    assert all(r.headers["Retry-After"] == "30" for r in busy)
    accepted = sorted(r.json()["event_id"] for r in responses if r.status_code == 202)
    deadline = time.monotonic() + 10
    while len(engine.processed) < len(accepted) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert sorted(e for _, _, e in engine.processed) == accepted


def test_woocommerce_ping_is_acknowledged_and_not_processed(serve):
    engine = FakeEngine()
    url = serve(engine)
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    with httpx2.Client(base_url=url, timeout=10) as client:
        ping = client.post("/webhooks/woocommerce", headers=form, content=b"webhook_id=17")
        # Anything else unsigned is still refused, and a ping on another channel is no ping.
        other = client.post("/webhooks/woocommerce", headers=form, content=b"webhook_id=17&a=1")
        shopify = client.post("/webhooks/shopify", headers=form, content=b"webhook_id=17")
    assert ping.status_code == 200
    assert ping.json() == {"status": "ping"}
    assert other.status_code == 401
    assert shopify.status_code == 401
    assert engine.processed == []
