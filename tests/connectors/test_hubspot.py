"""HubSpot CRM v3 tickets over a fake API: bearer auth, cursor paging, the idempotent create
emulated with a unique key property, and every failure classified."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx2
import pytest

from accord.clock import FrozenClock
from accord.connectors.hubspot import HubSpotConnector
from accord.connectors.retry import RetryPolicy
from accord.connectors.secrets import StaticSecrets
from accord.errors import (
    AuthError,
    ErrorClass,
    QuotaError,
    RequestRejectedError,
    TransientError,
)

Handler = Callable[[httpx2.Request], httpx2.Response]

TOKEN = "pat-na1-11112222-3333-4444-5555-666677778888"
TICKETS = "/crm/v3/objects/tickets"
BODY = {
    "properties": {
        "subject": "Return RMA-77 for amazon:113",
        "content": "Returned: 2 x MUG",
        "hs_pipeline": "0",
        "hs_pipeline_stage": "1",
    }
}


class FakeHubSpot:
    """Tickets in memory; ``accord_idempotency_key`` is a unique property; ``replies`` are
    answered first, in order; ``index_lag`` hides created tickets from search."""

    def __init__(self) -> None:
        self.tickets: dict[str, dict[str, Any]] = {}
        self.requests: list[httpx2.Request] = []
        self.replies: list[httpx2.Response | Exception] = []
        self.index_lag = False
        self.next_id = 9_007_199_254_740_993  # beyond 2**53: must stay a string

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return httpx2.Response(
                401,
                json={
                    "status": "error",
                    "category": "INVALID_AUTHENTICATION",
                    "message": "Authentication credentials not found.",
                },
            )
        if self.replies:
            reply = self.replies.pop(0)
            if isinstance(reply, Exception):
                raise reply
            return reply
        path, method = request.url.path, request.method
        if (method, path) == ("POST", TICKETS):
            return self._create(json.loads(request.content))
        if (method, path) == ("POST", f"{TICKETS}/search"):
            return self._search(json.loads(request.content))
        if method == "GET" and path == TICKETS:
            return self._list(request.url.params)
        ticket_id = path.rpartition("/")[2]
        if ticket_id not in self.tickets:
            return httpx2.Response(
                404,
                json={
                    "status": "error",
                    "category": "OBJECT_NOT_FOUND",
                    "message": "resource not found",
                    "correlationId": "c-404",
                },
            )
        if method == "PATCH":
            self.tickets[ticket_id]["properties"].update(json.loads(request.content)["properties"])
        return httpx2.Response(200, json=self.tickets[ticket_id])

    def _create(self, body: dict[str, Any]) -> httpx2.Response:
        key = body["properties"].get("accord_idempotency_key")
        if any(t["properties"].get("accord_idempotency_key") == key for t in self.tickets.values()):
            return httpx2.Response(
                400,
                json={
                    "status": "error",
                    "category": "VALIDATION_ERROR",
                    "correlationId": "c-dup",
                    "message": f"Property values were not valid: accord_idempotency_key {key!r}"
                    " already exists on another object",
                },
            )
        ticket_id = str(self.next_id)
        self.next_id += 1
        self.tickets[ticket_id] = {
            "id": ticket_id,
            "properties": dict(body["properties"]),
            "updatedAt": "2026-03-02T10:00:00.000Z",
        }
        return httpx2.Response(201, json=self.tickets[ticket_id])

    def _search(self, body: dict[str, Any]) -> httpx2.Response:
        (flt,) = body["filterGroups"][0]["filters"]
        assert flt["operator"] == "EQ"
        found = (
            []
            if self.index_lag
            else [
                t
                for t in self.tickets.values()
                if t["properties"].get(flt["propertyName"]) == flt["value"]
            ]
        )
        return httpx2.Response(200, json={"total": len(found), "results": found[: body["limit"]]})

    def _list(self, params: httpx2.QueryParams) -> httpx2.Response:
        ids = sorted(self.tickets)
        start = int(params.get("after", "0"))
        limit = int(params["limit"])
        page = [self.tickets[i] for i in ids[start : start + limit]]
        body: dict[str, Any] = {"results": page}
        if start + limit < len(ids):
            body["paging"] = {"next": {"after": str(start + limit), "link": "..."}}
        return httpx2.Response(200, json=body)


@pytest.fixture
def fake() -> FakeHubSpot:
    return FakeHubSpot()


@pytest.fixture
def hubspot(
    fake: FakeHubSpot,
    mock_client: Callable[[Handler], httpx2.Client],
    clock: FrozenClock,
    sleeper: Any,
    policy: RetryPolicy,
) -> HubSpotConnector:
    return HubSpotConnector(
        mock_client(fake),
        secrets=StaticSecrets({"HUBSPOT_ACCESS_TOKEN": TOKEN}),
        retry=policy,
        clock=clock,
        sleep=sleeper,
    )


def test_create_sends_the_ticket_with_its_key_and_returns_a_string_id(
    hubspot: HubSpotConnector, fake: FakeHubSpot
) -> None:
    ticket = hubspot.create("return", BODY, idempotency_key="accord-k1")
    assert ticket["id"] == "9007199254740993"
    search, create = fake.requests
    assert (search.method, search.url.path) == ("POST", f"{TICKETS}/search")
    assert (create.method, str(create.url)) == ("POST", f"https://api.hubapi.com{TICKETS}")
    assert create.headers["authorization"] == f"Bearer {TOKEN}"
    sent = json.loads(create.content)
    assert sent["properties"] == {**BODY["properties"], "accord_idempotency_key": "accord-k1"}


def test_a_second_create_with_the_same_key_returns_the_first_ticket(
    hubspot: HubSpotConnector, fake: FakeHubSpot
) -> None:
    first = hubspot.create("ticket", BODY, idempotency_key="accord-k1")
    again = hubspot.create("ticket", BODY, idempotency_key="accord-k1")
    assert again["id"] == first["id"]
    assert len(fake.tickets) == 1
    assert [r.method for r in fake.requests] == ["POST", "POST", "POST"]  # search, create, search


def test_a_timed_out_create_that_landed_is_found_not_resent(
    hubspot: HubSpotConnector, fake: FakeHubSpot
) -> None:
    # The create lands but its reply is lost; the retry searches first and finds it.
    def lost_reply(request: httpx2.Request) -> httpx2.Response:
        fake._create(json.loads(request.content))
        raise httpx2.ReadTimeout("read timed out", request=request)

    real = fake.__call__
    calls = {"n": 0}

    def handler(request: httpx2.Request) -> httpx2.Response:
        calls["n"] += 1
        if calls["n"] == 2:  # the first create
            fake.requests.append(request)
            return lost_reply(request)
        return real(request)

    hubspot.client = httpx2.Client(transport=httpx2.MockTransport(handler))
    try:
        ticket = hubspot.create("return", BODY, idempotency_key="accord-k2")
    finally:
        hubspot.client.close()
    assert len(fake.tickets) == 1
    assert ticket["id"] == next(iter(fake.tickets))
    paths = [(r.method, r.url.path) for r in fake.requests]
    assert paths == [
        ("POST", f"{TICKETS}/search"),
        ("POST", TICKETS),
        ("POST", f"{TICKETS}/search"),
    ]


def test_a_unique_value_refusal_while_search_lags_returns_the_existing_ticket(
    hubspot: HubSpotConnector, fake: FakeHubSpot
) -> None:
    first = hubspot.create("return", BODY, idempotency_key="accord-k3")
    fake.index_lag = True
    # The search before the create finds nothing (index lag), the create is refused as a
    # duplicate of the unique key, and the lookup after it is answered from the index.
    fake.replies = [
        httpx2.Response(200, json={"total": 0, "results": []}),
        httpx2.Response(
            400,
            json={
                "status": "error",
                "category": "VALIDATION_ERROR",
                "message": "accord_idempotency_key already has that value",
            },
        ),
        httpx2.Response(200, json={"total": 1, "results": [fake.tickets[first["id"]]]}),
    ]
    again = hubspot.create("return", BODY, idempotency_key="accord-k3")
    assert again["id"] == first["id"]
    assert len(fake.tickets) == 1


def test_update_patches_properties(hubspot: HubSpotConnector, fake: FakeHubSpot) -> None:
    ticket = hubspot.create("ticket", BODY, idempotency_key="k")
    out = hubspot.update(
        "ticket", ticket["id"], {"properties": {"hs_pipeline_stage": "4"}}, idempotency_key="k-u"
    )
    assert out["properties"]["hs_pipeline_stage"] == "4"
    patch = fake.requests[-1]
    assert (patch.method, patch.url.path) == ("PATCH", f"{TICKETS}/{ticket['id']}")
    assert json.loads(patch.content) == {"properties": {"hs_pipeline_stage": "4"}}


def test_get_and_a_missing_ticket(hubspot: HubSpotConnector) -> None:
    ticket = hubspot.create("ticket", BODY, idempotency_key="k")
    assert (
        hubspot.get("ticket", ticket["id"])["properties"]["subject"]
        == BODY["properties"]["subject"]
    )
    with pytest.raises(RequestRejectedError) as missing:
        hubspot.get("ticket", "12345")
    assert missing.value.code == "CONN019"
    assert missing.value.error_class is ErrorClass.VALIDATION
    with pytest.raises(RequestRejectedError, match="not a HubSpot id"):
        hubspot.get("ticket", "../contacts")


def test_list_follows_the_after_cursor_to_the_last_page(
    hubspot: HubSpotConnector, fake: FakeHubSpot
) -> None:
    for n in range(5):
        hubspot.create("ticket", BODY, idempotency_key=f"k{n}")
    pages = list(hubspot.pages("ticket", page_size=2))
    assert [p.cursor for p in pages] == [None, "2", "4"]
    assert [p.next_cursor for p in pages] == ["2", "4", None]
    assert sorted(t["id"] for p in pages for t in p.items) == sorted(fake.tickets)
    assert fake.requests[-1].url.params["limit"] == "2"


def test_list_since_searches_by_last_modified_oldest_first(
    hubspot: HubSpotConnector, fake: FakeHubSpot
) -> None:
    from datetime import UTC, datetime

    fake.replies = [
        httpx2.Response(
            200, json={"total": 1, "results": [{"id": "7"}], "paging": {"next": {"after": "1"}}}
        )
    ]
    page = hubspot.list_page("ticket", since=datetime(2026, 3, 1, tzinfo=UTC), cursor="0")
    body = json.loads(fake.requests[-1].content)
    assert body["filterGroups"][0]["filters"] == [
        {"propertyName": "hs_lastmodifieddate", "operator": "GTE", "value": "1772323200000"}
    ]
    assert body["sorts"] == [{"propertyName": "hs_lastmodifieddate", "direction": "ASCENDING"}]
    assert body["after"] == "0"
    assert (page.items, page.next_cursor) == (({"id": "7"},), "1")


def test_rate_limit_waits_the_rolling_window(
    hubspot: HubSpotConnector, fake: FakeHubSpot, sleeper: Any
) -> None:
    fake.replies = [
        httpx2.Response(
            429,
            json={
                "status": "error",
                "policyName": "TEN_SECONDLY_ROLLING",
                "message": "You have reached your ten_secondly_rolling limit.",
            },
            headers={"X-HubSpot-RateLimit-Interval-Milliseconds": "10000"},
        )
    ]
    assert hubspot.list_page("ticket").items == ()
    assert sleeper.pauses[0] >= 10.0


def test_retry_after_wins_over_the_window(hubspot: HubSpotConnector, fake: FakeHubSpot) -> None:
    fake.replies = [
        httpx2.Response(429, headers={"Retry-After": "3"}, json={"status": "error"})
    ] * 5
    with pytest.raises(QuotaError) as err:
        hubspot.list_page("ticket")
    assert err.value.retry_after == 3.0


@pytest.mark.parametrize(
    ("status", "error", "retries"),
    [
        (400, RequestRejectedError, False),
        (401, AuthError, True),
        (500, TransientError, True),
        (503, TransientError, True),
    ],
)
def test_errors_are_classified(
    hubspot: HubSpotConnector, fake: FakeHubSpot, status: int, error: type[Exception], retries: bool
) -> None:
    reply = httpx2.Response(
        status,
        json={
            "status": "error",
            "message": "nope",
            "category": "VALIDATION_ERROR",
            "correlationId": "c-1",
        },
    )
    fake.replies = [reply] * 6
    with pytest.raises(error) as err:
        hubspot.list_page("ticket")
    assert TOKEN not in str(err.value)
    tries = len(fake.requests)
    assert (tries > 1) is retries
    if status == 400:
        assert ("category", "VALIDATION_ERROR") in err.value.diagnostics[0].details
        assert ("correlationId", "c-1") in err.value.diagnostics[0].details


def test_missing_token_is_an_auth_error_naming_the_variable(
    mock_client: Callable[[Handler], httpx2.Client], fake: FakeHubSpot
) -> None:
    bare = HubSpotConnector(mock_client(fake), secrets=StaticSecrets({}))
    with pytest.raises(AuthError, match="HUBSPOT_ACCESS_TOKEN"):
        bare.list_page("ticket")
    assert fake.requests == []


def test_malformed_replies_are_classified(hubspot: HubSpotConnector, fake: FakeHubSpot) -> None:
    fake.replies = [httpx2.Response(200, content=b'{"results": [')] * 6
    with pytest.raises(TransientError) as broken:
        hubspot.list_page("ticket")
    assert broken.value.code == "CONN010"
    fake.replies = [httpx2.Response(200, json={"total": 0})]
    with pytest.raises(RequestRejectedError) as shape:
        hubspot.list_page("ticket")
    assert shape.value.code == "CONN017"


def test_bad_requests_are_refused_before_sending(
    hubspot: HubSpotConnector, fake: FakeHubSpot
) -> None:
    with pytest.raises(RequestRejectedError, match="no 'properties'"):
        hubspot.create("ticket", {"subject": "flat"}, idempotency_key="k")
    with pytest.raises(RequestRejectedError, match="blank"):
        hubspot.create("ticket", BODY, idempotency_key="  ")
    with pytest.raises(RequestRejectedError, match="known: ticket"):
        hubspot.create("contact", BODY, idempotency_key="k")
    assert fake.requests == []


def test_a_custom_key_property(mock_client: Callable[[Handler], httpx2.Client]) -> None:
    seen: list[dict[str, Any]] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(json.loads(request.content))
        if request.url.path.endswith("/search"):
            return httpx2.Response(200, json={"total": 0, "results": []})
        return httpx2.Response(201, json={"id": 42, "properties": {}})

    hs = HubSpotConnector(
        mock_client(handler),
        secrets=StaticSecrets({"HUBSPOT_ACCESS_TOKEN": TOKEN, "HUBSPOT_KEY_PROPERTY": "ext_ref"}),
    )
    assert hs.create("ticket", BODY, idempotency_key="k9")["id"] == "42"
    assert seen[0]["filterGroups"][0]["filters"][0]["propertyName"] == "ext_ref"
    assert seen[1]["properties"]["ext_ref"] == "k9"
