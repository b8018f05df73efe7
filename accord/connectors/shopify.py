"""Shopify Admin API: REST and GraphQL, pinned to one API version.

* Authentication: the ``X-Shopify-Access-Token`` header (credential ``SHOPIFY_ACCESS_TOKEN``);
  the shop domain comes from ``SHOPIFY_SHOP`` (``acme.myshopify.com``).
* Pagination: REST lists follow the ``Link`` header's ``page_info`` cursor
  (https://shopify.dev/docs/api/usage/pagination-rest); GraphQL connections follow
  ``pageInfo.endCursor`` (:meth:`ShopifyConnector.graphql_pages`).
* Rate limits: two leaky buckets. REST reads ``X-Shopify-Shop-Api-Call-Limit: 32/40``
  (40 requests, leaking 2 per second); GraphQL reads ``extensions.cost.throttleStatus`` and
  treats a ``THROTTLED`` error delivered with HTTP 200 as a quota error whose wait is computed
  from the restore rate (https://shopify.dev/docs/api/usage/limits).
* Idempotency: inventory adjustments and refunds go through GraphQL mutations carrying
  ``@idempotent(key: ...)`` (supported from 2026-01, required from 2026-04).
* Completing events: an inventory level (webhook or listing) is handed to the engine with
  its inventory item, ``{"level", "item"}``, fetched and cached, since the SKU lives on
  the item; a product with the shop, ``{"product", "shop"}``, fetched and cached, since
  variant prices are in the shop's currency, which only the shop names
  (:meth:`ShopifyConnector.complete`).
* Webhooks: base64 HMAC-SHA256 of the raw body with ``SHOPIFY_WEBHOOK_SECRET``, compared in
  constant time against ``X-Shopify-Hmac-Sha256``; ``X-Shopify-Webhook-Id`` is the event id.
* Version: requests go to ``/admin/api/{api_version}/``; the version Shopify actually served
  (``X-Shopify-API-Version``) is recorded in :attr:`ShopifyConnector.served_api_version` and on
  every page and webhook event, and a mismatch is logged (Shopify silently falls forward when
  a pinned version is retired).
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import httpx2

from accord.clock import Clock
from accord.diagnostics import Diagnostic
from accord.errors import ConnectorError, QuotaError, RequestRejectedError

from .base import GRAPHQL_ERROR, Connector, Page, Reply, WebhookEvent, as_number
from .ratelimit import LeakyBucket
from .retry import RetryPolicy, Sleep
from .secrets import SecretsProvider
from .webhooks import hmac_sha256_base64, lower_headers, signature_matches

__all__ = ["ShopifyConnector"]

log = logging.getLogger("accord.connectors.shopify")

_LINK_NEXT = re.compile(r'<([^>]+)>\s*;\s*rel="?next"?')

# entity -> (REST collection, JSON key of one record)
_REST: dict[str, tuple[str, str]] = {
    "order": ("orders", "order"),
    "product": ("products", "product"),
    "customer": ("customers", "customer"),
    # needs SHOPIFY_LOCATION_IDS (Shopify refuses to list levels without a filter)
    "inventory_level": ("inventory_levels", "inventory_level"),
}

_ITEM_CACHE_SIZE = 10_000  # inventory items kept for stock levels

# webhook topic prefix -> entity (the names of mappings/shopify/<entity>.inbound.yaml)
_TOPIC_ENTITY = {
    "orders": "order",
    "products": "product",
    "customers": "customer",
    "refunds": "refund",
    "inventory_levels": "inventory_level",
    "inventory_items": "inventory_item",
    "fulfillments": "fulfillment",
    "fulfillment_orders": "fulfillment_order",
}

_INVENTORY_ADJUST = """\
mutation AccordInventoryAdjust($input: InventoryAdjustQuantitiesInput!, $key: String!) {
  inventoryAdjustQuantities(input: $input) @idempotent(key: $key) {
    inventoryAdjustmentGroup { id reason changes { name delta } }
    userErrors { field message code }
  }
}"""

_INVENTORY_SET = """\
mutation AccordInventorySet($input: InventorySetQuantitiesInput!, $key: String!) {
  inventorySetQuantities(input: $input) @idempotent(key: $key) {
    inventoryAdjustmentGroup { id reason changes { name delta } }
    userErrors { field message code }
  }
}"""

_REFUND_CREATE = """\
mutation AccordRefundCreate($input: RefundInput!, $key: String!) {
  refundCreate(input: $input) @idempotent(key: $key) {
    refund { id totalRefundedSet { shopMoney { amount currencyCode } } }
    userErrors { field message }
  }
}"""

# entity -> (mutation, payload field, result field)
_MUTATIONS: dict[str, tuple[str, str, str]] = {
    "inventory_adjustment": (
        _INVENTORY_ADJUST,
        "inventoryAdjustQuantities",
        "inventoryAdjustmentGroup",
    ),
    "inventory_level": (_INVENTORY_SET, "inventorySetQuantities", "inventoryAdjustmentGroup"),
    "refund": (_REFUND_CREATE, "refundCreate", "refund"),
}


class ShopifyConnector(Connector):
    """Shopify Admin API client.

    >>> import httpx2
    >>> from accord.connectors.secrets import StaticSecrets
    >>> shop = ShopifyConnector(httpx2.Client(), secrets=StaticSecrets(
    ...     {"SHOPIFY_SHOP": "acme.myshopify.com", "SHOPIFY_ACCESS_TOKEN": "shpat_x"}))
    >>> shop.base_url
    'https://acme.myshopify.com/admin/api/2026-01'
    """

    channel: ClassVar[str] = "shopify"
    api_version: ClassVar[str | None] = "2026-01"
    entities: ClassVar[tuple[str, ...]] = tuple(_REST)

    def __init__(
        self,
        client: httpx2.Client,
        *,
        secrets: SecretsProvider | None = None,
        retry: RetryPolicy | None = None,
        clock: Clock | None = None,
        sleep: Sleep | None = None,
        api_version: str | None = None,
        item_cache_ttl: timedelta = timedelta(hours=1),
    ) -> None:
        super().__init__(client, secrets=secrets, retry=retry, clock=clock, sleep=sleep)
        self.pinned_version: str = api_version or self.api_version or ""
        #: The version Shopify says it served (``X-Shopify-API-Version``), once known.
        self.served_api_version: str | None = None
        self.rest_bucket = LeakyBucket(capacity=40, leak_rate=2, clock=self.clock)
        self.graphql_bucket = LeakyBucket(capacity=2000, leak_rate=100, clock=self.clock)
        #: How long a fetched inventory item (the SKU of a stock level) is reused.
        self.item_cache_ttl = item_cache_ttl
        self._items: dict[str, tuple[datetime, dict[str, Any]]] = {}
        self._items_lock = threading.Lock()
        self._shop: tuple[datetime, dict[str, Any]] | None = None

    @property
    def base_url(self) -> str:
        shop = self.setting("SHOPIFY_SHOP").removeprefix("https://").rstrip("/")
        return f"https://{shop}/admin/api/{self.pinned_version}"

    # -- hooks ----------------------------------------------------------------------------

    def prepare(self, request: httpx2.Request) -> httpx2.Request:
        request.headers["X-Shopify-Access-Token"] = self.secret("SHOPIFY_ACCESS_TOKEN")
        return request

    def wait_before(self, operation: str, cost: float) -> float:
        bucket = self.graphql_bucket if operation.startswith("graphql") else self.rest_bucket
        wait = bucket.wait_time(cost)
        bucket.add(cost)
        return wait

    def observe(self, reply: Reply, operation: str) -> None:
        served = reply.headers.get("x-shopify-api-version")
        if served and served != self.served_api_version:
            self.served_api_version = served
            if served != self.pinned_version:
                log.warning(
                    "shopify served API version %s, not the pinned %s",
                    served,
                    self.pinned_version,
                )
        limit = reply.headers.get("x-shopify-shop-api-call-limit")
        if limit:
            used, _, capacity = limit.partition("/")
            level = as_number(used, -1.0)
            if level >= 0:  # an unreadable header leaves the bucket as it was
                self.rest_bucket.observe(level, as_number(capacity, self.rest_bucket.capacity))
        status = _throttle_status(reply.data)
        if status is not None:
            self.graphql_bucket.observe_available(
                as_number(status.get("currentlyAvailable"), 0.0),
                as_number(status.get("maximumAvailable"), self.graphql_bucket.capacity),
                as_number(status.get("restoreRate"), self.graphql_bucket.leak_rate),
            )

    def classify(self, reply: Reply, operation: str) -> ConnectorError | None:
        error = super().classify(reply, operation)
        if error is not None or not operation.startswith("graphql"):
            return error
        errors = reply.data.get("errors") if isinstance(reply.data, dict) else None
        if not errors:
            return None
        codes = [
            str(e.get("extensions", {}).get("code", ""))
            for e in errors
            if isinstance(e, dict) and isinstance(e.get("extensions", {}), dict)
        ]
        if "THROTTLED" in codes:
            # Throttling arrives as HTTP 200: wait until the bucket holds the query's cost.
            message = self._message(operation, "THROTTLED (HTTP 200)")
            return QuotaError(
                message,
                diagnostics=(
                    Diagnostic(
                        code=QuotaError.default_code,
                        message=message,
                        details=self._details(operation, reply.status_code),
                    ),
                ),
                status_code=reply.status_code,
                retry_after=_throttle_wait(reply.data),
            )
        text = "; ".join(str(e.get("message", e)) for e in errors if isinstance(e, dict))
        message = self._message(operation, "GraphQL error", text or reply.text)
        return RequestRejectedError(
            message,
            diagnostics=(
                Diagnostic(
                    code=GRAPHQL_ERROR,
                    message=message,
                    details=self._details(operation, reply.status_code),
                ),
            ),
            status_code=reply.status_code,
        )

    # -- REST -----------------------------------------------------------------------------

    def _collection(self, entity: str) -> tuple[str, str]:
        try:
            return _REST[entity]
        except KeyError:
            raise self.rejected(f"unknown entity {entity!r}; known: {', '.join(_REST)}") from None

    def list_page(
        self,
        entity: str,
        *,
        cursor: str | None = None,
        since: datetime | None = None,
        page_size: int | None = None,
    ) -> Page:
        collection, _ = self._collection(entity)
        params: dict[str, str | int] = {"limit": page_size or 250}
        if cursor is not None:
            # With page_info Shopify accepts only limit and fields: the filters are in it.
            params["page_info"] = cursor
        else:
            if since is not None:
                params["updated_at_min"] = since.astimezone(UTC).isoformat()
            if entity == "order":
                params["status"] = "any"
            if entity == "inventory_level":
                locations = self.setting("SHOPIFY_LOCATION_IDS")
                params["location_ids"] = ",".join(x.strip() for x in locations.split(","))
        reply = self.call(
            "GET", f"{self.base_url}/{collection}.json", params=params, operation=f"list {entity}"
        )
        items = reply.data.get(collection) if isinstance(reply.data, dict) else None
        if not isinstance(items, list):
            raise self.malformed_reply(reply, f"list {entity}", f"no {collection!r} list")
        return Page(
            entity=entity,
            items=tuple(i for i in items if isinstance(i, dict)),
            cursor=cursor,
            next_cursor=_next_page_info(reply.headers.get("link")),
            api_version=self.served_api_version or self.pinned_version,
        )

    def get(self, entity: str, id: str) -> dict[str, Any]:
        if entity == "inventory_level":
            raise self.rejected("inventory levels have no id of their own; list them")
        collection, key = self._collection(entity)
        reply = self.call(
            "GET", f"{self.base_url}/{collection}/{id}.json", operation=f"get {entity}"
        )
        record = reply.data.get(key) if isinstance(reply.data, dict) else None
        if not isinstance(record, dict):
            raise self.malformed_reply(reply, f"get {entity}", f"no {key!r} object")
        return record

    def update_rest(
        self, entity: str, id: str, record: Mapping[str, Any], *, idempotency_key: str
    ) -> dict[str, Any]:
        """REST ``PUT``: setting fields to values is idempotent by itself; the key is sent as
        ``Idempotency-Key`` so proxies and logs can correlate retries."""
        collection, key = self._collection(entity)
        reply = self.call(
            "PUT",
            f"{self.base_url}/{collection}/{id}.json",
            json_body={key: dict(record)},
            headers={"Idempotency-Key": idempotency_key},
            operation=f"update {entity}",
        )
        result = reply.data.get(key) if isinstance(reply.data, dict) else None
        if not isinstance(result, dict):
            raise self.malformed_reply(reply, f"update {entity}", f"no {key!r} object")
        return result

    def create(
        self, entity: str, record: Mapping[str, Any], *, idempotency_key: str
    ) -> dict[str, Any]:
        """Write through an ``@idempotent`` GraphQL mutation.

        * ``inventory_adjustment``: a delta, as the outbound mapping's REST adjust body
          (``location_id``, ``inventory_item_id``, ``available_adjustment``) or an
          ``InventoryAdjustQuantitiesInput``;
        * ``inventory_level``: an absolute quantity, as the REST set body (``location_id``,
          ``inventory_item_id``, ``available``) or an ``InventorySetQuantitiesInput``;
        * ``refund``: a ``RefundInput``.

        Other creates are not offered: Shopify REST ignores idempotency keys, GraphQL
        ``orderCreate``/``productCreate``/``customerCreate`` do not accept ``@idempotent``
        (2026-01), and a lookup before each try would read a search index updated
        asynchronously; a create retried after a timeout could duplicate an order.
        """
        if entity not in _MUTATIONS:
            raise self.rejected(
                f"creating {entity!r} is not supported; idempotent creates: "
                + ", ".join(_MUTATIONS)
            )
        if not idempotency_key.strip():
            raise self.rejected("an idempotency key must not be blank")
        mutation, field_name, result_name = _MUTATIONS[entity]
        data = self.graphql(
            mutation,
            {"input": self._mutation_input(entity, record), "key": idempotency_key},
            operation=f"create {entity}",
        )
        payload = data.get(field_name)
        if not isinstance(payload, dict):
            raise self.rejected(f"create {entity}: response has no {field_name!r}")
        user_errors = payload.get("userErrors") or []
        if user_errors:
            text = "; ".join(
                f"{'.'.join(map(str, e.get('field') or []))}: {e.get('message')}"
                for e in user_errors
                if isinstance(e, dict)
            )
            raise self.rejected(f"create {entity} refused: {text}", code=GRAPHQL_ERROR)
        result = payload.get(result_name)
        return result if isinstance(result, dict) else {}

    def _mutation_input(self, entity: str, record: Mapping[str, Any]) -> dict[str, Any]:
        if entity == "inventory_adjustment" and "changes" not in record:
            return {
                "reason": str(record.get("reason", "correction")),
                "name": "available",
                "changes": [
                    {
                        "delta": self._int(record, "available_adjustment"),
                        "inventoryItemId": _gid(
                            "InventoryItem", self._id(record, "inventory_item_id")
                        ),
                        "locationId": _gid("Location", self._id(record, "location_id")),
                    }
                ],
            }
        if entity == "inventory_level" and "quantities" not in record:
            return {
                "reason": str(record.get("reason", "correction")),
                "name": "available",
                "quantities": [
                    {
                        "quantity": self._int(record, "available"),
                        "inventoryItemId": _gid(
                            "InventoryItem", self._id(record, "inventory_item_id")
                        ),
                        "locationId": _gid("Location", self._id(record, "location_id")),
                        # An explicit null opts out of the compare-and-set check: the ledger
                        # already decided the absolute figure.
                        "changeFromQuantity": None,
                    }
                ],
            }
        return dict(record)

    def _id(self, record: Mapping[str, Any], key: str) -> str:
        value = record.get(key)
        if value is None or isinstance(value, bool) or str(value).strip() == "":
            raise self.rejected(f"{key} is required")
        return str(value)

    def _int(self, record: Mapping[str, Any], key: str) -> int:
        value = record.get(key)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.rejected(f"{key} must be an integer, not {type(value).__name__}")
        return value

    def update(
        self, entity: str, id: str, record: Mapping[str, Any], *, idempotency_key: str
    ) -> dict[str, Any]:
        """``inventory_level`` goes through :meth:`create` (an idempotent set); other
        entities are REST ``PUT`` updates (see :meth:`update_rest`)."""
        if entity == "inventory_level":
            return self.create(entity, record, idempotency_key=idempotency_key)
        return self.update_rest(entity, id, record, idempotency_key=idempotency_key)

    # -- GraphQL --------------------------------------------------------------------------

    def graphql(
        self,
        query: str,
        variables: Mapping[str, Any] | None = None,
        *,
        operation: str = "query",
        cost: float = 10.0,
    ) -> dict[str, Any]:
        """Run a GraphQL document; return ``data``. ``cost`` is the expected query cost the
        client-side bucket reserves before sending."""
        reply = self.call(
            "POST",
            f"{self.base_url}/graphql.json",
            json_body={"query": query, "variables": dict(variables or {})},
            operation=f"graphql {operation}",
            cost=cost,
        )
        data = reply.data.get("data") if isinstance(reply.data, dict) else None
        if not isinstance(data, dict):
            raise self.malformed_reply(reply, f"graphql {operation}", "no 'data' object")
        return data

    def graphql_pages(
        self,
        query: str,
        connection: Sequence[str],
        *,
        entity: str,
        variables: Mapping[str, Any] | None = None,
        cursor: str | None = None,
        cost: float = 10.0,
    ) -> Iterator[Page]:
        """Follow a GraphQL connection with ``$after``/``pageInfo.endCursor``.

        ``query`` takes an ``$after: String`` variable; ``connection`` is the path from
        ``data`` to the connection (``["orders"]``), which selects ``nodes`` (or
        ``edges { node }``) and ``pageInfo { hasNextPage endCursor }``.
        """
        while True:
            data: Any = self.graphql(
                query, {**(variables or {}), "after": cursor}, operation=f"list {entity}", cost=cost
            )
            for key in connection:
                data = data.get(key) if isinstance(data, dict) else None
            if not isinstance(data, dict):
                raise self.rejected(f"graphql list {entity}: no connection at {list(connection)}")
            nodes = data.get("nodes")
            if nodes is None:
                nodes = [e.get("node") for e in data.get("edges") or [] if isinstance(e, dict)]
            info = data.get("pageInfo") or {}
            next_cursor = info.get("endCursor") if info.get("hasNextPage") else None
            yield Page(
                entity=entity,
                items=tuple(n for n in nodes if isinstance(n, dict)),
                cursor=cursor,
                next_cursor=str(next_cursor) if next_cursor else None,
                api_version=self.served_api_version or self.pinned_version,
            )
            if not next_cursor:
                return
            cursor = str(next_cursor)

    # -- webhooks -------------------------------------------------------------------------

    def verify_webhook(self, headers: Mapping[str, str], body: bytes) -> WebhookEvent:
        h = lower_headers(headers)
        secret = self.secret("SHOPIFY_WEBHOOK_SECRET")
        expected = hmac_sha256_base64(secret.encode(), body)
        if not signature_matches(h.get("x-shopify-hmac-sha256"), expected):
            raise self.bad_signature("X-Shopify-Hmac-Sha256 does not match the body")
        webhook_id = h.get("x-shopify-webhook-id") or h.get("x-shopify-event-id")
        if not webhook_id:
            raise self.malformed_webhook("X-Shopify-Webhook-Id is missing")
        topic = h.get("x-shopify-topic", "")
        entity = _TOPIC_ENTITY.get(topic.partition("/")[0])
        if entity is None:
            raise self.malformed_webhook(f"unsupported topic {topic!r}")
        payload = self.parse_webhook_json(body)
        return WebhookEvent(
            channel=self.channel,
            entity=entity,
            event_id=webhook_id,
            topic=topic,
            payload=payload,
            api_version=h.get("x-shopify-api-version"),
        )

    # -- completing events ----------------------------------------------------------------

    def complete(
        self, entity: str, payload: Mapping[str, Any], *, topic: str | None = None
    ) -> tuple[str, dict[str, Any]] | None:
        """An inventory level becomes ``{"level", "item"}``, the inputs of
        ``mappings/shopify/inventory_level.inbound.yaml``: Shopify never puts the SKU on a
        level, so the level's inventory item is fetched (and cached). A product becomes
        ``{"product", "shop"}``, the inputs of ``mappings/shopify/product.inbound.yaml``:
        variant prices are in the shop's currency, so the shop is fetched (and cached).
        Other entities are handed over as they are."""
        if entity == "product" and not ("product" in payload and "shop" in payload):
            wrapped = payload.get("product")
            product = dict(wrapped) if isinstance(wrapped, Mapping) else dict(payload)
            return entity, {"product": product, "shop": self.shop()}
        if entity != "inventory_level" or ("level" in payload and "item" in payload):
            return entity, dict(payload)
        wrapped = payload.get("inventory_level")
        level = dict(wrapped) if isinstance(wrapped, Mapping) else dict(payload)
        item_id = level.get("inventory_item_id")
        if item_id is None or isinstance(item_id, bool) or str(item_id).strip() == "":
            # Nothing to join on: the spec refuses it, and the engine keeps it as a dead letter.
            return entity, {"level": level, "item": {}}
        return entity, {"level": level, "item": self.inventory_item(str(item_id))}

    def shop(self) -> dict[str, Any]:
        """``GET shop.json``, cached for :attr:`item_cache_ttl` (every product event needs
        the shop's currency, which changes next to never)."""
        now = self.clock.now()
        with self._items_lock:
            cached = self._shop
        if cached is not None and now - cached[0] < self.item_cache_ttl:
            return cached[1]
        operation = "get shop"
        reply = self.call("GET", f"{self.base_url}/shop.json", operation=operation)
        shop = reply.data.get("shop") if isinstance(reply.data, dict) else None
        if not isinstance(shop, dict):
            raise self.malformed_reply(reply, operation, "no 'shop' object")
        with self._items_lock:
            self._shop = (now, shop)
        return shop

    def inventory_item(self, id: str) -> dict[str, Any]:
        """``GET inventory_items/{id}.json``, cached for :attr:`item_cache_ttl` (a burst of
        stock updates touches the same few items, and an item's SKU rarely changes)."""
        now = self.clock.now()
        with self._items_lock:  # webhook completions run on several threads
            cached = self._items.get(id)
        if cached is not None and now - cached[0] < self.item_cache_ttl:
            return cached[1]
        operation = "get inventory_item"
        reply = self.call("GET", f"{self.base_url}/inventory_items/{id}.json", operation=operation)
        item = reply.data.get("inventory_item") if isinstance(reply.data, dict) else None
        if not isinstance(item, dict):
            raise self.malformed_reply(reply, operation, "no 'inventory_item' object")
        with self._items_lock:
            self._items.pop(id, None)
            if len(self._items) >= _ITEM_CACHE_SIZE:
                self._items.pop(next(iter(self._items)))  # the oldest entry
            self._items[id] = (now, item)
        return item

    def record_key(self, entity: str, record: Mapping[str, Any]) -> str | None:
        if entity == "inventory_level":
            item, location = record.get("inventory_item_id"), record.get("location_id")
            if item is None or location is None:
                return None
            return f"shopify:{entity}:{item}@{location}:{record.get('updated_at', '')}"
        if record.get("id") is None:
            return None
        return f"shopify:{entity}:{record['id']}:{record.get('updated_at', '')}"


def _gid(kind: str, value: object) -> str:
    """A GraphQL global id from a REST id (``808950810`` -> ``gid://shopify/InventoryItem/...``)."""
    text = str(value)
    return text if text.startswith("gid://") else f"gid://shopify/{kind}/{text}"


def _next_page_info(link: str | None) -> str | None:
    if not link:
        return None
    match = _LINK_NEXT.search(link)
    if match is None:
        return None
    try:
        return httpx2.URL(match.group(1)).params.get("page_info") or None
    except httpx2.InvalidURL:
        return None


def _throttle_status(data: Any) -> dict[str, Any] | None:
    if not isinstance(data, dict):
        return None
    ext = data.get("extensions")
    cost = ext.get("cost") if isinstance(ext, dict) else None
    status = cost.get("throttleStatus") if isinstance(cost, dict) else None
    return status if isinstance(status, dict) else None


def _throttle_wait(data: Any) -> float:
    """Seconds until the bucket holds the requested cost: (cost - available) / restore rate."""
    status = _throttle_status(data) or {}
    ext = data.get("extensions") if isinstance(data, dict) else None
    cost = ext.get("cost") if isinstance(ext, dict) else None
    requested = as_number(cost.get("requestedQueryCost"), 0.0) if isinstance(cost, dict) else 0.0
    available = as_number(status.get("currentlyAvailable"), 0.0)
    rate = as_number(status.get("restoreRate"), 0.0)
    if rate <= 0:
        return 1.0
    return max((requested - available) / rate, 0.0)
