"""Amazon Selling Partner API.

* Authentication: Login with Amazon (LWA). The refresh token (``AMAZON_LWA_REFRESH_TOKEN``)
  and the app's ``AMAZON_LWA_CLIENT_ID``/``AMAZON_LWA_CLIENT_SECRET`` are exchanged at
  ``https://api.amazon.com/auth/o2/token`` for an access token that lives ``expires_in``
  seconds (an hour); it is cached, renewed a minute early, and dropped when SP-API answers
  401/403 (a token expiring in the middle of a backfill). Requests carry it in
  ``x-amz-access-token``; AWS SigV4 signing has not been required since October 2023.
  (https://developer-docs.amazon.com/sp-api/docs/connecting-to-the-selling-partner-api)
* Pagination: ``NextToken`` in the payload, sent back with the marketplace ids. Each order
  comes with its items (``getOrderItems``, itself paged by ``NextToken``) as
  ``{"order": ..., "items": {"OrderItems": [...]}}``, the named inputs the shipped v0 order
  mapping reads; ``combine_items=False`` hands over bare orders.
* Returns: External Fulfillment Returns 2024-09-11 (``listReturns`` with ``lastUpdatedSince``
  and ``nextToken``, which may come with an empty page; ``getReturn``), the records
  ``mappings/amazon/return.inbound.yaml`` reads, without the pickup one-time password.
* Rate limits: one token bucket per operation, seeded with the documented default rate and
  burst and updated from ``x-amzn-RateLimit-Limit`` on every reply; a 429 without
  ``Retry-After`` waits one token's worth (``1 / rate``).
  (https://developer-docs.amazon.com/sp-api/docs/usage-plans-and-rate-limits)
* Push: listings quantity (``update("inventory", sku, ...)``, a ``replace`` patch) and
  Multi-Channel Fulfillment orders (``create("fulfillment_order", ...)``), looked up by their
  ``sellerFulfillmentOrderId`` before every try so a timed-out create is not sent twice.
* Notifications: SP-API delivers ``ORDER_CHANGE`` and friends through SQS or EventBridge,
  not signed webhooks. :func:`parse_notification` unwraps an SQS message, an SNS envelope,
  an EventBridge event or a bare notification. For an EventBridge API destination posting
  to ``accord serve``, :meth:`AmazonConnector.verify_webhook` checks the shared secret the
  destination's connection sends (``AMAZON_WEBHOOK_TOKEN``, as ``Authorization: Bearer`` or
  ``x-api-key``) in constant time.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, ClassVar
from urllib.parse import quote, urlencode

import httpx2

from accord.clock import Clock
from accord.diagnostics import Diagnostic
from accord.errors import AuthError, ConnectorError, QuotaError, RequestRejectedError

from .base import Connector, Page, Reply, WebhookEvent, as_number, loads
from .oauth import TokenCache
from .ratelimit import TokenBucket
from .retry import RetryPolicy, Sleep
from .secrets import SecretsProvider
from .webhooks import lower_headers, signature_matches

__all__ = ["Amazon2026Connector", "AmazonConnector", "parse_notification"]

log = logging.getLogger("accord.connectors.amazon")

LWA_TOKEN_URL = "https://api.amazon.com/auth/o2/token"
_RETURNS_PATH = "/externalFulfillment/2024-09-11/returns"
_RETURNS_VERSION = "external-fulfillment-2024-09-11"
_LWA_OPERATION = "lwa token"

# operation -> (requests per second, burst): SP-API's documented defaults.
_DEFAULT_LIMITS: dict[str, tuple[float, float]] = {
    "getOrders": (0.0167, 20),
    "getOrder": (0.5, 30),
    "getOrderItems": (0.5, 30),
    "getOrderAddress": (0.5, 30),
    "patchListingsItem": (5.0, 10),
    "getListingsItem": (5.0, 10),
    "getInventorySummaries": (2.0, 2),
    "searchOrders": (0.0167, 20),
    "getOrder2026": (0.5, 30),
    # External Fulfillment returns publish no default; a conservative guess, corrected by the
    # first x-amzn-RateLimit-Limit header.
    "createFulfillmentOrder": (2.0, 30),
    "getFulfillmentOrder": (2.0, 30),
    "listReturns": (1.0, 5),
    "getReturn": (1.0, 5),
}

# NotificationType -> entity where a shipped mapping reads it: ORDER_CHANGE is an ``order`` of
# the ``amazon_notifications`` channel (mappings/amazon_notifications/order.inbound.yaml).
# Other types keep their name in lower case (``fba_inventory_availability_changes``).
_NOTIFICATION_ENTITY = {"ORDER_CHANGE": "order", "ORDER_STATUS_CHANGE": "order"}
_NOTIFICATION_TYPES = frozenset(
    {
        "ORDER_CHANGE",
        "ORDER_STATUS_CHANGE",
        "ANY_OFFER_CHANGED",
        "FBA_INVENTORY_AVAILABILITY_CHANGES",
        "LISTINGS_ITEM_MFN_QUANTITY_CHANGE",
        "LISTINGS_ITEM_STATUS_CHANGE",
        "FULFILLMENT_ORDER_STATUS",
    }
)


class AmazonConnector(Connector):
    """SP-API client (orders, order items, listings inventory).

    ``marketplace_ids`` default to ``AMAZON_MARKETPLACE_IDS`` (comma separated) and then to
    the US marketplace.
    """

    channel: ClassVar[str] = "amazon"
    api_version: ClassVar[str | None] = "orders/v0"
    entities: ClassVar[tuple[str, ...]] = ("order", "inventory_level", "return")

    def __init__(
        self,
        client: httpx2.Client,
        *,
        secrets: SecretsProvider | None = None,
        retry: RetryPolicy | None = None,
        clock: Clock | None = None,
        sleep: Sleep | None = None,
        endpoint: str = "https://sellingpartnerapi-na.amazon.com",
        marketplace_ids: Sequence[str] | None = None,
        combine_items: bool = True,
    ) -> None:
        super().__init__(client, secrets=secrets, retry=retry, clock=clock, sleep=sleep)
        #: Orders come as ``{"order": ..., "items": {"OrderItems": [...]}}``, the named inputs
        #: of mappings/amazon/order.inbound.yaml (one getOrderItems call per order).
        self.combine_items = combine_items
        self.endpoint = endpoint.rstrip("/")
        if marketplace_ids is None:
            configured = self.secrets.get("AMAZON_MARKETPLACE_IDS") or "ATVPDKIKX0DER"
            marketplace_ids = [m.strip() for m in configured.split(",") if m.strip()]
        self.marketplace_ids = tuple(marketplace_ids)
        self.token = TokenCache(self.clock)
        self.buckets: dict[str, TokenBucket] = {}

    # -- authentication -------------------------------------------------------------------

    def access_token(self) -> str:
        """A valid LWA access token, exchanging the refresh token when needed."""
        cached = self.token.get()
        if cached is not None:
            return cached
        form = {
            "grant_type": "refresh_token",
            "refresh_token": self.secret("AMAZON_LWA_REFRESH_TOKEN"),
            "client_id": self.secret("AMAZON_LWA_CLIENT_ID"),
            "client_secret": self.secret("AMAZON_LWA_CLIENT_SECRET"),
        }
        reply = self.call(
            "POST",
            LWA_TOKEN_URL,
            content=urlencode(form).encode(),
            headers={"content-type": "application/x-www-form-urlencoded;charset=UTF-8"},
            operation=_LWA_OPERATION,
        )
        data = reply.data if isinstance(reply.data, dict) else {}
        token = data.get("access_token")
        if not isinstance(token, str) or not token:
            raise self.malformed_reply(reply, _LWA_OPERATION, "no access_token")
        self.redactor.add(token)
        self.token.store(token, expires_in=as_number(data.get("expires_in"), 3600.0))
        return token

    def prepare(self, request: httpx2.Request) -> httpx2.Request:
        if str(request.url).startswith(LWA_TOKEN_URL):
            return request  # the token exchange authenticates with its form body
        request.headers["x-amz-access-token"] = self.access_token()
        return request

    def refresh_credentials(self) -> None:
        super().refresh_credentials()
        self.token.clear()

    # -- rate limits ----------------------------------------------------------------------

    def bucket(self, operation: str) -> TokenBucket:
        """The token bucket of one SP-API operation."""
        if operation not in self.buckets:
            rate, burst = _DEFAULT_LIMITS.get(operation, (1.0, 5))
            self.buckets[operation] = TokenBucket(rate=rate, burst=burst, clock=self.clock)
        return self.buckets[operation]

    def wait_before(self, operation: str, cost: float) -> float:
        if operation == _LWA_OPERATION:
            return 0.0
        bucket = self.bucket(operation)
        wait = bucket.wait_time()
        bucket.take()
        return wait

    def observe(self, reply: Reply, operation: str) -> None:
        limit = reply.headers.get("x-amzn-ratelimit-limit")
        if limit and operation != _LWA_OPERATION:
            # An unreadable header keeps the documented default.
            self.bucket(operation).set_rate(as_number(limit, 0.0))

    def classify(self, reply: Reply, operation: str) -> ConnectorError | None:
        error = super().classify(reply, operation)
        if error is None:
            return None
        if operation == _LWA_OPERATION and reply.status_code in (400, 401):
            # invalid_grant / invalid_client: the refresh token or app credentials are bad.
            message = self._message(operation, f"HTTP {reply.status_code}", reply.text)
            return AuthError(
                message,
                diagnostics=(Diagnostic(code=AuthError.default_code, message=message),),
                status_code=reply.status_code,
            )
        if isinstance(error, QuotaError) and error.retry_after is None:
            rate = self.bucket(operation).rate
            error.retry_after = 1.0 / rate if rate > 0 else None
        return error

    # -- pull -----------------------------------------------------------------------------

    def list_page(
        self,
        entity: str,
        *,
        cursor: str | None = None,
        since: datetime | None = None,
        page_size: int | None = None,
    ) -> Page:
        if entity == "inventory_level":
            return self._inventory_page(cursor, since)
        if entity == "return":
            return self._returns_page(cursor, since, page_size)
        if entity != "order":
            raise self.rejected(f"listing {entity!r} is not supported; use order_items()")
        params: dict[str, str | int] = {"MarketplaceIds": ",".join(self.marketplace_ids)}
        if cursor is not None:
            params["NextToken"] = cursor
        else:
            after = since or datetime(1970, 1, 1, tzinfo=UTC)
            params["LastUpdatedAfter"] = after.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            if page_size:
                params["MaxResultsPerPage"] = min(page_size, 100)
        reply = self.call(
            "GET", f"{self.endpoint}/orders/v0/orders", params=params, operation="getOrders"
        )
        payload = _payload(reply)
        orders = payload.get("Orders") if payload is not None else None
        if not isinstance(orders, list):
            raise self.malformed_reply(reply, "getOrders", "no payload.Orders list")
        found = [o for o in orders if isinstance(o, dict)]
        return Page(
            entity=entity,
            items=tuple(self._combined(o) for o in found) if self.combine_items else tuple(found),
            cursor=cursor,
            next_cursor=_next_token(payload),
            api_version=self.api_version,
        )

    def _combined(self, order: dict[str, Any]) -> dict[str, Any]:
        # The shipped v0 order mapping reads named inputs: the order and its items.
        order_id = order.get("AmazonOrderId")
        if not isinstance(order_id, str) or not order_id:
            raise self.rejected("an order without AmazonOrderId", code="CONN017")
        return {"order": order, "items": {"OrderItems": self.order_items(order_id)}}

    def _inventory_page(self, cursor: str | None, since: datetime | None) -> Page:
        # FBA Inventory v1: one summary per record, as mappings/amazon/inventory_level expects.
        marketplace = self.marketplace_ids[0]
        params: dict[str, str | int] = {
            "details": "true",
            "granularityType": "Marketplace",
            "granularityId": marketplace,
            "marketplaceIds": marketplace,
        }
        if cursor is not None:
            params["nextToken"] = cursor
        if since is not None:
            params["startDateTime"] = since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        reply = self.call(
            "GET",
            f"{self.endpoint}/fba/inventory/v1/summaries",
            params=params,
            operation="getInventorySummaries",
        )
        payload = _payload(reply)
        summaries = payload.get("inventorySummaries") if payload is not None else None
        if not isinstance(summaries, list):
            raise self.malformed_reply(
                reply, "getInventorySummaries", "no payload.inventorySummaries list"
            )
        pagination = reply.data.get("pagination") if isinstance(reply.data, dict) else None
        token = pagination.get("nextToken") if isinstance(pagination, dict) else None
        return Page(
            entity="inventory_level",
            items=tuple(i for i in summaries if isinstance(i, dict)),
            cursor=cursor,
            next_cursor=str(token) if token and summaries else None,
            api_version="fba-inventory-v1",
        )

    def _returns_page(self, cursor: str | None, since: datetime | None, size: int | None) -> Page:
        # External Fulfillment Returns 2024-09-11 ``listReturns``: the records
        # mappings/amazon/return.inbound.yaml reads. The token must travel with the same
        # arguments as the call that produced it, so the filter is sent on every page.
        params: dict[str, str | int] = {"maxResults": min(size or 100, 100)}
        if since is not None:
            params["lastUpdatedSince"] = since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        if cursor is not None:
            params["nextToken"] = cursor
        reply = self.call(
            "GET", f"{self.endpoint}{_RETURNS_PATH}", params=params, operation="listReturns"
        )
        data = reply.data if isinstance(reply.data, dict) else None
        found = data.get("returns", []) if data is not None else None
        if not isinstance(found, list):
            raise self.malformed_reply(reply, "listReturns", "no 'returns' list")
        token = data.get("nextToken") if data is not None else None
        # The API documents empty pages that still carry a token: follow it, unless it
        # repeats the cursor that fetched this page (which would loop forever).
        next_cursor = str(token) if token and str(token) != cursor else None
        return Page(
            entity="return",
            items=tuple(_without_otp(r) for r in found if isinstance(r, dict)),
            cursor=cursor,
            next_cursor=next_cursor,
            api_version=_RETURNS_VERSION,
        )

    def order_items(self, order_id: str) -> list[dict[str, Any]]:
        """Every item of one order, following ``NextToken``."""
        items: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            params: dict[str, str | int] = {"NextToken": token} if token else {}
            reply = self.call(
                "GET",
                f"{self.endpoint}/orders/v0/orders/{order_id}/orderItems",
                params=params,
                operation="getOrderItems",
            )
            payload = _payload(reply)
            page = payload.get("OrderItems") if payload is not None else None
            if not isinstance(page, list):
                raise self.malformed_reply(reply, "getOrderItems", "no payload.OrderItems list")
            items.extend(i for i in page if isinstance(i, dict))
            token = _next_token(payload)
            if token is None:
                return items

    def get(self, entity: str, id: str) -> dict[str, Any]:
        if entity == "return":
            reply = self.call(
                "GET", f"{self.endpoint}{_RETURNS_PATH}/{quote(id, safe='')}", operation="getReturn"
            )
            if not isinstance(reply.data, dict) or "id" not in reply.data:
                raise self.malformed_reply(reply, "getReturn", "not a return object")
            return _without_otp(reply.data)
        if entity != "order":
            raise self.rejected(f"getting {entity!r} is not supported")
        reply = self.call("GET", f"{self.endpoint}/orders/v0/orders/{id}", operation="getOrder")
        payload = _payload(reply)
        if payload is None:
            raise self.malformed_reply(reply, "getOrder", "no payload object")
        return self._combined(payload) if self.combine_items else payload

    # -- push -----------------------------------------------------------------------------

    def update(
        self, entity: str, id: str, record: Mapping[str, Any], *, idempotency_key: str
    ) -> dict[str, Any]:
        """Set a listing's merchant-fulfilled quantity (``entity="inventory_level"``, as every
        channel names a stock level, or ``"inventory"``; ``id`` = SKU,
        ``record = {"quantity": 5, "productType": "PRODUCT"}``) with a Listings Items
        ``PATCH`` ``replace``: the same patch applied twice leaves the same state, so a retry
        is safe. SP-API takes no idempotency header, so the key is only logged, to correlate
        retries."""
        if entity not in ("inventory_level", "inventory"):
            raise self.rejected(f"updating {entity!r} is not supported")
        seller = self.setting("AMAZON_SELLER_ID")
        log.info("amazon: inventory update for %s (idempotency key %s)", id, idempotency_key)
        quantity = record.get("quantity")
        if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 0:
            raise self.rejected("inventory update needs a non-negative integer 'quantity'")
        body = {
            "productType": record.get("productType", "PRODUCT"),
            "patches": [
                {
                    "op": "replace",
                    "path": "/attributes/fulfillment_availability",
                    "value": [
                        {
                            "fulfillment_channel_code": record.get(
                                "fulfillment_channel_code", "DEFAULT"
                            ),
                            "quantity": quantity,
                        }
                    ],
                }
            ],
        }
        reply = self.call(
            "PATCH",
            f"{self.endpoint}/listings/2021-08-01/items/{seller}/{id}",
            params={"marketplaceIds": ",".join(self.marketplace_ids)},
            json_body=body,
            operation="patchListingsItem",
        )
        return reply.data if isinstance(reply.data, dict) else {}

    def create(
        self, entity: str, record: Mapping[str, Any], *, idempotency_key: str
    ) -> dict[str, Any]:
        """Create a Multi-Channel Fulfillment order (``entity="fulfillment_order"``) from
        the body ``mappings/amazon/fulfillment_order.outbound.yaml`` produces.

        Its ``sellerFulfillmentOrderId`` is unique per seller and is the idempotency key
        Amazon honours: before every try the order is looked up by it
        (``getFulfillmentOrder``), so a create that timed out is found rather than sent
        again. Returns the existing fulfillment order, or ``{"sellerFulfillmentOrderId":
        ...}`` for a new one (Amazon answers a create with an empty payload).
        """
        if entity != "fulfillment_order":
            raise self.rejected(f"creating {entity!r} is not supported; known: fulfillment_order")
        order_id = record.get("sellerFulfillmentOrderId")
        if not isinstance(order_id, str) or not order_id.strip() or len(order_id) > 40:
            raise self.rejected(
                "create fulfillment_order: 'sellerFulfillmentOrderId' must be 1 to 40 characters"
            )
        log.info("amazon: fulfillment order %s (idempotency key %s)", order_id, idempotency_key)
        path = f"{self.endpoint}/fba/outbound/2020-07-01/fulfillmentOrders"

        def lookup() -> dict[str, Any] | None:
            return self.find_fulfillment_order(order_id)

        def send() -> dict[str, Any]:
            self.call(
                "POST",
                path,
                json_body=dict(record),
                operation="createFulfillmentOrder",
                retry_transient=False,
            )
            return {"sellerFulfillmentOrderId": order_id}

        return self.create_once(lookup, send, "createFulfillmentOrder")

    def find_fulfillment_order(self, seller_fulfillment_order_id: str) -> dict[str, Any] | None:
        """The fulfillment order with this id, or ``None`` when Amazon has none."""
        operation = "getFulfillmentOrder"
        try:
            reply = self.call(
                "GET",
                f"{self.endpoint}/fba/outbound/2020-07-01/fulfillmentOrders/"
                + quote(seller_fulfillment_order_id, safe=""),
                operation=operation,
            )
        except RequestRejectedError as exc:
            # 404, or the 400 "not found" some marketplaces answer for an unknown id.
            if exc.status_code == 404 or (
                exc.status_code == 400 and "not found" in str(exc).lower()
            ):
                return None
            raise
        payload = _payload(reply)
        order = payload.get("fulfillmentOrder") if payload is not None else None
        if not isinstance(order, dict):
            raise self.malformed_reply(reply, operation, "no payload.fulfillmentOrder")
        return order

    # -- notifications --------------------------------------------------------------------

    def verify_webhook(self, headers: Mapping[str, str], body: bytes) -> WebhookEvent:
        h = lower_headers(headers)
        expected = self.secret("AMAZON_WEBHOOK_TOKEN")
        given = h.get("x-api-key") or h.get("authorization", "").removeprefix("Bearer ")
        if not signature_matches(given, expected):
            raise self.bad_signature("the API destination's shared secret does not match")
        return self.parse_notification(self.parse_webhook_json(body))

    def parse_notification(self, envelope: Mapping[str, Any]) -> WebhookEvent:
        """Unwrap an SQS/SNS/EventBridge envelope into a :class:`WebhookEvent`."""
        try:
            return parse_notification(envelope)
        except ValueError as exc:
            raise self.malformed_webhook(str(exc)) from exc

    def record_key(self, entity: str, record: Mapping[str, Any]) -> str | None:
        if entity == "return":
            if record.get("id") is None:
                return None
            return f"amazon:return:{record['id']}:{record.get('lastUpdatedDateTime', '')}"
        if entity == "inventory_level":
            sku = record.get("sellerSku")
            if sku is None:
                return None
            return f"amazon:{entity}:{sku}:{record.get('lastUpdatedTime', '')}"
        order = record.get("order", record)
        order_id = order.get("AmazonOrderId") if isinstance(order, Mapping) else None
        if order_id is None:
            return None
        return f"amazon:{entity}:{order_id}:{order.get('LastUpdateDate', '')}"


def parse_notification(envelope: Mapping[str, Any]) -> WebhookEvent:
    """Turn an SP-API notification, in whatever envelope it arrived, into an event whose
    entity is ``order`` for ``ORDER_CHANGE`` (else the type in lower case) and whose payload is
    the whole notification (``NotificationType``, ``EventTime``, ``Payload``, ...), as
    ``mappings/amazon_notifications/order.inbound.yaml`` reads it: notifications belong to a
    project channel of kind ``amazon_notifications``, apart from the API's orders.

    The event id is the notification's own ``NotificationMetadata.NotificationId`` (stable
    across SQS redeliveries), falling back to the EventBridge event id or the message id.

    >>> event = parse_notification({
    ...     "MessageId": "sqs-1",
    ...     "Body": '{"NotificationType": "ORDER_CHANGE", "Payload": {"OrderChangeNotification":'
    ...             ' {"AmazonOrderId": "903-1"}}, "NotificationMetadata":'
    ...             ' {"NotificationId": "n-1"}}'})
    >>> event.entity, event.event_id, event.payload["Payload"]["OrderChangeNotification"]
    ('order', 'n-1', {'AmazonOrderId': '903-1'})

    Raises ``ValueError`` on an envelope it cannot read.
    """
    outer_ids: list[str] = []
    current: Any = envelope
    for _ in range(4):  # SQS Body -> SNS Message -> EventBridge detail -> notification
        if not isinstance(current, Mapping):
            raise ValueError("notification envelope is not a JSON object")
        if "NotificationType" in current or "notificationType" in current:
            break
        outer_ids.extend(
            current[k] for k in ("id", "MessageId", "messageId") if isinstance(current.get(k), str)
        )
        inner = None
        for key in ("detail", "Body", "body", "Message"):
            if key in current:
                inner = current[key]
                break
        if inner is None:
            raise ValueError("no notification found in the envelope")
        if isinstance(inner, str):
            try:
                inner = loads(inner)
            except ValueError as exc:
                raise ValueError("envelope body is not valid JSON") from exc
        current = inner
    else:
        raise ValueError("notification is nested too deeply")
    kind = str(current.get("NotificationType") or current.get("notificationType"))
    if kind not in _NOTIFICATION_TYPES:
        raise ValueError(f"unsupported notification type {kind!r}")
    payload = current.get("Payload") or current.get("payload")
    if not isinstance(payload, Mapping) or not payload:
        raise ValueError("notification has no Payload")
    metadata = current.get("NotificationMetadata") or current.get("notificationMetadata") or {}
    event_id = metadata.get("NotificationId") if isinstance(metadata, Mapping) else None
    event_id = event_id or (outer_ids[-1] if outer_ids else None)
    if not event_id:
        raise ValueError("notification has no NotificationId or message id")
    return WebhookEvent(
        channel="amazon",
        entity=_NOTIFICATION_ENTITY.get(kind, kind.lower()),
        event_id=str(event_id),
        topic=kind,
        payload=dict(current),
        api_version=str(current.get("PayloadVersion")) if current.get("PayloadVersion") else None,
    )


def _without_otp(record: dict[str, Any]) -> dict[str, Any]:
    # The carrier pickup one-time password is a credential of the customer's: the return
    # mapping ignores it, and it must not reach the store, a log or the dead-letter queue.
    return {k: v for k, v in record.items() if k != "otpDetails"}


def _payload(reply: Reply) -> dict[str, Any] | None:
    payload = reply.data.get("payload") if isinstance(reply.data, dict) else None
    return payload if isinstance(payload, dict) else None


def _next_token(payload: Mapping[str, Any] | None) -> str | None:
    token = payload.get("NextToken") if payload is not None else None
    return str(token) if token else None


class Amazon2026Connector(AmazonConnector):
    """SP-API Orders ``2026-01-01``: one call returns each order with its items, proceeds,
    fulfillment and (with the roles for it) buyer and recipient; ``paginationToken`` pages.

    Records go to the engine as the API returns them, what
    ``mappings/amazon_2026/order.inbound.yaml`` reads (``getOrder``'s ``{"order": ...}``
    wrapper is unwrapped by the mapping).
    """

    channel: ClassVar[str] = "amazon_2026"
    api_version: ClassVar[str | None] = "2026-01-01"
    entities: ClassVar[tuple[str, ...]] = ("order",)
    #: Datasets asked for; BUYER and RECIPIENT need restricted roles, so they are opt-in.
    included_data: tuple[str, ...] = ("PROCEEDS", "FULFILLMENT", "CANCELLATION")

    def list_page(
        self,
        entity: str,
        *,
        cursor: str | None = None,
        since: datetime | None = None,
        page_size: int | None = None,
    ) -> Page:
        if entity != "order":
            raise self.rejected(f"listing {entity!r} is not supported")
        params: dict[str, str | int] = {
            "marketplaceIds": ",".join(self.marketplace_ids),
            "includedData": ",".join(self.included_data),
            "maxResultsPerPage": min(page_size or 100, 100),
        }
        if cursor is not None:
            params["paginationToken"] = cursor
        # Exactly one of createdAfter / lastUpdatedAfter is required, on every page.
        after = since or datetime(1970, 1, 1, tzinfo=UTC)
        params["lastUpdatedAfter"] = after.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        reply = self.call(
            "GET",
            f"{self.endpoint}/orders/2026-01-01/orders",
            params=params,
            operation="searchOrders",
        )
        data = reply.data if isinstance(reply.data, dict) else None
        orders = data.get("orders") if data is not None else None
        if not isinstance(orders, list):
            raise self.malformed_reply(reply, "searchOrders", "no 'orders' list")
        pagination = data.get("pagination") if data is not None else None
        token = pagination.get("nextToken") if isinstance(pagination, dict) else None
        return Page(
            entity=entity,
            items=tuple(o for o in orders if isinstance(o, dict)),
            cursor=cursor,
            next_cursor=str(token) if token and orders else None,
            api_version=self.api_version,
        )

    def get(self, entity: str, id: str) -> dict[str, Any]:
        if entity != "order":
            raise self.rejected(f"getting {entity!r} is not supported")
        reply = self.call(
            "GET",
            f"{self.endpoint}/orders/2026-01-01/orders/{id}",
            params={"includedData": ",".join(self.included_data)},
            operation="getOrder2026",
        )
        if not isinstance(reply.data, dict):
            raise self.malformed_reply(reply, "getOrder", "not a JSON object")
        return reply.data

    def record_key(self, entity: str, record: Mapping[str, Any]) -> str | None:
        order = record.get("order", record)
        order_id = order.get("orderId") if isinstance(order, Mapping) else None
        if order_id is None:
            return None
        return f"amazon_2026:{entity}:{order_id}:{order.get('lastUpdatedTime', '')}"
