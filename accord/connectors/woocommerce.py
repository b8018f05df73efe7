"""WooCommerce REST API v3 (``/wp-json/wc/v3``).

* Authentication: HTTP Basic with the consumer key and secret over HTTPS
  (``WOOCOMMERCE_CONSUMER_KEY``, ``WOOCOMMERCE_CONSUMER_SECRET``); the store root comes from
  ``WOOCOMMERCE_URL``. Some hosts strip the ``Authorization`` header; ``query_auth=True`` sends
  the pair as ``consumer_key``/``consumer_secret`` query parameters instead, as the WooCommerce
  docs allow. (https://woocommerce.github.io/woocommerce-rest-api-docs/#authentication)
* Pagination: ``page``/``per_page`` with ``X-WP-TotalPages``; the cursor is the page number.
  Lists are ordered by id so pages stay stable while records change underneath.
* Completing events: a product (webhook or listing) is handed to the engine with its
  variations and the store's general settings, ``{"product", "variations", "settings"}``
  (:meth:`WooCommerceConnector.complete`); the settings need a key allowed to read them.
* Incremental pulls use ``modified_after`` with ``dates_are_gmt=true``.
* Webhooks: ``X-WC-Webhook-Signature`` is the base64 HMAC-SHA256 of the raw body with the
  webhook's secret (``WOOCOMMERCE_WEBHOOK_SECRET``), compared in constant time. The event id
  is built from the resource id and its ``date_modified_gmt``: WooCommerce gives each delivery
  attempt a new ``X-WC-Webhook-Delivery-ID``, so that header alone would not deduplicate a
  redelivered change. The "ping" WooCommerce posts when a webhook is created (a form body
  ``webhook_id=N``, unsigned) is recognised by :meth:`WooCommerceConnector.webhook_ping` and
  acknowledged without processing: WooCommerce refuses to save a webhook whose ping fails.
* Creates: WooCommerce takes no idempotency key, so :meth:`WooCommerceConnector.create`
  stores the key on the record as ``meta_data`` ``accord_idempotency_key`` and, before every
  try, looks for a record carrying it. The REST API cannot filter on meta data, so the
  lookup narrows with the filters it has (products by ``sku``, customers by ``email``, orders
  by ``customer`` or the billing e-mail and ``after`` the lookback window, newest first) and
  matches the key on the results.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import httpx2

from accord.clock import Clock

from .base import Connector, Page, WebhookEvent
from .retry import RetryPolicy, Sleep
from .secrets import SecretsProvider
from .webhooks import hmac_sha256_base64, lower_headers, signature_matches

__all__ = ["WooCommerceConnector"]

_COLLECTIONS = {"order": "orders", "product": "products", "customer": "customers"}
#: The meta data key a create stores its idempotency key under.
IDEMPOTENCY_META = "accord_idempotency_key"
# WC_Webhook::deliver_ping() posts exactly this body (no signature, no topic headers).
_PING = re.compile(rb"\s*webhook_id=\d+\s*")


class WooCommerceConnector(Connector):
    """WooCommerce client: list, get and update orders, products and customers."""

    channel: ClassVar[str] = "woocommerce"
    api_version: ClassVar[str | None] = "wc/v3"
    entities: ClassVar[tuple[str, ...]] = tuple(_COLLECTIONS)

    def __init__(
        self,
        client: httpx2.Client,
        *,
        secrets: SecretsProvider | None = None,
        retry: RetryPolicy | None = None,
        clock: Clock | None = None,
        sleep: Sleep | None = None,
        query_auth: bool = False,
        create_lookback: timedelta = timedelta(days=7),
        lookup_pages: int = 3,
        settings_ttl: timedelta = timedelta(hours=1),
    ) -> None:
        super().__init__(client, secrets=secrets, retry=retry, clock=clock, sleep=sleep)
        self.query_auth = query_auth
        #: How far back (by creation time) a create looks for an order an earlier try made.
        self.create_lookback = create_lookback
        #: Pages of 100 a create's lookup reads at most before concluding nothing was made.
        self.lookup_pages = lookup_pages
        #: How long the store's general settings (its currency) are reused.
        self.settings_ttl = settings_ttl
        self._settings: tuple[datetime, list[dict[str, Any]]] | None = None

    @property
    def base_url(self) -> str:
        return self.setting("WOOCOMMERCE_URL").rstrip("/") + "/wp-json/wc/v3"

    def prepare(self, request: httpx2.Request) -> httpx2.Request:
        key = self.secret("WOOCOMMERCE_CONSUMER_KEY")
        secret = self.secret("WOOCOMMERCE_CONSUMER_SECRET")
        if self.query_auth:
            url = request.url.copy_merge_params({"consumer_key": key, "consumer_secret": secret})
            return httpx2.Request(
                request.method, url, headers=request.headers, content=request.content
            )
        auth = httpx2.BasicAuth(key, secret)
        return next(auth.sync_auth_flow(request))

    def _collection(self, entity: str) -> str:
        try:
            return _COLLECTIONS[entity]
        except KeyError:
            raise self.rejected(
                f"unknown entity {entity!r}; known: {', '.join(_COLLECTIONS)}"
            ) from None

    def list_page(
        self,
        entity: str,
        *,
        cursor: str | None = None,
        since: datetime | None = None,
        page_size: int | None = None,
    ) -> Page:
        collection = self._collection(entity)
        try:
            page = int(cursor) if cursor is not None else 1
        except ValueError:
            raise self.rejected(f"cursor {cursor!r} is not a page number") from None
        params: dict[str, str | int] = {
            "page": page,
            "per_page": min(page_size or 100, 100),
            "orderby": "id",
            "order": "asc",
        }
        if since is not None:
            params["modified_after"] = since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
            params["dates_are_gmt"] = "true"
        reply = self.call(
            "GET", f"{self.base_url}/{collection}", params=params, operation=f"list {entity}"
        )
        if not isinstance(reply.data, list):
            raise self.malformed_reply(reply, f"list {entity}", "not a JSON list")
        try:
            total_pages = int(reply.headers.get("x-wp-totalpages", "1"))
        except ValueError:
            total_pages = page if not reply.data else page + 1
        return Page(
            entity=entity,
            items=tuple(i for i in reply.data if isinstance(i, dict)),
            cursor=cursor,
            next_cursor=str(page + 1) if page < total_pages and reply.data else None,
            api_version=self.api_version,
        )

    def get(self, entity: str, id: str) -> dict[str, Any]:
        collection = self._collection(entity)
        reply = self.call("GET", f"{self.base_url}/{collection}/{id}", operation=f"get {entity}")
        if not isinstance(reply.data, dict):
            raise self.malformed_reply(reply, f"get {entity}", "not a JSON object")
        return reply.data

    def complete(
        self, entity: str, payload: Mapping[str, Any], *, topic: str | None = None
    ) -> tuple[str, dict[str, Any]] | None:
        """A product becomes ``{"product", "variations", "settings"}``, the inputs of
        ``mappings/woocommerce/product.inbound.yaml``: its variations are fetched (none for
        a product that has none listed) and the store's general settings (which hold the
        currency: product prices carry none) are fetched and cached. Other entities are
        handed over as they are."""
        if entity != "product" or "product" in payload:
            return entity, dict(payload)
        product = dict(payload)
        listed = product.get("variations")
        variations = (
            self.variations(str(product.get("id", "")))
            if isinstance(listed, list) and listed
            else []
        )
        return entity, {"product": product, "variations": variations, "settings": self.settings()}

    def variations(self, product_id: str) -> list[dict[str, Any]]:
        """Every variation of a variable product (``GET products/{id}/variations``, paged)."""
        if not product_id.isascii() or not product_id.isdigit():
            raise self.rejected(f"product id {product_id!r} is not a WooCommerce id")
        operation = "list product variations"
        out: list[dict[str, Any]] = []
        page = 1
        while True:
            reply = self.call(
                "GET",
                f"{self.base_url}/products/{product_id}/variations",
                params={"page": page, "per_page": 100, "orderby": "id", "order": "asc"},
                operation=operation,
            )
            if not isinstance(reply.data, list):
                raise self.malformed_reply(reply, operation, "not a JSON list")
            out.extend(v for v in reply.data if isinstance(v, dict))
            total = reply.headers.get("x-wp-totalpages", "1")
            if not reply.data or not total.isascii() or not total.isdigit() or page >= int(total):
                return out
            page += 1

    def settings(self) -> list[dict[str, Any]]:
        """The store's general settings (``GET settings/general``: the currency, among
        others), cached for :attr:`settings_ttl`."""
        now = self.clock.now()
        cached = self._settings
        if cached is not None and now - cached[0] < self.settings_ttl:
            return cached[1]
        operation = "get settings"
        reply = self.call("GET", f"{self.base_url}/settings/general", operation=operation)
        if not isinstance(reply.data, list):
            raise self.malformed_reply(reply, operation, "not a JSON list")
        settings = [s for s in reply.data if isinstance(s, dict)]
        self._settings = (now, settings)
        return settings

    def update(
        self, entity: str, id: str, record: Mapping[str, Any], *, idempotency_key: str
    ) -> dict[str, Any]:
        """``PUT`` the given fields: setting values is idempotent, so a retry is safe. The key
        travels as ``Idempotency-Key`` for correlation (WooCommerce ignores it)."""
        collection = self._collection(entity)
        reply = self.call(
            "PUT",
            f"{self.base_url}/{collection}/{id}",
            json_body=dict(record),
            headers={"Idempotency-Key": idempotency_key},
            operation=f"update {entity}",
        )
        if not isinstance(reply.data, dict):
            raise self.malformed_reply(reply, f"update {entity}", "not a JSON object")
        return reply.data

    def create(
        self, entity: str, record: Mapping[str, Any], *, idempotency_key: str
    ) -> dict[str, Any]:
        """``POST`` a new record, at most once per ``idempotency_key``.

        The key is stored in the record's ``meta_data`` (``accord_idempotency_key``); before
        each try a lookup returns a record that already carries it, so a create retried after
        a timeout, or replayed from the dead-letter store, returns the first record instead of
        making a second one.
        """
        collection = self._collection(entity)
        if not idempotency_key.strip():
            raise self.rejected("an idempotency key must not be blank")
        meta = record.get("meta_data", [])
        if not isinstance(meta, list):
            raise self.rejected(f"create {entity}: 'meta_data' must be a list")
        body = dict(record)
        body["meta_data"] = [
            m for m in meta if not (isinstance(m, Mapping) and m.get("key") == IDEMPOTENCY_META)
        ] + [{"key": IDEMPOTENCY_META, "value": idempotency_key}]
        operation = f"create {entity}"

        def send() -> dict[str, Any]:
            reply = self.call(
                "POST",
                f"{self.base_url}/{collection}",
                json_body=body,
                headers={"Idempotency-Key": idempotency_key},
                operation=operation,
                retry_transient=False,
            )
            if not isinstance(reply.data, dict):
                raise self.malformed_reply(reply, operation, "not a JSON object")
            return reply.data

        return self.create_once(
            lambda: self.find_created(entity, record, idempotency_key), send, operation
        )

    def find_created(
        self, entity: str, record: Mapping[str, Any], idempotency_key: str
    ) -> dict[str, Any] | None:
        """The record an earlier create with ``idempotency_key`` made, or ``None``."""
        collection = self._collection(entity)
        params: dict[str, str | int] = {"per_page": 100, "orderby": "id", "order": "desc"}
        if entity == "product" and isinstance(record.get("sku"), str) and record["sku"]:
            params["sku"] = record["sku"]
        elif entity == "customer" and isinstance(record.get("email"), str) and record["email"]:
            params["email"] = record["email"]
        elif entity in ("order", "product"):
            after = self.clock.now() - self.create_lookback
            params["after"] = after.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
            params["dates_are_gmt"] = "true"
            billing = record.get("billing")
            email = billing.get("email") if isinstance(billing, Mapping) else None
            if entity == "order" and record.get("customer_id"):
                params["customer"] = str(record["customer_id"])
            elif entity == "order" and isinstance(email, str) and email:
                params["search"] = email
        operation = f"find {entity} by idempotency key"
        for page in range(1, self.lookup_pages + 1):
            params["page"] = page
            reply = self.call(
                "GET", f"{self.base_url}/{collection}", params=params, operation=operation
            )
            if not isinstance(reply.data, list):
                raise self.malformed_reply(reply, operation, "not a JSON list")
            for item in reply.data:
                if isinstance(item, dict) and _carries_key(item, idempotency_key):
                    return item
            if len(reply.data) < 100:
                return None
        return None

    def webhook_ping(self, headers: Mapping[str, str], body: bytes) -> bool:
        """WooCommerce's ping on webhook creation: a form body ``webhook_id=N`` and no topic.
        It carries no signature and no event; answering 200 lets the webhook be saved."""
        h = lower_headers(headers)
        return "x-wc-webhook-topic" not in h and _PING.fullmatch(body) is not None

    def verify_webhook(self, headers: Mapping[str, str], body: bytes) -> WebhookEvent:
        h = lower_headers(headers)
        secret = self.secret("WOOCOMMERCE_WEBHOOK_SECRET")
        expected = hmac_sha256_base64(secret.encode(), body)
        if not signature_matches(h.get("x-wc-webhook-signature"), expected):
            raise self.bad_signature("X-WC-Webhook-Signature does not match the body")
        topic = h.get("x-wc-webhook-topic", "")
        resource = h.get("x-wc-webhook-resource") or topic.partition(".")[0]
        if resource not in _COLLECTIONS:
            raise self.malformed_webhook(f"unsupported topic {topic!r}")
        payload = self.parse_webhook_json(body)
        record_id = payload.get("id")
        modified = payload.get("date_modified_gmt") or payload.get("date_modified")
        if record_id is not None and modified:
            event_id = f"woocommerce:{resource}:{record_id}:{modified}"
        else:
            event_id = h.get("x-wc-webhook-delivery-id", "")
        if not event_id:
            raise self.malformed_webhook("no record id, modification date or delivery id")
        return WebhookEvent(
            channel=self.channel,
            entity=resource,
            event_id=event_id,
            topic=topic,
            payload=payload,
            api_version=self.api_version,
        )

    def record_key(self, entity: str, record: Mapping[str, Any]) -> str | None:
        if record.get("id") is None:
            return None
        modified = record.get("date_modified_gmt") or record.get("date_modified") or ""
        return f"woocommerce:{entity}:{record['id']}:{modified}"


def _carries_key(item: Mapping[str, Any], key: str) -> bool:
    meta = item.get("meta_data")
    if not isinstance(meta, list):
        return False
    return any(
        isinstance(m, Mapping) and m.get("key") == IDEMPOTENCY_META and m.get("value") == key
        for m in meta
    )
