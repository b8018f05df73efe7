"""Polling backfill: pull every record changed since a time and hand it to the engine,
resumable after an interruption.

After each page is handed over, the cursor of the *next* page is saved in a
:class:`CheckpointStore`. A run interrupted anywhere (a crash, Ctrl-C, a quota error that
outlasted the retries) starts again from the last saved cursor, so at most one page is
fetched twice; the records of that page carry the same event ids
(:meth:`~accord.connectors.base.Connector.record_key`) and the engine answers ``duplicate``
for the ones it already has. Nothing is processed twice.

Each record goes through :meth:`~accord.connectors.base.Connector.for_engine` first, which
completes it into the shape the channel's shipped inbound spec takes (a WooCommerce product
with its variations and the store settings, a Shopify inventory level with its inventory
item); a record no shipped spec maps is counted as ``ignored``.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from accord.clock import Clock, SystemClock
from accord.diagnostics import Diagnostic
from accord.errors import StoreError

from .base import Connector
from .sink import EventSink

__all__ = [
    "IGNORED",
    "BackfillReport",
    "Checkpoint",
    "CheckpointStore",
    "FileCheckpoints",
    "MemoryCheckpoints",
    "backfill",
]


#: The status of an event no shipped spec maps: acknowledged, not handed to the engine.
IGNORED = "ignored"


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """Where a backfill stands: the cursor of the next page, or ``done``."""

    cursor: str | None
    done: bool = False
    pages: int = 0
    items: int = 0
    api_version: str | None = None
    updated_at: str | None = None


class CheckpointStore(Protocol):
    """Keeps checkpoints by key (``channel:entity:since``)."""

    def load(self, key: str) -> Checkpoint | None:
        """The saved checkpoint, or ``None``."""
        ...

    def save(self, key: str, checkpoint: Checkpoint) -> None:
        """Durably replace the checkpoint of ``key``."""
        ...


class MemoryCheckpoints:
    """Checkpoints in a dict (tests, one-off runs)."""

    def __init__(self) -> None:
        self.saved: dict[str, Checkpoint] = {}

    def load(self, key: str) -> Checkpoint | None:
        return self.saved.get(key)

    def save(self, key: str, checkpoint: Checkpoint) -> None:
        self.saved[key] = checkpoint


class FileCheckpoints:
    """Checkpoints in one JSON file, replaced atomically (write, fsync, rename) so a crash
    mid-write leaves the previous checkpoint intact."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()

    def _read(self) -> dict[str, dict[str, object]]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            message = f"{self.path}: checkpoint file is unreadable: {exc}"
            raise StoreError(
                message, diagnostics=(Diagnostic(code="CONN018", message=message),)
            ) from exc
        return data if isinstance(data, dict) else {}

    def load(self, key: str) -> Checkpoint | None:
        with self._lock:
            raw = self._read().get(key)
        if not isinstance(raw, dict):
            return None
        fields = set(Checkpoint.__dataclass_fields__)
        return Checkpoint(**{k: v for k, v in raw.items() if k in fields})  # type: ignore[arg-type]

    def save(self, key: str, checkpoint: Checkpoint) -> None:
        with self._lock:
            data = self._read()
            data[key] = asdict(checkpoint)
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".checkpoint-", dir=self.path.parent)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as out:
                    json.dump(data, out, indent=2, sort_keys=True)
                    out.flush()
                    os.fsync(out.fileno())
                os.replace(tmp, self.path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise


@dataclass
class BackfillReport:
    """What one run did."""

    key: str
    resumed_from: str | None
    pages: int = 0
    items: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    finished: bool = False


def backfill(
    connector: Connector,
    entity: str,
    sink: EventSink,
    *,
    since: datetime | None,
    checkpoints: CheckpointStore,
    channel: str | None = None,
    page_size: int | None = None,
    clock: Clock | None = None,
    max_pages: int | None = None,
) -> BackfillReport:
    """Pull ``entity`` from ``connector`` into ``sink``, resuming from the saved checkpoint.

    ``channel`` is the project's name for the channel (default: the connector's kind).
    A finished backfill with the same key starts over (the engine then reports duplicates).
    ``max_pages`` stops early (the checkpoint keeps the place) for bounded runs.
    """
    clock = clock or SystemClock()
    channel = channel or connector.channel
    since_key = since.astimezone(UTC).isoformat() if since is not None else "all"
    key = f"{channel}:{entity}:{since_key}"
    saved = checkpoints.load(key)
    cursor = saved.cursor if saved is not None and not saved.done else None
    report = BackfillReport(key=key, resumed_from=cursor)
    pages_before = saved.pages if saved is not None and not saved.done else 0
    items_before = saved.items if saved is not None and not saved.done else 0
    for page in connector.pages(entity, since=since, cursor=cursor, page_size=page_size):
        for item in page.items:
            # The key names the record as listed; completing it (fetching what the spec
            # also needs) may fail transiently, and then the page is fetched again.
            event_id = connector.record_key(entity, item)
            completed = connector.for_engine(entity, item)
            if completed is None:
                status = IGNORED
            else:
                result = sink.ingest(
                    channel, completed[0], completed[1], event_id=event_id, received_at=clock.now()
                )
                status = str(result.status)
            report.statuses[status] += 1
            report.items += 1
        report.pages += 1
        done = page.next_cursor is None
        checkpoints.save(
            key,
            Checkpoint(
                cursor=page.next_cursor,
                done=done,
                pages=pages_before + report.pages,
                items=items_before + report.items,
                api_version=page.api_version,
                updated_at=clock.now().isoformat(),
            ),
        )
        if done:
            report.finished = True
            break
        if max_pages is not None and report.pages >= max_pages:
            break
    return report
