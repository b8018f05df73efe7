"""``accord run``: process an inbox folder or the database queue with N worker processes."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from accord.cli import EXIT_INTERNAL, EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE

__all__ = ["register"]

EXAMPLES = """\
examples:
  accord run --inbox inbox/                      # queue inbox/ and process it, one worker
  accord run --inbox inbox/ --workers 4          # four worker processes
  accord run --workers 2 --store postgresql://app@db/accord --follow   # serve the queue

inbox layout: <inbox>/<channel>/<entity>/<event-id>.json (bare payloads), or envelope files
{"channel", "entity", "payload", "event_id"?, "received_at"?} as .json or .jsonl.
Exit code 1 when events were dead-lettered or files rejected.
"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "run",
        help="process an inbox folder or the database queue with N workers",
        description=(__doc__ or "").replace("``", ""),
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_project_arguments(parser)
    parser.add_argument("--inbox", type=Path, help="folder of event files to queue first")
    parser.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    parser.add_argument("--batch-size", type=int, default=500, help="events per commit")
    parser.add_argument("--follow", action="store_true", help="keep polling the queue")
    parser.add_argument("--poll", type=float, default=1.0, help="seconds between polls")
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.set_defaults(func=run)


def add_project_arguments(parser: argparse.ArgumentParser) -> None:
    """``--project`` and ``--store``, shared by run, dlq, audit."""
    parser.add_argument(
        "--project", type=Path, default=Path("accord.yaml"), help="default: ./accord.yaml"
    )
    parser.add_argument("--store", help="store URL (default: the project's `store:`)")


def run(args: argparse.Namespace) -> int:
    from accord.engine.runtime.worker import run_workers

    if args.workers < 1 or args.batch_size < 1:
        print("accord run: --workers and --batch-size must be at least 1", file=sys.stderr)
        return EXIT_USAGE
    if args.inbox is not None and not args.inbox.is_dir():
        print(f"accord run: inbox {args.inbox} is not a folder", file=sys.stderr)
        return EXIT_INTERNAL
    report = run_workers(
        args.project,
        store_url=args.store,
        workers=args.workers,
        inbox=args.inbox,
        follow=args.follow,
        poll=args.poll,
        batch_size=args.batch_size,
    )
    if args.format == "json":
        print(json.dumps(report.to_dict(), indent=2))
    else:
        if report.inbox is not None:
            ib = report.inbox
            print(f"inbox: {ib.files} files, {ib.queued} events queued,"
                  f" {ib.already_queued} already queued, {len(ib.rejected)} rejected")  # fmt: skip
            for path, diag in ib.rejected:
                print(f"  rejected {path}: {diag.code} {diag.message}")
        for name, n in report.processed.items():
            print(f"{name}: {n} events processed (exit {report.exit_codes[name]})")
        queue = ", ".join(f"{k} {v}" for k, v in sorted(report.queue.items())) or "empty"
        print(f"queue: {queue}; open dead letters: {report.open_dead_letters};"
              f" {report.seconds:.2f}s")  # fmt: skip
    if any(code != 0 for code in report.exit_codes.values()):
        return EXIT_INTERNAL
    if report.open_dead_letters or (report.inbox and report.inbox.rejected):
        return EXIT_PROBLEMS
    return EXIT_OK
