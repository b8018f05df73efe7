"""The transactional outbox: delivering the engine's outbound payloads through connectors.

Every payload an ingest produces (``Result.outbound``: a NetSuite sales order, a ShipBob
order, one stock level per SKU for each inventory-synced channel, ...) is kept as a row of
``accord_outbox`` in the same transaction as the event's other effects, so a host that stops
between commit and delivery loses nothing: the row is still ``pending``. A duplicate or stale
event keeps nothing. :func:`deliver` sends due rows:

* a record goes through the destination connector's ``create(entity, payload,
  idempotency_key=...)``; a stock level through its ``update("inventory_level", sku, ...)``;
* the idempotency key is derived from the event key and the destination (and the position of
  a stock level in its list), so every try of a row sends the same key;
* success marks the row ``delivered`` with the id the destination answered;
* a transient or quota failure leaves it ``pending`` with one more attempt and a next attempt
  time (exponential backoff, at least the ``Retry-After`` the channel asked for); after
  ``max_attempts`` it is ``dead``;
* a validation, business-conflict or auth failure (the connector has already refreshed its
  credentials once), a destination without a connector or an entity the connector does not
  write makes the row ``dead`` and keeps it in the dead-letter store with its classification
  and payload, where ``accord dlq`` lists it and ``accord dlq retry`` puts it back.

Claims are committed before any request goes out (a lease, ``next_attempt_at`` moved past the
delivery), so no transaction stays open during a request; PostgreSQL dispatchers claim with
``FOR UPDATE SKIP LOCKED`` and never take the same row.

>>> outbox_key("shopify:order:b54557e4", "netsuite.sales_order")
'accord-c19f4c8010891f0d1627e7c65aed0eb4'
>>> outbox_key("shopify:order:b54557e4", "shopify.inventory_level", 0) != outbox_key(
...     "shopify:order:b54557e4", "shopify.inventory_level", 1)
True
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from accord.clock import SystemClock
from accord.diagnostics import Diagnostic
from accord.engine.runtime import _json
from accord.engine.runtime.store import iso as _iso
from accord.errors import AccordError, ConnectorError, ErrorClass

if TYPE_CHECKING:
    from accord.engine.runtime.store import OutboxRow, Store, Tx

__all__ = [
    "OUTBOX_EVENT_PREFIX",
    "Delivery",
    "DeliveryReport",
    "deliver",
    "outbox_key",
]

#: Dead letters of outbox rows are keyed ``outbox:<idempotency key>``.
OUTBOX_EVENT_PREFIX = "outbox:"

#: Keys of a connector's answer that name the record it created, most specific first.
_RESPONSE_IDS = ("id", "sellerFulfillmentOrderId", "externalId", "reference_id")

NO_CONNECTOR = "OUT001"
INTERNAL = "OUT009"


class Writer(Protocol):
    """What :func:`deliver` needs of a connector."""

    def create(
        self, entity: str, record: Mapping[str, Any], *, idempotency_key: str
    ) -> dict[str, Any]: ...

    def update(
        self, entity: str, id: str, record: Mapping[str, Any], *, idempotency_key: str
    ) -> dict[str, Any]: ...


class _HasStore(Protocol):
    store: Store


def outbox_key(event_key: str, destination: str, index: int | None = None) -> str:
    """The idempotency key of one outbound payload: the same for every try, different for
    every event, destination (``channel.entity``) and stock level of a list."""
    text = f"{event_key}\x1f{destination}" + ("" if index is None else f"\x1f{index}")
    return "accord-" + hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class Delivery:
    """What one try did to one outbox row."""

    id: int
    destination: str
    entity: str
    ref: str | None
    idempotency_key: str
    status: str  # delivered, pending (to be tried again), dead or superseded
    attempts: int
    response_id: str | None = None
    error_class: str | None = None
    code: str | None = None
    message: str | None = None
    next_attempt_at: str | None = None
    dlq_id: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True)
class DeliveryReport:
    """The rows one :func:`deliver` call tried, in claim order."""

    deliveries: list[Delivery] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for d in self.deliveries if d.status == status)

    @property
    def failed(self) -> bool:
        """Whether any row was not delivered (dead, or left for a later try); a superseded
        stock level is not a failure."""
        return any(d.status not in ("delivered", "superseded") for d in self.deliveries)


def backoff(attempts: int, retry_after: float | None = None, *, base: float = 30.0,
            cap: float = 3600.0) -> float:  # fmt: skip
    """Seconds before the next try after ``attempts`` failed ones.

    >>> [backoff(n) for n in (1, 2, 3)], backoff(20), backoff(1, retry_after=120.0)
    ([30.0, 60.0, 120.0], 3600.0, 120.0)
    """
    delay = min(base * float(2 ** min(attempts - 1, 30)), cap)
    return max(delay, float(retry_after or 0.0))


def deliver(
    source: Store | _HasStore,
    connectors: Mapping[str, Writer],
    *,
    limit: int = 100,
    now: datetime | None = None,
    lease: timedelta = timedelta(minutes=5),
    max_attempts: int = 10,
    destinations: Collection[str] | None = None,
) -> DeliveryReport:
    """Send up to ``limit`` due outbox rows through ``connectors`` (by project channel name;
    build them with :func:`accord.connectors.registry.connector_for`).

    ``source`` is an :class:`~accord.engine.runtime.Engine` or a store. ``now`` defaults to
    the engine's clock (else the system clock); rows are due when their next attempt time is
    at or before it. A dispatcher killed mid-run leaves its claimed rows due again after
    ``lease``. ``destinations`` (project channel names) leaves other channels' rows alone.
    """
    store: Store = source.store if hasattr(source, "store") else source
    if now is None:
        clock = getattr(source, "clock", None) or SystemClock()
        now = clock.now()
    at = _iso(now)
    until = _iso(now + lease)
    rows = store.run(lambda tx: tx.claim_outbox(limit, at, until, destinations))
    report = DeliveryReport()
    for row in rows:
        report.deliveries.append(_deliver_one(store, row, connectors, now, max_attempts))
    return report


def _deliver_one(store: Store, row: OutboxRow, connectors: Mapping[str, Writer],
                 now: datetime, max_attempts: int) -> Delivery:  # fmt: skip
    at = _iso(now)
    if row.entity == "inventory_level" and store.run(lambda tx: tx.outbox_superseded(row, at)):
        # A newer stock level for the same SKU is queued or sent: this older one never goes.
        return Delivery(row.id, row.destination, row.entity, row.ref, row.idempotency_key,
                        "superseded", row.attempts)  # fmt: skip
    connector = connectors.get(row.destination)
    if connector is None:
        error: AccordError = AccordError(
            diagnostics=[Diagnostic(
                code=NO_CONNECTOR,
                message=f"no connector delivers to channel {row.destination!r}; known:"
                f" {', '.join(sorted(connectors)) or 'none'}",
                record_id=row.record_id,
            )],
            error_class=ErrorClass.VALIDATION,
        )  # fmt: skip
        return _fail(store, row, error, now, dead=True)
    try:
        answer = _send(connector, row)
    except AccordError as exc:
        error = exc
    except Exception as exc:  # a connector bug must not lose the payload: try again later
        error = AccordError(
            diagnostics=[Diagnostic(
                code=INTERNAL, message=f"internal error: {type(exc).__name__}: {exc}",
                record_id=row.record_id,
            )],
            error_class=ErrorClass.TRANSIENT,
        )  # fmt: skip
    else:
        response_id = _response_id(answer)
        store.run(lambda tx: tx.outbox_delivered(row.id, response_id, at))
        return Delivery(row.id, row.destination, row.entity, row.ref, row.idempotency_key,
                        "delivered", row.attempts + 1, response_id=response_id)  # fmt: skip
    dead = not error.error_class.retryable or row.attempts + 1 >= max_attempts
    return _fail(store, row, error, now, dead=dead)


def _send(connector: Writer, row: OutboxRow) -> dict[str, Any]:
    payload = _json.loads(row.payload)
    if not isinstance(payload, Mapping):
        raise AccordError(
            diagnostics=[Diagnostic(code="OUT002", message=f"the {row.entity} payload for"
                                    f" {row.destination} is not a JSON object",
                                    record_id=row.record_id)],
            error_class=ErrorClass.VALIDATION,
        )  # fmt: skip
    if row.entity == "inventory_level":
        return connector.update(row.entity, row.ref or "", payload,
                                idempotency_key=row.idempotency_key)  # fmt: skip
    return connector.create(row.entity, payload, idempotency_key=row.idempotency_key)


def _response_id(answer: Any) -> str | None:
    if not isinstance(answer, Mapping):
        return None
    for key in _RESPONSE_IDS:
        value = answer.get(key)
        if value is not None and value != "":
            return str(value)
    return None


def _fail(store: Store, row: OutboxRow, error: AccordError, now: datetime, *,
          dead: bool) -> Delivery:  # fmt: skip
    at = _iso(now)
    diags = list(error.diagnostics) or [Diagnostic(code=error.code, message=error.message)]
    diags = [d.for_record(row.record_id) for d in diags]
    code, message = diags[0].code, "; ".join(f"{d.code}: {d.message}" for d in diags)
    retry_after = error.retry_after if isinstance(error, ConnectorError) else None
    next_at = None if dead else _iso(now + timedelta(seconds=backoff(row.attempts + 1,
                                                                    retry_after)))  # fmt: skip

    def write(tx: Tx) -> int | None:
        tx.outbox_failed(row.id, dead=dead, error_class=error.error_class, error=message,
                         next_attempt_at=next_at, now=at)  # fmt: skip
        if not dead:
            return None
        return tx.put_dead_letter(
            event_key=OUTBOX_EVENT_PREFIX + row.idempotency_key, channel=row.destination,
            entity=row.entity, event_id=None, record_id=row.record_id, raw_payload=row.payload,
            error_class=error.error_class, code=code, message=error.message, diagnostics=diags,
            received_at=row.created_at, now=at,
        )  # fmt: skip

    dlq_id = store.run(write)
    return Delivery(row.id, row.destination, row.entity, row.ref, row.idempotency_key,
                    "dead" if dead else "pending", row.attempts + 1,
                    error_class=error.error_class.value, code=code, message=message,
                    next_attempt_at=next_at, dlq_id=dlq_id)  # fmt: skip
