"""``accord run``: move an inbox into the database queue and drain it with N worker processes.

An **inbox** is a folder of event files:

* ``<inbox>/<channel>/<entity>/<name>.json``: a bare channel payload; the event id is the
  file name without ``.json``;
* ``<inbox>/<name>.json``: an envelope ``{"channel", "entity", "payload", "event_id"?,
  "received_at"?}``;
* ``<inbox>/<name>.jsonl``: one envelope per line.

Accepted files are moved to ``<inbox>/.accepted/`` *after* their events are committed to the
queue (queueing is idempotent by event key, so a crash between the two only re-queues
nothing). Files that are not valid events go to ``<inbox>/.rejected/`` with a ``.error.txt``
beside them.

Each worker process opens its own :class:`~accord.engine.runtime.Engine` and claims batches
from the queue (``FOR UPDATE SKIP LOCKED`` on PostgreSQL); claim, processing and the done mark
share one transaction, so SIGKILL at any point loses nothing and duplicates nothing.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from accord.diagnostics import Diagnostic
from accord.engine.runtime import _json
from accord.engine.runtime.engine import Engine, Event
from accord.errors import AccordError, ValidationError

__all__ = ["InboxReport", "RunReport", "accept_inbox", "read_inbox_file", "run_workers"]

SKIP = {".accepted", ".rejected"}


@dataclass(slots=True)
class InboxReport:
    """What :func:`accept_inbox` did."""

    files: int = 0
    queued: int = 0
    already_queued: int = 0
    rejected: list[tuple[Path, Diagnostic]] = field(default_factory=list)


@dataclass(slots=True)
class RunReport:
    """What :func:`run_workers` did."""

    inbox: InboxReport | None
    processed: dict[str, int]
    exit_codes: dict[str, int]
    queue: dict[str, int]
    open_dead_letters: int
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "inbox": None if self.inbox is None else {
                "files": self.inbox.files, "queued": self.inbox.queued,
                "already_queued": self.inbox.already_queued,
                "rejected": [{"file": str(p), **d.to_dict()} for p, d in self.inbox.rejected],
            },
            "processed": self.processed,
            "exit_codes": self.exit_codes,
            "queue": self.queue,
            "open_dead_letters": self.open_dead_letters,
            "seconds": round(self.seconds, 3),
        }  # fmt: skip


def _bad(path: Path, message: str, line: int | None = None) -> ValidationError:
    return ValidationError(
        diagnostics=[Diagnostic(code="RUN020", message=message, file=str(path), line=line)]
    )


def _envelope(obj: Any, path: Path, line: int | None) -> Event:
    if not isinstance(obj, dict):
        raise _bad(path, "an inbox envelope must be a JSON object", line)
    missing = [k for k in ("channel", "entity", "payload") if k not in obj]
    if missing:
        raise _bad(path, f"the envelope lacks {', '.join(missing)}", line)
    received = obj.get("received_at")
    at = None
    if received is not None:
        try:
            at = datetime.fromisoformat(str(received).replace("Z", "+00:00"))
        except ValueError:
            raise _bad(path, f"received_at {received!r} is not ISO-8601", line) from None
        if at.tzinfo is None:
            raise _bad(path, "received_at needs a time zone", line)
    payload = obj["payload"]
    # Keep the payload's numbers exactly as written.
    text = payload if isinstance(payload, str) else _json.dumps_payload(payload)
    event_id = obj.get("event_id")
    return Event(str(obj["channel"]), str(obj["entity"]), text,
                 str(event_id) if event_id is not None else None, at)  # fmt: skip


def read_inbox_file(path: Path, inbox: Path) -> list[Event]:
    """The events in one inbox file; raises ValidationError (``RUN020``) when it is not one."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise _bad(path, f"cannot read: {exc}") from exc
    rel = path.relative_to(inbox).parts
    if path.suffix == ".jsonl":
        events = []
        for n, line in enumerate(text.splitlines(), 1):
            if line.strip():
                try:
                    obj = _json.loads(line)
                except ValueError as exc:
                    raise _bad(path, f"not valid JSON: {exc}", n) from exc
                events.append(_envelope(obj, path, n))
        return events
    if len(rel) == 3:  # <channel>/<entity>/<name>.json: the bare payload, kept byte-exact
        try:
            _json.loads(text)
        except ValueError as exc:
            raise _bad(path, f"not valid JSON: {exc}") from exc
        return [Event(rel[0], rel[1], text, path.stem)]
    try:
        obj = _json.loads(text)
    except ValueError as exc:
        raise _bad(path, f"not valid JSON: {exc}") from exc
    return [_envelope(obj, path, None)]


def _inbox_files(inbox: Path) -> Iterator[Path]:
    for path in sorted(inbox.rglob("*")):
        rel = path.relative_to(inbox).parts
        if rel[0] in SKIP or not path.is_file() or path.suffix not in (".json", ".jsonl"):
            continue
        yield path


def _move(path: Path, inbox: Path, folder: str) -> Path:
    target = inbox / folder / path.relative_to(inbox)
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(path, target)
    return target


def accept_inbox(engine: Engine, inbox: Path) -> InboxReport:
    """Queue every event file in ``inbox`` and move it out of the way."""
    report = InboxReport()
    for path in _inbox_files(inbox):
        report.files += 1
        try:
            events = read_inbox_file(path, inbox)
        except AccordError as exc:
            moved = _move(path, inbox, ".rejected")
            diag = exc.diagnostics[0]
            moved.with_name(moved.name + ".error.txt").write_text(diag.render() + "\n")
            report.rejected.append((path, diag))
            continue
        added = engine.enqueue(events)
        report.queued += added
        report.already_queued += len(events) - added
        _move(path, inbox, ".accepted")
    # Leave the inbox as it was found: drop the channel/entity folders emptied above.
    for folder in sorted((p for p in inbox.rglob("*") if p.is_dir()), reverse=True):
        if folder.relative_to(inbox).parts[0] not in SKIP:
            with contextlib.suppress(OSError):
                folder.rmdir()
    return report


def worker_name(index: int) -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{index}"


def _worker_main(project: str, store_url: str | None, index: int, follow: bool,
                 poll: float, batch_size: int, conn: Any) -> None:  # fmt: skip
    """Entry point of one worker process: drain the queue, report the count on ``conn``."""
    done = 0
    try:
        with Engine.from_project(project, store_url=store_url, batch_size=batch_size) as engine:
            name = worker_name(index)
            while True:
                done += engine.process_queue(name)
                if not follow:
                    break
                time.sleep(poll)
    finally:
        with contextlib.suppress(Exception):
            conn.send(done)
            conn.close()


def run_workers(
    project: str | os.PathLike[str],
    *,
    store_url: str | None = None,
    workers: int = 1,
    inbox: Path | None = None,
    follow: bool = False,
    poll: float = 1.0,
    batch_size: int = 500,
) -> RunReport:
    """Queue the inbox (if any), then drain the queue with ``workers`` processes.

    ``workers=1`` runs in this process. More use child processes, each with its own
    engine and store connection; on PostgreSQL they share the queue through ``SKIP LOCKED``,
    on SQLite they take turns on the single write lock.
    """
    started = time.perf_counter()
    project = str(project)
    with Engine.from_project(project, store_url=store_url, batch_size=batch_size) as engine:
        accepted = accept_inbox(engine, inbox) if inbox is not None else None
        processed: dict[str, int] = {}
        codes: dict[str, int] = {}
        if workers <= 1:
            name = worker_name(0)
            total = 0
            while True:
                total += engine.process_queue(name)
                if not follow:
                    break
                time.sleep(poll)
            processed[name] = total
            codes[name] = 0
        else:
            # fork where the platform has it: workers start without re-importing accord and
            # recompiling every spec; each still opens its own engine and store connection.
            ctx = (
                multiprocessing.get_context("fork")
                if "fork" in multiprocessing.get_all_start_methods()
                else multiprocessing.get_context("spawn")
            )
            procs = []
            for i in range(workers):
                recv, send = ctx.Pipe(duplex=False)
                proc = ctx.Process(
                    target=_worker_main,
                    args=(project, store_url, i, follow, poll, batch_size, send),
                    name=f"accord-worker-{i}",
                )
                proc.start()
                send.close()
                procs.append((i, proc, recv))
            for i, proc, recv in procs:
                proc.join()
                label = f"worker-{i}"
                processed[label] = recv.recv() if recv.poll() else 0
                codes[label] = proc.exitcode if proc.exitcode is not None else -1
        with engine.store.transaction() as tx:
            queue = tx.queue_counts()
            open_dl = len(tx.dead_letters("open"))
    return RunReport(accepted, processed, codes, queue, open_dl, time.perf_counter() - started)
