"""The base connector: one request loop that every channel shares.

A channel connector subclasses :class:`Connector` and fills in a few hooks (how to sign a
request, how to read its rate-limit headers, how to page through a list, how to verify a
webhook). The loop in :meth:`Connector.call` does the rest, identically for every channel:

1. wait for the client-side rate limiter (:meth:`Connector.wait_before`);
2. sign the request (:meth:`Connector.prepare`) and send it through the injected
   ``httpx2.Client``; an httpx2 exception becomes a :class:`~accord.errors.TransientError`;
3. parse the body (floats as ``Decimal``: money is exact) and let the channel read its
   rate-limit state from the reply (:meth:`Connector.observe`);
4. classify the reply (:meth:`Connector.classify`) into the shared
   :class:`~accord.errors.ErrorClass` and follow the :class:`~accord.connectors.retry.RetryPolicy`:
   back off on transient and quota failures, refresh credentials and retry once on auth,
   never retry validation or business conflicts.

Every error message passes through the connector's :class:`~accord.connectors.secrets.Redactor`,
so no credential ever reaches a log, an exception or the dead-letter store.
"""

from __future__ import annotations

import abc
import json
import logging
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, ClassVar

import httpx2

from accord.clock import Clock, SystemClock
from accord.diagnostics import Diagnostic
from accord.errors import (
    AuthError,
    ConflictError,
    ConnectorError,
    ErrorClass,
    QuotaError,
    RequestRejectedError,
    TransientError,
)

from .retry import RetryPolicy, Sleep, parse_retry_after
from .secrets import EnvSecrets, Redactor, SecretsProvider

__all__ = [
    "Connector",
    "Page",
    "Reply",
    "WebhookEvent",
    "as_number",
    "classify_status",
    "dumps",
    "loads",
]

log = logging.getLogger("accord.connectors")

# Diagnostic codes owned by the connectors (CONN001-005 are the error classes' defaults).
MALFORMED_RESPONSE = "CONN010"
BAD_SIGNATURE = "CONN011"
MALFORMED_WEBHOOK = "CONN012"
MISSING_CREDENTIAL = "CONN013"
UNSUPPORTED = "CONN014"
GRAPHQL_ERROR = "CONN016"
UNEXPECTED_SHAPE = "CONN017"
NOT_FOUND = "CONN019"

_SNIPPET = 300  # characters of a response body quoted in an error message


@dataclass(frozen=True, slots=True)
class Reply:
    """A parsed response: status, headers and the JSON body (``None`` when empty)."""

    status_code: int
    headers: httpx2.Headers
    data: Any
    text: str
    url: str


@dataclass(frozen=True, slots=True)
class Page:
    """One page of a listing.

    ``cursor`` fetched this page (``None`` for the first); ``next_cursor`` fetches the next one
    and is ``None`` on the last page. Cursors are opaque strings a backfill stores to resume.
    """

    entity: str
    items: tuple[dict[str, Any], ...]
    cursor: str | None
    next_cursor: str | None
    api_version: str | None = None


@dataclass(frozen=True, slots=True)
class WebhookEvent:
    """A verified webhook delivery, ready for the engine.

    ``event_id`` is the channel's delivery id (``X-Shopify-Webhook-Id``, the SQS message id,
    ...): the engine deduplicates on it, so a delivery retried by the channel is processed once.
    """

    channel: str
    entity: str
    event_id: str
    topic: str
    payload: dict[str, Any]
    api_version: str | None = None


def _json_default(value: object) -> object:
    if isinstance(value, Decimal):
        return str(value)  # amounts travel as strings: no float on the way out either
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def dumps(data: Any) -> bytes:
    """Compact JSON bytes; ``Decimal`` becomes a string, datetimes ISO-8601 UTC.

    >>> dumps({"amount": Decimal("10.10"), "id": "1"})
    b'{"amount":"10.10","id":"1"}'
    """
    return json.dumps(data, default=_json_default, separators=(",", ":"), allow_nan=False).encode()


def loads(raw: bytes | str) -> Any:
    """Parse JSON with every non-integer number as ``Decimal``.

    >>> loads(b'{"price": 19.99, "qty": 2}')
    {'price': Decimal('19.99'), 'qty': 2}
    """
    return json.loads(raw, parse_float=Decimal)


def as_number(value: Any, default: float) -> float:
    """A finite number from a channel's JSON or headers, or ``default``.

    >>> as_number("3600", 0.0), as_number("soon", 7.0), as_number(None, 1.0)
    (3600.0, 7.0, 1.0)
    """
    if isinstance(value, bool):
        return default
    try:
        number = float(value)
    except (TypeError, ValueError):
        return default
    return number if number == number and abs(number) != float("inf") else default


def classify_status(
    status: int,
    message: str,
    *,
    retry_after: float | None = None,
    details: tuple[tuple[str, str], ...] = (),
) -> ConnectorError | None:
    """The shared classification of an HTTP status; ``None`` for a success.

    >>> classify_status(429, "slow down", retry_after=2.0).error_class.value
    'quota'
    >>> type(classify_status(422, "bad sku")).__name__, classify_status(200, "ok")
    ('RequestRejectedError', None)
    """
    if 200 <= status < 300:
        return None
    cls: type[ConnectorError]
    if status == 429:
        cls = QuotaError
    elif status in (401, 403):
        cls = AuthError
    elif status == 409:
        cls = ConflictError
    elif status in (408, 423, 425) or status >= 500:
        # 423 is Shopify's "shop locked" (a migration in progress): it clears by itself.
        cls = TransientError
    else:
        cls = RequestRejectedError
    diagnostic = Diagnostic(code=cls.default_code, message=message, details=details)
    return cls(message, diagnostics=(diagnostic,), status_code=status, retry_after=retry_after)


class Connector(abc.ABC):
    """Base of every channel connector.

    Subclasses set :attr:`channel` and implement :meth:`prepare` (authentication) and the
    operations they support; anything a channel cannot do raises
    :class:`~accord.errors.RequestRejectedError` with code ``CONN014``.
    """

    #: The channel name used by mappings and the engine (``shopify``, ``amazon``, ...).
    channel: ClassVar[str] = ""
    #: The API version this connector is pinned to, if the channel versions its API.
    api_version: ClassVar[str | None] = None
    #: Entities :meth:`list_page` understands.
    entities: ClassVar[tuple[str, ...]] = ()

    def __init__(
        self,
        client: httpx2.Client,
        *,
        secrets: SecretsProvider | None = None,
        retry: RetryPolicy | None = None,
        clock: Clock | None = None,
        sleep: Sleep | None = None,
    ) -> None:
        self.client = client
        self.secrets: SecretsProvider = secrets if secrets is not None else EnvSecrets()
        self.retry = retry if retry is not None else RetryPolicy()
        self.clock: Clock = clock if clock is not None else SystemClock()
        self.sleep: Sleep = sleep if sleep is not None else time.sleep
        self.redactor = Redactor()
        self._cache: dict[str, str] = {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(channel={self.channel!r})"

    # -- credentials ----------------------------------------------------------------------

    def secret(self, name: str) -> str:
        """Credential ``name`` from the secrets provider; remembered for redaction.

        A missing credential is an :class:`~accord.errors.AuthError` (``CONN013``) naming the
        variable, never its value.
        """
        value = self.optional_secret(name)
        if value is None:
            message = f"{self.channel}: credential {name} is not set"
            raise AuthError(
                message,
                diagnostics=(
                    Diagnostic(
                        code=MISSING_CREDENTIAL,
                        message=message,
                        hint=f"set the environment variable {name} or pass a secrets provider",
                    ),
                ),
            )
        return value

    def optional_secret(self, name: str) -> str | None:
        """Like :meth:`secret` but ``None`` when unset."""
        if name in self._cache:
            return self._cache[name]
        value = self.secrets.get(name)
        if value is not None:
            self.redactor.add(value)
            self._cache[name] = value
        return value

    def setting(self, name: str) -> str:
        """A non-secret configuration value from the same provider (a shop domain, an app
        key, an account id): required like a credential but not redacted, so recordings keep
        it and replays match on it."""
        value = self.optional_setting(name)
        if value is None:
            message = f"{self.channel}: setting {name} is not set"
            raise AuthError(
                message,
                diagnostics=(
                    Diagnostic(
                        code=MISSING_CREDENTIAL,
                        message=message,
                        hint=f"set the environment variable {name} or pass a secrets provider",
                    ),
                ),
            )
        return value

    def optional_setting(self, name: str) -> str | None:
        """Like :meth:`setting` but ``None`` when unset."""
        return self.secrets.get(name)

    def redact(self, text: str) -> str:
        """``text`` with every credential this connector has seen replaced."""
        return self.redactor.redact(text)

    # -- hooks ----------------------------------------------------------------------------

    @abc.abstractmethod
    def prepare(self, request: httpx2.Request) -> httpx2.Request:
        """Authenticate (and sign) ``request``; may return a new request."""

    def refresh_credentials(self) -> None:
        """Called once after an auth failure, before the retry.

        The default forgets cached credentials so a rotated value is read again; connectors
        with OAuth tokens also drop their access token here.
        """
        self._cache.clear()

    def wait_before(self, operation: str, cost: float) -> float:
        """Seconds to pause before calling ``operation`` (client-side rate limiting)."""
        return 0.0

    def observe(self, reply: Reply, operation: str) -> None:
        """Read rate-limit state from a reply (headers, GraphQL cost, ...)."""
        return  # most channels report nothing worth tracking

    def classify(self, reply: Reply, operation: str) -> ConnectorError | None:
        """The error a reply represents, or ``None``. Channels refine the status mapping
        (Shopify reports GraphQL throttling with HTTP 200, for example)."""
        if 200 <= reply.status_code < 300:
            return None
        retry_after = parse_retry_after(reply.headers.get("retry-after"), self.clock.now())
        return classify_status(
            reply.status_code,
            self._message(operation, f"HTTP {reply.status_code}", reply.text),
            retry_after=retry_after,
            details=self._details(operation, reply.status_code),
        )

    # -- the request loop -----------------------------------------------------------------

    def call(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str | int] | None = None,
        json_body: Any = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        operation: str | None = None,
        cost: float = 1.0,
        retry_transient: bool = True,
    ) -> Reply:
        """Send one logical request, retrying as the policy allows; return the parsed reply.

        ``retry_transient=False`` raises a transient failure at once instead of resending: a
        create that timed out may have landed, so the caller looks it up before trying again
        (quota and auth refusals are still retried here: those requests never ran).

        Raises a :class:`~accord.errors.ConnectorError` subclass; never an httpx2 exception.
        """
        operation = operation or f"{method} {url.split('?', 1)[0]}"
        try:
            body = dumps(json_body) if json_body is not None else content
        except (TypeError, ValueError) as exc:  # a set, a float NaN, a custom object...
            raise self.rejected(f"{operation}: the body is not JSON-serialisable: {exc}") from exc
        send_headers = dict(headers or {})
        if json_body is not None:
            send_headers.setdefault("content-type", "application/json")
        send_headers.setdefault("accept", "application/json")
        attempt = 0
        refreshed = False
        while True:
            attempt += 1
            pause = self.wait_before(operation, cost)
            if pause > 0:
                log.debug("%s: rate limiter pauses %.3fs before %s", self.channel, pause, operation)
                self.sleep(pause)
            # Signing may itself call the channel (an OAuth token exchange, which retries on
            # its own); its failure ends this call rather than being retried a second time.
            request = self.prepare(self._build(method, url, params, body, send_headers, operation))
            error: ConnectorError | None
            try:
                reply = self._send(request, operation)
            except ConnectorError as exc:
                error = exc
            else:
                error = self.classify(reply, operation)
                if error is None:
                    return reply
            if error.error_class is ErrorClass.AUTH and not refreshed and error.status_code:
                refreshed = True
                log.info("%s: %s refused credentials; refreshing once", self.channel, operation)
                self.refresh_credentials()
                continue
            if not self.retry.should_retry(error, attempt) or (
                not retry_transient and error.error_class is ErrorClass.TRANSIENT
            ):
                raise error
            delay = self.retry.delay(error, attempt)
            log.info(
                "%s: %s failed (%s, %s); retry %d in %.3fs",
                self.channel,
                operation,
                error.error_class.value,
                error.code,
                attempt,
                delay,
            )
            self.sleep(delay)

    def _build(
        self,
        method: str,
        url: str,
        params: Mapping[str, str | int] | None,
        body: bytes | None,
        headers: dict[str, str],
        operation: str,
    ) -> httpx2.Request:
        try:
            return self.client.build_request(
                method, url, params=dict(params) if params else None, content=body, headers=headers
            )
        except (httpx2.InvalidURL, httpx2.HTTPError) as exc:
            message = self._message(operation, "invalid request", str(exc))
            raise RequestRejectedError(
                message,
                diagnostics=(Diagnostic(code=RequestRejectedError.default_code, message=message),),
            ) from exc

    def _send(self, request: httpx2.Request, operation: str) -> Reply:
        try:
            response = self.client.send(request)
            raw = response.read()
        except httpx2.HTTPError as exc:
            message = self._message(operation, type(exc).__name__, str(exc))
            raise TransientError(
                message,
                diagnostics=(
                    Diagnostic(
                        code=TransientError.default_code,
                        message=message,
                        details=self._details(operation, None),
                    ),
                ),
            ) from exc
        text = raw.decode("utf-8", errors="replace")
        data: Any = None
        if raw.strip():
            try:
                data = loads(raw)
            except ValueError as exc:
                if 200 <= response.status_code < 300:
                    # A truncated or proxy-mangled body: usually gone on the next try.
                    message = self._message(operation, "response is not valid JSON", text)
                    raise TransientError(
                        message,
                        diagnostics=(
                            Diagnostic(
                                code=MALFORMED_RESPONSE,
                                message=message,
                                details=self._details(operation, response.status_code),
                            ),
                        ),
                        status_code=response.status_code,
                    ) from exc
        reply = Reply(response.status_code, response.headers, data, text, str(request.url))
        log.debug("%s: %s -> %d", self.channel, operation, response.status_code)
        self.observe(reply, operation)
        return reply

    def _message(self, operation: str, what: str, body: str = "") -> str:
        snippet = " ".join(body.split())[:_SNIPPET]
        text = f"{self.channel} {operation}: {what}" + (f": {snippet}" if snippet else "")
        return self.redact(text)

    def _details(self, operation: str, status: int | None) -> tuple[tuple[str, str], ...]:
        out = [("channel", self.channel), ("operation", operation)]
        if status is not None:
            out.append(("status", str(status)))
        return tuple(out)

    def rejected(self, what: str, *, code: str = UNSUPPORTED) -> RequestRejectedError:
        """A :class:`~accord.errors.RequestRejectedError` about this connector's usage."""
        message = self.redact(f"{self.channel}: {what}")
        return RequestRejectedError(
            message, diagnostics=(Diagnostic(code=code, message=message),), code=code
        )

    # -- operations -----------------------------------------------------------------------

    def list_page(
        self,
        entity: str,
        *,
        cursor: str | None = None,
        since: datetime | None = None,
        page_size: int | None = None,
    ) -> Page:
        """Fetch one page of ``entity`` changed since ``since``, starting at ``cursor``."""
        raise self.rejected(f"listing {entity!r} is not supported")

    def pages(
        self,
        entity: str,
        *,
        since: datetime | None = None,
        cursor: str | None = None,
        page_size: int | None = None,
    ) -> Iterator[Page]:
        """Every page from ``cursor`` (or the start) to the end.

        A page is yielded only once it has been fetched whole, so a failure mid-page retries
        that page from the same cursor: nothing is yielded twice.
        """
        if self.entities and entity not in self.entities:
            raise self.rejected(f"unknown entity {entity!r}; known: {', '.join(self.entities)}")
        while True:
            page = self.list_page(entity, cursor=cursor, since=since, page_size=page_size)
            yield page
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    def get(self, entity: str, id: str) -> dict[str, Any]:
        """One record by id."""
        raise self.rejected(f"getting {entity!r} is not supported")

    def create(
        self, entity: str, record: Mapping[str, Any], *, idempotency_key: str
    ) -> dict[str, Any]:
        """Create a record; ``idempotency_key`` makes a retried create safe."""
        raise self.rejected(f"creating {entity!r} is not supported")

    def update(
        self, entity: str, id: str, record: Mapping[str, Any], *, idempotency_key: str
    ) -> dict[str, Any]:
        """Update a record; ``idempotency_key`` makes a retried update safe."""
        raise self.rejected(f"updating {entity!r} is not supported")

    def verify_webhook(self, headers: Mapping[str, str], body: bytes) -> WebhookEvent:
        """Check a delivery's signature and parse it.

        Raises :class:`~accord.errors.AuthError` (``CONN011``) on a bad or missing signature
        and :class:`~accord.errors.RequestRejectedError` (``CONN012``) on a malformed body.
        """
        raise self.rejected("webhooks are not supported")

    def webhook_ping(self, headers: Mapping[str, str], body: bytes) -> bool:
        """Whether a delivery is the channel's liveness ping (not an event): ``accord serve``
        answers it 200 and hands nothing to the engine. Channels send none by default."""
        return False

    def webhook_challenge(self, params: Mapping[str, str]) -> dict[str, Any] | None:
        """The answer to an endpoint-ownership challenge (a ``GET`` with a challenge code,
        as eBay sends), or ``None`` when this channel sends none."""
        return None

    def complete(
        self, entity: str, payload: Mapping[str, Any], *, topic: str | None = None
    ) -> tuple[str, dict[str, Any]] | None:
        """The entity and payload the engine should receive for one event, in the shape the
        channel's shipped inbound spec of that entity takes; ``None`` when no shipped spec
        maps the event (it is acknowledged and not handed over).

        A webhook or a listing often carries less than the spec maps (a notification with
        an order id, a stock level without its SKU): channels override this to fetch the
        rest. ``topic`` is the webhook topic, ``None`` for a pulled record. The default
        hands the event over as it is. Use :meth:`for_engine`, which classifies failures.
        """
        return entity, dict(payload)

    def for_engine(
        self, entity: str, payload: Mapping[str, Any], *, topic: str | None = None
    ) -> tuple[str, dict[str, Any]] | None:
        """:meth:`complete`, as ``accord serve`` and ``accord pull`` call it.

        A transient, quota or auth failure is raised: the delivery is answered 503 (the
        channel sends it again) and a backfill stops at its checkpoint. A validation or
        business failure (the order was deleted, the reply lacks what the API documents)
        would fail the same way every time, so the event is handed over as received: the
        engine cannot map it and keeps it in the dead-letter store, where it is not lost.
        """
        try:
            return self.complete(entity, payload, topic=topic)
        except ConnectorError as exc:
            if exc.error_class.retryable or exc.error_class is ErrorClass.AUTH:
                raise
            log.warning(
                "%s: %s event not completed (%s, %s); handed over as received",
                self.channel,
                entity,
                exc.error_class.value,
                exc.code,
            )
            return entity, dict(payload)

    def record_key(self, entity: str, record: Mapping[str, Any]) -> str | None:
        """A stable id for a pulled record's version (id plus last-change time), used as the
        event id when a backfill hands it to the engine. ``None`` when the record has none."""
        return None

    # -- helpers for subclasses -----------------------------------------------------------

    def create_once(
        self,
        lookup: Callable[[], dict[str, Any] | None],
        send: Callable[[], dict[str, Any]],
        operation: str,
    ) -> dict[str, Any]:
        """Emulate an idempotent create on a channel that offers no idempotency key.

        ``lookup`` finds a record an earlier try already created (by the key stored on it);
        ``send`` creates one and must call :meth:`call` with ``retry_transient=False``. A
        transient failure of ``send`` (a timeout: the create may have landed) leads back to
        ``lookup`` before any resend, so a retried create never makes a second record.
        """
        attempt = 0
        while True:
            attempt += 1
            found = lookup()
            if found is not None:
                log.info("%s: %s already done by an earlier try; not resent", self.channel,
                         operation)  # fmt: skip
                return found
            try:
                return send()
            except TransientError as exc:
                if not self.retry.should_retry(exc, attempt):
                    raise
                self.sleep(self.retry.delay(exc, attempt))

    def bad_signature(self, what: str) -> AuthError:
        """The error for a webhook whose signature does not verify."""
        message = f"{self.channel} webhook: {what}"
        return AuthError(message, diagnostics=(Diagnostic(code=BAD_SIGNATURE, message=message),))

    def malformed_webhook(self, what: str) -> RequestRejectedError:
        """The error for a webhook whose body or headers cannot be understood."""
        message = self.redact(f"{self.channel} webhook: {what}")
        return RequestRejectedError(
            message, diagnostics=(Diagnostic(code=MALFORMED_WEBHOOK, message=message),)
        )

    def malformed_reply(self, reply: Reply, operation: str, what: str) -> RequestRejectedError:
        """A 2xx reply whose JSON lacks what the API documents (``CONN017``): classified as
        validation, since retrying the same request would get the same answer."""
        return self.rejected(
            f"{operation}: unexpected response shape ({what}; HTTP {reply.status_code})",
            code=UNEXPECTED_SHAPE,
        )

    def parse_webhook_json(self, body: bytes) -> dict[str, Any]:
        """The JSON object in a webhook body, or a ``CONN012`` error."""
        try:
            data = loads(body)
        except ValueError as exc:
            raise self.malformed_webhook("body is not valid JSON") from exc
        if not isinstance(data, dict):
            raise self.malformed_webhook("body is not a JSON object")
        return data
