"""``accord dlq``: list, show, retry and drop dead-lettered events."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

from accord.cli import EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE
from accord.cli.run import add_project_arguments

if TYPE_CHECKING:
    from accord.engine.runtime.store import DeadLetter

__all__ = ["register"]

EXAMPLES = """\
examples:
  accord dlq list                       # open dead letters
  accord dlq list --status all --format json
  accord dlq show 12                    # raw payload, classification, diagnostics
  accord dlq retry 12 13                # after fixing the spec: reprocess
  accord dlq retry --all                # every open dead letter
  accord dlq drop 14                    # give up (kept, marked dropped)
"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "dlq",
        help="list, show, retry or drop dead-lettered events",
        description=(__doc__ or "").replace("``", ""),
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    ls = sub.add_parser("list", help="list dead letters")
    ls.add_argument("--status", choices=("open", "resolved", "dropped", "all"), default="open")
    show = sub.add_parser("show", help="one dead letter in full")
    show.add_argument("id", type=int)
    retry = sub.add_parser("retry", help="reprocess dead letters from their raw payloads")
    retry.add_argument("ids", type=int, nargs="*")
    retry.add_argument("--all", action="store_true", help="every open dead letter")
    drop = sub.add_parser("drop", help="give up on dead letters")
    drop.add_argument("ids", type=int, nargs="+")
    for p in (ls, show, retry, drop):
        add_project_arguments(p)
        p.add_argument("--format", choices=("text", "json"), default="text")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from accord.engine.runtime import Engine, open_store

    if args.action in ("list", "show"):
        # Reading needs only the store, not the compiled specs.
        from accord.engine.runtime import load_project

        url = args.store
        base = None
        if url is None:
            project = load_project(args.project)
            url, base = project.store_url, project.root
        with open_store(url, base_dir=base) as store, store.transaction(readonly=True) as tx:
            if args.action == "list":
                items = tx.dead_letters(None if args.status == "all" else args.status)
                return _list(items, args.format)
            item = tx.dead_letter(args.id)
        if item is None:
            print(f"accord dlq: no dead letter {args.id}", file=sys.stderr)
            return EXIT_PROBLEMS
        if args.format == "json":
            print(json.dumps(item.to_dict(), indent=2))
        else:
            print(f"dead letter {item.id}: {item.channel} {item.entity}"
                  f" event {item.event_id or '-'} record {item.record_id or '-'}")  # fmt: skip
            print(f"  status {item.status}, class {item.error_class.value}, code {item.code},"
                  f" attempts {item.attempts}")  # fmt: skip
            print(f"  first failed {item.first_failed_at}, last {item.last_failed_at}")
            for d in item.diagnostics:
                print("  " + d.render().replace("\n", "\n  "))
            print("raw payload:")
            print(item.raw_payload)
        return EXIT_OK

    if args.action == "retry" and not args.ids and not args.all:
        print("accord dlq retry: give ids or --all", file=sys.stderr)
        return EXIT_USAGE
    with Engine.from_project(args.project, store_url=args.store) as engine:
        if args.action == "drop":
            missing = [i for i in args.ids if not engine.drop_dead_letter(i)]
            for i in missing:
                print(f"accord dlq: no dead letter {i}", file=sys.stderr)
            if args.format == "json":
                print(json.dumps({"dropped": [i for i in args.ids if i not in missing]}))
            else:
                for i in args.ids:
                    if i not in missing:
                        print(f"dropped {i}")
            return EXIT_PROBLEMS if missing else EXIT_OK
        ids = list(args.ids)
        if args.all:
            with engine.store.transaction() as tx:
                ids = [d.id for d in tx.dead_letters("open")]
        failed = 0
        out = []
        for i in ids:
            with engine.store.transaction() as tx:
                known = tx.dead_letter(i) is not None
            if not known:
                print(f"accord dlq: no dead letter {i}", file=sys.stderr)
                failed += 1
                continue
            result = engine.retry_dead_letter(i)
            ok = result.status not in ("dead_lettered", "quarantined")
            failed += not ok
            out.append({"id": i, "status": result.status, "record_id": result.record_id,
                        "diagnostics": [d.to_dict() for d in result.diagnostics]})  # fmt: skip
            if args.format == "text":
                print(f"{i}: {result.status}" + ("" if ok else f" ({result.diagnostics[0].code})"))
        if args.format == "json":
            print(json.dumps(out, indent=2))
        return EXIT_PROBLEMS if failed else EXIT_OK


def _list(items: list[DeadLetter], fmt: str) -> int:
    if fmt == "json":
        print(json.dumps([d.to_dict(with_payload=False) for d in items], indent=2))
        return EXIT_OK
    if not items:
        print("no dead letters")
        return EXIT_OK
    print(f"{'id':>5}  {'status':<9} {'class':<18} {'code':<8} {'tries':>5}  event")
    for d in items:
        event = f"{d.channel} {d.entity} {d.event_id or d.record_id or '-'}"
        print(f"{d.id:>5}  {d.status:<9} {d.error_class.value:<18} {d.code:<8}"
              f" {d.attempts:>5}  {event}")  # fmt: skip
    return EXIT_OK
