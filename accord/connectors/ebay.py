"""eBay REST APIs (Sell Fulfillment, Sell Inventory).

* Authentication: OAuth 2.0 at ``/identity/v1/oauth2/token`` with HTTP Basic
  ``EBAY_CLIENT_ID:EBAY_CLIENT_SECRET``. With ``EBAY_REFRESH_TOKEN`` set, a user token is
  minted from it (``grant_type=refresh_token``; the Sell APIs need one); without, an
  application token (``grant_type=client_credentials``). The token is cached until shortly
  before ``expires_in`` and dropped on 401.
  (https://developer.ebay.com/api-docs/static/oauth-tokens.html)
* Pagination: ``limit``/``offset`` with ``total`` in the body; the cursor is the offset.
* Incremental pulls: ``filter=lastmodifieddate:[since..]`` on orders.
* Webhooks (Notification API): ``X-EBAY-SIGNATURE`` is base64 JSON naming the key
  (``kid``) and carrying a DER ECDSA signature of the raw body with SHA-1. The public key is
  fetched from ``/commerce/notification/v1/public_key/{kid}`` with an application token and
  cached for an hour; ``notification.notificationId`` is the event id and the topic, in lower
  case, the entity (``marketplace_account_deletion``). The endpoint-ownership challenge
  (``GET ?challenge_code=``) is answered with SHA-256 of the code, ``EBAY_VERIFICATION_TOKEN``
  and the endpoint URL as registered (``EBAY_WEBHOOK_ENDPOINT``).
  (https://developer.ebay.com/api-docs/commerce/notification/overview.html)
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import urlencode

import httpx2
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from accord.clock import Clock
from accord.errors import RequestRejectedError

from .base import Connector, Page, WebhookEvent, as_number
from .oauth import TokenCache
from .retry import RetryPolicy, Sleep
from .secrets import SecretsProvider
from .webhooks import lower_headers

__all__ = ["EbayConnector"]

_TOKEN_OPERATION = "oauth token"
_HOSTS = {"production": "https://api.ebay.com", "sandbox": "https://api.sandbox.ebay.com"}
# entity -> (path, list key in the response, id field)
_RESOURCES = {
    "order": ("/sell/fulfillment/v1/order", "orders", "orderId"),
    "inventory_item": ("/sell/inventory/v1/inventory_item", "inventoryItems", "sku"),
}
_KEY_TTL = timedelta(hours=1)  # eBay asks clients to cache public keys
_PEM = "-----BEGIN PUBLIC KEY-----"
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
        # Notification public keys need an application token, whatever the user token is.
        self.app_token = TokenCache(self.clock)
        self._keys: dict[str, tuple[ec.EllipticCurvePublicKey, datetime]] = {}

    @property
    def token_url(self) -> str:
        return f"{self.host}/identity/v1/oauth2/token"

    def access_token(self, *, application: bool = False) -> str:
        """A valid OAuth access token: a user token when a refresh token is configured,
        else (or with ``application=True``) an application token."""
        cache = self.app_token if application else self.token
        cached = cache.get()
        if cached is not None:
            return cached
        refresh = None if application else self.optional_secret("EBAY_REFRESH_TOKEN")
        form = (
            {"grant_type": "refresh_token", "refresh_token": refresh}
            if refresh
            else {"grant_type": "client_credentials"}
        )
        scopes = self.scopes if refresh else ("https://api.ebay.com/oauth/api_scope",)
        form["scope"] = " ".join(scopes)
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
        cache.store(token, expires_in=as_number(data.get("expires_in"), 7200.0))
        return token

    def prepare(self, request: httpx2.Request) -> httpx2.Request:
        if str(request.url) == self.token_url:
            auth = httpx2.BasicAuth(
                self.setting("EBAY_CLIENT_ID"), self.secret("EBAY_CLIENT_SECRET")
            )
            return next(auth.sync_auth_flow(request))
        application = request.url.path.startswith("/commerce/notification/")
        request.headers["Authorization"] = f"Bearer {self.access_token(application=application)}"
        return request

    def refresh_credentials(self) -> None:
        super().refresh_credentials()
        self.token.clear()
        self.app_token.clear()

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
        """``inventory_item``: ``createOrReplaceInventoryItem``, a full replace by SKU.
        ``inventory_level``: ``bulkUpdatePriceQuantity`` with the body
        ``mappings/ebay/inventory_level.outbound.yaml`` produces (``{"requests": [...]}``;
        ``id`` is the SKU, for the log). Both set absolute values, so a retry is harmless;
        eBay takes no idempotency key. A SKU eBay refuses inside a 200/207 answer is a
        :class:`~accord.errors.RequestRejectedError` naming it."""
        if entity == "inventory_level":
            return self._bulk_price_quantity(record)
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

    def _bulk_price_quantity(self, record: Mapping[str, Any]) -> dict[str, Any]:
        operation = "bulkUpdatePriceQuantity"
        requests = record.get("requests")
        if not isinstance(requests, list) or not requests or len(requests) > 25:
            raise self.rejected(f"{operation}: 'requests' must hold 1 to 25 SKUs")
        for item in requests:
            sku = item.get("sku") if isinstance(item, Mapping) else None
            if not isinstance(sku, str) or not sku:
                raise self.rejected(f"{operation}: every request needs a 'sku'")
        reply = self.call(
            "POST",
            f"{self.host}/sell/inventory/v1/bulk_update_price_quantity",
            json_body={"requests": requests},
            operation=operation,
        )
        data = reply.data if isinstance(reply.data, dict) else None
        responses = data.get("responses") if data is not None else None
        if not isinstance(responses, list):
            raise self.malformed_reply(reply, operation, "no 'responses' list")
        refused = [
            str(r.get("sku") or r.get("offerId") or "?")
            for r in responses
            if isinstance(r, Mapping) and r.get("statusCode") not in (200, "200")
        ]
        if refused:
            what = f"{operation}: eBay refused SKU(s) {', '.join(refused)}"
            raise self.rejected(what, code=RequestRejectedError.default_code)
        return data if data is not None else {}

    # -- notifications --------------------------------------------------------------------

    def public_key(self, kid: str) -> ec.EllipticCurvePublicKey:
        """The notification public key ``kid``, fetched once an hour at most."""
        cached = self._keys.get(kid)
        if cached is not None and self.clock.now() - cached[1] < _KEY_TTL:
            return cached[0]
        reply = self.call(
            "GET",
            f"{self.host}/commerce/notification/v1/public_key/{kid}",
            operation="getPublicKey",
        )
        data = reply.data if isinstance(reply.data, dict) else {}
        pem = data.get("key")
        if not isinstance(pem, str) or _PEM not in pem:
            raise self.malformed_reply(reply, "getPublicKey", "no PEM 'key'")
        # eBay returns the PEM on one line; the loader wants the base64 body on its own lines.
        body = pem.replace(_PEM, "").replace("-----END PUBLIC KEY-----", "").strip()
        text = f"{_PEM}\n{body}\n-----END PUBLIC KEY-----\n"
        try:
            key = serialization.load_pem_public_key(text.encode())
        except (ValueError, UnsupportedAlgorithm) as exc:
            raise self.malformed_reply(reply, "getPublicKey", "unreadable key") from exc
        if not isinstance(key, ec.EllipticCurvePublicKey):
            raise self.malformed_reply(reply, "getPublicKey", "not an elliptic-curve key")
        self._keys[kid] = (key, self.clock.now())
        return key

    def verify_webhook(self, headers: Mapping[str, str], body: bytes) -> WebhookEvent:
        h = lower_headers(headers)
        try:
            header = json.loads(base64.b64decode(h.get("x-ebay-signature", ""), validate=True))
            kid = str(header["kid"])
            signature = base64.b64decode(str(header["signature"]), validate=True)
        except (binascii.Error, ValueError, KeyError, TypeError) as exc:
            raise self.bad_signature("X-EBAY-SIGNATURE is missing or unreadable") from exc
        digest = str(header.get("digest", "SHA1")).upper()
        algorithm: hashes.HashAlgorithm = hashes.SHA256() if digest == "SHA256" else hashes.SHA1()
        try:
            key = self.public_key(kid)
        except RequestRejectedError as exc:  # eBay does not know the key id: a forgery
            raise self.bad_signature(f"unknown signing key {kid!r}") from exc
        try:
            key.verify(signature, body, ec.ECDSA(algorithm))
        except InvalidSignature as exc:
            raise self.bad_signature("X-EBAY-SIGNATURE does not match the body") from exc
        payload = self.parse_webhook_json(body)
        metadata = payload.get("metadata")
        notification = payload.get("notification")
        topic = metadata.get("topic") if isinstance(metadata, dict) else None
        event_id = notification.get("notificationId") if isinstance(notification, dict) else None
        if not topic or not event_id:
            raise self.malformed_webhook("metadata.topic or notification.notificationId missing")
        return WebhookEvent(
            channel=self.channel,
            entity=str(topic).lower(),
            event_id=str(event_id),
            topic=str(topic),
            payload=payload,
            api_version=str(metadata.get("schemaVersion")) if isinstance(metadata, dict) else None,
        )

    def webhook_challenge(self, params: Mapping[str, str]) -> dict[str, Any] | None:
        code = params.get("challenge_code")
        if not code:
            return None
        digest = hashlib.sha256(
            (
                code
                + self.secret("EBAY_VERIFICATION_TOKEN")
                + self.setting("EBAY_WEBHOOK_ENDPOINT")
            ).encode()
        ).hexdigest()
        return {"challengeResponse": digest}

    def record_key(self, entity: str, record: Mapping[str, Any]) -> str | None:
        _, _, id_field = self._resource(entity)
        if record.get(id_field) is None:
            return None
        modified = record.get("lastModifiedDate", "")
        return f"ebay:{entity}:{record[id_field]}:{modified}"
