"""Where connectors hand events: the engine, seen through a small protocol.

:class:`EventSink` is the one method the webhook server and the backfill need from the
engine (``accord.engine.runtime.Engine`` satisfies it); tests pass a fake. The engine
deduplicates on ``event_id``, so handing it the same delivery twice is safe.

:class:`SinkWorker` owns the sink on one thread: the server's request handlers submit events
and wait for the result with a deadline, so a slow engine never holds a channel's delivery
past its timeout, and a sink bound to its creating thread (an SQLite connection) is only
ever used on that thread.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from .base import WebhookEvent

__all__ = ["EventSink", "IngestResult", "SinkWorker"]

log = logging.getLogger("accord.connectors")


@runtime_checkable
class IngestResult(Protocol):
    """What the engine says it did: ``processed``, ``duplicate``, ``stale``,
    ``dead_lettered`` or ``quarantined``."""

    @property
    def status(self) -> str:
        """The outcome, one of the names above."""
        ...


@runtime_checkable
class EventSink(Protocol):
    """Something that takes channel payloads: the engine, or a fake in tests."""

    def ingest(
        self,
        channel: str,
        entity: str,
        payload: Mapping[str, Any],
        *,
        event_id: str | None = None,
        received_at: datetime | None = None,
    ) -> IngestResult:
        """Process one payload; a repeated ``event_id`` is a duplicate, not reprocessed."""
        ...


_Job = tuple[WebhookEvent, datetime, "Future[IngestResult]"]


class SinkWorker:
    """Runs every ``ingest`` on one dedicated thread.

    ``sink`` may be a sink or a zero-argument factory called on the worker thread (so an
    engine whose store connection belongs to its creating thread is created there).
    """

    def __init__(self, sink: EventSink | Callable[[], EventSink], *, maxsize: int = 10_000):
        self._sink_or_factory = sink
        self._queue: queue.Queue[_Job | None] = queue.Queue(maxsize=maxsize)
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._startup_error: BaseException | None = None

    def start(self) -> None:
        """Start the thread (idempotent); raises if the sink factory fails."""
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="accord-sink", daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._startup_error is not None:
            raise self._startup_error

    def submit(self, event: WebhookEvent, received_at: datetime) -> Future[IngestResult]:
        """Queue one event; the future resolves with the engine's result or exception.

        Never blocks: with ``maxsize`` events already waiting it raises :class:`queue.Full`
        (the server answers 503 and the channel delivers again later).
        """
        future: Future[IngestResult] = Future()
        self._queue.put_nowait((event, received_at, future))
        return future

    def stop(self, timeout: float = 30.0) -> None:
        """Finish queued events, then stop the thread."""
        if self._thread is None:
            return
        self._queue.put(None)
        self._thread.join(timeout)
        self._thread = None

    def _run(self) -> None:
        source = self._sink_or_factory
        try:
            sink: EventSink = source if isinstance(source, EventSink) else source()
        except BaseException as exc:  # reported to start(); the thread then ends
            self._startup_error = exc
            self._ready.set()
            return
        self._ready.set()
        while True:
            job = self._queue.get()
            if job is None:
                return
            event, received_at, future = job
            if not future.set_running_or_notify_cancel():
                continue
            try:
                result = sink.ingest(
                    event.channel,
                    event.entity,
                    event.payload,
                    event_id=event.event_id,
                    received_at=received_at,
                )
            except BaseException as exc:  # handed to the waiting request, never lost
                log.warning(
                    "ingest of %s %s event %s failed: %s",
                    event.channel,
                    event.entity,
                    event.event_id,
                    type(exc).__name__,
                )
                future.set_exception(exc)
            else:
                future.set_result(result)
