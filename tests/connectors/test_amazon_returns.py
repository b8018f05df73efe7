"""Amazon External Fulfillment returns: listReturns / getReturn through the backfill path."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx2
import pytest

from accord.connectors.amazon import AmazonConnector
from accord.connectors.backfill import MemoryCheckpoints, backfill
from accord.connectors.secrets import StaticSecrets
from accord.errors import QuotaError, RequestRejectedError, TransientError

REFRESH = "Atzr|returns-refresh-token"
SECRETS = StaticSecrets(
    {
        "AMAZON_LWA_REFRESH_TOKEN": REFRESH,
        "AMAZON_LWA_CLIENT_ID": "amzn1.application-oa2-client.abc",
        "AMAZON_LWA_CLIENT_SECRET": "amzn1.oa2-cs.v1.returns-secret",
    }
)
RETURNS = "/externalFulfillment/2024-09-11/returns"


def a_return(n: int) -> dict[str, Any]:
    # Shaped like the listReturns example of the External Fulfillment Returns model.
    return {
        "id": f"ee39cdd9-0000-0000-0000-{n:012d}",
        "merchantSku": f"SKU-{n}",
        "numberOfUnits": 1,
        "returnType": "CUSTOMER",
        "status": "CREATED",
        "creationDateTime": "2026-03-01T15:23:58Z",
        "lastUpdatedDateTime": f"2026-03-01T20:{n:02d}:08Z",
        "otpDetails": {"otp": "703669", "validTill": 1612933142},
        "returnMetadata": {"rmaId": f"RMA-{n}", "returnReason": "Missed"},
        "marketplaceChannelDetails": {"customerOrderId": f"107-0000000-{n:07d}"},
    }


@dataclass(frozen=True)
class Result:
    status: str


class Sink:
    def __init__(self) -> None:
        self.seen: set[str | None] = set()
        self.processed: list[str | None] = []
        self.payloads: list[dict[str, Any]] = []

    def ingest(self, channel, entity, payload, *, event_id=None, received_at=None) -> Result:
        if event_id in self.seen:
            return Result("duplicate")
        self.seen.add(event_id)
        self.processed.append(event_id)
        self.payloads.append(payload)
        return Result("processed")


class FakeReturns:
    """LWA plus listReturns over three pages (the middle one empty, as the API allows) and
    getReturn. ``script`` maps a request number to a canned failure."""

    def __init__(self) -> None:
        self.requests: list[httpx2.Request] = []
        self.tokens = 0
        self.script: dict[int, Any] = {}
        self.expired: set[str] = set()

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        if request.url.host == "api.amazon.com":
            self.tokens += 1
            return httpx2.Response(
                200, json={"access_token": f"Atza|tok-{self.tokens}", "expires_in": 3600}
            )
        self.requests.append(request)
        action = self.script.pop(len(self.requests), None)
        if action == "read-error":
            raise httpx2.ReadError("connection reset", request=request)
        if isinstance(action, httpx2.Response):
            return action
        if request.headers.get("x-amz-access-token") in self.expired:
            return httpx2.Response(403, json={"errors": [{"code": "Unauthorized"}]})
        path = request.url.path
        if path.startswith(RETURNS + "/"):
            wanted = path.rsplit("/", 1)[1]
            if wanted != a_return(7)["id"]:
                return httpx2.Response(404, json={"errors": [{"code": "NotFound"}]})
            return httpx2.Response(200, json=a_return(7))
        token = request.url.params.get("nextToken")
        if token is None:
            body: dict[str, Any] = {"returns": [a_return(1), a_return(2)], "nextToken": "t1"}
        elif token == "t1":
            body = {"returns": [], "nextToken": "t2"}
        else:
            body = {"returns": [a_return(3)]}
        return httpx2.Response(200, json=body, headers={"x-amzn-RateLimit-Limit": "2.0"})


@pytest.fixture
def amazon(mock_client, clock, sleeper, policy):
    api = FakeReturns()
    connector = AmazonConnector(
        mock_client(api), secrets=SECRETS, retry=policy, clock=clock, sleep=sleeper
    )
    return connector, api


SINCE = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


def test_list_returns_follows_next_token_through_an_empty_page(amazon):
    connector, api = amazon
    pages = list(connector.pages("return", since=SINCE, page_size=50))
    assert [len(p.items) for p in pages] == [2, 0, 1]
    assert [p.next_cursor for p in pages] == ["t1", "t2", None]
    assert {p.api_version for p in pages} == {"external-fulfillment-2024-09-11"}
    # The token travels with the same filter as the call that produced it.
    for request in api.requests:
        assert request.url.path == RETURNS
        assert request.url.params["lastUpdatedSince"] == "2026-03-01T08:00:00Z"
        assert request.url.params["maxResults"] == "50"
    assert [r.url.params.get("nextToken") for r in api.requests] == [None, "t1", "t2"]
    # The carrier's one-time pickup password never leaves the connector.
    assert all("otpDetails" not in item for p in pages for item in p.items)
    assert pages[0].items[0]["returnMetadata"]["rmaId"] == "RMA-1"


def test_a_token_that_repeats_its_cursor_ends_the_listing(mock_client, clock, sleeper, policy):
    def handler(request: httpx2.Request) -> httpx2.Response:
        if request.url.host == "api.amazon.com":
            return httpx2.Response(200, json={"access_token": "Atza|x", "expires_in": 3600})
        return httpx2.Response(200, json={"returns": [], "nextToken": "same"})

    connector = AmazonConnector(
        mock_client(handler), secrets=SECRETS, retry=policy, clock=clock, sleep=sleeper
    )
    pages = list(connector.pages("return", cursor="same"))
    assert [p.next_cursor for p in pages] == [None]


def test_get_return_by_id(amazon):
    connector, _api = amazon
    record = connector.get("return", a_return(7)["id"])
    assert record["id"] == a_return(7)["id"]
    assert record["numberOfUnits"] == 1
    assert "otpDetails" not in record
    with pytest.raises(RequestRejectedError) as missing:
        connector.get("return", "no-such-return")
    assert missing.value.status_code == 404


def test_backfill_of_returns_resumes_after_interruption_without_duplicates(amazon, policy):
    connector, api = amazon
    sink = Sink()
    checkpoints = MemoryCheckpoints()
    # The second page fails on every attempt: the run stops with the cursor of page two saved.
    api.script = dict.fromkeys(range(2, 2 + policy.max_attempts), "read-error")
    with pytest.raises(TransientError):
        backfill(connector, "return", sink, since=SINCE, checkpoints=checkpoints)
    assert len(sink.processed) == 2
    saved = next(iter(checkpoints.saved.values()))
    assert (saved.cursor, saved.done) == ("t1", False)

    report = backfill(connector, "return", sink, since=SINCE, checkpoints=checkpoints)
    assert report.resumed_from == "t1"
    assert report.finished
    assert report.statuses == {"processed": 1}
    assert sink.processed == [
        f"amazon:return:{a_return(n)['id']}:{a_return(n)['lastUpdatedDateTime']}" for n in (1, 2, 3)
    ]
    # A second full run finds nothing new: every record is a duplicate.
    again = backfill(connector, "return", sink, since=SINCE, checkpoints=checkpoints)
    assert again.statuses == {"duplicate": 3}


def test_quota_with_retry_after_is_honoured(amazon, sleeper):
    connector, api = amazon
    api.script = {1: httpx2.Response(429, headers={"Retry-After": "3"})}
    pages = list(connector.pages("return"))
    assert sum(len(p.items) for p in pages) == 3
    assert any(3.0 <= pause <= 3.5 for pause in sleeper.pauses)


def test_quota_beyond_the_retries_is_a_quota_error(amazon, policy):
    connector, api = amazon
    api.script = {
        n: httpx2.Response(429, headers={"Retry-After": "1"})
        for n in range(1, policy.max_attempts + 1)
    }
    with pytest.raises(QuotaError):
        list(connector.pages("return"))


def test_expired_token_is_refreshed_once(amazon):
    connector, api = amazon
    api.expired.add("Atza|tok-1")
    record = connector.get("return", a_return(7)["id"])
    assert record["id"] == a_return(7)["id"]
    assert api.tokens == 2
    assert [r.headers["x-amz-access-token"] for r in api.requests] == ["Atza|tok-1", "Atza|tok-2"]


def test_malformed_json_is_transient_then_succeeds(amazon):
    connector, api = amazon
    api.script = {1: httpx2.Response(200, content=b'{"returns": [')}
    pages = list(connector.pages("return"))
    assert sum(len(p.items) for p in pages) == 3


def test_a_reply_without_returns_is_classified(amazon):
    connector, api = amazon
    api.script = {1: httpx2.Response(200, json={"returns": "nope"})}
    with pytest.raises(RequestRejectedError) as caught:
        list(connector.pages("return"))
    assert caught.value.code == "CONN017"
