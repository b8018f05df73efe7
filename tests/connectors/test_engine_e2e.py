"""``serve`` and ``pull`` against the real engine (SQLite store, shipped Shopify mapping)."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx2
import pytest
import uvicorn

from accord.cli import build_parser
from accord.cli import pull as pull_cli
from accord.connectors.secrets import StaticSecrets
from accord.connectors.server import create_app
from accord.connectors.shopify import ShopifyConnector
from accord.connectors.webhooks import hmac_sha256_base64
from accord.engine.runtime import Engine

SECRET = "e2e-webhook-secret"
BASE = "https://acme.myshopify.com/admin/api/2026-01"
PROJECT = """\
project: e2e
store: sqlite:///state.db
channels:
  - {name: shopify, kind: shopify}
flows:
  - name: orders
    from: {channel: shopify, entity: order}
"""


def order(n: int) -> dict[str, Any]:
    return {
        "id": 820982911946154508 + n,
        "name": f"#{1000 + n}",
        "email": f"buyer{n}@example.com",
        "currency": "USD",
        "created_at": "2026-03-01T10:00:00-05:00",
        "updated_at": f"2026-03-01T10:{n:02d}:00-05:00",
        "total_price": "19.99",
        "subtotal_price": "19.99",
        "total_tax": "0.00",
        "financial_status": "paid",
        "line_items": [
            {"id": 866550311766439020 + n, "sku": "SKU-1", "quantity": 1, "price": "19.99"}
        ],
    }


@pytest.fixture
def project(tmp_path: Path) -> Path:
    path = tmp_path / "accord.yaml"
    path.write_text(PROJECT)
    return path


@pytest.fixture
def engine(project: Path) -> Iterator[Engine]:
    # One engine per test: building one compiles the shipped mappings, which takes a while.
    with Engine.from_project(project) as built:
        yield built


class Borrowed:
    """Lends the test's engine to code that closes its sink when done."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def ingest(self, *args: Any, **kwargs: Any) -> Any:
        return self.engine.ingest(*args, **kwargs)


@pytest.mark.slow
def test_serve_burst_through_the_real_engine(engine):
    shop = ShopifyConnector(
        httpx2.Client(), secrets=StaticSecrets({"SHOPIFY_WEBHOOK_SECRET": SECRET})
    )
    app = create_app({"shopify": shop}, engine)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, log_level="warning", ws="none", http="h11", lifespan="on")
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        deliveries = []
        for n in range(20):
            body = json.dumps(order(n % 5)).encode()
            headers = {
                "X-Shopify-Topic": "orders/updated",
                "X-Shopify-Webhook-Id": f"wh-{n % 5}",
                "X-Shopify-Hmac-Sha256": hmac_sha256_base64(SECRET.encode(), body),
            }
            deliveries.append((headers, body))
        forged = json.dumps(order(9)).encode()
        deliveries.append(({"X-Shopify-Hmac-Sha256": "AAAA", "X-Shopify-Webhook-Id": "x"}, forged))
        with (
            httpx2.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client,
            ThreadPoolExecutor(8) as pool,
        ):
            responses = list(
                pool.map(
                    lambda d: client.post("/webhooks/shopify", headers=d[0], content=d[1]),
                    deliveries,
                )
            )
    finally:
        server.should_exit = True
        thread.join(10)
    statuses = [r.json().get("status") for r in responses if r.status_code == 200]
    assert statuses.count("processed") == 5
    assert statuses.count("duplicate") == 15
    assert [r.status_code for r in responses].count(401) == 1
    # The store remembers every delivery, and the forged one never reached it.
    assert engine.ingest("shopify", "order", order(0), event_id="wh-0").status == "duplicate"
    assert engine.ingest("shopify", "order", order(9), event_id="x").status == "processed"


@pytest.mark.slow
def test_pull_interrupted_and_resumed_through_the_real_engine(project, engine, monkeypatch, capsys):
    monkeypatch.setenv("SHOPIFY_SHOP", "acme.myshopify.com")
    monkeypatch.setenv("SHOPIFY_ACCESS_TOKEN", "shpat_e2e_token")
    crash = {"4": 1}

    def handler(request: httpx2.Request) -> httpx2.Response:
        cursor = request.url.params.get("page_info")
        if crash.get(cursor):
            crash[cursor] -= 1
            raise KeyboardInterrupt  # the operator pressed Ctrl-C mid-backfill
        start = int(cursor or 0)
        headers = {}
        if start + 2 < 7:
            headers["Link"] = f'<{BASE}/orders.json?page_info={start + 2}>; rel="next"'
        items = [order(n) for n in range(start, min(start + 2, 7))]
        return httpx2.Response(200, json={"orders": items}, headers=headers)

    client = httpx2.Client(transport=httpx2.MockTransport(handler))
    args = build_parser().parse_args(
        ["pull", "shopify", "order", "--all", "--project", str(project), "--page-size", "2"]
    )
    lend = {"sink_factory": lambda a: Borrowed(engine), "client": client}
    with pytest.raises(KeyboardInterrupt):
        pull_cli.run(args, **lend)
    assert pull_cli.run(args, **lend) == 0
    assert (
        "3 records in 2 pages (resumed at cursor 4): 3 processed; done" in capsys.readouterr().out
    )
    assert pull_cli.run(args, **lend) == 0  # a finished backfill run again
    assert "7 duplicate" in capsys.readouterr().out
