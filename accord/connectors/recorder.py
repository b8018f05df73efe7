"""Record real HTTP traffic once, replay it offline forever.

:class:`RecordingTransport` wraps a real transport and keeps every request/response pair;
:class:`ReplayTransport` answers from a recording and raises :class:`ReplayMismatchError` for
any request the recording does not hold (and :meth:`ReplayTransport.assert_exhausted` for
any it held but nobody asked for). Put either under a connector's ``httpx2.Client``.

Recordings are safe to commit. By default they are scrubbed of

* secrets: credential headers (``Authorization``, ``X-Shopify-Access-Token``,
  ``x-amz-access-token``, ...), credential query parameters and form fields
  (``access_token``, ``sign``, ``consumer_secret``, ``refresh_token``, ...), JSON fields
  named like credentials, and every value the connector's
  :class:`~accord.connectors.secrets.Redactor` knows, wherever it appears;
* PII: JSON fields holding names, e-mail addresses, phone numbers and street addresses, in
  requests and responses alike.

Matching ignores what changes on every call (timestamps, nonces, signatures), and a scrubbed
value in the recording matches any value, so a replay matches its recording even when it runs
with other (dummy) credentials.

>>> import httpx2
>>> recording = [{"request": {"method": "GET", "url": "https://x.test/a?sign=[REDACTED]"},
...               "response": {"status": 200, "json": {"ok": True}}}]
>>> client = httpx2.Client(transport=ReplayTransport(recording))
>>> client.get("https://x.test/a?sign=abc").json()
{'ok': True}
>>> try:
...     client.get("https://x.test/b")
... except ReplayMismatchError as exc:
...     print(exc.code)
CONN015
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import httpx2

from accord.diagnostics import Diagnostic
from accord.errors import RequestRejectedError

from .base import Connector, dumps, loads
from .secrets import REDACTED, Redactor

__all__ = [
    "PII",
    "RecordingTransport",
    "Redaction",
    "ReplayMismatchError",
    "ReplayTransport",
    "load_recording",
]

#: What PII is replaced with.
PII = "[PII]"

SECRET_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "cookie",
        "set-cookie",
        "x-api-key",
        "x-shopify-access-token",
        "x-amz-access-token",
        "x-tts-access-token",
        "x-shopify-hmac-sha256",
        "x-wc-webhook-signature",
        "webhook-signature",
    }
)
SECRET_FIELDS = frozenset(
    {
        "access_token",
        "refresh_token",
        "client_secret",
        "app_secret",
        "consumer_key",
        "consumer_secret",
        "sign",
        "oauth_signature",
        "password",
        "secret",
        "token",
    }
)
PII_FIELDS = frozenset(
    {
        "email",
        "contact_email",
        "customer_email",
        "buyeremail",
        "buyername",
        "phone",
        "phone_number",
        "first_name",
        "last_name",
        "firstname",
        "lastname",
        "name_on_card",
        "address1",
        "address2",
        "addressline1",
        "addressline2",
        "addressline3",
        "street",
        "street1",
        "street2",
        "zip",
        "postal_code",
        "postalcode",
        "browser_ip",
        "ip_address",
    }
)
# Objects that describe a person or a place: every string inside is PII except these keys.
PII_CONTAINERS = frozenset(
    {
        "billing_address",
        "shipping_address",
        "billing",
        "shipping",
        "customer",
        "recipient",
        "buyerinfo",
        "shippingaddress",
        "default_address",
        "addresses",
        "address",
    }
)
_PII_KEEP = frozenset(
    {"country", "country_code", "countrycode", "province_code", "currency", "id", "state"}
)
# Query parameters that change on every call; matching ignores their values.
VOLATILE_PARAMS = frozenset({"timestamp", "sign", "oauth_nonce", "oauth_timestamp"})
_DROP_HEADERS = frozenset({"content-length", "content-encoding", "transfer-encoding", "date"})


class ReplayMismatchError(RequestRejectedError):
    """A replayed connector sent a request the recording does not hold (``CONN015``)."""

    default_code = "CONN015"


class Redaction:
    """Scrubs secrets and PII from URLs, headers and bodies.

    ``redactor`` adds the exact credential values a connector has read.
    """

    def __init__(
        self,
        redactor: Redactor | None = None,
        *,
        secret_headers: Iterable[str] = SECRET_HEADERS,
        secret_fields: Iterable[str] = SECRET_FIELDS,
        pii_fields: Iterable[str] = PII_FIELDS,
        redact_pii: bool = True,
    ) -> None:
        self.redactor = redactor or Redactor()
        self.secret_headers = frozenset(h.lower() for h in secret_headers)
        self.secret_fields = frozenset(f.lower() for f in secret_fields)
        self.pii_fields = frozenset(f.lower() for f in pii_fields) if redact_pii else frozenset()
        self.pii_containers = PII_CONTAINERS if redact_pii else frozenset()

    def text(self, value: str) -> str:
        return self.redactor.redact(value)

    def url(self, url: httpx2.URL | str) -> str:
        url = httpx2.URL(str(url))
        pairs = [
            (k, REDACTED if k.lower() in self.secret_fields else self.text(v))
            for k, v in url.params.multi_items()
        ]
        bare = self.text(str(url.copy_with(query=None, fragment=None)))
        return bare + ("?" + urlencode(sorted(pairs)) if pairs else "")

    def headers(self, headers: httpx2.Headers | Mapping[str, str]) -> dict[str, str]:
        out: dict[str, str] = {}
        for name, value in headers.items():
            key = name.lower()
            if key in _DROP_HEADERS:
                continue
            out[key] = REDACTED if key in self.secret_headers else self.text(value)
        return out

    def data(self, value: Any, *, personal: bool = False) -> Any:
        """A JSON value with secret and PII fields replaced (recursively). Inside an object
        that describes a person or an address (``personal``) every string is PII."""
        if isinstance(value, dict):
            return {k: self._field(str(k), v, personal) for k, v in value.items()}
        if isinstance(value, list):
            return [self.data(v, personal=personal) for v in value]
        if isinstance(value, str):
            return PII if personal else self.text(value)
        return value

    def _field(self, key: str, value: Any, personal: bool) -> Any:
        lowered = key.lower()
        if value is None or isinstance(value, (dict, list)):
            return self.data(value, personal=personal or lowered in self.pii_containers)
        if lowered in self.secret_fields:
            return REDACTED
        if lowered in self.pii_fields:
            return PII
        if personal and lowered in _PII_KEEP:
            return self.data(value)
        return self.data(value, personal=personal)

    def body(self, content: bytes, content_type: str) -> dict[str, Any]:
        """A recorded body: ``{"json": ...}``, ``{"form": [...]}``, ``{"text": ...}`` or ``{}``."""
        if not content:
            return {}
        if "json" in content_type or content[:1] in (b"{", b"["):
            try:
                return {"json": self.data(loads(content))}
            except ValueError:
                pass  # not JSON after all: recorded as text below
        if "x-www-form-urlencoded" in content_type:
            pairs = parse_qsl(content.decode("utf-8", "replace"), keep_blank_values=True)
            return {
                "form": [
                    [k, REDACTED if k.lower() in self.secret_fields else self.text(v)]
                    for k, v in pairs
                ]
            }
        return {"text": self.text(content.decode("utf-8", "replace"))}


def _json_ready(body: Mapping[str, Any]) -> dict[str, Any]:
    # Round-trip through the connector's JSON writer: Decimals become strings, like the wire.
    if not body:
        return {}
    try:
        return dict(loads(dumps(dict(body))))
    except ValueError:  # NaN or Infinity in a channel's JSON: keep it as text
        return {"text": json.dumps(dict(body), default=str)}


@dataclass(frozen=True)
class _Shape:
    """A request reduced to what matching compares."""

    method: str
    bare: str
    params: tuple[tuple[str, str], ...]
    body: Any

    @classmethod
    def of(cls, request: Mapping[str, Any]) -> _Shape:
        url = httpx2.URL(str(request.get("url", "")))
        return cls(
            str(request.get("method", "GET")).upper(),
            str(url.copy_with(query=None, fragment=None)),
            tuple(sorted(url.params.multi_items())),
            request.get("body") or {},
        )

    def __str__(self) -> str:
        return f"{self.method} {self.bare}" + ("?" + urlencode(self.params) if self.params else "")


def _same(recorded: Any, seen: Any) -> bool:
    """Structural equality where a scrubbed value in the recording matches any value: a
    replay may run with other credentials than the recording did."""
    if isinstance(recorded, str) and (recorded in (REDACTED, PII) or REDACTED in recorded):
        if recorded in (REDACTED, PII):
            return not isinstance(seen, (dict, list))
        pattern = ".*".join(re.escape(part) for part in recorded.split(REDACTED))
        return isinstance(seen, str) and re.fullmatch(pattern, seen, re.S) is not None
    if isinstance(recorded, dict) and isinstance(seen, dict):
        return recorded.keys() == seen.keys() and all(_same(recorded[k], seen[k]) for k in recorded)
    if isinstance(recorded, list) and isinstance(seen, list):
        return len(recorded) == len(seen) and all(map(_same, recorded, seen))
    return bool(recorded == seen)


def _matches(recorded: _Shape, seen: _Shape) -> bool:
    if recorded.method != seen.method or not _same(recorded.bare, seen.bare):
        return False
    if [k for k, _ in recorded.params] != [k for k, _ in seen.params]:
        return False
    for (key, want), (_, got) in zip(recorded.params, seen.params, strict=True):
        if key not in VOLATILE_PARAMS and not _same(want, got):
            return False
    return _same(recorded.body, seen.body)


class RecordingTransport(httpx2.BaseTransport):
    """Passes requests to ``inner`` and records each exchange, scrubbed."""

    def __init__(
        self,
        inner: httpx2.BaseTransport,
        *,
        redaction: Redaction | None = None,
    ) -> None:
        self.inner = inner
        self.redaction = redaction or Redaction()
        self.interactions: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        content = request.read()
        response = self.inner.handle_request(request)
        raw = response.read()
        r = self.redaction
        entry = {
            "request": {
                "method": request.method,
                "url": r.url(request.url),
                "headers": r.headers(request.headers),
                "body": _json_ready(r.body(content, request.headers.get("content-type", ""))),
            },
            "response": {
                "status": response.status_code,
                "headers": r.headers(response.headers),
                **_json_ready(r.body(raw, response.headers.get("content-type", ""))),
            },
        }
        with self._lock:
            self.interactions.append(entry)
        return httpx2.Response(
            response.status_code, headers=response.headers, content=raw, request=request
        )

    def watch(self, connector: Connector) -> None:
        """Scrub every credential value ``connector`` reads (its redactor), wherever it
        appears. Call it once the connector over this transport exists."""
        self.redaction.redactor = connector.redactor

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the recording as JSON (one file per scenario)."""
        with self._lock:
            data = {"version": 1, "interactions": list(self.interactions)}
        Path(path).write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")

    def close(self) -> None:
        self.inner.close()


def load_recording(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The interactions saved by :meth:`RecordingTransport.save`."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    interactions = data.get("interactions") if isinstance(data, dict) else None
    if not isinstance(interactions, list):
        raise ValueError(f"{path}: not an accord recording")
    return interactions


class ReplayTransport(httpx2.BaseTransport):
    """Answers from a recording; each recorded exchange answers once, in order.

    A request with no unused recorded match raises :class:`ReplayMismatchError`.
    """

    def __init__(
        self,
        interactions: Sequence[Mapping[str, Any]] | str | os.PathLike[str],
        *,
        redaction: Redaction | None = None,
    ) -> None:
        if isinstance(interactions, (str, os.PathLike)):
            interactions = load_recording(interactions)
        self.redaction = redaction or Redaction()
        self._pending = [dict(i) for i in interactions]
        self._used = [False] * len(self._pending)
        self._shapes = [_Shape.of(i.get("request", {})) for i in self._pending]
        self._lock = threading.Lock()

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        content = request.read()
        r = self.redaction
        seen = {
            "method": request.method,
            "url": r.url(request.url),
            "body": _json_ready(r.body(content, request.headers.get("content-type", ""))),
        }
        shape = _Shape.of(seen)
        with self._lock:
            for index, candidate in enumerate(self._shapes):
                if not self._used[index] and _matches(candidate, shape):
                    self._used[index] = True
                    return self._response(self._pending[index].get("response", {}), request)
        message = f"replay: no recorded exchange matches {shape}"
        raise ReplayMismatchError(
            message,
            diagnostics=(Diagnostic(code=ReplayMismatchError.default_code, message=message),),
        )

    @staticmethod
    def _response(recorded: Mapping[str, Any], request: httpx2.Request) -> httpx2.Response:
        headers = dict(recorded.get("headers") or {})
        if "json" in recorded:
            content = dumps(recorded["json"])
            headers.setdefault("content-type", "application/json")
        elif "text" in recorded:
            content = str(recorded["text"]).encode()
        elif "form" in recorded:
            content = urlencode(recorded["form"]).encode()
        else:
            content = b""
        return httpx2.Response(
            int(recorded.get("status", 200)), headers=headers, content=content, request=request
        )

    @property
    def unused(self) -> list[Mapping[str, Any]]:
        """Recorded exchanges nobody asked for."""
        with self._lock:
            return [i for i, used in zip(self._pending, self._used, strict=True) if not used]

    def assert_exhausted(self) -> None:
        """Raise :class:`ReplayMismatchError` if any recorded exchange was never requested."""
        left = self.unused
        if left:
            first = left[0].get("request", {})
            message = (
                f"replay: {len(left)} recorded exchange(s) never requested, first "
                f"{first.get('method')} {first.get('url')}"
            )
            raise ReplayMismatchError(
                message,
                diagnostics=(Diagnostic(code=ReplayMismatchError.default_code, message=message),),
            )
