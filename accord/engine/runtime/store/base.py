"""The state store: one SQL vocabulary over SQLite and PostgreSQL.

A :class:`Store` hands out :class:`Tx` objects (one transaction each) on a per-thread
connection; every read and write the runtime needs is a method of :class:`Tx`, so the engine
never writes SQL and both databases run the same statements. SQL is written with ``?``
placeholders and translated once per statement for psycopg.

Concurrency, by construction:

* ledger updates are *conditional deltas* (``reserved = reserved + n WHERE on_hand - reserved
  >= n``), atomic under SQLite's single writer and PostgreSQL's row locks, so two reservations
  for the last unit can never both succeed;
* events are claimed with ``INSERT ... ON CONFLICT DO NOTHING`` on their key inside the same
  transaction as their effects, so a retried webhook is applied at most once;
* queue items are claimed with ``FOR UPDATE SKIP LOCKED`` (PostgreSQL) inside the transaction
  that processes them, so a killed worker's items simply become claimable again.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any, Protocol, TypeVar

from accord.diagnostics import Diagnostic
from accord.engine.runtime import _json
from accord.engine.runtime.store.migrations import MIGRATIONS, pending
from accord.errors import ErrorClass, StoreError

__all__ = [
    "AuditEntry",
    "DeadLetter",
    "InventoryLevel",
    "OutboxRow",
    "QueueItem",
    "RefundEntry",
    "Reservation",
    "Store",
    "StoredRecord",
    "Tx",
]

T = TypeVar("T")


class _Cursor(Protocol):
    rowcount: int

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...


class _Connection(Protocol):
    def execute(self, sql: Any, params: Any = ...) -> Any: ...

    def close(self) -> None: ...


# -- value objects --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StoredRecord:
    """The latest accepted state of one canonical record."""

    entity: str
    record_id: str
    channel: str
    external_id: str
    source_updated_at: str | None
    content_hash: str
    data: dict[str, Any]
    version: int


@dataclass(frozen=True, slots=True)
class InventoryLevel:
    """On-hand and reserved units of one SKU at one location; ``available`` never below 0."""

    sku: str
    location: str
    on_hand: int
    reserved: int

    @property
    def available(self) -> int:
        return max(self.on_hand - self.reserved, 0)


@dataclass(frozen=True, slots=True)
class Reservation:
    """Units of one order line held against a location, and what became of them."""

    order_id: str
    line: str
    sku: str
    location: str
    outstanding: int
    committed: int
    released: int
    short: int


@dataclass(frozen=True, slots=True)
class RefundEntry:
    """One refund in the refund ledger."""

    refund_id: str
    amount: Decimal
    currency: str
    restock: bool
    at: str
    idempotency_key: str


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A failed event kept with its raw payload until it is retried or dropped."""

    id: int
    event_key: str
    channel: str
    entity: str
    event_id: str | None
    record_id: str | None
    raw_payload: str
    error_class: ErrorClass
    code: str
    message: str
    diagnostics: tuple[Diagnostic, ...]
    attempts: int
    status: str
    received_at: str | None
    first_failed_at: str
    last_failed_at: str

    def to_dict(self, *, with_payload: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "event_key": self.event_key,
            "channel": self.channel,
            "entity": self.entity,
            "event_id": self.event_id,
            "record_id": self.record_id,
            "error_class": self.error_class.value,
            "code": self.code,
            "message": self.message,
            "diagnostics": [d.to_dict() for d in self.diagnostics],
            "attempts": self.attempts,
            "status": self.status,
            "received_at": self.received_at,
            "first_failed_at": self.first_failed_at,
            "last_failed_at": self.last_failed_at,
        }
        if with_payload:
            out["raw_payload"] = self.raw_payload
        return out


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One state change: what changed, from which system and event, under which specs."""

    record_id: str
    entity: str
    action: str
    at: str
    source_system: str
    event_id: str | None = None
    mapping_id: str | None = None
    mapping_version: str | None = None
    rule_versions: dict[str, str] = field(default_factory=dict)
    reasons: list[Any] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    id: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "record_id": self.record_id,
            "entity": self.entity,
            "action": self.action,
            "at": self.at,
            "source_system": self.source_system,
            "event_id": self.event_id,
            "mapping_id": self.mapping_id,
            "mapping_version": self.mapping_version,
            "rule_versions": self.rule_versions,
            "reasons": self.reasons,
            "details": self.details,
        }


@dataclass(frozen=True, slots=True)
class QueueItem:
    """An event waiting in the database queue."""

    id: int
    event_key: str
    channel: str
    entity: str
    event_id: str | None
    payload: str
    received_at: str | None


@dataclass(frozen=True, slots=True)
class OutboxRow:
    """One outbound payload waiting for (or done with) delivery to its destination.

    ``destination`` is the project channel, ``entity`` what the channel receives
    (``sales_order``, ``inventory_level``, ...), ``ref`` the destination record's key when the
    payload names one (the SKU of a stock level). ``status`` is ``pending``, ``delivered``,
    ``dead`` or ``superseded`` (a stock level a newer one replaced before it was sent);
    ``idempotency_key`` is the same on every try.
    """

    id: int
    destination: str
    entity: str
    ref: str | None
    payload: str
    event_key: str
    record_id: str | None
    idempotency_key: str
    status: str
    attempts: int
    last_error: str | None
    error_class: str | None
    next_attempt_at: str | None
    response_id: str | None
    created_at: str
    updated_at: str

    def to_dict(self, *, with_payload: bool = True) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "payload"}
        if with_payload:
            out["payload"] = _json.loads(self.payload)
        return out


def iso(at: datetime) -> str:
    """ISO-8601 UTC with ``Z``: lexically ordered, so the store can compare timestamps.

    >>> from datetime import timezone, timedelta
    >>> iso(datetime(2026, 3, 1, 23, 30, tzinfo=timezone(timedelta(hours=-5))))
    '2026-03-02T04:30:00Z'
    """
    if at.tzinfo is None:
        return at.isoformat()
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


@lru_cache(maxsize=512)
def _to_format_style(sql: str) -> str:
    return sql.replace("%", "%%").replace("?", "%s")


_OUTBOX_INSERT = (
    "INSERT INTO accord_outbox (destination, entity, ref, payload, event_key, record_id,"
    " idempotency_key, status, attempts, created_at, updated_at)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?) ON CONFLICT DO NOTHING"
)


def _encoded(params: Sequence[Any]) -> tuple[Any, ...]:
    """Outbox insert parameters with the payload (the fourth) as JSON text."""
    return (*params[:3], _json.dumps(params[3]), *params[4:])


class Tx:
    """One open transaction. Obtain it from :meth:`Store.transaction`."""

    __slots__ = ("_conn", "_deferred", "_levels", "_pg", "_sp", "dialect")

    def __init__(self, conn: _Connection, dialect: str) -> None:
        self._conn = conn
        self.dialect = dialect
        self._pg = dialect == "postgresql"
        self._sp = 0
        # Append-only writes nobody reads back in the same transaction (ledger lines, audit
        # entries, event results) are sent as one executemany per statement at commit.
        self._deferred: dict[str, list[Sequence[Any]]] = {}
        # Outbox stock levels of this transaction, the latest per destination record: an older
        # absolute quantity of the same SKU would only be superseded before it was sent.
        self._levels: dict[tuple[str, str, str], Sequence[Any]] = {}

    def defer(self, sql: str, params: Sequence[Any]) -> None:
        """Queue a write for :meth:`flush` (called before commit and before reads that need
        it)."""
        self._deferred.setdefault(sql, []).append(params)

    def flush(self) -> None:
        """Send every deferred write now, in the order the statements were first deferred."""
        while self._deferred:
            sql = next(iter(self._deferred))
            self.executemany(sql, self._deferred.pop(sql))
        if self._levels:
            rows = [_encoded(params) for params in self._levels.values()]
            self._levels.clear()
            self.executemany(_OUTBOX_INSERT, rows)

    # -- plumbing ---------------------------------------------------------------------------

    def execute(self, sql: str, params: Sequence[Any] = ()) -> _Cursor:
        if self._pg:
            sql = _to_format_style(sql)
        cur: _Cursor = self._conn.execute(sql, params)
        return cur

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        rows = list(rows)
        if not rows:
            return
        if self._pg:
            with self._conn.cursor() as cur:  # type: ignore[attr-defined]
                cur.executemany(_to_format_style(sql), rows)
        else:
            self._conn.executemany(sql, rows)  # type: ignore[attr-defined]

    @contextlib.contextmanager
    def savepoint(self) -> Iterator[None]:
        """Undo only this block's writes when it raises (the transaction stays usable)."""
        self._sp += 1
        name = f"accord_sp{self._sp}"
        self.execute(f"SAVEPOINT {name}")
        try:
            yield
        except BaseException:
            self.execute(f"ROLLBACK TO SAVEPOINT {name}")
            self.execute(f"RELEASE SAVEPOINT {name}")
            raise
        else:
            self.execute(f"RELEASE SAVEPOINT {name}")
        finally:
            self._sp -= 1

    @property
    def _lock(self) -> str:
        # SQLite's BEGIN IMMEDIATE already holds the single write lock.
        return " FOR UPDATE" if self._pg else ""

    # -- events (idempotency by event key) -------------------------------------------------

    def claim_event(
        self, event_key: str, channel: str, entity: str, event_id: str | None, now: str
    ) -> bool:
        """Claim an event key for this transaction; False when it was already processed."""
        cur = self.execute(
            "INSERT INTO accord_events (event_key, channel, entity, event_id, status,"
            " processed_at) VALUES (?, ?, ?, ?, 'processing', ?) ON CONFLICT DO NOTHING",
            (event_key, channel, entity, event_id, now),
        )
        return cur.rowcount == 1

    def finish_event(self, event_key: str, record_id: str | None, status: str, result: str) -> None:
        self.defer(
            "UPDATE accord_events SET record_id = ?, status = ?, result = ? WHERE event_key = ?",
            (record_id, status, result, event_key),
        )

    def release_event(self, event_key: str) -> None:
        """Undo :meth:`claim_event` for an event that failed in this transaction."""
        self.execute(
            "DELETE FROM accord_events WHERE event_key = ? AND status = 'processing'",
            (event_key,),
        )

    def event_result(self, event_key: str) -> tuple[str, str | None] | None:
        """``(status, result JSON)`` of a processed event, or None."""
        self.flush()
        row = self.execute(
            "SELECT status, result FROM accord_events WHERE event_key = ?", (event_key,)
        ).fetchone()
        return None if row is None else (row[0], row[1])

    def count_events(self) -> int:
        self.flush()
        return int(self.execute("SELECT COUNT(*) FROM accord_events").fetchone()[0])

    # -- records (idempotency by natural key) ----------------------------------------------

    def get_record(self, entity: str, record_id: str, *, lock: bool = False) -> StoredRecord | None:
        row = self.execute(
            "SELECT entity, record_id, channel, external_id, source_updated_at, content_hash,"
            " data, version FROM accord_records WHERE entity = ? AND record_id = ?"
            + (self._lock if lock else ""),
            (entity, record_id),
        ).fetchone()
        if row is None:
            return None
        return StoredRecord(
            row[0], row[1], row[2], row[3], row[4], row[5], _json.loads(row[6]), int(row[7])
        )

    def get_records(self, entity: str, record_ids: Iterable[str]) -> dict[str, StoredRecord]:
        """The stored records among ``record_ids`` (one statement), by record id."""
        ids = sorted(set(record_ids))
        if not ids:
            return {}
        marks = ", ".join("?" * len(ids))
        rows = self.execute(
            "SELECT entity, record_id, channel, external_id, source_updated_at, content_hash,"
            f" data, version FROM accord_records WHERE entity = ? AND record_id IN ({marks})",
            (entity, *ids),
        ).fetchall()
        return {
            r[1]: StoredRecord(r[0], r[1], r[2], r[3], r[4], r[5], _json.loads(r[6]), int(r[7]))
            for r in rows
        }

    def record_stamps(self, entity: str, record_ids: Iterable[str]) -> dict[str, tuple[int, str]]:
        """``(version, key of the event that wrote it)`` of the stored records among
        ``record_ids``: what changes on every write, read without the record's data."""
        ids = sorted(set(record_ids))
        if not ids:
            return {}
        marks = ", ".join("?" * len(ids))
        rows = self.execute(
            "SELECT record_id, version, last_event_key FROM accord_records WHERE entity = ?"
            f" AND record_id IN ({marks})",
            (entity, *ids),
        ).fetchall()
        return {r[0]: (int(r[1]), str(r[2] or "")) for r in rows}

    def put_record(
        self,
        *,
        entity: str,
        record_id: str,
        channel: str,
        external_id: str,
        source_updated_at: str | None,
        content_hash: str,
        data: str,
        version: int,
        event_key: str,
        now: str,
    ) -> None:
        """Insert version 1 or replace the stored state with ``version``."""
        params = (source_updated_at, content_hash, data, version, event_key, now)
        if version == 1:
            cur = self.execute(
                "INSERT INTO accord_records (entity, record_id, channel, external_id,"
                " source_updated_at, content_hash, data, version, last_event_key, stored_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (entity, record_id, channel, external_id, *params),
            )
            if cur.rowcount != 1:
                # Another transaction created the record since we looked (two deliveries of
                # one new order with different event ids): retry, and see it as stored.
                raise StoreError(
                    diagnostics=[
                        Diagnostic(code="STORE007", message=f"{record_id} created concurrently")
                    ],
                    error_class=ErrorClass.TRANSIENT,
                )
        else:
            self.execute(
                "UPDATE accord_records SET source_updated_at = ?, content_hash = ?, data = ?,"
                " version = ?, last_event_key = ?, stored_at = ? WHERE entity = ? AND"
                " record_id = ?",
                (*params, entity, record_id),
            )

    def count_records(self, entity: str | None = None) -> int:
        if entity is None:
            return int(self.execute("SELECT COUNT(*) FROM accord_records").fetchone()[0])
        return int(
            self.execute(
                "SELECT COUNT(*) FROM accord_records WHERE entity = ?", (entity,)
            ).fetchone()[0]
        )

    # -- inventory ledger (delta operations only) ------------------------------------------

    def _ledger(self, sku: str, location: str, op: str, qty: int, ref: str | None, ek: str | None,
                now: str) -> None:  # fmt: skip
        self.defer(
            "INSERT INTO accord_inventory_ledger (sku, location, op, qty, ref, event_key, at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (sku, location, op, qty, ref, ek, now),
        )

    def _ensure_item(self, sku: str, location: str) -> None:
        self.execute(
            "INSERT INTO accord_inventory (sku, location, on_hand, reserved) VALUES (?, ?, 0, 0)"
            " ON CONFLICT DO NOTHING",
            (sku, location),
        )

    def adjust_on_hand(
        self,
        sku: str,
        location: str,
        delta: int,
        *,
        op: str = "adjust",
        ref: str | None = None,
        event_key: str | None = None,
        now: str,
    ) -> None:
        """Add ``delta`` (may be negative) to on-hand units: receipts, counts, returns."""
        self._ensure_item(sku, location)
        self.execute(
            "UPDATE accord_inventory SET on_hand = on_hand + ? WHERE sku = ? AND location = ?",
            (delta, sku, location),
        )
        self._ledger(sku, location, op, delta, ref, event_key, now)

    def try_reserve(
        self, sku: str, location: str, qty: int, *, ref: str, event_key: str | None, now: str
    ) -> bool:
        """Hold ``qty`` units if that many are available; atomic, so it never oversells."""
        cur = self.execute(
            "UPDATE accord_inventory SET reserved = reserved + ? WHERE sku = ? AND location = ?"
            " AND on_hand - reserved >= ?",
            (qty, sku, location, qty),
        )
        if cur.rowcount != 1:
            return False
        self._ledger(sku, location, "reserve", qty, ref, event_key, now)
        return True

    def try_reserve_many(
        self,
        wanted: Sequence[tuple[str, int]],
        location: str,
        *,
        ref: str,
        event_key: str | None,
        now: str,
    ) -> set[str]:
        """Reserve several SKUs (each at most once in ``wanted``) at one location in one
        statement; returns the SKUs that had enough. Each row's update is conditional, exactly
        as in :meth:`try_reserve`, so it never oversells."""
        if not wanted:
            return set()
        if not self._pg:
            # SQLite runs in-process, so one indexed statement per SKU costs no round trip and
            # is cheaper than the planner's join against a VALUES list.
            got_one: set[str] = set()
            execute = self._conn.execute
            for sku, qty in wanted:
                cur = execute(
                    "UPDATE accord_inventory SET reserved = reserved + ? WHERE sku = ?"
                    " AND location = ? AND on_hand - reserved >= ?",
                    (qty, sku, location, qty),
                )
                if cur.rowcount == 1:
                    got_one.add(sku)
                    self._ledger(sku, location, "reserve", qty, ref, event_key, now)
            return got_one
        values = ", ".join("(?, ?)" for _ in wanted)
        params: list[Any] = [x for pair in wanted for x in pair]
        # VALUES columns are column1, column2 in both SQLite and PostgreSQL.
        rows = self.execute(
            "UPDATE accord_inventory SET reserved = accord_inventory.reserved + v.column2"
            f" FROM (VALUES {values}) AS v WHERE accord_inventory.sku = v.column1"
            " AND accord_inventory.location = ?"
            " AND accord_inventory.on_hand - accord_inventory.reserved >= v.column2"
            " RETURNING accord_inventory.sku",
            [*params, location],
        ).fetchall()
        got = {r[0] for r in rows}
        for sku, qty in wanted:
            if sku in got:
                self._ledger(sku, location, "reserve", qty, ref, event_key, now)
        return got

    def release(
        self, sku: str, location: str, qty: int, *, ref: str, event_key: str | None, now: str
    ) -> None:
        """Give held units back to available stock (cancel, refund with restock)."""
        self.execute(
            "UPDATE accord_inventory SET reserved = reserved - ? WHERE sku = ? AND location = ?",
            (qty, sku, location),
        )
        self._ledger(sku, location, "release", qty, ref, event_key, now)

    def commit_units(
        self, sku: str, location: str, qty: int, *, ref: str, event_key: str | None, now: str
    ) -> None:
        """Held units left the building (fulfilment): both on-hand and reserved go down."""
        self.execute(
            "UPDATE accord_inventory SET on_hand = on_hand - ?, reserved = reserved - ?"
            " WHERE sku = ? AND location = ?",
            (qty, qty, sku, location),
        )
        self._ledger(sku, location, "commit", qty, ref, event_key, now)

    def level(self, sku: str, location: str, *, lock: bool = False) -> InventoryLevel:
        """One balance; ``lock=True`` holds the row (created when missing) until commit."""
        if lock:
            self._ensure_item(sku, location)
        row = self.execute(
            "SELECT on_hand, reserved FROM accord_inventory WHERE sku = ? AND location = ?"
            + (self._lock if lock else ""),
            (sku, location),
        ).fetchone()
        return InventoryLevel(sku, location, int(row[0]), int(row[1])) if row else (
            InventoryLevel(sku, location, 0, 0)
        )  # fmt: skip

    def levels(self, sku: str | None = None) -> list[InventoryLevel]:
        sql = "SELECT sku, location, on_hand, reserved FROM accord_inventory"
        params: tuple[Any, ...] = ()
        if sku is not None:
            sql += " WHERE sku = ?"
            params = (sku,)
        rows = self.execute(sql + " ORDER BY sku, location", params).fetchall()
        return [InventoryLevel(r[0], r[1], int(r[2]), int(r[3])) for r in rows]

    def available(self, skus: Iterable[str]) -> dict[str, int]:
        """Units available (on hand minus reserved, never below 0 per location) per SKU."""
        wanted = sorted(set(skus))
        out = dict.fromkeys(wanted, 0)
        if not wanted:
            return out
        marks = ", ".join("?" * len(wanted))
        rows = self.execute(
            "SELECT sku, SUM(CASE WHEN on_hand > reserved THEN on_hand - reserved ELSE 0 END)"
            f" FROM accord_inventory WHERE sku IN ({marks}) GROUP BY sku",
            wanted,
        ).fetchall()
        out.update((r[0], int(r[1])) for r in rows)
        return out

    def locations_for(self, sku: str) -> list[str]:
        rows = self.execute(
            "SELECT location FROM accord_inventory WHERE sku = ? ORDER BY location", (sku,)
        ).fetchall()
        return [r[0] for r in rows]

    def ledger_entries(self, sku: str | None = None) -> list[tuple[str, str, str, int, str | None]]:
        """``(sku, location, op, qty, ref)`` in the order they were written."""
        self.flush()
        sql = "SELECT sku, location, op, qty, ref FROM accord_inventory_ledger"
        params: tuple[Any, ...] = ()
        if sku is not None:
            sql += " WHERE sku = ?"
            params = (sku,)
        rows = self.execute(sql + " ORDER BY id", params).fetchall()
        return [(r[0], r[1], r[2], int(r[3]), r[4]) for r in rows]

    # -- reservations ------------------------------------------------------------------------

    def reservations(self, order_id: str, *, lock: bool = False) -> list[Reservation]:
        self.flush()
        rows = self.execute(
            "SELECT order_id, line, sku, location, outstanding, committed, released, short"
            " FROM accord_reservations WHERE order_id = ? ORDER BY line"
            + (self._lock if lock else ""),
            (order_id,),
        ).fetchall()
        return [Reservation(r[0], r[1], r[2], r[3], *(int(x) for x in r[4:8])) for r in rows]

    def put_reservation(self, r: Reservation) -> None:
        self.put_reservations([r])

    def put_reservations(self, rows: Iterable[Reservation]) -> None:
        # Deferred to one executemany per batch; :meth:`reservations` flushes before reading.
        sql = (
            "INSERT INTO accord_reservations (order_id, line, sku, location, outstanding,"
            " committed, released, short) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (order_id, line) DO UPDATE SET outstanding = excluded.outstanding,"
            " committed = excluded.committed, released = excluded.released,"
            " short = excluded.short"
        )
        for r in rows:
            self.defer(sql, (r.order_id, r.line, r.sku, r.location, r.outstanding, r.committed,
                             r.released, r.short))  # fmt: skip

    # -- refund ledger -----------------------------------------------------------------------

    def set_captured(self, order_id: str, amount: Decimal, currency: str, now: str) -> None:
        self.execute(
            "INSERT INTO accord_payments (order_id, captured, currency, updated_at)"
            " VALUES (?, ?, ?, ?) ON CONFLICT (order_id) DO UPDATE SET"
            " captured = excluded.captured, currency = excluded.currency,"
            " updated_at = excluded.updated_at",
            (order_id, str(amount), currency, now),
        )

    def captured(self, order_id: str, *, lock: bool = False) -> tuple[Decimal, str] | None:
        row = self.execute(
            "SELECT captured, currency FROM accord_payments WHERE order_id = ?"
            + (self._lock if lock else ""),
            (order_id,),
        ).fetchone()
        return None if row is None else (Decimal(row[0]), row[1])

    def add_refund(
        self,
        refund_id: str,
        order_id: str,
        amount: Decimal,
        currency: str,
        restock: bool,
        now: str,
        idempotency_key: str | None = None,
    ) -> bool:
        """Record a refund once; False when ``refund_id`` is already in the ledger."""
        cur = self.execute(
            "INSERT INTO accord_refunds (refund_id, order_id, amount, currency, restock, at,"
            " idempotency_key) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (refund_id, order_id, str(amount), currency, 1 if restock else 0, now,
             idempotency_key or refund_id),
        )  # fmt: skip
        return cur.rowcount == 1

    def refunds(self, order_id: str) -> list[RefundEntry]:
        """The refunds of one order, oldest first."""
        rows = self.execute(
            "SELECT refund_id, amount, currency, restock, at, idempotency_key"
            " FROM accord_refunds WHERE order_id = ? ORDER BY at, refund_id",
            (order_id,),
        ).fetchall()
        return [
            RefundEntry(r[0], Decimal(r[1]), r[2], bool(r[3]), r[4], r[5] or r[0]) for r in rows
        ]

    # -- dead letters ------------------------------------------------------------------------

    def put_dead_letter(
        self,
        *,
        event_key: str,
        channel: str,
        entity: str,
        event_id: str | None,
        record_id: str | None,
        raw_payload: str,
        error_class: ErrorClass,
        code: str,
        message: str,
        diagnostics: Sequence[Diagnostic],
        received_at: str | None,
        now: str,
    ) -> int:
        """Keep a failure; a repeat failure of the same event bumps its attempt count."""
        self.flush()
        diags = _json.dumps([d.to_dict() for d in diagnostics])
        row = self.execute(
            "INSERT INTO accord_dead_letters (event_key, channel, entity, event_id, record_id,"
            " raw_payload, error_class, code, message, diagnostics, attempts, status,"
            " received_at, first_failed_at, last_failed_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, 'open', ?, ?, ?)"
            " ON CONFLICT (event_key) DO UPDATE SET attempts = accord_dead_letters.attempts + 1,"
            " status = 'open', error_class = excluded.error_class, code = excluded.code,"
            " message = excluded.message, diagnostics = excluded.diagnostics,"
            " record_id = COALESCE(excluded.record_id, accord_dead_letters.record_id),"
            " last_failed_at = excluded.last_failed_at RETURNING id",
            (event_key, channel, entity, event_id, record_id, raw_payload, error_class.value,
             code, message, diags, received_at, now, now),
        ).fetchone()  # fmt: skip
        return int(row[0])

    def _dead_letter(self, row: Sequence[Any]) -> DeadLetter:
        diags = tuple(Diagnostic.from_dict(d) for d in _json.loads(row[10]))
        return DeadLetter(
            int(row[0]), row[1], row[2], row[3], row[4], row[5], row[6],
            ErrorClass(row[7]), row[8], row[9], diags, int(row[11]), row[12], row[13],
            row[14], row[15],
        )  # fmt: skip

    _DLQ_COLS = (
        "SELECT id, event_key, channel, entity, event_id, record_id, raw_payload, error_class,"
        " code, message, diagnostics, attempts, status, received_at, first_failed_at,"
        " last_failed_at FROM accord_dead_letters"
    )

    def dead_letters(self, status: str | None = "open") -> list[DeadLetter]:
        self.flush()
        if status is None:
            rows = self.execute(self._DLQ_COLS + " ORDER BY id").fetchall()
        else:
            rows = self.execute(
                self._DLQ_COLS + " WHERE status = ? ORDER BY id", (status,)
            ).fetchall()
        return [self._dead_letter(r) for r in rows]

    def dead_letter(self, dlq_id: int) -> DeadLetter | None:
        self.flush()
        row = self.execute(self._DLQ_COLS + " WHERE id = ?", (dlq_id,)).fetchone()
        return None if row is None else self._dead_letter(row)

    def dead_letter_for_event(self, event_key: str) -> DeadLetter | None:
        self.flush()
        row = self.execute(self._DLQ_COLS + " WHERE event_key = ?", (event_key,)).fetchone()
        return None if row is None else self._dead_letter(row)

    def set_dead_letter_status(self, dlq_id: int, status: str, now: str) -> bool:
        cur = self.execute(
            "UPDATE accord_dead_letters SET status = ?, last_failed_at = ? WHERE id = ?",
            (status, now, dlq_id),
        )
        return cur.rowcount == 1

    def resolve_dead_letter_for_event(self, event_key: str) -> None:
        self.defer(
            "UPDATE accord_dead_letters SET status = 'resolved' WHERE event_key = ?"
            " AND status = 'open'",
            (event_key,),
        )

    # -- audit trail -------------------------------------------------------------------------

    def add_audit(self, entries: Iterable[AuditEntry]) -> None:
        sql = (
            "INSERT INTO accord_audit (record_id, entity, action, at, source_system, event_id,"
            " mapping_id, mapping_version, rule_versions, reasons, details)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        )
        for e in entries:
            self.defer(sql, (e.record_id, e.entity, e.action, e.at, e.source_system, e.event_id,
                             e.mapping_id, e.mapping_version, _json.dumps(e.rule_versions),
                             _json.dumps(e.reasons), _json.dumps(e.details)))  # fmt: skip

    def audit(self, record_id: str) -> list[AuditEntry]:
        self.flush()
        rows = self.execute(
            "SELECT id, record_id, entity, action, at, source_system, event_id, mapping_id,"
            " mapping_version, rule_versions, reasons, details FROM accord_audit"
            " WHERE record_id = ? ORDER BY id",
            (record_id,),
        ).fetchall()
        return [
            AuditEntry(
                record_id=r[1], entity=r[2], action=r[3], at=r[4], source_system=r[5],
                event_id=r[6], mapping_id=r[7], mapping_version=r[8],
                rule_versions=_json.loads(r[9]), reasons=_json.loads(r[10]),
                details=_json.loads(r[11]), id=int(r[0]),
            )
            for r in rows
        ]  # fmt: skip

    # -- queue -------------------------------------------------------------------------------

    def enqueue(
        self,
        event_key: str,
        channel: str,
        entity: str,
        event_id: str | None,
        payload: str,
        received_at: str | None,
    ) -> bool:
        """Add an event to the database queue once (by key); False when already queued."""
        cur = self.execute(
            "INSERT INTO accord_queue (event_key, channel, entity, event_id, payload,"
            " received_at, status) VALUES (?, ?, ?, ?, ?, ?, 'pending') ON CONFLICT DO NOTHING",
            (event_key, channel, entity, event_id, payload, received_at),
        )
        return cur.rowcount == 1

    def claim_queue(self, limit: int) -> list[QueueItem]:
        """Lock up to ``limit`` pending items for this transaction.

        PostgreSQL skips rows other workers hold (``SKIP LOCKED``); SQLite's write lock already
        serialises workers. Items are marked done by :meth:`finish_queue` in the same
        transaction, so a crash before commit leaves them pending.
        """
        sql = (
            "SELECT id, event_key, channel, entity, event_id, payload, received_at"
            " FROM accord_queue WHERE status = 'pending' ORDER BY id LIMIT ?"
        )
        if self._pg:
            sql += " FOR UPDATE SKIP LOCKED"
        rows = self.execute(sql, (limit,)).fetchall()
        return [QueueItem(int(r[0]), r[1], r[2], r[3], r[4], r[5], r[6]) for r in rows]

    def finish_queue(self, ids: Sequence[int], worker: str, now: str) -> None:
        self.executemany(
            "UPDATE accord_queue SET status = 'done', attempts = attempts + 1, worker = ?,"
            " done_at = ? WHERE id = ?",
            [(worker, now, i) for i in ids],
        )

    def queue_counts(self) -> dict[str, int]:
        rows = self.execute("SELECT status, COUNT(*) FROM accord_queue GROUP BY status").fetchall()
        return {r[0]: int(r[1]) for r in rows}

    # -- outbox ------------------------------------------------------------------------------

    _OUTBOX_COLS = (
        "SELECT id, destination, entity, ref, payload, event_key, record_id, idempotency_key,"
        " status, attempts, last_error, error_class, next_attempt_at, response_id, created_at,"
        " updated_at FROM accord_outbox"
    )

    @staticmethod
    def _outbox_row(r: Sequence[Any]) -> OutboxRow:
        return OutboxRow(
            int(r[0]), r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], int(r[9]), r[10], r[11],
            r[12], r[13], r[14], r[15],
        )  # fmt: skip

    def add_outbox(self, *, destination: str, entity: str, ref: str | None, payload: Any,
                   event_key: str, record_id: str | None, idempotency_key: str,
                   now: str) -> None:  # fmt: skip
        """Keep one outbound payload (a JSON value) for delivery, in the transaction of the
        event that made it (a key already kept is not kept twice). Stock levels are kept once
        per destination record and transaction, the latest: a batch of orders of one SKU
        sends one level, and only that one is encoded."""
        params = (destination, entity, ref, payload, event_key, record_id, idempotency_key, now,
                  now)  # fmt: skip
        if entity == "inventory_level" and ref is not None:
            key = (destination, entity, ref)
            self._levels.pop(key, None)  # re-added last: rows keep the order they were made in
            self._levels[key] = params
        else:
            self.defer(_OUTBOX_INSERT, _encoded(params))

    def claim_outbox(self, limit: int, now: str, lease_until: str,
                     destinations: Iterable[str] | None = None) -> list[OutboxRow]:  # fmt: skip
        """Take up to ``limit`` pending rows that are due, and hide them from other
        dispatchers until ``lease_until``.

        PostgreSQL skips rows another dispatcher is claiming (``SKIP LOCKED``); SQLite's
        write lock already serialises claims. The lease is committed with the claim, so the
        delivery itself runs outside any transaction, and a dispatcher killed mid-delivery
        leaves its rows due again once the lease ends (sent again with the same key).
        ``destinations`` limits the claim to those channels.
        """
        self.flush()
        only = sorted(set(destinations)) if destinations is not None else None
        where = ""
        if only is not None:
            where = f" AND destination IN ({', '.join('?' * len(only))})" if only else " AND 0=1"
        sql = (
            self._OUTBOX_COLS + " WHERE status = 'pending' AND (next_attempt_at IS NULL OR"
            f" next_attempt_at <= ?){where} ORDER BY id LIMIT ?"
        )
        if self._pg:
            sql += " FOR UPDATE SKIP LOCKED"
        params = (now, *(only or ()), limit)
        rows = [self._outbox_row(r) for r in self.execute(sql, params).fetchall()]
        self.executemany(
            "UPDATE accord_outbox SET next_attempt_at = ?, updated_at = ? WHERE id = ?",
            [(lease_until, now, row.id) for row in rows],
        )
        return rows

    def outbox_delivered(self, row_id: int, response_id: str | None, now: str) -> bool:
        cur = self.execute(
            "UPDATE accord_outbox SET status = 'delivered', attempts = attempts + 1,"
            " response_id = ?, last_error = NULL, error_class = NULL, next_attempt_at = NULL,"
            " updated_at = ? WHERE id = ? AND status = 'pending'",
            (response_id, now, row_id),
        )
        return cur.rowcount == 1

    def outbox_failed(self, row_id: int, *, dead: bool, error_class: ErrorClass, error: str,
                      next_attempt_at: str | None, now: str) -> bool:  # fmt: skip
        """Count a failed try: the row stays pending until ``next_attempt_at``, or is dead."""
        cur = self.execute(
            "UPDATE accord_outbox SET status = ?, attempts = attempts + 1, last_error = ?,"
            " error_class = ?, next_attempt_at = ?, updated_at = ? WHERE id = ?"
            " AND status = 'pending'",
            ("dead" if dead else "pending", error, error_class.value,
             None if dead else next_attempt_at, now, row_id),
        )  # fmt: skip
        return cur.rowcount == 1

    def outbox_superseded(self, row: OutboxRow, now: str) -> bool:
        """Mark a pending stock level ``superseded`` when a newer payload for the same
        destination record (channel, entity and ``ref``) is pending or delivered: sending the
        older absolute quantity after it would set the channel's stock back."""
        if row.ref is None:
            return False
        cur = self.execute(
            "UPDATE accord_outbox SET status = 'superseded', next_attempt_at = NULL,"
            " updated_at = ? WHERE id = ? AND status = 'pending' AND EXISTS (SELECT 1 FROM"
            " accord_outbox n WHERE n.destination = ? AND n.entity = ? AND n.ref = ? AND"
            " n.id > ? AND n.status IN ('pending', 'delivered'))",
            (now, row.id, row.destination, row.entity, row.ref, row.id),
        )
        return cur.rowcount == 1

    def requeue_outbox(self, idempotency_key: str, now: str) -> bool:
        """Make a dead row pending again (due now); False when there is no dead row."""
        cur = self.execute(
            "UPDATE accord_outbox SET status = 'pending', next_attempt_at = NULL, updated_at = ?"
            " WHERE idempotency_key = ? AND status = 'dead'",
            (now, idempotency_key),
        )
        return cur.rowcount == 1

    def outbox(
        self, status: str | None = "pending", *, limit: int | None = None
    ) -> list[OutboxRow]:
        """Outbox rows, oldest first (``status=None``: all)."""
        self.flush()
        sql = self._OUTBOX_COLS
        params: list[Any] = []
        if status is not None:
            sql += " WHERE status = ?"
            params.append(status)
        sql += " ORDER BY id"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return [self._outbox_row(r) for r in self.execute(sql, params).fetchall()]

    def outbox_row(self, idempotency_key: str) -> OutboxRow | None:
        self.flush()
        row = self.execute(
            self._OUTBOX_COLS + " WHERE idempotency_key = ?", (idempotency_key,)
        ).fetchone()
        return None if row is None else self._outbox_row(row)

    def outbox_counts(self) -> dict[str, int]:
        self.flush()
        rows = self.execute("SELECT status, COUNT(*) FROM accord_outbox GROUP BY status").fetchall()
        return {r[0]: int(r[1]) for r in rows}


class Store:
    """A state store reached by URL; each thread gets its own connection.

    Use :func:`accord.engine.runtime.store.open_store` to build one from a URL.
    """

    def __init__(
        self,
        url: str,
        dialect: str,
        connect: Callable[[], _Connection],
        *,
        begin: str,
        transient: Callable[[BaseException], bool],
        db_errors: tuple[type[BaseException], ...],
    ) -> None:
        self.url = url
        self.dialect = dialect
        self._connect = connect
        self._begin = begin
        self._transient = transient
        self._db_errors = db_errors
        self._local = threading.local()
        self._all: list[_Connection] = []
        self._guard = threading.Lock()
        self._closed = False

    def __repr__(self) -> str:
        return f"<Store {self.dialect}>"

    # -- connections -------------------------------------------------------------------------

    def _conn(self) -> _Connection:
        if self._closed:
            raise StoreError(
                diagnostics=[Diagnostic(code="STORE002", message="the store is closed")]
            )
        conn: _Connection | None = getattr(self._local, "conn", None)
        # A forked child must never reuse its parent's socket or file handle.
        if conn is None or getattr(self._local, "pid", None) != os.getpid():
            try:
                conn = self._connect()
            except self._db_errors as exc:
                raise self._error(exc, "STORE001", "cannot open the store") from exc
            self._local.conn = conn
            self._local.pid = os.getpid()
            with self._guard:
                self._all.append(conn)
        return conn

    def close(self) -> None:
        """Close every connection this store opened (in this process)."""
        with self._guard:
            conns, self._all = self._all, []
            self._closed = True
        for conn in conns:
            with contextlib.suppress(Exception):
                conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _error(self, exc: BaseException, code: str, what: str) -> StoreError:
        transient = self._transient(exc)
        return StoreError(
            diagnostics=[
                Diagnostic(
                    code=code,
                    message=f"{what}: {type(exc).__name__}: {exc}".strip(),
                    details=(("dialect", self.dialect),),
                )
            ],
            error_class=ErrorClass.TRANSIENT if transient else ErrorClass.VALIDATION,
        )

    # -- transactions ------------------------------------------------------------------------

    @contextlib.contextmanager
    def transaction(self, *, readonly: bool = False) -> Iterator[Tx]:
        """One transaction: committed when the block ends, rolled back when it raises.

        ``readonly=True`` never waits for writers (SQLite readers see the last commit in WAL
        mode; PostgreSQL runs ``READ ONLY``). Database errors leave as
        :class:`~accord.errors.StoreError` (``error_class`` ``transient`` for lock timeouts,
        deadlocks and lost connections).
        """
        conn = self._conn()
        begin = self._begin
        if readonly:
            begin = "BEGIN" if self.dialect == "sqlite" else "BEGIN READ ONLY"
        try:
            conn.execute(begin)
        except self._db_errors as exc:
            self._drop_broken(conn)
            raise self._error(exc, "STORE003", "cannot begin a transaction") from exc
        try:
            tx = Tx(conn, self.dialect)
            yield tx
            tx.flush()
        except self._db_errors as exc:
            self._rollback(conn)
            raise self._error(exc, "STORE004", "the store refused a statement") from exc
        except BaseException:
            self._rollback(conn)
            raise
        try:
            conn.execute("COMMIT")
        except self._db_errors as exc:
            self._rollback(conn)
            raise self._error(exc, "STORE005", "the store could not commit") from exc

    def _rollback(self, conn: _Connection) -> None:
        try:
            conn.execute("ROLLBACK")
        except self._db_errors:
            self._drop_broken(conn)

    def _drop_broken(self, conn: _Connection) -> None:
        with contextlib.suppress(Exception):
            conn.close()
        self._local.conn = None

    def run(self, fn: Callable[[Tx], T], *, attempts: int = 5) -> T:
        """Run ``fn`` in a transaction, retrying it when the store reports a transient error
        (SQLite busy, PostgreSQL deadlock or serialisation failure)."""
        for attempt in range(1, attempts + 1):
            try:
                with self.transaction() as tx:
                    return fn(tx)
            except StoreError as exc:
                if exc.error_class is not ErrorClass.TRANSIENT or attempt == attempts:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    # -- schema ------------------------------------------------------------------------------

    def schema_version(self) -> int:
        """The highest applied migration, 0 for an empty database."""
        with self.transaction() as tx:
            return max(self._applied(tx), default=0)

    def _applied(self, tx: Tx) -> set[int]:
        tx.execute(
            "CREATE TABLE IF NOT EXISTS accord_schema_migrations (version INTEGER PRIMARY KEY,"
            " description TEXT NOT NULL, applied_at TEXT NOT NULL)"
        )
        rows = tx.execute("SELECT version FROM accord_schema_migrations").fetchall()
        return {int(r[0]) for r in rows}

    def migrate(self, now: str = "") -> list[int]:
        """Apply pending migrations in one transaction each; returns the versions applied."""
        done: list[int] = []
        for _ in MIGRATIONS:
            with self.transaction() as tx:
                self._pg_lock(tx)
                todo = pending(self._applied(tx))
                if not todo:
                    break
                step = todo[0]
                for statement in step.statements(self.dialect):
                    tx.execute(statement)
                tx.execute(
                    "INSERT INTO accord_schema_migrations (version, description, applied_at)"
                    " VALUES (?, ?, ?)",
                    (step.version, step.description, now),
                )
                done.append(step.version)
        return done

    def _pg_lock(self, tx: Tx) -> None:
        # Several workers may start at once: one migrates, the others wait for it.
        if self.dialect == "postgresql":
            tx.execute("SELECT pg_advisory_xact_lock(7411001)")
