"""The Engine: one call takes a channel payload to canonical record, decisions, ledger effects,
outbound payloads and an audit entry, exactly once.

>>> from accord.engine.runtime import Engine            # doctest: +SKIP
>>> with Engine.from_project("accord.yaml") as engine:  # doctest: +SKIP
...     result = engine.ingest("shopify", "order", payload, event_id="b54557e4")
...     result.status, result.outbound.keys()

The pipeline of one event (the stages before the transaction are pure CPU work):

1. parse (bytes/str JSON, floats read as Decimal) and find the project's flow;
2. apply the inbound mapping, validate against the canonical model;
3. in one store transaction: claim the event key (event id, else a hash of the payload);
   compare with the stored record by natural key (channel + external id + ``updated_at``:
   equal is a duplicate, older is stale and never overwrites); evaluate the flow's rule packs
   with ledger facts; apply the outbound mappings; write the record, the ledger deltas, the
   available-to-sell updates and the audit entries.

Any failure (parse, mapping, validation, rule error, quarantine, store refusal) goes to the
dead-letter store with the raw payload, its :class:`~accord.errors.ErrorClass`, diagnostics and
an attempt count, and the event stays unprocessed so a redelivery or ``accord dlq retry`` runs
it again.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import os
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any, Protocol

from accord.clock import Clock, SystemClock
from accord.diagnostics import Diagnostic, Severity
from accord.engine.runtime import _json, ledger
from accord.engine.runtime.config import FlowConfig, Project, load_project
from accord.engine.runtime.outbox import OUTBOX_EVENT_PREFIX, outbox_key
from accord.engine.runtime.store import (
    AuditEntry,
    DeadLetter,
    OutboxRow,
    Store,
    Tx,
    iso,
    open_store,
)
from accord.errors import AccordError, ErrorClass, StoreError

__all__ = ["Engine", "Event", "Result"]

# Result statuses.
PROCESSED = "processed"
DUPLICATE = "duplicate"
STALE = "stale"
DEAD_LETTERED = "dead_lettered"
QUARANTINED = "quarantined"
REQUEUED = "requeued"  # a dead outbox payload put back for delivery by ``accord dlq retry``

#: Channel inventory levels kept parsed by an engine before the cache starts over.
_LEVEL_CACHE_MAX = 100_000


class MappingLike(Protocol):
    """What the engine needs from a compiled mapping."""

    @property
    def id(self) -> str: ...

    @property
    def version(self) -> Any: ...

    def apply(self, payload: Any, *, record_id: str | None = None) -> dict[str, Any]: ...


class CatalogLike(Protocol):
    def find(self, channel: str, entity: str, direction: str) -> MappingLike: ...


class RuleSetLike(Protocol):
    def evaluate(
        self, record: Mapping[str, Any], *, facts: Mapping[str, Any] = ..., now: Any = ...
    ) -> Any: ...


#: Validates a mapped record as canonical ``entity``; raises ValidationError.
Validator = Callable[[str, dict[str, Any], str | None], None]


@dataclass(frozen=True, slots=True)
class Event:
    """One inbound event for :meth:`Engine.ingest_many`."""

    channel: str
    entity: str
    payload: Any
    event_id: str | None = None
    received_at: datetime | None = None


@dataclass(slots=True)
class Result:
    """What happened to one event.

    ``status`` is ``processed``, ``duplicate`` (seen before: the first result is returned),
    ``stale`` (older than the stored state: not applied), ``dead_lettered`` or
    ``quarantined`` (kept in the dead-letter store under ``dlq_id``).
    """

    status: str
    channel: str
    entity: str
    event_id: str | None = None
    record_id: str | None = None
    record: dict[str, Any] | None = None
    decisions: dict[str, Any] = field(default_factory=dict)
    outbound: dict[str, Any] = field(default_factory=dict)
    ledger: list[dict[str, Any]] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    dlq_id: int | None = None
    version: int | None = None

    @property
    def ok(self) -> bool:
        return self.status in (PROCESSED, DUPLICATE, STALE, REQUEUED)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (amounts as strings, times ISO-8601 ``Z``)."""
        out: dict[str, Any] = _json.to_jsonable(
            {
                "status": self.status,
                "channel": self.channel,
                "entity": self.entity,
                "event_id": self.event_id,
                "record_id": self.record_id,
                "version": self.version,
                "record": self.record,
                "decisions": {k: _decision_dict(v) for k, v in self.decisions.items()},
                "outbound": self.outbound,
                "ledger": self.ledger,
                "diagnostics": [d.to_dict() for d in self.diagnostics],
                "dlq_id": self.dlq_id,
            }
        )
        return out

    def stored_json(self, record_json: str) -> str:
        """The form kept for duplicates: the record's JSON is spliced in, not re-encoded, and
        decisions keep outcomes and reasons (the trace is rebuilt by ``accord explain``)."""
        head = _json.dumps(
            {
                "status": self.status,
                "channel": self.channel,
                "entity": self.entity,
                "event_id": self.event_id,
                "record_id": self.record_id,
                "version": self.version,
                "decisions": {k: _decision_light(v) for k, v in self.decisions.items()},
                "outbound": self.outbound,
                "ledger": self.ledger,
                "diagnostics": [d.to_dict() for d in self.diagnostics],
                "dlq_id": self.dlq_id,
            }
        )
        return f'{head[:-1]},"record":{record_json}}}'

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, status: str | None = None) -> Result:
        return cls(
            status=status or data["status"],
            channel=data["channel"],
            entity=data["entity"],
            event_id=data.get("event_id"),
            record_id=data.get("record_id"),
            record=data.get("record"),
            decisions=dict(data.get("decisions") or {}),
            outbound=dict(data.get("outbound") or {}),
            ledger=list(data.get("ledger") or []),
            diagnostics=[Diagnostic.from_dict(d) for d in data.get("diagnostics") or []],
            dlq_id=data.get("dlq_id"),
            version=data.get("version"),
        )


def _decision_light(decision: Any) -> Any:
    outcomes = getattr(decision, "outcomes", None)
    if outcomes is None or not hasattr(decision, "fields_set"):
        return _decision_dict(decision)
    return {
        "ruleset": getattr(decision, "ruleset", None),
        "version": getattr(decision, "version", None),
        "outcomes": [o.to_dict() if hasattr(o, "to_dict") else o for o in outcomes],
        "fields": decision.fields_set,
        "reasons": list(getattr(decision, "reasons", [])),
    }


def _decision_dict(decision: Any) -> Any:
    to_dict = getattr(decision, "to_dict", None)
    return to_dict() if callable(to_dict) else decision


def _outcome_kinds(decision: Any) -> set[str]:
    """The action kinds a decision carries (``approve``, ``quarantine``, ``set``...)."""
    kinds_of = getattr(decision, "kinds", None)
    if callable(kinds_of) and not hasattr(decision, "quarantined"):
        # A rules Decision lists its kinds from the raw outcomes, no objects built.
        return {str(k) for k in kinds_of()}
    kinds: set[str] = set()
    for attr in ("quarantined", "rejected"):
        if getattr(decision, attr, False) is True:
            kinds.add(attr[:-2] if attr == "rejected" else "quarantine")
    outcomes = getattr(decision, "outcomes", None)
    if outcomes is None and isinstance(decision, Mapping):
        outcomes = decision.get("outcomes")
    if isinstance(outcomes, Mapping):
        kinds.update(str(k) for k in outcomes)
    elif isinstance(outcomes, Iterable) and not isinstance(outcomes, (str, bytes)):
        for o in outcomes:
            kind = o.get("kind") if isinstance(o, Mapping) else getattr(o, "kind", o)
            kinds.add(str(kind))
    return kinds


def _decision_reasons(name: str, decision: Any) -> list[Any]:
    reasons = getattr(decision, "reasons", None)
    if isinstance(reasons, list):
        kinds = [getattr(o, "kind", None) for o in getattr(decision, "outcomes", [])]
        return [{"ruleset": name, "outcomes": kinds, "reasons": reasons}]
    data = _decision_dict(decision)
    if isinstance(data, Mapping):
        for key in ("reasons", "fired", "trace"):
            if data.get(key):
                return [{"ruleset": name, key: _json.to_jsonable(data[key])}]
    return [{"ruleset": name}]


def _reasons(error: AccordError) -> str:
    """An error's diagnostics on one line: ``CODE: message; ...``."""
    found = [f"{d.code}: {d.message}" for d in error.diagnostics]
    return "; ".join(found) or f"{error.code}: {error.message}"


def _set_default(record: dict[str, Any], path: str, value: Any) -> None:
    """Set ``path`` (dotted) to ``value`` unless the record already has a value there."""
    parts = path.split(".")
    node = record
    for part in parts[:-1]:
        child = node.get(part)
        if child is None:
            child = node[part] = {}
        if not isinstance(child, dict):
            return
        node = child
    if node.get(parts[-1]) in (None, ""):
        node[parts[-1]] = value


def _merge_fields(record: dict[str, Any], fields: Mapping[str, Any] | None) -> None:
    """Apply a decision's ``set`` fields (dotted paths) to the record."""
    for path, value in (fields or {}).items():
        parts = str(path).split(".")
        node = record
        for part in parts[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {}
            node = child
        node[parts[-1]] = value


def _natural_id(entity: str | None, record: Mapping[str, Any]) -> str | None:
    """An id for records that have none of their own: stock levels are one per SKU and
    location; adjustments carry an idempotency key."""
    if entity == "inventory_level" and record.get("sku"):
        return f"{record['sku']}@{record.get('location') or ''}"
    key = record.get("idempotency_key")
    return str(key) if key else None


def _parse_ts(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, str):
        try:
            return iso(datetime.fromisoformat(value.replace("Z", "+00:00")))
        except ValueError:
            return value
    return None


def _diag(code: str, message: str, *, record_id: str | None = None,
          severity: Severity = Severity.ERROR) -> Diagnostic:  # fmt: skip
    return Diagnostic(code=code, message=message, record_id=record_id, severity=severity)


# How many batches are running with the cyclic garbage collector paused, and whether it was on
# before the first of them (threads share the collector, so the last one out restores it).
_gc_state = {"holders": 0, "was_enabled": False}
_gc_lock = threading.Lock()


@contextlib.contextmanager
def _gc_paused(pause: bool) -> Iterator[None]:
    """Hold the cyclic garbage collector off while a batch runs.

    A batch allocates a few hundred thousand containers (payloads, records, results) that live
    until it commits; every collection the allocations trigger would walk them, and every
    promotion to the old generation eventually walks the whole heap (compiled specs, schemas).
    Batch data is freed by reference counting, so the pause only postpones the collector's
    work on other cycles by one batch. Without ``pause`` this does nothing.
    """
    if not pause:
        yield
        return
    with _gc_lock:
        if _gc_state["holders"] == 0:
            _gc_state["was_enabled"] = gc.isenabled()
            gc.disable()
        _gc_state["holders"] += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_state["holders"] -= 1
            if _gc_state["holders"] == 0 and _gc_state["was_enabled"]:
                gc.enable()


class _Failure(Exception):
    """Carries a classified failure out of a stage to the dead-letter path."""

    def __init__(self, error: AccordError, status: str = DEAD_LETTERED) -> None:
        super().__init__(str(error))
        self.error = error
        self.status = status


@dataclass(slots=True)
class _Prepared:
    """An event after the pure stages: parsed, mapped and validated (or failed)."""

    channel: str
    entity: str
    event_id: str | None
    event_key: str
    raw: str | None  # the payload as text, made only when needed (hash key, dead letter)
    source: Any
    received_at: str
    flow: FlowConfig | None = None
    target: str | None = None
    record: dict[str, Any] | None = None
    record_id: str | None = None
    external_id: str | None = None
    updated_at: str | None = None
    hash: str = ""
    mapping: MappingLike | None = None
    failure: _Failure | None = None


class Engine:
    """Applies a project's flows to events, with state in a :class:`Store`.

    Build one with :meth:`from_project`; the constructor takes the parts directly so tests and
    embedders can plug in their own catalog, rule sets and validator. Safe to share between
    threads (each thread uses its own store connection).

    ``pause_gc`` (default on) keeps Python's cyclic garbage collector off while a batch of
    :meth:`ingest_many` or of the database queue is processed, and restores it after: a third
    of the CPU time of a batch went to collections that found nothing to free.
    """

    def __init__(
        self,
        project: Project,
        store: Store,
        *,
        catalog: CatalogLike,
        rulesets: Mapping[str, RuleSetLike] | None = None,
        validator: Validator | None = None,
        ownership: Any = None,
        clock: Clock | None = None,
        batch_size: int = 500,
        pause_gc: bool = True,
    ) -> None:
        self.project = project
        self.store = store
        self.clock: Clock = clock or SystemClock()
        self.batch_size = batch_size
        self.pause_gc = pause_gc
        self._catalog = catalog
        self._rulesets = dict(rulesets or {})
        self._validator = validator
        # An OwnershipPolicy (``check_write(system, entity, fields, record, now=)``) or None.
        self._ownership = ownership
        self._synced = [ch for ch in project.channels.values() if ch.inventory_sync]
        self._inbound: dict[tuple[str, str], MappingLike | AccordError] = {}
        self._outbound: dict[tuple[str, str], MappingLike | AccordError] = {}
        # Channel inventory levels by record id, with the (version, writing event) they were
        # read at: re-read only when a write changed them (see _channel_levels).
        self._levels: dict[str, tuple[tuple[int, str], dict[str, Any]]] = {}
        self._lock = threading.Lock()
        for flow in project.flows:
            self._resolve(flow.source.channel, flow.source.entity, "inbound")
            for dest in flow.to:
                self._resolve(dest.channel, dest.entity, "outbound")
        for ch in self._synced:
            self._resolve(ch.name, "inventory_level", "outbound")

    # -- construction ----------------------------------------------------------------------

    @classmethod
    def from_project(
        cls,
        path: str | os.PathLike[str] | Project,
        *,
        store_url: str | None = None,
        clock: Clock | None = None,
        batch_size: int = 500,
        pause_gc: bool = True,
    ) -> Engine:
        """Load ``accord.yaml``, compile its mappings and rule packs, open (and migrate) the
        store. ``store_url`` overrides the project's ``store:``."""
        project = path if isinstance(path, Project) else load_project(Path(path))
        from accord.engine.runtime.wiring import build_parts

        catalog, rulesets, validator, ownership = build_parts(project)
        store = open_store(store_url or project.store_url, base_dir=project.root)
        return cls(project, store, catalog=catalog, rulesets=rulesets, validator=validator,
                   ownership=ownership, clock=clock, batch_size=batch_size,
                   pause_gc=pause_gc)  # fmt: skip

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _resolve(self, channel: str, entity: str, direction: str) -> MappingLike | AccordError:
        cache = self._inbound if direction == "inbound" else self._outbound
        key = (channel, entity)
        found = cache.get(key)
        if found is None:
            with self._lock:  # compile each spec once, even when threads race for it
                found = cache.get(key)
                if found is None:
                    ch = self.project.channels.get(channel)
                    kind = ch.kind if ch is not None else channel
                    try:
                        found = self._catalog.find(kind, entity, direction)
                    except AccordError as exc:
                        found = exc  # reported per event: one bad spec stops nothing else
                    cache[key] = found
        return found

    # -- public API ------------------------------------------------------------------------

    def ingest(
        self,
        channel: str,
        entity: str,
        payload: Any,
        *,
        event_id: str | None = None,
        received_at: datetime | None = None,
    ) -> Result:
        """Process one event; see the module docstring for the pipeline."""
        prepared = self._prepare(Event(channel, entity, payload, event_id, received_at))
        return self.store.run(lambda tx: self._apply(tx, prepared))

    def ingest_many(self, events: Iterable[Event | Mapping[str, Any]]) -> Iterator[Result]:
        """Process a stream of events, committing once per batch (``batch_size``).

        Results come back in input order as each batch commits. A failure inside one event
        dead-letters that event only.
        """
        batch: list[Event] = []
        for ev in events:
            batch.append(ev if isinstance(ev, Event) else Event(**ev))
            if len(batch) >= self.batch_size:
                yield from self._run_batch(batch)
                batch = []
        if batch:
            yield from self._run_batch(batch)

    def _run_batch(self, events: list[Event]) -> list[Result]:
        with _gc_paused(self.pause_gc):
            return self._apply_batch([self._prepare(ev) for ev in events])

    def retry_dead_letter(self, dlq_id: int) -> Result:
        """Reprocess a dead-lettered event from its raw payload (after a spec fix).

        Success marks the dead letter ``resolved``; another failure bumps its attempt count.
        """
        with self.store.transaction() as tx:
            dl = tx.dead_letter(dlq_id)
        if dl is None:
            raise StoreError(diagnostics=[_diag("STORE030", f"no dead letter {dlq_id}")])
        if dl.event_key.startswith(OUTBOX_EVENT_PREFIX):
            return self._retry_outbox(dl)
        received = datetime.fromisoformat(dl.received_at.replace("Z", "+00:00")) if (
            dl.received_at) else None  # fmt: skip
        prepared = self._prepare(
            Event(dl.channel, dl.entity, dl.raw_payload, dl.event_id, received),
            event_key=dl.event_key,
        )
        return self.store.run(lambda tx: self._apply(tx, prepared))

    def outbox(self, status: str | None = "pending", *, limit: int | None = None
               ) -> list[OutboxRow]:  # fmt: skip
        """Outbound payloads kept for delivery (``pending`` by default; ``delivered``,
        ``dead``, or ``None`` for all), oldest first. See :mod:`accord.engine.runtime.outbox`
        for delivering them."""
        with self.store.transaction(readonly=True) as tx:
            return tx.outbox(status, limit=limit)

    def _retry_outbox(self, dl: DeadLetter) -> Result:
        """A payload the destination refused goes back to the outbox, due now (status
        ``requeued``); the next delivery sends it with its original idempotency key."""
        key = dl.event_key[len(OUTBOX_EVENT_PREFIX) :]
        now = iso(self.clock.now())
        with self.store.transaction() as tx:
            requeued = tx.requeue_outbox(key, now)
            if requeued:
                tx.set_dead_letter_status(dl.id, "resolved", now)
        diags = []
        if not requeued:
            diags.append(_diag("STORE031", f"outbox row {key} is not dead; nothing to retry",
                               record_id=dl.record_id))  # fmt: skip
        return Result(status=REQUEUED if requeued else DEAD_LETTERED, channel=dl.channel,
                      entity=dl.entity, record_id=dl.record_id, diagnostics=diags,
                      dlq_id=dl.id)  # fmt: skip

    def drop_dead_letter(self, dlq_id: int) -> bool:
        """Give up on a dead letter (kept for the record with status ``dropped``)."""
        now = iso(self.clock.now())
        with self.store.transaction() as tx:
            return tx.set_dead_letter_status(dlq_id, "dropped", now)

    def enqueue(self, events: Iterable[Event]) -> int:
        """Put events on the database queue for ``accord run`` workers; returns how many were
        new (an event already queued, by key, is not queued twice)."""
        rows = []
        for ev in events:
            raw = _payload_text(ev.payload)
            key = self._event_key(ev.channel, ev.entity, ev.event_id, raw)
            at = iso(ev.received_at) if ev.received_at else None
            rows.append((key, ev.channel, ev.entity, ev.event_id, raw, at))
        added = 0
        for start in range(0, len(rows), self.batch_size):
            chunk = rows[start : start + self.batch_size]
            added += self.store.run(partial(_enqueue_rows, rows=chunk))
        return added

    def process_queue(self, worker: str, *, limit: int | None = None) -> int:
        """Claim and process queued events batch by batch until the queue is empty (or
        ``limit`` events are done); returns the number processed. Claim, processing and the
        ``done`` mark share one transaction, so a killed worker loses nothing."""
        done = 0
        isolate = 0  # events left to take one at a time after a batch the store refused
        while limit is None or done < limit:
            size = self.batch_size if limit is None else min(self.batch_size, limit - done)
            if isolate:
                size, isolate = 1, isolate - 1
            try:
                with _gc_paused(self.pause_gc):
                    n = self.store.run(partial(self._process_claimed, worker=worker, size=size))
            except StoreError as exc:
                if size > 1:
                    isolate = size  # find the one event that fails; the rest still commit
                    continue
                # A poison event: keep it as a dead letter and move on.
                n = self.store.run(partial(self._process_claimed, worker=worker, size=1,
                                           failure=exc))  # fmt: skip
            if n == 0:
                break
            done += n
        return done

    def _process_claimed(
        self, tx: Tx, *, worker: str, size: int, failure: StoreError | None = None
    ) -> int:
        items = tx.claim_queue(size)
        for item in items:
            if failure is not None:
                p = self._prepare(Event(item.channel, item.entity, item.payload, item.event_id),
                                  event_key=item.event_key)  # fmt: skip
                p.failure = _Failure(failure)
                self._dead_letter(tx, p)
                continue
            received = (
                datetime.fromisoformat(item.received_at.replace("Z", "+00:00"))
                if item.received_at else None
            )  # fmt: skip
            prepared = self._prepare(
                Event(item.channel, item.entity, item.payload, item.event_id, received),
                event_key=item.event_key,
            )
            self._apply(tx, prepared)
        tx.finish_queue([i.id for i in items], worker, iso(self.clock.now()))
        return len(items)

    # -- stages ----------------------------------------------------------------------------

    @staticmethod
    def _event_key(channel: str, entity: str, event_id: str | None, raw: str | Any) -> str:
        if event_id:
            return f"{channel}:{entity}:{event_id}"
        text = raw if isinstance(raw, str) else _json.dumps(raw)
        return f"{channel}:{entity}:#{_json.content_hash(text)}"

    def _prepare(self, ev: Event, *, event_key: str | None = None) -> _Prepared:
        now = self.clock.now()
        payload = ev.payload
        raw: str | None = None
        if isinstance(payload, (bytes, bytearray)):
            try:
                raw = bytes(payload).decode("utf-8")
            except UnicodeDecodeError:
                raw = bytes(payload).decode("latin-1")
        elif isinstance(payload, str):
            raw = payload
        event_id = str(ev.event_id) if ev.event_id is not None else None
        if event_key is None and event_id is None and raw is None:
            raw = _payload_text(payload)  # the content hash is the idempotency key
        key = event_key or self._event_key(ev.channel, ev.entity, event_id, raw or "")
        p = _Prepared(
            channel=ev.channel,
            entity=ev.entity,
            event_id=event_id,
            event_key=key,
            raw=raw,
            source=payload,
            received_at=iso(ev.received_at or now),
        )
        try:
            if isinstance(payload, (str, bytes, bytearray)):
                try:
                    payload = _json.loads(
                        bytes(payload) if isinstance(payload, bytearray) else payload
                    )
                except ValueError as exc:
                    raise _Failure(AccordError(
                        diagnostics=[_diag("RUN001", f"the payload is not valid JSON: {exc}")],
                        error_class=ErrorClass.VALIDATION,
                    )) from exc  # fmt: skip
            flow = self.project.flow_for(ev.channel, ev.entity)
            if flow is None:
                raise _Failure(AccordError(
                    diagnostics=[_diag("RUN002", f"no flow in {self.project.path.name} handles"
                                       f" {ev.channel} {ev.entity} events")],
                    error_class=ErrorClass.VALIDATION,
                ))  # fmt: skip
            p.flow = flow
            mapping = self._resolve(ev.channel, ev.entity, "inbound")
            if isinstance(mapping, AccordError):
                raise _Failure(mapping)
            p.mapping = mapping
            # The record's type is the spec's canonical entity: a notification spec (entity
            # listings_item_mfn_quantity_change) produces an inventory_level record.
            p.target = str(getattr(mapping, "entity", None) or ev.entity)
            try:
                record = mapping.apply(payload)
                if not isinstance(record, dict):
                    raise _Failure(AccordError(
                        diagnostics=[_diag("RUN003", "the inbound mapping did not return a"
                                           " record")],
                    ))  # fmt: skip
                external = record.get("id") or _natural_id(p.target, record)
                if external is None or external == "":
                    raise _Failure(AccordError(
                        diagnostics=[_diag("RUN004", f"the {p.target} record has no id, so it"
                                           " cannot be deduplicated")],
                    ))  # fmt: skip
                external = str(external)
                p.external_id = external.split(":", 1)[1] if external.startswith(
                    f"{ev.channel}:") else external  # fmt: skip
                p.record_id = f"{ev.channel}:{p.external_id}"
                if self._validator is not None:
                    self._validator(p.target, record, p.record_id)
            except AccordError as exc:
                raise _Failure(exc) from exc
            p.record = record
            p.updated_at = _parse_ts(record.get("updated_at"))
            if p.updated_at is None:
                # No timestamp to order versions by: identical payload text is the duplicate
                # test (the payload's own text, no re-encoding).
                text = p.raw if p.raw is not None else _payload_text(payload)
                p.hash = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
            else:
                p.hash = "-"
        except _Failure as failure:
            p.failure = failure
        except Exception as exc:  # a bug in a stage must not lose the event: dead-letter it
            p.failure = _Failure(AccordError(
                diagnostics=[_diag("RUN009", f"internal error: {type(exc).__name__}: {exc}")],
                error_class=ErrorClass.TRANSIENT,
            ))  # fmt: skip
        return p

    def _apply_batch(self, batch: list[_Prepared]) -> list[Result]:
        try:
            return self.store.run(lambda tx: [self._apply(tx, p) for p in batch])
        except StoreError:
            # Isolate the event the store refused: the others still commit.
            return [self._apply_alone(p) for p in batch]

    def _apply_alone(self, p: _Prepared) -> Result:
        try:
            return self.store.run(lambda tx: self._apply(tx, p))
        except StoreError as exc:
            p.failure = _Failure(exc)
            return self.store.run(lambda tx: self._dead_letter(tx, p))

    def _apply(self, tx: Tx, p: _Prepared) -> Result:
        if p.failure is not None:
            seen = tx.event_result(p.event_key)
            if seen is not None and seen[1]:
                return Result.from_dict(_json.loads(seen[1]), status=DUPLICATE)
            return self._dead_letter(tx, p)
        try:
            return self._apply_ok(tx, p)
        except _Failure as failure:
            # Stages that can fail all run before the first state write, so undoing the
            # event's claim is all it takes (cheaper than a savepoint per event).
            tx.release_event(p.event_key)
            p.failure = failure
            return self._dead_letter(tx, p)

    def _dead_letter(self, tx: Tx, p: _Prepared) -> Result:
        assert p.failure is not None
        err = p.failure.error
        diags = list(err.diagnostics) or [_diag(err.code, err.message)]
        diags = [d.for_record(p.record_id) for d in diags]
        raw = p.raw if p.raw is not None else _payload_text(p.source)
        dlq_id = tx.put_dead_letter(
            event_key=p.event_key, channel=p.channel, entity=p.entity, event_id=p.event_id,
            record_id=p.record_id, raw_payload=raw, error_class=err.error_class,
            code=err.code, message=err.message, diagnostics=diags,
            received_at=p.received_at, now=iso(self.clock.now()),
        )  # fmt: skip
        return Result(
            status=p.failure.status, channel=p.channel, entity=p.entity, event_id=p.event_id,
            record_id=p.record_id, record=p.record, diagnostics=diags, dlq_id=dlq_id,
        )  # fmt: skip

    def _apply_ok(self, tx: Tx, p: _Prepared) -> Result:
        assert p.record is not None
        assert p.record_id is not None
        assert p.target is not None
        assert p.flow is not None
        assert p.mapping is not None
        assert p.external_id is not None
        now_dt = self.clock.now()
        now = iso(now_dt)
        if not tx.claim_event(p.event_key, p.channel, p.entity, p.event_id, now):
            seen = tx.event_result(p.event_key)
            if seen is not None and seen[1]:
                return Result.from_dict(_json.loads(seen[1]), status=DUPLICATE)
            raise StoreError(  # claimed by a transaction that has not finished: retry
                diagnostics=[_diag("STORE007", "event claimed concurrently")],
                error_class=ErrorClass.TRANSIENT,
            )
        stored = tx.get_record(p.target, p.record_id, lock=True)
        if stored is not None:
            verdict = self._compare(stored.source_updated_at, stored.content_hash, p)
            if verdict is not None:
                return self._not_applied(tx, p, verdict, stored.data, stored.version, now)
        version = 1 if stored is None else stored.version + 1
        record = p.record
        facts_extra: dict[str, Any] = {}
        order_ref = self._order_ref(p)
        for path, value in p.flow.defaults.items():
            _set_default(record, path, value)
        if order_ref is not None and p.target != "order" and not record.get("order_id"):
            record["order_id"] = order_ref
        if p.target == "refund" and order_ref is not None:
            facts_extra = ledger.refund_facts(tx, order_ref, self._currency(record))
            # The canonical refund carries what was captured; the ledger knows it when the
            # channel does not say.
            if record.get("captured") is None and facts_extra["captured"] is not None:
                record["captured"] = facts_extra["captured"]
        if self._ownership is not None:
            self._check_ownership(p, record, stored.data if stored else None, now_dt)
        decisions: dict[str, Any] = {}
        rule_versions: dict[str, str] = {}
        for name in p.flow.rules:
            decision = self._decide(name, record, facts_extra, now_dt, p.record_id)
            decisions[name] = decision
            rule_versions[name] = str(
                getattr(decision, "version", None)
                or getattr(self._rulesets.get(name), "version", None)
                or ""
            )
            _merge_fields(record, getattr(decision, "fields_set", None))
        outbound: dict[str, Any] = {}
        for dest in p.flow.to:
            mapping = self._resolve(dest.channel, dest.entity, "outbound")
            if isinstance(mapping, AccordError):
                raise _Failure(mapping)
            try:
                outbound[f"{dest.channel}.{dest.entity}"] = mapping.apply(
                    record, record_id=p.record_id
                )
            except AccordError as exc:
                raise _Failure(exc) from exc
        ops, diags, touched = self._ledger(tx, p, record, stored, order_ref, now)
        own = record if p.target == "inventory_level" else None
        updates, warnings = self._inventory_updates(tx, touched, now_dt, p.channel, own)
        outbound.update(updates)
        diags.extend(warnings)
        data = _json.dumps(record)
        tx.put_record(
            entity=p.target, record_id=p.record_id, channel=p.channel, external_id=p.external_id,
            source_updated_at=p.updated_at, content_hash=p.hash, data=data, version=version,
            event_key=p.event_key, now=now,
        )  # fmt: skip
        reasons = [r for n, d in decisions.items() for r in _decision_reasons(n, d)]
        entries = [
            AuditEntry(
                record_id=p.record_id, entity=p.target,
                action="created" if version == 1 else "updated", at=now,
                source_system=p.channel, event_id=p.event_id, mapping_id=p.mapping.id,
                mapping_version=str(p.mapping.version), rule_versions=rule_versions,
                reasons=reasons,
                details={"version": version, "ledger": ops, "outbound": sorted(outbound)},
            )
        ]  # fmt: skip
        if order_ref is not None and order_ref != p.record_id and ops:
            entries.append(AuditEntry(
                record_id=order_ref, entity="order", action=f"{p.target}_applied", at=now,
                source_system=p.channel, event_id=p.event_id, mapping_id=p.mapping.id,
                mapping_version=str(p.mapping.version), rule_versions=rule_versions,
                reasons=reasons, details={"by": p.record_id, "ledger": ops},
            ))  # fmt: skip
        tx.add_audit(entries)
        result = Result(
            status=PROCESSED, channel=p.channel, entity=p.entity, event_id=p.event_id,
            record_id=p.record_id, record=record, decisions=decisions, outbound=outbound,
            ledger=ops, diagnostics=diags, version=version,
        )  # fmt: skip
        tx.finish_event(p.event_key, p.record_id, PROCESSED, result.stored_json(data))
        tx.resolve_dead_letter_for_event(p.event_key)
        _keep_outbound(tx, p.event_key, p.record_id, outbound, now)
        return result

    def _decide(self, name: str, record: dict[str, Any], extra: Mapping[str, Any],
                now: datetime, record_id: str | None) -> Any:  # fmt: skip
        """Evaluate one rule pack; a rule error or a quarantine/reject outcome is a failure."""
        ruleset = self._rulesets.get(name)
        if ruleset is None:
            raise _Failure(
                AccordError(diagnostics=[_diag("RUN005", f"rule pack {name!r} is not loaded")])
            )
        pack = self.project.rule_packs.get(name)
        facts = {**(pack.facts if pack else {}), **extra}
        facts = {k: v for k, v in facts.items() if v is not None}
        try:
            decision = ruleset.evaluate(record, facts=facts, now=now)
        except AccordError as exc:
            raise _Failure(exc) from exc
        kinds = _outcome_kinds(decision)
        for kind in ("quarantine", "reject"):
            if kind in kinds:
                why = "; ".join(str(r) for r in getattr(decision, "reasons", []) or [])
                raise _Failure(
                    AccordError(
                        diagnostics=[_diag("RUN010", f"rule pack {name!r} decided {kind} for"
                                           f" {record_id}" + (f": {why}" if why else ""),
                                           record_id=record_id)],
                        error_class=ErrorClass.BUSINESS_CONFLICT,
                    ),
                    status=QUARANTINED,
                )  # fmt: skip
        return decision

    def _check_ownership(self, p: _Prepared, record: Mapping[str, Any],
                         before: Mapping[str, Any] | None, now: datetime) -> None:  # fmt: skip
        """Quarantine an update that writes fields another system owns (new records are the
        source system's to create)."""
        if before is None or self._ownership is None:
            return
        old = _json.to_jsonable(before)
        new = _json.to_jsonable(record)
        changed = sorted(k for k in new if k != "updated_at" and new.get(k) != old.get(k))
        if not changed:
            return
        ch = self.project.channels.get(p.channel)
        system = ch.owner_name if ch is not None else p.channel
        verdict = self._ownership.check_write(system, p.target or p.entity, changed, record,
                                              now=now)  # fmt: skip
        if getattr(verdict, "allowed", True):
            return
        raise _Failure(
            AccordError(
                diagnostics=[_diag("RUN011", str(getattr(verdict, "reason", "ownership")),
                                   record_id=p.record_id)],
                error_class=ErrorClass.BUSINESS_CONFLICT,
            ),
            status=QUARANTINED,
        )  # fmt: skip

    @staticmethod
    def _compare(stored_at: str | None, stored_hash: str, p: _Prepared) -> str | None:
        """``duplicate``/``stale`` when the incoming record must not be applied, else None."""
        if p.updated_at is not None and stored_at is not None:
            if p.updated_at < stored_at:
                return STALE
            if p.updated_at == stored_at:
                return DUPLICATE
            return None
        return DUPLICATE if stored_hash == p.hash else None

    def _not_applied(self, tx: Tx, p: _Prepared, verdict: str, current: dict[str, Any],
                     version: int, now: str) -> Result:  # fmt: skip
        assert p.record_id is not None
        assert p.target is not None
        diags: list[Diagnostic] = []
        if verdict == STALE:
            diags.append(_diag(
                "STORE010",
                f"update of {p.record_id} at {p.updated_at} is older than the stored state;"
                " not applied", record_id=p.record_id, severity=Severity.WARNING,
            ))  # fmt: skip
            tx.add_audit([AuditEntry(
                record_id=p.record_id, entity=p.target, action="stale_ignored", at=now,
                source_system=p.channel, event_id=p.event_id,
                mapping_id=p.mapping.id if p.mapping else None,
                mapping_version=str(p.mapping.version) if p.mapping else None,
                details={"incoming_updated_at": p.updated_at},
            )])  # fmt: skip
        result = Result(
            status=verdict, channel=p.channel, entity=p.entity, event_id=p.event_id,
            record_id=p.record_id, record=current, diagnostics=diags, version=version,
        )  # fmt: skip
        tx.finish_event(p.event_key, p.record_id, verdict, result.stored_json(_json.dumps(current)))
        return result

    # -- ledger effects --------------------------------------------------------------------

    @staticmethod
    def _currency(record: Mapping[str, Any]) -> str | None:
        cur = record.get("currency")
        if isinstance(cur, str):
            return cur
        amount = record.get("amount")
        if isinstance(amount, Mapping):
            return str(amount.get("currency"))
        return None

    def _order_ref(self, p: _Prepared) -> str | None:
        """The order record an order, refund, fulfilment or return belongs to."""
        rec = p.record or {}
        if p.target == "order":
            return p.record_id
        order_id = rec.get("order_id")
        if isinstance(order_id, str) and order_id:
            return order_id if ":" in order_id else f"{p.channel}:{order_id}"
        ext = rec.get("order_external_ids")
        if isinstance(ext, Mapping) and ext:
            kind = self.project.channels[p.channel].kind if (
                p.channel in self.project.channels) else p.channel  # fmt: skip
            value = ext.get(kind, ext.get(p.channel, next(iter(ext.values()))))
            return f"{p.channel}:{value}"
        return None

    @staticmethod
    def _sku_qty(lines: Any) -> dict[str, int]:
        out: dict[str, int] = {}
        for line in lines or []:
            if isinstance(line, Mapping) and line.get("sku") and line.get("quantity"):
                sku = str(line["sku"])
                out[sku] = out.get(sku, 0) + int(line["quantity"])
        return out

    def _ledger(
        self,
        tx: Tx,
        p: _Prepared,
        record: dict[str, Any],
        stored: Any,
        order_ref: str | None,
        now: str,
    ) -> tuple[list[dict[str, Any]], list[Diagnostic], set[str]]:
        ops: list[dict[str, Any]] = []
        locations = self.project.inventory.locations
        key = p.event_key
        if p.target == "order" and order_ref is not None:
            cancelled = bool(record.get("cancelled_at")) or record.get("status") == "cancelled"
            fstatus = str(record.get("fulfillment_status") or "")
            # A new order has no reservations yet; only an update needs to look.
            if not cancelled and (stored is None or not tx.reservations(order_ref)):
                lines = [
                    (f"{i:04d}", str(line["sku"]), int(line.get("quantity") or 0))
                    for i, line in enumerate(record.get("lines") or [])
                    if isinstance(line, Mapping) and line.get("sku")
                ]
                ops += ledger.reserve_order(tx, order_ref, lines, locations, event_key=key,
                                            now=now)  # fmt: skip
            if cancelled:
                ops += ledger.release_order(tx, order_ref, event_key=key, now=now)
            elif fstatus == "fulfilled":
                ops += ledger.commit_order(tx, order_ref, event_key=key, now=now)
            total = record.get("captured_total")
            if total is None and str(record.get("financial_status") or "") in (
                "paid", "partially_refunded", "refunded"):  # fmt: skip
                total = record.get("total")
            if isinstance(total, Mapping) and "amount" in total:
                tx.set_captured(order_ref, Decimal(str(total["amount"])),
                                str(total["currency"]), now)  # fmt: skip
        elif p.target == "fulfillment" and order_ref is not None:
            status = str(record.get("status") or "")
            was = str((stored.data.get("status") if stored else "") or "")
            active = status not in ("pending", "cancelled", "failed")
            if active and (stored is None or was in ("pending", "cancelled", "failed", "")):
                skus = self._sku_qty(record.get("lines"))
                ops += ledger.commit_order(tx, order_ref, skus=skus or None, event_key=key,
                                           now=now)  # fmt: skip
        elif p.target == "refund" and order_ref is not None:
            amount = record.get("amount")
            if isinstance(amount, Mapping) and "amount" in amount:
                value, currency = Decimal(str(amount["amount"])), str(amount["currency"])
            else:
                value, currency = Decimal(0), self._currency(record) or ""
            at = _parse_ts(record.get("created_at")) or now
            new = tx.add_refund(p.record_id or "", order_ref, value, currency,
                                bool(record.get("restock")), at,
                                idempotency_key=record.get("idempotency_key"))  # fmt: skip
            restocked = [
                line for line in record.get("lines") or []
                if isinstance(line, Mapping) and (
                    line.get("restock") is True or record.get("restock") is True
                    or line.get("restock_type") in ("return", "cancel"))
            ]  # fmt: skip
            if new and restocked:
                ops += ledger.restock_refund(tx, order_ref, self._sku_qty(restocked),
                                             locations[0], event_key=key, now=now)  # fmt: skip
        elif p.target == "inventory_level" and p.channel == self.project.inventory.source:
            sku = record.get("sku")
            count = record.get("on_hand")
            if count is None:  # channels that only report available-to-sell
                count = record.get("available")
            if sku and isinstance(count, int):
                loc = self.project.inventory.location(record.get("location"))
                ops += ledger.apply_count(tx, str(sku), loc, count, event_key=key, now=now)
        elif p.target == "inventory_adjustment":
            sku, delta = record.get("sku"), record.get("delta")
            if sku and isinstance(delta, int):
                loc = self.project.inventory.location(record.get("location"))
                tx.adjust_on_hand(str(sku), loc, delta, op="adjust", ref=p.record_id,
                                  event_key=key, now=now)  # fmt: skip
                ops.append({"op": "adjust", "sku": sku, "location": loc, "qty": delta,
                            "order_id": None})  # fmt: skip
        diags = [
            _diag("STORE020", f"not enough stock of {op['sku']} to reserve {op['qty']} for"
                  f" {op['order_id']}; the line is short, stock was not oversold",
                  record_id=p.record_id, severity=Severity.WARNING)
            for op in ops if op["op"] == "short"
        ]  # fmt: skip
        return ops, diags, {op["sku"] for op in ops if op["op"] != "short"}

    def _inventory_updates(
        self, tx: Tx, skus: set[str], now: datetime, channel: str = "",
        reported: Mapping[str, Any] | None = None,
    ) -> tuple[dict[str, Any], list[Diagnostic]]:  # fmt: skip
        """Available-to-sell per inventory-synced channel for every SKU the event moved, as
        the channel's outbound ``inventory_level`` payloads, and the warnings of what could
        not be published.

        The quantity is the pool less the channel's buffer, as the buffer-stock rules decide
        (or the channel's fixed ``buffer_stock`` when they cannot). The canonical level sent
        through the channel's spec takes its location and external ids from the level that
        channel last reported for the SKU (see :meth:`_channel_levels`). A payload the spec
        cannot build (no inventory item id known yet, no spec) is not sent: the event gets a
        ``RUN012`` warning instead, and the stock moves stand. ``reported`` is the inventory
        level ``channel`` reports in this very event (not stored yet).
        """
        out: dict[str, Any] = {}
        warnings: list[Diagnostic] = []
        if not skus or not self._synced:
            return out, warnings
        pack_name = self.project.inventory.buffer_rules
        ruleset = self._rulesets.get(pack_name) if pack_name else None
        pack = self.project.rule_packs.get(pack_name) if pack_name else None
        if pack_name and ruleset is None:
            warnings.append(_diag("RUN005", f"rule pack {pack_name!r} is not loaded",
                                  severity=Severity.WARNING))  # fmt: skip
        pool = tx.available(skus)
        known = self._channel_levels(tx, sorted(pool))
        if reported is not None and reported.get("sku") in pool:
            key = (channel, str(reported["sku"]))
            if key not in known or known[key].get("location") == reported.get("location"):
                known[key] = dict(reported)
        for ch in self._synced:
            spec = self._resolve(ch.name, "inventory_level", "outbound")
            if isinstance(spec, AccordError):
                warnings.append(_diag(
                    "RUN012", f"available-to-sell for {ch.name} not published: no outbound"
                    f" inventory_level spec ({_reasons(spec)})", severity=Severity.WARNING,
                ))  # fmt: skip
                continue
            updates = []
            for sku, available in pool.items():
                publish = max(available - ch.buffer_stock, 0)
                reason = None
                if ruleset is not None:
                    facts = {**(pack.facts if pack else {}), **ch.facts, "sku": sku,
                             "channel": ch.name, "available": available,
                             "buffer": ch.facts.get("buffer", ch.buffer_stock)}  # fmt: skip
                    try:
                        decision = ruleset.evaluate({}, facts=facts, now=now)
                    except AccordError as exc:
                        # The stock moves stand; only this publication falls back.
                        warnings.extend(
                            replace(d, severity=Severity.WARNING) for d in exc.diagnostics
                        )
                    else:
                        fields = getattr(decision, "fields_set", None) or {}
                        if "publish_quantity" in fields:
                            publish = max(int(fields["publish_quantity"]), 0)
                        reasons = getattr(decision, "reasons", None)
                        if reasons:
                            reason = reasons[0]
                level: dict[str, Any] = {"sku": sku, "available": publish}
                stored = known.get((ch.name, sku))
                if stored is not None:
                    if stored.get("location") not in (None, ""):
                        level["location"] = stored["location"]
                    if stored.get("external_ids"):
                        level["external_ids"] = dict(stored["external_ids"])
                try:
                    payload = spec.apply(level, record_id=f"{ch.name}:{sku}")
                except AccordError as exc:
                    warnings.append(_diag(
                        "RUN012", f"available-to-sell {publish} of {sku} for {ch.name} not"
                        f" published: {_reasons(exc)}", severity=Severity.WARNING,
                    ))  # fmt: skip
                    continue
                update: dict[str, Any] = {"sku": sku, "available": publish}
                if "location" in level:
                    update["location"] = level["location"]
                if reason is not None:
                    update["reason"] = reason
                update["payload"] = payload
                updates.append(update)
            if updates:
                out[f"{ch.name}.inventory_level"] = updates
        return out, warnings

    def _channel_levels(self, tx: Tx, skus: list[str]) -> dict[tuple[str, str], dict[str, Any]]:
        """The stored level each synced channel reported for each SKU, by (channel, SKU).

        A channel's levels are stored as ``<channel>:<sku>@<its location id>``; the ids tried
        are the ``inventory.aliases`` of each ledger location, then the location's own name,
        in allocation order, and the first found wins (so a channel with several locations
        publishes at the one that stands for the first ledger location).
        """
        inv = self.project.inventory
        order: list[str] = []
        for loc in inv.locations:
            order += [alias for alias, target in inv.aliases.items() if target == loc]
            order.append(loc)
        order += [alias for alias in inv.aliases if alias not in order]
        wanted = {
            f"{ch.name}:{sku}@{loc}": (ch.name, sku, rank)
            for ch in self._synced for sku in skus for rank, loc in enumerate(order)
        }  # fmt: skip
        # A level changes rarely and is read by every order: its data is parsed once per
        # write. The stamp names the write (version and event), so a write rolled back and
        # redone by another event is never mistaken for the one cached.
        stamps = tx.record_stamps("inventory_level", wanted)
        cache = self._levels
        levels: dict[str, dict[str, Any]] = {}
        changed = []
        for rid, stamp in stamps.items():
            cached = cache.get(rid)  # another thread may clear or refill it meanwhile
            if cached is not None and cached[0] == stamp:
                levels[rid] = cached[1]
            else:
                changed.append(rid)
        if changed:
            if len(cache) > _LEVEL_CACHE_MAX:
                cache.clear()
            for rid, stored in tx.get_records("inventory_level", changed).items():
                levels[rid] = stored.data
                cache[rid] = ((stored.version, stamps[rid][1]), stored.data)
        found: dict[tuple[str, str], tuple[int, dict[str, Any]]] = {}
        for record_id, data in levels.items():
            channel, sku, rank = wanted[record_id]
            best = found.get((channel, sku))
            if best is None or rank < best[0]:
                found[(channel, sku)] = (rank, data)
        return {key: data for key, (_, data) in found.items()}


def _keep_outbound(tx: Tx, event_key: str, record_id: str, outbound: Mapping[str, Any],
                   now: str) -> None:  # fmt: skip
    """One outbox row per destination payload (per stock level of a list), kept in the
    event's transaction: a payload exists for delivery exactly when its event committed."""
    for dest, value in outbound.items():
        channel, _, entity = dest.rpartition(".")
        entries: list[tuple[int | None, str | None, Any]]
        if isinstance(value, list):
            entries = [
                (i, str(e["sku"]) if e.get("sku") is not None else None, e.get("payload"))
                if isinstance(e, Mapping) else (i, None, e)
                for i, e in enumerate(value)
            ]  # fmt: skip
        else:
            entries = [(None, None, value)]
        for index, ref, payload in entries:
            tx.add_outbox(
                destination=channel, entity=entity, ref=ref, payload=payload,
                event_key=event_key, record_id=record_id,
                idempotency_key=outbox_key(event_key, dest, index), now=now,
            )  # fmt: skip


def _enqueue_rows(tx: Tx, *, rows: list[tuple[str, str, str, str | None, str, str | None]]) -> int:
    return sum(tx.enqueue(*r) for r in rows)


def _payload_text(payload: Any) -> str:
    """The payload as JSON text, exactly as received when it came as text or bytes."""
    if isinstance(payload, str):
        return payload
    if isinstance(payload, (bytes, bytearray)):
        try:
            return bytes(payload).decode("utf-8")
        except UnicodeDecodeError:
            return bytes(payload).decode("latin-1")
    try:
        return _json.dumps_payload(payload)
    except (TypeError, ValueError):
        return repr(payload)
