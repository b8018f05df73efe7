"""NetSuite SuiteTalk REST Web Services (``/services/rest/record/v1``).

* Authentication: token-based authentication, i.e. OAuth 1.0a with ``HMAC-SHA256`` signatures
  (RFC 5849 section 3.4 with SHA-256, as NetSuite requires since 2021.2). The signature base
  string is ``METHOD&encoded-url&encoded-sorted-parameters`` (query parameters plus the
  ``oauth_*`` ones), the key ``encoded-consumer-secret&encoded-token-secret``, and the header
  carries ``realm`` = the account id. Credentials: ``NETSUITE_ACCOUNT_ID``,
  ``NETSUITE_CONSUMER_KEY``, ``NETSUITE_CONSUMER_SECRET``, ``NETSUITE_TOKEN_ID``,
  ``NETSUITE_TOKEN_SECRET``. Timestamp and nonce are injectable.
  (https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_4395630653.html)
* Pagination: ``limit``/``offset`` with ``hasMore``; collection items hold only ids and links,
  so each page is expanded by fetching the records.
* Idempotent creates: ``PUT /{type}/eid:{key}`` upserts by external id, so the idempotency key
  becomes the record's ``externalId`` and a retried create updates the same record.
* Webhooks: NetSuite has none of its own (a SuiteScript would have to post them), so
  ``verify_webhook`` refuses.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets as _secrets
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, ClassVar
from urllib.parse import quote

import httpx2

from accord.clock import Clock

from .base import Connector, Page
from .retry import RetryPolicy, Sleep
from .secrets import SecretsProvider

__all__ = ["NetSuiteConnector", "oauth1_authorization"]

_RECORD_TYPES = {
    "order": "salesOrder",
    "customer": "customer",
    "item": "inventoryItem",
    "fulfillment": "itemFulfillment",
    "invoice": "invoice",
}


def _enc(value: str) -> str:
    # RFC 5849 3.6: percent-encode everything but unreserved characters.
    return quote(value, safe="~-._")


def oauth1_authorization(
    method: str,
    url: str,
    params: Sequence[tuple[str, str]],
    *,
    consumer_key: str,
    consumer_secret: str,
    token: str,
    token_secret: str,
    timestamp: str,
    nonce: str,
    realm: str | None = None,
    signature_method: str = "HMAC-SHA256",
) -> str:
    """The ``Authorization: OAuth ...`` header value for one request.

    ``url`` is scheme, host and path (no query); ``params`` are the query parameters (and
    form fields, if any). ``signature_method`` is ``HMAC-SHA256`` (NetSuite) or ``HMAC-SHA1``.
    """
    oauth = {
        "oauth_consumer_key": consumer_key,
        "oauth_nonce": nonce,
        "oauth_signature_method": signature_method,
        "oauth_timestamp": timestamp,
        "oauth_token": token,
        "oauth_version": "1.0",
    }
    pairs = sorted((_enc(k), _enc(v)) for k, v in [*params, *oauth.items()])
    normalized = "&".join(f"{k}={v}" for k, v in pairs)
    base = "&".join((method.upper(), _enc(url), _enc(normalized)))
    key = f"{_enc(consumer_secret)}&{_enc(token_secret)}".encode()
    digest = hashlib.sha256 if signature_method == "HMAC-SHA256" else hashlib.sha1
    signature = base64.b64encode(hmac.new(key, base.encode(), digest).digest()).decode()
    fields = {**oauth, "oauth_signature": signature}
    parts = [f'realm="{realm}"'] if realm is not None else []
    parts += [f'{k}="{_enc(v)}"' for k, v in fields.items()]
    return "OAuth " + ", ".join(parts)


class NetSuiteConnector(Connector):
    """NetSuite client: TBA-signed requests, expanded paging, upserts by external id."""

    channel: ClassVar[str] = "netsuite"
    api_version: ClassVar[str | None] = "record/v1"
    entities: ClassVar[tuple[str, ...]] = tuple(_RECORD_TYPES)

    def __init__(
        self,
        client: httpx2.Client,
        *,
        secrets: SecretsProvider | None = None,
        retry: RetryPolicy | None = None,
        clock: Clock | None = None,
        sleep: Sleep | None = None,
        nonce: Callable[[], str] | None = None,
        since_format: str = "%m/%d/%Y",
        expand: bool = True,
    ) -> None:
        super().__init__(client, secrets=secrets, retry=retry, clock=clock, sleep=sleep)
        self.nonce = nonce or (lambda: _secrets.token_hex(16))
        #: NetSuite compares dates in the account's date format preference.
        self.since_format = since_format
        self.expand = expand

    @property
    def account(self) -> str:
        return self.setting("NETSUITE_ACCOUNT_ID").strip().upper()

    @property
    def base_url(self) -> str:
        host = self.account.lower().replace("_", "-")
        return f"https://{host}.suitetalk.api.netsuite.com/services/rest/record/v1"

    def prepare(self, request: httpx2.Request) -> httpx2.Request:
        url = request.url
        bare = str(url.copy_with(query=None, fragment=None))
        request.headers["Authorization"] = oauth1_authorization(
            request.method,
            bare,
            list(url.params.multi_items()),
            consumer_key=self.secret("NETSUITE_CONSUMER_KEY"),
            consumer_secret=self.secret("NETSUITE_CONSUMER_SECRET"),
            token=self.secret("NETSUITE_TOKEN_ID"),
            token_secret=self.secret("NETSUITE_TOKEN_SECRET"),
            timestamp=str(int(self.clock.now().timestamp())),
            nonce=self.nonce(),
            realm=self.account,
        )
        return request

    def _type(self, entity: str) -> str:
        try:
            return _RECORD_TYPES[entity]
        except KeyError:
            raise self.rejected(
                f"unknown entity {entity!r}; known: {', '.join(_RECORD_TYPES)}"
            ) from None

    def list_page(
        self,
        entity: str,
        *,
        cursor: str | None = None,
        since: datetime | None = None,
        page_size: int | None = None,
    ) -> Page:
        record_type = self._type(entity)
        try:
            offset = int(cursor) if cursor is not None else 0
        except ValueError:
            raise self.rejected(f"cursor {cursor!r} is not an offset") from None
        params: dict[str, str | int] = {"limit": min(page_size or 100, 1000), "offset": offset}
        if since is not None:
            params["q"] = f'lastModifiedDate ON_OR_AFTER "{since.strftime(self.since_format)}"'
        reply = self.call(
            "GET", f"{self.base_url}/{record_type}", params=params, operation=f"list {entity}"
        )
        data = reply.data if isinstance(reply.data, dict) else None
        items = data.get("items") if data is not None else None
        if not isinstance(items, list):
            raise self.malformed_reply(reply, f"list {entity}", "no 'items' list")
        records = [i for i in items if isinstance(i, dict)]
        if self.expand:
            records = [self.get(entity, str(i["id"])) for i in records if i.get("id") is not None]
        more = bool(data.get("hasMore")) if data is not None else False
        return Page(
            entity=entity,
            items=tuple(records),
            cursor=cursor,
            next_cursor=str(offset + len(items)) if more and items else None,
            api_version=self.api_version,
        )

    def get(self, entity: str, id: str) -> dict[str, Any]:
        record_type = self._type(entity)
        reply = self.call("GET", f"{self.base_url}/{record_type}/{id}", operation=f"get {entity}")
        if not isinstance(reply.data, dict):
            raise self.malformed_reply(reply, f"get {entity}", "not a JSON object")
        return reply.data

    def create(
        self, entity: str, record: Mapping[str, Any], *, idempotency_key: str
    ) -> dict[str, Any]:
        """Upsert by external id: the idempotency key becomes the record's ``externalId``."""
        record_type = self._type(entity)
        key = idempotency_key.strip()
        if not key:
            raise self.rejected("an idempotency key must not be blank")
        reply = self.call(
            "PUT",
            f"{self.base_url}/{record_type}/eid:{quote(key, safe='')}",
            json_body=dict(record),
            operation=f"create {entity}",
        )
        location = reply.headers.get("location", "")
        return {"id": location.rstrip("/").rsplit("/", 1)[-1] or None, "externalId": key}

    def update(
        self, entity: str, id: str, record: Mapping[str, Any], *, idempotency_key: str
    ) -> dict[str, Any]:
        """``PATCH`` the given fields (setting values twice leaves the same record)."""
        record_type = self._type(entity)
        self.call(
            "PATCH",
            f"{self.base_url}/{record_type}/{id}",
            json_body=dict(record),
            operation=f"update {entity}",
        )
        return {"id": id}

    def record_key(self, entity: str, record: Mapping[str, Any]) -> str | None:
        if record.get("id") is None:
            return None
        return f"netsuite:{entity}:{record['id']}:{record.get('lastModifiedDate', '')}"
