"""``accord outbox``: list the outbound payloads kept for delivery, and deliver them through
the project's connectors."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

from accord.cli import EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE
from accord.cli._common import guarded
from accord.cli.run import add_project_arguments

if TYPE_CHECKING:
    from pathlib import Path

    from accord.engine.runtime import Project
    from accord.engine.runtime.store import OutboxRow

__all__ = ["register"]

EXAMPLES = """\
examples:
  accord outbox list                    # payloads waiting for delivery
  accord outbox list --status dead --format json
  accord outbox deliver                 # send what is due through the connectors
  accord outbox deliver --channel netsuite --limit 50
"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "outbox",
        help="list or deliver the outbound payloads kept for delivery",
        description=(__doc__ or "").replace("``", ""),
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    ls = sub.add_parser("list", help="list outbox rows")
    ls.add_argument(
        "--status",
        choices=("pending", "delivered", "dead", "superseded", "all"),
        default="pending",
    )
    ls.add_argument("--limit", type=int, default=None, help="at most this many rows")
    send = sub.add_parser("deliver", help="send due rows through the destination connectors")
    send.add_argument("--limit", type=int, default=100, help="rows to try (default: 100)")
    send.add_argument(
        "--channel",
        action="append",
        default=[],
        metavar="NAME",
        help="deliver only to this project channel (repeatable)",
    )
    for p in (ls, send):
        add_project_arguments(p)
        p.add_argument("--format", choices=("text", "json"), default="text")
    parser.set_defaults(func=guarded(run))


def run(args: argparse.Namespace) -> int:
    from accord.engine.runtime import load_project, open_store

    if args.limit is not None and args.limit < 1:
        print("accord outbox: --limit must be at least 1", file=sys.stderr)
        return EXIT_USAGE
    url = args.store
    base = None
    project = None
    if url is None or args.action == "deliver":
        project = load_project(args.project)
        url, base = url or project.store_url, project.root
    if args.action == "list":
        status = None if args.status == "all" else args.status
        with open_store(url, base_dir=base) as store, store.transaction(readonly=True) as tx:
            return _list(tx.outbox(status, limit=args.limit), args.format)
    assert project is not None  # loaded above for deliver
    unknown = sorted(set(args.channel) - set(project.channels))
    if unknown:
        print(f"accord outbox: no such channel in the project: {', '.join(unknown)}",
              file=sys.stderr)  # fmt: skip
        return EXIT_USAGE
    return _deliver(args, project, url, base)


def _deliver(args: argparse.Namespace, project: Project, url: str, base: Path | None) -> int:
    import httpx2

    from accord.cli.serve import build_connectors
    from accord.engine.runtime import open_store
    from accord.engine.runtime.outbox import deliver

    chosen = {n: ch for n, ch in project.channels.items() if not args.channel or n in args.channel}
    with httpx2.Client(timeout=30.0) as client:
        connectors = build_connectors(
            {n: ch.kind for n, ch in chosen.items()},
            client,
            api_versions={n: ch.api_version for n, ch in chosen.items()},
        )
        with open_store(url, base_dir=base) as store:
            report = deliver(store, connectors, limit=args.limit, destinations=args.channel or None)
    if args.format == "json":
        print(json.dumps([d.to_dict() for d in report.deliveries], indent=2))
    elif not report.deliveries:
        print("nothing to deliver")
    else:
        for d in report.deliveries:
            what = f"{d.id:>5}  {d.destination}.{d.entity}" + (f" {d.ref}" if d.ref else "")
            if d.status == "delivered":
                print(f"{what}: delivered ({d.response_id or 'no id'})")
            elif d.status == "superseded":
                print(f"{what}: superseded by a newer stock level, not sent")
            elif d.status == "pending":
                print(f"{what}: {d.error_class} {d.code}, try {d.attempts}, next at"
                      f" {d.next_attempt_at}")  # fmt: skip
            else:
                print(f"{what}: dead, {d.error_class} {d.code} (dead letter {d.dlq_id})")
        print(f"{report.count('delivered')} delivered, {report.count('pending')} to retry,"
              f" {report.count('dead')} dead, {report.count('superseded')} superseded")  # fmt: skip
    return EXIT_PROBLEMS if report.failed else EXIT_OK


def _list(items: list[OutboxRow], fmt: str) -> int:
    if fmt == "json":
        print(json.dumps([r.to_dict() for r in items], indent=2))
        return EXIT_OK
    if not items:
        print("no outbox rows")
        return EXIT_OK
    print(f"{'id':>5}  {'status':<9} {'tries':>5}  {'next try / result':<22}  destination (record)")
    for r in items:
        dest = f"{r.destination}.{r.entity}" + (f" {r.ref}" if r.ref else "")
        if r.status == "delivered":
            tail = r.response_id or "-"
        elif r.status == "dead":
            tail = r.error_class or "-"
        else:
            tail = r.next_attempt_at or "due"
        print(f"{r.id:>5}  {r.status:<9} {r.attempts:>5}  {tail:<22}  {dest}"
              f" ({r.record_id or '-'})")  # fmt: skip
    return EXIT_OK
