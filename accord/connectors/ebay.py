"""eBay REST APIs (Sell Fulfillment, Sell Inventory).

* Authentication: OAuth 2.0 at ``/identity/v1/oauth2/token`` with HTTP Basic
  ``EBAY_CLIENT_ID:EBAY_CLIENT_SECRET``. With ``EBAY_REFRESH_TOKEN`` set, a user token is
  minted from it (``grant_type=refresh_token``; the Sell APIs need one); without, an
  application token (``grant_type=client_credentials``). The token is cached until shortly
  before ``expires_in`` and dropped on 401.
  (https://developer.ebay.com/api-docs/static/oauth-tokens.html)
* Pagination: ``limit``/``offset`` with ``total`` in the body; the cursor is the offset.
* Incremental pulls: ``filter=lastmodifieddate:[since..]`` on orders.
* Webhooks: eBay's Notification API signs with ECDSA keys fetched from its public-key
  endpoint; verifying that is not implemented here, so ``verify_webhook`` refuses.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, ClassVar
from urllib.parse import urlencode

import httpx2

from accord.clock import Clock

from .base import Connector, Page
from .oauth import TokenCache
from .retry import RetryPolicy, Sleep
from .secrets import SecretsProvider

__all__ = ["EbayConnector"]

_TOKEN_OPERATION = "oauth token"
_HOSTS = {"production": "https://api.ebay.com", "sandbox": "https://api.sandbox.ebay.com"}
# entity -> (path, list key in the response, id field)
_RESOURCES = {
    "order": ("/sell/fulfillment/v1/order", "orders", "orderId"),
    "inventory_item": ("/sell/inventory/v1/inventory_item", "inventoryItems", "sku"),
}
DEFAULT_SCOPES = (
    "https://api.ebay.com/oauth/api_scope",
    "https://api.ebay.com/oauth/api_scope/sell.fulfillment",
    "https://api.ebay.com/oauth/api_scope/sell.inventory",
)


class EbayConnector(Connector):
    """eBay client: orders and inventory items, offset/limit pagination, OAuth tokens."""

    channel: ClassVar[str] = "ebay"
    api_version: ClassVar[str | None] = "sell/v1"
    entities: ClassVar[tuple[str, ...]] = tuple(_RESOURCES)

    def __init__(
        self,
        client: httpx2.Client,
        *,
        secrets: SecretsProvider | None = None,
        retry: RetryPolicy | None = None,
        clock: Clock | None = None,
        sleep: Sleep | None = None,
        environment: str = "production",
        scopes: Sequence[str] = DEFAULT_SCOPES,
        content_language: str = "en-US",
    ) -> None:
        super().__init__(client, secrets=secrets, retry=retry, clock=clock, sleep=sleep)
        if environment not in _HOSTS:
            raise self.rejected(f"environment must be one of {', '.join(_HOSTS)}")
        self.host = _HOSTS[environment]
        self.scopes = tuple(scopes)
        self.content_language = content_language
        self.token = TokenCache(self.clock)

    @property
    def token_url(self) -> str:
        return f"{self.host}/identity/v1/oauth2/token"

    def access_token(self) -> str:
        """A valid OAuth access token (user token when a refresh token is configured)."""
        cached = self.token.get()
        if cached is not None:
            return cached
        refresh = self.optional_secret("EBAY_REFRESH_TOKEN")
        form = (
            {"grant_type": "refresh_token", "refresh_token": refresh}
            if refresh
            else {"grant_type": "client_credentials"}
        )
        form["scope"] = " ".join(self.scopes)
        reply = self.call(
            "POST",
            self.token_url,
            content=urlencode(form).encode(),
            headers={"content-type": "application/x-www-form-urlencoded"},
            operation=_TOKEN_OPERATION,
        )
        data = reply.data if isinstance(reply.data, dict) else {}
        token = data.get("access_token")
        if not isinstance(token, str) or not token:
            raise self.malformed_reply(reply, _TOKEN_OPERATION, "no access_token")
        self.redactor.add(token)
        self.token.store(token, expires_in=float(data.get("expires_in", 7200)))
        return token

    def prepare(self, request: httpx2.Request) -> httpx2.Request:
        if str(request.url) == self.token_url:
            auth = httpx2.BasicAuth(
                self.setting("EBAY_CLIENT_ID"), self.secret("EBAY_CLIENT_SECRET")
            )
            return next(auth.sync_auth_flow(request))
        request.headers["Authorization"] = f"Bearer {self.access_token()}"
        return request

    def refresh_credentials(self) -> None:
        super().refresh_credentials()
        self.token.clear()

    def _resource(self, entity: str) -> tuple[str, str, str]:
        try:
            return _RESOURCES[entity]
        except KeyError:
            raise self.rejected(
                f"unknown entity {entity!r}; known: {', '.join(_RESOURCES)}"
            ) from None

    def list_page(
        self,
        entity: str,
        *,
        cursor: str | None = None,
        since: datetime | None = None,
        page_size: int | None = None,
    ) -> Page:
        path, key, _ = self._resource(entity)
        try:
            offset = int(cursor) if cursor is not None else 0
        except ValueError:
            raise self.rejected(f"cursor {cursor!r} is not an offset") from None
        limit = min(page_size or 100, 200)
        params: dict[str, str | int] = {"limit": limit, "offset": offset}
        if since is not None and entity == "order":
            stamp = since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
            params["filter"] = f"lastmodifieddate:[{stamp}..]"
        reply = self.call("GET", self.host + path, params=params, operation=f"list {entity}")
        data = reply.data if isinstance(reply.data, dict) else None
        items = data.get(key, []) if data is not None else None
        if not isinstance(items, list):
            raise self.malformed_reply(reply, f"list {entity}", f"no {key!r} list")
        total = data.get("total") if data is not None else None
        more = (
            offset + len(items) < total
            if isinstance(total, int)
            else bool(data and data.get("next"))
        )
        return Page(
            entity=entity,
            items=tuple(i for i in items if isinstance(i, dict)),
            cursor=cursor,
            next_cursor=str(offset + len(items)) if more and items else None,
            api_version=self.api_version,
        )

    def get(self, entity: str, id: str) -> dict[str, Any]:
        path, _, _ = self._resource(entity)
        reply = self.call("GET", f"{self.host}{path}/{id}", operation=f"get {entity}")
        if not isinstance(reply.data, dict):
            raise self.malformed_reply(reply, f"get {entity}", "not a JSON object")
        return reply.data

    def update(
        self, entity: str, id: str, record: Mapping[str, Any], *, idempotency_key: str
    ) -> dict[str, Any]:
        """``createOrReplaceInventoryItem``: a full replace by SKU, so a retry is harmless."""
        if entity != "inventory_item":
            raise self.rejected(f"updating {entity!r} is not supported")
        path, _, _ = self._resource(entity)
        reply = self.call(
            "PUT",
            f"{self.host}{path}/{id}",
            json_body=dict(record),
            headers={"Content-Language": self.content_language},
            operation=f"update {entity}",
        )
        return reply.data if isinstance(reply.data, dict) else {}

    def record_key(self, entity: str, record: Mapping[str, Any]) -> str | None:
        _, _, id_field = self._resource(entity)
        if record.get(id_field) is None:
            return None
        modified = record.get("lastModifiedDate", "")
        return f"ebay:{entity}:{record[id_field]}:{modified}"
