"""HubSpot CRM API v3: support tickets (``mappings/hubspot/return.outbound.yaml`` writes them).

* Authentication: ``Authorization: Bearer`` with a private app access token
  (``HUBSPOT_ACCESS_TOKEN``, scope ``tickets``).
* Pagination: ``limit`` and the ``after`` cursor of ``paging.next.after`` (no ``paging`` on the
  last page). A listing ``since`` a time uses the search endpoint on ``hs_lastmodifieddate``,
  oldest first; HubSpot's search stops at 10,000 results, so a longer backfill resumes from a
  later ``since``.
* Rate limits: a 429 is a quota error; HubSpot sends no ``Retry-After`` for its rolling
  ten-second window (``policyName: TEN_SECONDLY_ROLLING``), so the wait is the
  ``X-HubSpot-RateLimit-Interval-Milliseconds`` interval, ten seconds when absent.
* Errors: HubSpot's ``{"status": "error", "message", "category", "correlationId"}`` body is
  quoted in the error; ``category`` and ``correlationId`` go in the diagnostic's details.
* Idempotent creates: HubSpot takes no idempotency key. The key is stored on the ticket in a
  custom single-line text property, ``accord_idempotency_key`` (``HUBSPOT_KEY_PROPERTY``
  names another), that the account defines with "unique values" on. Before each create the
  ticket with that key is searched for; a create that timed out is never resent before that
  search; and a create refused because the unique value exists (an earlier try landed but was
  not yet searchable) returns the existing ticket.
* Webhooks: HubSpot sends them to apps, not to private-app integrations; this connector does
  not receive any.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar

import httpx2

from accord.errors import ConnectorError, QuotaError

from .base import NOT_FOUND, UNEXPECTED_SHAPE, Connector, Page, Reply, as_number, classify_status

__all__ = ["HubSpotConnector"]

API_HOST = "https://api.hubapi.com"
DEFAULT_KEY_PROPERTY = "accord_idempotency_key"
_TICKETS = f"{API_HOST}/crm/v3/objects/tickets"
# Entities that are tickets: what the flow names (a return) and what HubSpot names it.
_TICKET_ENTITIES = frozenset({"ticket", "return"})
_ROLLING_WINDOW = 10.0  # seconds of HubSpot's rolling rate-limit window
_MAX_PAGE = 100


class HubSpotConnector(Connector):
    """HubSpot CRM v3 client: list, get, create (idempotent) and update tickets."""

    channel: ClassVar[str] = "hubspot"
    api_version: ClassVar[str | None] = "v3"
    entities: ClassVar[tuple[str, ...]] = ("ticket",)

    def prepare(self, request: httpx2.Request) -> httpx2.Request:
        request.headers["Authorization"] = f"Bearer {self.secret('HUBSPOT_ACCESS_TOKEN')}"
        return request

    @property
    def key_property(self) -> str:
        """The ticket property that carries the idempotency key."""
        return self.optional_setting("HUBSPOT_KEY_PROPERTY") or DEFAULT_KEY_PROPERTY

    def classify(self, reply: Reply, operation: str) -> ConnectorError | None:
        error = super().classify(reply, operation)
        if error is None:
            return None
        body = reply.data if isinstance(reply.data, Mapping) else {}
        details = [(k, str(body[k])) for k in ("category", "correlationId") if body.get(k)]
        retry_after = error.retry_after
        if isinstance(error, QuotaError) and retry_after is None:
            wait = as_number(
                reply.headers.get("x-hubspot-ratelimit-interval-milliseconds"),
                _ROLLING_WINDOW * 1000,
            )
            retry_after = max(wait / 1000, 0.0)
            details.append(("policy", str(body.get("policyName", ""))))
        if not details:
            return error
        return classify_status(
            reply.status_code,
            error.message,
            retry_after=retry_after,
            details=(*error.diagnostics[0].details, *details),
        )

    def _check_entity(self, entity: str, action: str) -> None:
        if entity not in _TICKET_ENTITIES:
            raise self.rejected(f"{action} {entity!r} is not supported; known: ticket")

    def _ticket(self, reply: Reply, operation: str) -> dict[str, Any]:
        data = reply.data
        if not isinstance(data, dict) or data.get("id") in (None, ""):
            raise self.malformed_reply(reply, operation, "no ticket 'id'")
        data["id"] = str(data["id"])  # HubSpot ids are numeric strings; keep them strings
        return data

    # -- pull -----------------------------------------------------------------------------

    def list_page(
        self,
        entity: str,
        *,
        cursor: str | None = None,
        since: datetime | None = None,
        page_size: int | None = None,
    ) -> Page:
        self._check_entity(entity, "listing")
        limit = max(1, min(page_size or _MAX_PAGE, _MAX_PAGE))
        if since is None:
            params: dict[str, str | int] = {"limit": limit, "archived": "false"}
            if cursor is not None:
                params["after"] = cursor
            reply = self.call("GET", _TICKETS, params=params, operation="list ticket")
        else:
            millis = int(since.astimezone(UTC).timestamp() * 1000)
            body: dict[str, Any] = {
                "filterGroups": [
                    {
                        "filters": [
                            {
                                "propertyName": "hs_lastmodifieddate",
                                "operator": "GTE",
                                "value": str(millis),
                            }
                        ]
                    }
                ],
                "sorts": [{"propertyName": "hs_lastmodifieddate", "direction": "ASCENDING"}],
                "limit": limit,
            }
            if cursor is not None:
                body["after"] = cursor
            reply = self.call(
                "POST", f"{_TICKETS}/search", json_body=body, operation="search ticket"
            )
        data = reply.data if isinstance(reply.data, dict) else None
        results = data.get("results") if data is not None else None
        if data is None or not isinstance(results, list):
            raise self.malformed_reply(reply, "list ticket", "no 'results' list")
        paging = data.get("paging")
        nxt = paging.get("next") if isinstance(paging, dict) else None
        after = nxt.get("after") if isinstance(nxt, dict) else None
        return Page(
            entity="ticket",
            items=tuple(r for r in results if isinstance(r, dict)),
            cursor=cursor,
            next_cursor=str(after) if after not in (None, "") and results else None,
            api_version=self.api_version,
        )

    def get(self, entity: str, id: str) -> dict[str, Any]:
        self._check_entity(entity, "getting")
        return self._one_ticket("GET", id, "get ticket")

    def _one_ticket(self, method: str, id: str, operation: str, body: Any = None) -> dict[str, Any]:
        """``method`` on ticket ``id``; a 404 is ``CONN019`` naming the ticket."""
        if not id.isascii() or not id.isdigit():
            raise self.rejected(f"{operation}: {id!r} is not a HubSpot id")
        try:
            reply = self.call(method, f"{_TICKETS}/{id}", json_body=body, operation=operation)
        except ConnectorError as exc:
            if exc.status_code == 404:
                raise self.rejected(
                    f"{operation}: HubSpot has no ticket {id}", code=NOT_FOUND
                ) from exc
            raise
        return self._ticket(reply, operation)

    def _properties(self, record: Mapping[str, Any], operation: str) -> Mapping[str, Any]:
        properties = record.get("properties")
        if not isinstance(properties, Mapping):
            raise self.rejected(
                f"{operation}: the payload has no 'properties' object", code=UNEXPECTED_SHAPE
            )
        return properties

    def record_key(self, entity: str, record: Mapping[str, Any]) -> str | None:
        if record.get("id") is None:
            return None
        return f"hubspot:ticket:{record['id']}:{record.get('updatedAt', '')}"

    # -- push -----------------------------------------------------------------------------

    def create(
        self, entity: str, record: Mapping[str, Any], *, idempotency_key: str
    ) -> dict[str, Any]:
        """Create a ticket carrying ``idempotency_key`` in :attr:`key_property`; a ticket an
        earlier try created with the same key is returned instead."""
        self._check_entity(entity, "creating")
        key = idempotency_key.strip()
        if not key:
            raise self.rejected("an idempotency key must not be blank")
        properties = self._properties(record, "create ticket")
        body = {**record, "properties": {**properties, self.key_property: key}}

        def send() -> dict[str, Any]:
            try:
                reply = self.call(
                    "POST",
                    _TICKETS,
                    json_body=body,
                    operation="create ticket",
                    retry_transient=False,
                )
            except ConnectorError as exc:
                # The unique key property already holds this key: an earlier try landed.
                if exc.status_code in (400, 409) and self.key_property in exc.message:
                    try:
                        found = self._find(key)
                    except ConnectorError:
                        raise exc from None  # the create's own refusal says more
                    if found is not None:
                        return found
                raise
            return self._ticket(reply, "create ticket")

        return self.create_once(lambda: self._find(key), send, "create ticket")

    def _find(self, key: str) -> dict[str, Any] | None:
        body = {
            "filterGroups": [
                {"filters": [{"propertyName": self.key_property, "operator": "EQ", "value": key}]}
            ],
            "properties": [self.key_property, "subject", "hs_pipeline_stage"],
            "limit": 1,
        }
        reply = self.call("POST", f"{_TICKETS}/search", json_body=body, operation="search ticket")
        results = reply.data.get("results") if isinstance(reply.data, dict) else None
        if not isinstance(results, list):
            raise self.malformed_reply(reply, "search ticket", "no 'results' list")
        for found in results:
            if isinstance(found, dict) and found.get("id") not in (None, ""):
                found["id"] = str(found["id"])
                return found
        return None

    def update(
        self, entity: str, id: str, record: Mapping[str, Any], *, idempotency_key: str
    ) -> dict[str, Any]:
        """``PATCH`` the ticket's properties: setting the same values again is harmless, so a
        retried update needs no key."""
        self._check_entity(entity, "updating")
        properties = self._properties(record, "update ticket")
        return self._one_ticket("PATCH", id, "update ticket", {"properties": properties})
