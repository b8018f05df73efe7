"""``accord pull CHANNEL ENTITY --since TIME``: backfill through the engine, resumable.

Pages through the channel's records changed since ``--since`` and hands each to the engine,
which deduplicates them. After every page the next cursor is saved in ``--checkpoints``; a
run that stops (Ctrl-C, a crash, a quota error that outlasted the retries) resumes from there
when started again with the same channel, entity and ``--since``, and nothing is processed
twice.

``--queue URL`` drains SP-API notifications from an SQS queue instead (Amazon channels): each
is ingested, then deleted from the queue; the engine deduplicates redeliveries.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import httpx2

from accord.cli import EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE
from accord.connectors.backfill import FileCheckpoints, backfill
from accord.connectors.registry import CONNECTORS, connector_for, env_prefix, resolve_kind
from accord.connectors.secrets import EnvSecrets
from accord.connectors.sink import EventSink
from accord.connectors.sqs import NotificationQueue

__all__ = ["parse_since", "register", "run"]

EXAMPLES = """\
examples:
  accord pull shopify order --since 2026-03-01T00:00:00Z
  accord pull amazon order --since 2026-03-01 --store postgresql://db/accord
  accord pull woocommerce product --all --checkpoints state/pull.json
  accord pull amazon_notifications order --queue https://sqs.us-east-1.amazonaws.com/1234/sp
"""

#: Where the engine comes from; tests replace it with a fake sink.
SinkFactory = Callable[[argparse.Namespace], EventSink]


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "pull",
        help="backfill a channel's records through the engine, resumable",
        description=__doc__.split("\n\n")[0].replace("``", "") if __doc__ else None,
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("channel", help="project channel name (shopify, amazon, ...)")
    parser.add_argument("entity", help="entity to pull (order, product, ...)")
    when = parser.add_mutually_exclusive_group()
    when.add_argument("--since", help="ISO-8601 time or date; records changed since then")
    when.add_argument("--all", action="store_true", help="every record, however old")
    when.add_argument(
        "--queue", metavar="URL", help="drain SP-API notifications from this SQS queue"
    )
    parser.add_argument("--project", type=Path, default=Path("accord.yaml"), help="accord.yaml")
    parser.add_argument("--store", help="store URL (default: the project's store)")
    parser.add_argument(
        "--checkpoints",
        type=Path,
        help="checkpoint file (default: .accord/checkpoints.json beside the project)",
    )
    parser.add_argument("--page-size", type=int, metavar="N")
    parser.add_argument(
        "--max-pages", type=int, metavar="N", help="stop after N pages (or queue batches)"
    )
    parser.set_defaults(func=run)


def parse_since(text: str) -> datetime:
    """An aware UTC datetime from ISO-8601 (a bare date is midnight UTC).

    >>> parse_since("2026-03-01").isoformat(), parse_since("2026-03-01T05:00:00+05:00").hour
    ('2026-03-01T00:00:00+00:00', 0)
    """
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _drain(
    args: argparse.Namespace, sink_factory: SinkFactory, client: httpx2.Client | None
) -> int:
    # SQS long polls last up to 20 s: the HTTP timeout must outlast them.
    http = client or httpx2.Client(timeout=40.0)
    sink = sink_factory(args)
    try:
        queue = NotificationQueue(
            http, args.queue, secrets=EnvSecrets(prefix=env_prefix(args.channel, "amazon"))
        )
        report = queue.drain(sink, channel=args.channel, max_batches=args.max_pages)
    finally:
        close = getattr(sink, "close", None)
        if callable(close):
            close()
        if client is None:
            http.close()
    counts = ", ".join(f"{n} {status}" for status, n in sorted(report.statuses.items()))
    print(
        f"accord pull {args.channel} (queue): {report.received} messages, {report.deleted} "
        f"deleted, {report.unreadable} unreadable: {counts or 'nothing new'}"
    )
    failed = report.statuses.get("dead_lettered", 0) + report.statuses.get("quarantined", 0)
    return EXIT_PROBLEMS if failed or report.unreadable else EXIT_OK


def _engine(args: argparse.Namespace) -> EventSink:
    from accord.engine.runtime import Engine

    engine: EventSink = Engine.from_project(args.project, store_url=args.store)
    return engine


def _channel_kind(args: argparse.Namespace) -> tuple[str, str | None]:
    from accord.engine.runtime import load_project

    project = load_project(args.project)
    channel = project.channels.get(args.channel)
    if channel is None:
        known = ", ".join(sorted(project.channels)) or "none"
        raise LookupError(f"no channel {args.channel!r} in {args.project} (known: {known})")
    # ``amazon_notifications`` / ``amazon_2026`` are channels of kind ``amazon``
    return resolve_kind(args.channel, channel.kind, channel.api_version), channel.api_version


def run(
    args: argparse.Namespace,
    *,
    sink_factory: SinkFactory = _engine,
    client: httpx2.Client | None = None,
) -> int:
    if not (args.since or args.all or args.queue):
        print("accord pull: one of --since, --all or --queue is required", file=sys.stderr)
        return EXIT_USAGE
    try:
        since = parse_since(args.since) if args.since else None
    except ValueError:
        print(f"accord pull: --since {args.since!r} is not an ISO-8601 time", file=sys.stderr)
        return EXIT_USAGE
    try:
        kind, api_version = _channel_kind(args)
    except LookupError as exc:
        print(f"accord pull: {exc.args[0]}", file=sys.stderr)
        return EXIT_USAGE
    if kind not in CONNECTORS:
        print(f"accord pull: no connector for channel kind {kind!r}", file=sys.stderr)
        return EXIT_USAGE
    if args.queue:
        if kind not in ("amazon", "amazon_notifications"):
            print("accord pull: --queue is for amazon channels", file=sys.stderr)
            return EXIT_USAGE
        return _drain(args, sink_factory, client)
    checkpoints = FileCheckpoints(
        args.checkpoints or args.project.resolve().parent / ".accord" / "checkpoints.json"
    )
    own_client = client is None
    http = client or httpx2.Client(timeout=30.0)
    sink = sink_factory(args)
    try:
        connector = connector_for(
            kind,
            http,
            api_version=api_version,
            secrets=EnvSecrets(prefix=env_prefix(args.channel, kind)),
        )
        report = backfill(
            connector,
            args.entity,
            sink,
            since=since,
            checkpoints=checkpoints,
            channel=args.channel,
            page_size=args.page_size,
            max_pages=args.max_pages,
        )
    finally:
        close = getattr(sink, "close", None)
        if callable(close):
            close()
        if own_client:
            http.close()
    counts = ", ".join(f"{n} {status}" for status, n in sorted(report.statuses.items()))
    resumed = f" (resumed at cursor {report.resumed_from})" if report.resumed_from else ""
    state = "done" if report.finished else "stopped; run again to continue"
    print(
        f"accord pull {args.channel} {args.entity}: {report.items} records in {report.pages} "
        f"pages{resumed}: {counts or 'nothing new'}; {state}"
    )
    failed = report.statuses.get("dead_lettered", 0) + report.statuses.get("quarantined", 0)
    return EXIT_PROBLEMS if failed else EXIT_OK
