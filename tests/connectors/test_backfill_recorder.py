"""Resumable backfill and the scrubbing recorder / strict replayer."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx2
import pytest

from accord.connectors.amazon import AmazonConnector
from accord.connectors.backfill import FileCheckpoints, MemoryCheckpoints, backfill
from accord.connectors.recorder import (
    RecordingTransport,
    ReplayMismatchError,
    ReplayTransport,
    load_recording,
)
from accord.connectors.secrets import StaticSecrets
from accord.connectors.shopify import ShopifyConnector
from accord.connectors.tiktok import TikTokShopConnector, tiktok_sign
from accord.errors import QuotaError, StoreError

TOKEN = "shpat_recorder_token_0001"
SHOP_SECRETS = {"SHOPIFY_SHOP": "acme.myshopify.com", "SHOPIFY_ACCESS_TOKEN": TOKEN}
BASE = "https://acme.myshopify.com/admin/api/2026-01"


@dataclass(frozen=True)
class Result:
    status: str


class Interrupted(Exception):
    """Stands for a crash or Ctrl-C in the middle of a page."""


class DedupingSink:
    def __init__(self, crash_after: int | None = None) -> None:
        self.crash_after = crash_after
        self.calls = 0
        self.processed: list[str | None] = []
        self.seen: set[str | None] = set()

    def ingest(self, channel, entity, payload, *, event_id=None, received_at=None) -> Result:
        self.calls += 1
        if self.crash_after is not None and self.calls > self.crash_after:
            raise Interrupted
        if event_id in self.seen:
            return Result("duplicate")
        self.seen.add(event_id)
        self.processed.append(event_id)
        return Result("processed")


def shop_order(n: int) -> dict[str, Any]:
    return {
        "id": 5000 + n,
        "updated_at": "2026-03-01T10:00:00Z",
        "email": f"buyer{n}@example.com",
        "total_price": "12.50",
        "shipping_address": {
            "first_name": "Ada",
            "address1": "1 Main St",
            "city": "Ottawa",
            "country_code": "CA",
        },
    }


class PagedShop:
    """Shopify orders in pages of two, via Link page_info; counts page fetches."""

    def __init__(self, total: int = 7, quota_on: str | None = None) -> None:
        self.total = total
        self.fetched: list[str | None] = []
        self.quota_on = quota_on

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        cursor = request.url.params.get("page_info")
        self.fetched.append(cursor)
        if cursor is not None and cursor == self.quota_on:
            return httpx2.Response(429, headers={"Retry-After": "9999"})
        start = int(cursor or 0)
        items = [shop_order(n) for n in range(start, min(start + 2, self.total))]
        headers = {"X-Shopify-API-Version": "2026-01"}
        if start + 2 < self.total:
            headers["Link"] = f'<{BASE}/orders.json?limit=2&page_info={start + 2}>; rel="next"'
        return httpx2.Response(200, json={"orders": items}, headers=headers)


@pytest.fixture
def shop(mock_client, clock, sleeper, policy):
    def make(handler) -> ShopifyConnector:
        return ShopifyConnector(
            mock_client(handler),
            secrets=StaticSecrets(SHOP_SECRETS),
            retry=policy,
            clock=clock,
            sleep=sleeper,
        )

    return make


SINCE = datetime(2026, 3, 1, tzinfo=UTC)


def test_backfill_interrupted_mid_page_resumes_without_duplicates(shop, tmp_path, clock):
    api = PagedShop(total=7)
    checkpoints = FileCheckpoints(tmp_path / "checkpoints.json")
    engine = DedupingSink(crash_after=3)  # dies on the 4th record: second page, 2nd item
    with pytest.raises(Interrupted):
        backfill(shop(api), "order", engine, since=SINCE, checkpoints=checkpoints, page_size=2)
    assert api.fetched == [None, "2"]
    saved = FileCheckpoints(tmp_path / "checkpoints.json").load(
        "shopify:order:2026-03-01T00:00:00+00:00"
    )
    assert saved is not None
    assert saved.cursor == "2"
    assert not saved.done
    assert saved.api_version == "2026-01"

    engine.crash_after = None
    report = backfill(shop(api), "order", engine, since=SINCE, checkpoints=checkpoints, page_size=2)
    assert report.resumed_from == "2"
    assert api.fetched == [None, "2", "2", "4", "6"]  # the first page is not fetched again
    assert report.finished
    assert report.statuses == {"processed": 4, "duplicate": 1}
    expected = [f"shopify:order:{5000 + n}:2026-03-01T10:00:00Z" for n in range(7)]
    assert engine.processed == expected  # each record exactly once, in order


def test_finished_backfill_starts_over_and_the_engine_reports_duplicates(shop):
    api = PagedShop(total=3)
    checkpoints = MemoryCheckpoints()
    engine = DedupingSink()
    first = backfill(shop(api), "order", engine, since=SINCE, checkpoints=checkpoints)
    again = backfill(shop(api), "order", engine, since=SINCE, checkpoints=checkpoints)
    assert first.statuses == {"processed": 3}
    assert again.statuses == {"duplicate": 3}
    assert again.resumed_from is None


def test_quota_exhaustion_keeps_the_place(shop):
    api = PagedShop(total=6, quota_on="4")
    checkpoints = MemoryCheckpoints()
    engine = DedupingSink()
    with pytest.raises(QuotaError):
        backfill(shop(api), "order", engine, since=None, checkpoints=checkpoints, page_size=2)
    assert checkpoints.saved["shopify:order:all"].cursor == "4"
    api.quota_on = None
    report = backfill(shop(api), "order", engine, since=None, checkpoints=checkpoints, page_size=2)
    assert report.statuses == {"processed": 2}
    assert len(engine.processed) == 6


def test_max_pages_stops_early_and_resumes(shop):
    api = PagedShop(total=6)
    checkpoints = MemoryCheckpoints()
    engine = DedupingSink()
    one = backfill(shop(api), "order", engine, since=None, checkpoints=checkpoints, max_pages=1)
    assert (one.pages, one.finished) == (1, False)
    rest = backfill(shop(api), "order", engine, since=None, checkpoints=checkpoints)
    assert (rest.pages, rest.finished) == (2, True)
    assert checkpoints.saved["shopify:order:all"].items == 6


def test_unreadable_checkpoint_file_is_a_store_error(tmp_path):
    path = tmp_path / "cp.json"
    path.write_text("{not json")
    with pytest.raises(StoreError) as info:
        FileCheckpoints(path).load("k")
    assert info.value.code == "CONN018"


# -- recorder / replayer ------------------------------------------------------------------


def test_recording_scrubs_secrets_and_pii_and_replays(shop, tmp_path, mock_client, clock):
    api = PagedShop(total=3)
    recorder = RecordingTransport(httpx2.MockTransport(api))
    client = httpx2.Client(transport=recorder)
    live = ShopifyConnector(client, secrets=StaticSecrets(SHOP_SECRETS), clock=clock)
    recorder.watch(live)
    live_pages = list(live.pages("order", page_size=2))
    path = tmp_path / "shopify-orders.json"
    recorder.save(path)
    client.close()

    text = path.read_text()
    assert TOKEN not in text
    assert "buyer0@example.com" not in text
    assert "1 Main St" not in text
    assert "Ada" not in text
    recorded = load_recording(path)
    assert recorded[0]["request"]["headers"]["x-shopify-access-token"] == "[REDACTED]"
    order = recorded[0]["response"]["json"]["orders"][0]
    assert order["email"] == "[PII]"
    assert order["shipping_address"]["city"] == "[PII]"
    assert order["shipping_address"]["country_code"] == "CA"
    assert order["total_price"] == "12.50"

    replay = ReplayTransport(path)
    offline = ShopifyConnector(
        httpx2.Client(transport=replay), secrets=StaticSecrets(SHOP_SECRETS), clock=clock
    )
    replayed = list(offline.pages("order", page_size=2))
    assert [o["id"] for p in replayed for o in p.items] == [
        o["id"] for p in live_pages for o in p.items
    ]
    replay.assert_exhausted()


def test_replay_fails_on_any_unmatched_request(clock):
    recording = [
        {
            "request": {"method": "GET", "url": f"{BASE}/orders/1.json"},
            "response": {"status": 200, "json": {"order": {"id": 1}}},
        }
    ]
    replay = ReplayTransport(recording)
    shop = ShopifyConnector(
        httpx2.Client(transport=replay), secrets=StaticSecrets(SHOP_SECRETS), clock=clock
    )
    assert shop.get("order", "1") == {"id": 1}
    with pytest.raises(ReplayMismatchError) as info:
        shop.get("order", "1")  # recorded once, asked twice
    assert info.value.code == "CONN015"
    with pytest.raises(ReplayMismatchError):
        shop.get("order", "2")
    unused = ReplayTransport(recording)
    with pytest.raises(ReplayMismatchError):
        unused.assert_exhausted()


def test_replay_ignores_volatile_signing_parameters(mock_client, clock, tmp_path):
    from datetime import timedelta

    secrets = StaticSecrets(
        {
            "TIKTOK_APP_KEY": "appkey01",
            "TIKTOK_APP_SECRET": "tiktok-secret-for-recording",
            "TIKTOK_ACCESS_TOKEN": "ROW_recorded_access_token",
        }
    )

    def handler(request: httpx2.Request) -> httpx2.Response:
        params = dict(request.url.params)
        assert params["sign"] == tiktok_sign(
            "tiktok-secret-for-recording", request.url.path, params, request.content
        )
        return httpx2.Response(200, json={"code": 0, "data": {"orders": [{"id": "1"}]}})

    recorder = RecordingTransport(httpx2.MockTransport(handler))
    live = TikTokShopConnector(httpx2.Client(transport=recorder), secrets=secrets, clock=clock)
    recorder.watch(live)
    list(live.pages("order"))
    recorder.save(tmp_path / "tiktok.json")
    text = (tmp_path / "tiktok.json").read_text()
    assert "ROW_recorded_access_token" not in text
    assert "tiktok-secret-for-recording" not in text

    clock.advance(timedelta(days=30))  # a different timestamp, hence a different sign
    offline = TikTokShopConnector(
        httpx2.Client(transport=ReplayTransport(tmp_path / "tiktok.json")),
        secrets=secrets,
        clock=clock,
    )
    assert [o["id"] for p in offline.pages("order") for o in p.items] == ["1"]


def test_lwa_form_secrets_are_scrubbed(clock, tmp_path):
    secrets = StaticSecrets(
        {
            "AMAZON_LWA_REFRESH_TOKEN": "Atzr|recorded-refresh",
            "AMAZON_LWA_CLIENT_ID": "amzn1.application-oa2-client.rec",
            "AMAZON_LWA_CLIENT_SECRET": "recorded-client-secret",
        }
    )

    def handler(request: httpx2.Request) -> httpx2.Response:
        if request.url.host == "api.amazon.com":
            return httpx2.Response(
                200, json={"access_token": "Atza|recorded-access", "expires_in": 3600}
            )
        return httpx2.Response(
            200,
            json={
                "payload": {
                    "AmazonOrderId": "902-1",
                    "BuyerInfo": {"BuyerEmail": "x@marketplace.amazon.com", "BuyerName": "Jo"},
                    "ShippingAddress": {"AddressLine1": "2 High St", "CountryCode": "US"},
                }
            },
        )

    recorder = RecordingTransport(httpx2.MockTransport(handler))
    amazon = AmazonConnector(
        httpx2.Client(transport=recorder), secrets=secrets, clock=clock, combine_items=False
    )
    recorder.watch(amazon)
    amazon.get("order", "902-1")
    recorder.save(tmp_path / "amazon.json")
    text = (tmp_path / "amazon.json").read_text()
    for leaked in (
        "recorded-refresh",
        "recorded-client-secret",
        "recorded-access",
        "x@marketplace.amazon.com",
        "2 High St",
    ):
        assert leaked not in text
    token_request = json.loads(text)["interactions"][0]["request"]
    assert ["refresh_token", "[REDACTED]"] in token_request["body"]["form"]


def test_replay_runs_with_dummy_credentials_but_checks_bodies(clock, tmp_path):
    real = {
        "AMAZON_LWA_REFRESH_TOKEN": "Atzr|the-real-refresh",
        "AMAZON_LWA_CLIENT_ID": "amzn1.application-oa2-client.real",
        "AMAZON_LWA_CLIENT_SECRET": "the-real-client-secret",
        "AMAZON_SELLER_ID": "A3TH9S8BH6GOGM",
    }

    def handler(request: httpx2.Request) -> httpx2.Response:
        if request.url.host == "api.amazon.com":
            return httpx2.Response(200, json={"access_token": "Atza|real", "expires_in": 3600})
        if request.method == "PATCH":
            return httpx2.Response(200, json={"sku": "SKU-1", "status": "ACCEPTED"})
        return httpx2.Response(200, json={"payload": {"AmazonOrderId": "902-1"}})

    recorder = RecordingTransport(httpx2.MockTransport(handler))
    live = AmazonConnector(
        httpx2.Client(transport=recorder),
        secrets=StaticSecrets(real),
        clock=clock,
        combine_items=False,
    )
    recorder.watch(live)
    live.get("order", "902-1")
    live.update("inventory", "SKU-1", {"quantity": 4}, idempotency_key="k1")
    recorder.save(tmp_path / "amazon.json")
    assert "the-real" not in (tmp_path / "amazon.json").read_text()

    dummy = {
        "AMAZON_LWA_REFRESH_TOKEN": "Atzr|dummy-refresh",
        "AMAZON_LWA_CLIENT_ID": "dummy-client",
        "AMAZON_LWA_CLIENT_SECRET": "dummy-secret",
        "AMAZON_SELLER_ID": "A3TH9S8BH6GOGM",
    }
    replay = ReplayTransport(tmp_path / "amazon.json")
    offline = AmazonConnector(
        httpx2.Client(transport=replay),
        secrets=StaticSecrets(dummy),
        clock=clock,
        combine_items=False,
    )
    assert offline.get("order", "902-1") == {"AmazonOrderId": "902-1"}
    with pytest.raises(ReplayMismatchError):  # the recorded patch set 4, not 5
        offline.update("inventory", "SKU-1", {"quantity": 5}, idempotency_key="k1")
    assert offline.update("inventory", "SKU-1", {"quantity": 4}, idempotency_key="k1") == {
        "sku": "SKU-1",
        "status": "ACCEPTED",
    }
    replay.assert_exhausted()
