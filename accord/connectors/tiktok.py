"""TikTok Shop Open API (version 202309).

* Signing, as TikTok Shop documents it ("Sign your API request"): take the query parameters
  except ``sign`` and ``access_token``, sort them by name, concatenate ``{name}{value}``,
  prefix the request path, append the raw body unless it is multipart, wrap the whole string
  in the app secret on both sides, and send the lower-case hex HMAC-SHA256 (keyed with the
  app secret) as ``sign``. Every request carries ``app_key`` and ``timestamp`` (seconds, from
  the injected clock) and the shop token in ``x-tts-access-token``.
  (https://partner.tiktokshop.com/docv2/page/sign-your-api-request)
* Credentials: ``TIKTOK_APP_KEY``, ``TIKTOK_APP_SECRET``, ``TIKTOK_ACCESS_TOKEN``, optional
  ``TIKTOK_SHOP_CIPHER``; with ``TIKTOK_REFRESH_TOKEN`` an expired access token is renewed at
  ``auth.tiktok-shops.com/api/v2/token/refresh``.
* Errors arrive with HTTP 200 and a non-zero ``code`` in the body; they are classified from
  that code (token codes -> auth, rate-limit codes -> quota, the rest -> validation).
* Pagination: ``page_token`` / ``next_page_token``.
* Get: ``get("order", id)`` calls "Get Order Detail" (``GET /order/202309/orders?ids=...``)
  and returns the one order of ``data.orders``; an id TikTok does not return is a
  validation error (``CONN019``), since asking again would get the same answer.
* Push: ``update("inventory_level", product_id, body)`` sends the body
  ``mappings/tiktok/inventory_level.outbound.yaml`` produces to "Update Inventory"
  (``POST /product/202309/products/{product_id}/inventory/update``). It sets absolute
  quantities, so a retry leaves the same state; TikTok Shop takes no idempotency key.
  TikTok offers no create worth idempotent emulation here (orders are created by buyers).
* Completing events: an order notification carries only the order id, so the order is
  fetched with :meth:`TikTokShopConnector.get` before the engine gets it.
* Webhooks: the ``Authorization`` header is the hex HMAC-SHA256, keyed with the app secret,
  of the app key followed by the raw body; ``tts_notification_id`` is the event id.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar

import httpx2

from accord.clock import Clock
from accord.diagnostics import Diagnostic
from accord.errors import AuthError, ConnectorError, QuotaError, RequestRejectedError

from .base import NOT_FOUND, Connector, Page, Reply, WebhookEvent
from .retry import RetryPolicy, Sleep
from .secrets import SecretsProvider
from .webhooks import hmac_sha256_hex, lower_headers, signature_matches

__all__ = ["TikTokShopConnector", "tiktok_sign"]

log = logging.getLogger("accord.connectors.tiktok")

API_HOST = "https://open-api.tiktokglobalshop.com"
REFRESH_URL = "https://auth.tiktok-shops.com/api/v2/token/refresh"
_REFRESH_OPERATION = "token refresh"

# Body codes (HTTP 200) that mean the token is bad or expired, and that mean "slow down".
_AUTH_CODES = frozenset({105000, 105001, 105002, 105003, 105005, 36004004})
_QUOTA_CODES = frozenset({429, 36009003})

# Webhook ``type`` -> entity
_WEBHOOK_TYPES = {
    1: "order",  # ORDER_STATUS_CHANGE
    2: "return",  # REVERSE_ORDER_STATUS_CHANGE
    3: "order",  # RECIPIENT_ADDRESS_UPDATE
    4: "fulfillment",  # PACKAGE_UPDATE
    5: "product",  # PRODUCT_STATUS_CHANGE
    11: "order",  # CANCELLATION_STATUS_CHANGE
    12: "return",  # RETURN_STATUS_CHANGE
}

_SEARCH = {
    "order": ("/order/202309/orders/search", "orders"),
    "product": ("/product/202309/products/search", "products"),
}


def tiktok_sign(app_secret: str, path: str, params: Mapping[str, str], body: bytes = b"") -> str:
    """The ``sign`` parameter of a TikTok Shop request.

    >>> tiktok_sign("secret", "/order/202309/orders", {"app_key": "k", "timestamp": "1",
    ...     "sign": "ignored", "access_token": "ignored"})
    '1bfcf910fb1439f7b65c9cfbe1b536588bfaeaff44d13d0ebb7d0c1920830f04'
    """
    pieces = "".join(f"{k}{params[k]}" for k in sorted(params) if k not in ("sign", "access_token"))
    text = f"{app_secret}{path}{pieces}".encode() + body + app_secret.encode()
    return hmac_sha256_hex(app_secret.encode(), text)


class TikTokShopConnector(Connector):
    """TikTok Shop client: signed requests, order and product search, signed webhooks."""

    channel: ClassVar[str] = "tiktok"
    api_version: ClassVar[str | None] = "202309"
    entities: ClassVar[tuple[str, ...]] = tuple(_SEARCH)

    def __init__(
        self,
        client: httpx2.Client,
        *,
        secrets: SecretsProvider | None = None,
        retry: RetryPolicy | None = None,
        clock: Clock | None = None,
        sleep: Sleep | None = None,
        host: str = API_HOST,
    ) -> None:
        super().__init__(client, secrets=secrets, retry=retry, clock=clock, sleep=sleep)
        self.host = host.rstrip("/")
        self._access_token: str | None = None

    def access_token(self) -> str:
        """The shop's access token (a refreshed one once a refresh has happened)."""
        return self._access_token or self.secret("TIKTOK_ACCESS_TOKEN")

    def prepare(self, request: httpx2.Request) -> httpx2.Request:
        if str(request.url).startswith(REFRESH_URL):
            return request
        params = {k: v for k, v in request.url.params.items() if k not in ("sign",)}
        params["app_key"] = self.setting("TIKTOK_APP_KEY")
        params["timestamp"] = str(int(self.clock.now().timestamp()))
        cipher = self.optional_setting("TIKTOK_SHOP_CIPHER")
        if cipher and "shop_cipher" not in params:
            params["shop_cipher"] = cipher
        multipart = request.headers.get("content-type", "").startswith("multipart/form-data")
        body = b"" if multipart else request.content
        params["sign"] = tiktok_sign(
            self.secret("TIKTOK_APP_SECRET"), request.url.path, params, body
        )
        url = request.url.copy_with(params=params)
        headers = httpx2.Headers(request.headers)
        headers["x-tts-access-token"] = self.access_token()
        return httpx2.Request(request.method, url, headers=headers, content=request.content)

    def refresh_credentials(self) -> None:
        super().refresh_credentials()
        self._access_token = None
        refresh = self.optional_secret("TIKTOK_REFRESH_TOKEN")
        if not refresh:
            return  # a re-read of TIKTOK_ACCESS_TOKEN is all we can do
        reply = self.call(
            "GET",
            REFRESH_URL,
            params={
                "app_key": self.setting("TIKTOK_APP_KEY"),
                "app_secret": self.secret("TIKTOK_APP_SECRET"),
                "refresh_token": refresh,
                "grant_type": "refresh_token",
            },
            operation=_REFRESH_OPERATION,
        )
        data = reply.data.get("data") if isinstance(reply.data, dict) else None
        token = data.get("access_token") if isinstance(data, dict) else None
        if not isinstance(token, str) or not token:
            raise self.malformed_reply(reply, _REFRESH_OPERATION, "no data.access_token")
        self.redactor.add(token)
        self._access_token = token

    def classify(self, reply: Reply, operation: str) -> ConnectorError | None:
        error = super().classify(reply, operation)
        if error is not None or not isinstance(reply.data, dict):
            return error
        code = reply.data.get("code", 0)
        if code in (0, "0"):
            return None
        try:
            number = int(code)
        except (TypeError, ValueError):
            number = -1
        cls: type[ConnectorError]
        if number in _AUTH_CODES:
            cls = AuthError
        elif number in _QUOTA_CODES:
            cls = QuotaError
        else:
            cls = RequestRejectedError
        what = f"code {code} (HTTP {reply.status_code}): {reply.data.get('message', '')}"
        message = self._message(operation, what)
        return cls(
            message,
            diagnostics=(
                Diagnostic(
                    code=cls.default_code,
                    message=message,
                    details=(*self._details(operation, reply.status_code), ("code", str(code))),
                ),
            ),
            # a real status lets the request loop refresh credentials once on auth codes
            status_code=401 if cls is AuthError else reply.status_code,
        )

    def list_page(
        self,
        entity: str,
        *,
        cursor: str | None = None,
        since: datetime | None = None,
        page_size: int | None = None,
    ) -> Page:
        try:
            path, key = _SEARCH[entity]
        except KeyError:
            raise self.rejected(f"unknown entity {entity!r}; known: {', '.join(_SEARCH)}") from None
        params: dict[str, str | int] = {"page_size": min(page_size or 50, 100)}
        if cursor:
            params["page_token"] = cursor
        body: dict[str, Any] = {}
        if since is not None:
            body["update_time_ge"] = int(since.astimezone(UTC).timestamp())
        reply = self.call(
            "POST", self.host + path, params=params, json_body=body, operation=f"search {entity}"
        )
        data = reply.data.get("data") if isinstance(reply.data, dict) else None
        items = data.get(key, []) if isinstance(data, dict) else None
        if not isinstance(items, list):
            raise self.malformed_reply(reply, f"search {entity}", f"no data.{key} list")
        token = data.get("next_page_token") if isinstance(data, dict) else None
        return Page(
            entity=entity,
            items=tuple(i for i in items if isinstance(i, dict)),
            cursor=cursor,
            next_cursor=str(token) if token and items else None,
            api_version=self.api_version,
        )

    def get(self, entity: str, id: str) -> dict[str, Any]:
        """One order by id, from "Get Order Detail" (the shape
        ``mappings/tiktok/order.inbound.yaml`` maps)."""
        if entity != "order":
            raise self.rejected(f"getting {entity!r} is not supported; known: order")
        if not id or not id.isascii() or not id.isdigit():
            raise self.rejected(f"get order: {id!r} is not a TikTok order id")
        operation = "get order"
        reply = self.call(
            "GET", f"{self.host}/order/202309/orders", params={"ids": id}, operation=operation
        )
        data = reply.data.get("data") if isinstance(reply.data, dict) else None
        orders = data.get("orders") if isinstance(data, dict) else None
        if not isinstance(orders, list):
            raise self.malformed_reply(reply, operation, "no data.orders list")
        for order in orders:
            if isinstance(order, dict) and str(order.get("id")) == id:
                return order
        raise self.rejected(f"get order: TikTok Shop has no order {id}", code=NOT_FOUND)

    def complete(
        self, entity: str, payload: Mapping[str, Any], *, topic: str | None = None
    ) -> tuple[str, dict[str, Any]] | None:
        """An order notification (``{"type", "tts_notification_id", "data": {"order_id",
        ...}}``) becomes the order itself, fetched by :meth:`get`: the notification says only
        that the order changed, and ``mappings/tiktok/order.inbound.yaml`` maps the order.
        Orders from a search, and other entities, are handed over as they are."""
        data = payload.get("data")
        if entity != "order" or "tts_notification_id" not in payload:
            return entity, dict(payload)
        order_id = data.get("order_id") if isinstance(data, Mapping) else None
        if order_id is None or isinstance(order_id, bool) or not str(order_id).strip():
            raise self.malformed_webhook("an order notification without data.order_id")
        return entity, self.get("order", str(order_id))

    def update(
        self, entity: str, id: str, record: Mapping[str, Any], *, idempotency_key: str
    ) -> dict[str, Any]:
        """Set SKU quantities per warehouse of product ``id`` (``entity="inventory_level"``;
        ``record = {"skus": [{"id": ..., "inventory": [{"warehouse_id": ..., "quantity":
        N}]}]}``). Quantities are absolute, so the same update applied twice leaves the same
        stock; the key is only logged, to correlate retries."""
        if entity not in ("inventory_level", "inventory"):
            raise self.rejected(f"updating {entity!r} is not supported; known: inventory_level")
        if not id or not id.isdigit():
            raise self.rejected(f"update inventory: product id {id!r} is not a TikTok id")
        skus = record.get("skus")
        if not isinstance(skus, list) or not skus:
            raise self.rejected("update inventory: 'skus' must be a non-empty list")
        for sku in skus:
            inventory = sku.get("inventory") if isinstance(sku, Mapping) else None
            if not isinstance(sku, Mapping) or not sku.get("id") or not isinstance(inventory, list):
                raise self.rejected("update inventory: each SKU needs an 'id' and 'inventory'")
            for level in inventory:
                quantity = level.get("quantity") if isinstance(level, Mapping) else None
                if (
                    not isinstance(level, Mapping)
                    or not level.get("warehouse_id")
                    or not isinstance(quantity, int)
                    or isinstance(quantity, bool)
                    or quantity < 0
                ):
                    raise self.rejected(
                        "update inventory: each level needs a 'warehouse_id' and a"
                        " non-negative integer 'quantity'"
                    )
        log.info("tiktok: inventory update of product %s (idempotency key %s)", id,
                 idempotency_key)  # fmt: skip
        operation = "update inventory"
        reply = self.call(
            "POST",
            f"{self.host}/product/202309/products/{id}/inventory/update",
            json_body={"skus": skus},
            operation=operation,
        )
        data = reply.data.get("data") if isinstance(reply.data, dict) else None
        if reply.data is not None and not isinstance(reply.data, dict):
            raise self.malformed_reply(reply, operation, "not a JSON object")
        return data if isinstance(data, dict) else {}

    def verify_webhook(self, headers: Mapping[str, str], body: bytes) -> WebhookEvent:
        h = lower_headers(headers)
        app_key = self.setting("TIKTOK_APP_KEY")
        expected = hmac_sha256_hex(
            self.secret("TIKTOK_APP_SECRET").encode(), app_key.encode() + body
        )
        if not signature_matches(h.get("authorization"), expected):
            raise self.bad_signature("Authorization does not match the body")
        payload = self.parse_webhook_json(body)
        kind = payload.get("type")
        entity = _WEBHOOK_TYPES.get(kind) if isinstance(kind, int) else None
        if entity is None:
            raise self.malformed_webhook(f"unsupported notification type {kind!r}")
        event_id = payload.get("tts_notification_id")
        if not event_id:
            raise self.malformed_webhook("tts_notification_id is missing")
        return WebhookEvent(
            channel=self.channel,
            entity=entity,
            event_id=str(event_id),
            topic=str(kind),
            payload=payload,
            api_version=self.api_version,
        )

    def record_key(self, entity: str, record: Mapping[str, Any]) -> str | None:
        if record.get("id") is None:
            return None
        return f"tiktok:{entity}:{record['id']}:{record.get('update_time', '')}"
