"""ShipBob API, version 2026-01.

* Authentication: ``Authorization: Bearer`` with a personal access token or an OAuth access
  token (``SHIPBOB_TOKEN``); order creation also needs the ``shipbob_channel_id`` header
  (``SHIPBOB_CHANNEL_ID``).
* Pagination: orders page with ``Page``/``Limit`` (a short page is the last); inventory
  levels return ``next`` cursor links.
* Idempotent creates: ShipBob refuses a second order with the same ``reference_id`` for a
  channel, so the idempotency key becomes ``reference_id`` and a 409/422 "already exists"
  answer to a retried create is looked up and returned instead of failing.
* Webhooks: Standard Webhooks signatures (``webhook-id``, ``webhook-timestamp``,
  ``webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">``) with the
  subscription's secret (``SHIPBOB_WEBHOOK_SECRET``, ``whsec_``-prefixed base64); deliveries
  older or newer than five minutes are refused, and ``webhook-id`` is the event id.
* Webhook topics: every ``order.*`` topic is a shipment event, handed to the engine as a
  ``fulfillment`` (the shipment fetched when the payload only names it); ``return.*`` and
  ``receiving.*`` deliveries are acknowledged and ignored, as no shipped spec maps them.
  (https://www.standardwebhooks.com/, https://developer.shipbob.com/2026-01/webhooks)
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar

import httpx2

from accord.errors import ConflictError, RequestRejectedError

from .base import UNEXPECTED_SHAPE, Connector, Page, WebhookEvent
from .webhooks import lower_headers, signature_matches

__all__ = ["ShipBobConnector"]

API_HOST = "https://api.shipbob.com"
_TOLERANCE = 300  # seconds a webhook timestamp may differ from our clock

# topic prefix -> entity. Every ``order.*`` topic (``order.shipped``,
# ``order.shipment.delivered`` ...) is about a shipment: ``mappings/shipbob/
# fulfillment.inbound.yaml`` maps it, and ShipBob ships no inbound order spec.
_TOPIC_ENTITY = {"order": "fulfillment", "return": "return", "receiving": "receiving"}
# Entities whose webhooks no shipped ShipBob spec maps: acknowledged, not handed over.
_UNMAPPED = frozenset({"return", "receiving"})


class ShipBobConnector(Connector):
    """ShipBob client: orders and inventory levels, idempotent order creation, webhooks."""

    channel: ClassVar[str] = "shipbob"
    api_version: ClassVar[str | None] = "2026-01"
    entities: ClassVar[tuple[str, ...]] = ("order", "inventory")

    @property
    def base_url(self) -> str:
        return f"{API_HOST}/{self.api_version}"

    def prepare(self, request: httpx2.Request) -> httpx2.Request:
        request.headers["Authorization"] = f"Bearer {self.secret('SHIPBOB_TOKEN')}"
        return request

    def list_page(
        self,
        entity: str,
        *,
        cursor: str | None = None,
        since: datetime | None = None,
        page_size: int | None = None,
    ) -> Page:
        if entity == "inventory":
            return self._inventory_page(cursor, page_size)
        if entity != "order":
            raise self.rejected(f"unknown entity {entity!r}; known: order, inventory")
        try:
            page = int(cursor) if cursor is not None else 1
        except ValueError:
            raise self.rejected(f"cursor {cursor!r} is not a page number") from None
        limit = min(page_size or 250, 250)
        params: dict[str, str | int] = {"Page": page, "Limit": limit, "SortOrder": "Oldest"}
        if since is not None:
            params["LastUpdateStartDate"] = since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        reply = self.call("GET", f"{self.base_url}/order", params=params, operation="list order")
        if not isinstance(reply.data, list):
            raise self.malformed_reply(reply, "list order", "not a JSON list")
        total_pages = reply.headers.get("total-pages")
        if total_pages and total_pages.isascii() and total_pages.isdigit():
            more = page < int(total_pages)
        else:
            more = len(reply.data) >= limit
        return Page(
            entity=entity,
            items=tuple(i for i in reply.data if isinstance(i, dict)),
            cursor=cursor,
            next_cursor=str(page + 1) if more and reply.data else None,
            api_version=self.api_version,
        )

    def _inventory_page(self, cursor: str | None, page_size: int | None) -> Page:
        # ``next`` is a path with its own query (cursor included); follow it as given.
        url = API_HOST + cursor if cursor else f"{self.base_url}/inventory-level"
        params: dict[str, str | int] | None = (
            None if cursor else {"PageSize": min(page_size or 250, 250)}
        )
        reply = self.call("GET", url, params=params, operation="list inventory")
        data = reply.data if isinstance(reply.data, dict) else None
        items = data.get("items") if data is not None else None
        if not isinstance(items, list):
            raise self.malformed_reply(reply, "list inventory", "no 'items' list")
        nxt = data.get("next") if data is not None else None
        if isinstance(nxt, str) and nxt.startswith(API_HOST):
            nxt = nxt[len(API_HOST) :]
        return Page(
            entity="inventory",
            items=tuple(i for i in items if isinstance(i, dict)),
            cursor=cursor,
            next_cursor=nxt if isinstance(nxt, str) and nxt and items else None,
            api_version=self.api_version,
        )

    def get(self, entity: str, id: str) -> dict[str, Any]:
        if entity != "order":
            raise self.rejected(f"getting {entity!r} is not supported")
        reply = self.call("GET", f"{self.base_url}/order/{id}", operation="get order")
        if not isinstance(reply.data, dict):
            raise self.malformed_reply(reply, "get order", "not a JSON object")
        return reply.data

    def shipment(self, order_id: str, shipment_id: str) -> dict[str, Any]:
        """``GET order/{order_id}/shipment/{shipment_id}``: what the fulfillment spec maps."""
        for what, value in (("order", order_id), ("shipment", shipment_id)):
            if not value.isascii() or not value.isdigit():
                raise self.rejected(f"get shipment: {what} id {value!r} is not a ShipBob id")
        operation = "get shipment"
        reply = self.call(
            "GET", f"{self.base_url}/order/{order_id}/shipment/{shipment_id}", operation=operation
        )
        if not isinstance(reply.data, dict):
            raise self.malformed_reply(reply, operation, "not a JSON object")
        return reply.data

    def complete(
        self, entity: str, payload: Mapping[str, Any], *, topic: str | None = None
    ) -> tuple[str, dict[str, Any]] | None:
        """Shipment webhooks become the shipment ``mappings/shipbob/fulfillment.inbound.yaml``
        maps: one that names ``order_id`` and ``shipment_id`` is fetched; a shipment (``id``
        and ``order_id``) is handed over as it is; an order with exactly one shipment hands
        over that shipment (several cannot be one event: it is refused, and so kept as a dead
        letter). Return and receiving webhooks have no shipped spec and are ignored."""
        if entity in _UNMAPPED and topic is not None:
            return None
        if entity != "fulfillment":
            return entity, dict(payload)
        order_id, shipment_id = payload.get("order_id"), payload.get("shipment_id")
        if order_id is not None and shipment_id is not None:
            return entity, self.shipment(str(order_id), str(shipment_id))
        if order_id is not None and payload.get("id") is not None:
            return entity, dict(payload)
        shipments = payload.get("shipments")
        if isinstance(shipments, list):
            found = [s for s in shipments if isinstance(s, Mapping)]
            if len(found) != 1:
                raise self.rejected(
                    f"{topic or entity}: an order with {len(found)} shipments is not one"
                    " shipment event",
                    code=UNEXPECTED_SHAPE,
                )
            shipment = dict(found[0])
            shipment.setdefault("order_id", payload.get("id"))
            shipment.setdefault("reference_id", payload.get("reference_id"))
            return entity, shipment
        raise self.malformed_webhook(f"{topic or entity}: neither a shipment nor an order")

    def create(
        self, entity: str, record: Mapping[str, Any], *, idempotency_key: str
    ) -> dict[str, Any]:
        """Create an order whose ``reference_id`` is the idempotency key."""
        if entity != "order":
            raise self.rejected(f"creating {entity!r} is not supported")
        key = idempotency_key.strip()
        if not key:
            raise self.rejected("an idempotency key must not be blank")
        body = {**record, "reference_id": key}
        headers = {"shipbob_channel_id": self.setting("SHIPBOB_CHANNEL_ID")}
        try:
            reply = self.call(
                "POST",
                f"{self.base_url}/order",
                json_body=body,
                headers=headers,
                operation="create order",
            )
        except (ConflictError, RequestRejectedError) as exc:
            if exc.status_code not in (409, 422):
                raise
            # A retried create whose first attempt landed: return the order that exists.
            existing = self.call(
                "GET",
                f"{self.base_url}/order",
                params={"ReferenceIds": key},
                headers=headers,
                operation="list order",
            )
            if isinstance(existing.data, list) and existing.data:
                found = existing.data[0]
                if isinstance(found, dict):
                    return found
            raise
        return reply.data if isinstance(reply.data, dict) else {}

    def verify_webhook(self, headers: Mapping[str, str], body: bytes) -> WebhookEvent:
        h = lower_headers(headers)
        webhook_id = h.get("webhook-id", "")
        stamp = h.get("webhook-timestamp", "")
        if not webhook_id or not (stamp.isascii() and stamp.isdigit()):
            raise self.bad_signature("webhook-id or webhook-timestamp is missing")
        if abs(self.clock.now().timestamp() - int(stamp)) > _TOLERANCE:
            raise self.bad_signature("webhook-timestamp is outside the five-minute window")
        secret = self.secret("SHIPBOB_WEBHOOK_SECRET")
        try:
            key = base64.b64decode(secret.removeprefix("whsec_"), validate=True)
        except (binascii.Error, ValueError):
            key = secret.encode()  # a plain secret, not base64
        signed = f"{webhook_id}.{stamp}.".encode() + body
        expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
        given = [
            sig.partition(",")[2]
            for sig in h.get("webhook-signature", "").split()
            if sig.startswith("v1,")
        ]
        # Several signatures appear while a secret rotates; any one may match.
        if not any([signature_matches(sig, expected) for sig in given]):  # noqa: C419 - all compared
            raise self.bad_signature("webhook-signature does not match the body")
        payload = self.parse_webhook_json(body)
        topic = h.get("x-webhook-topic") or str(payload.get("topic", ""))
        entity = _TOPIC_ENTITY.get(topic.partition(".")[0])
        if entity is None:
            raise self.malformed_webhook(f"unsupported topic {topic!r}")
        return WebhookEvent(
            channel=self.channel,
            entity=entity,
            event_id=webhook_id,
            topic=topic,
            payload=payload,
            api_version=self.api_version,
        )

    def record_key(self, entity: str, record: Mapping[str, Any]) -> str | None:
        record_id = record.get("id", record.get("inventory_id"))
        if record_id is None:
            return None
        return f"shipbob:{entity}:{record_id}:{record.get('last_updated_at', '')}"
