"""``accord audit ID``: every state change of one record, oldest first."""

from __future__ import annotations

import argparse
import json

from accord.cli import EXIT_OK, EXIT_PROBLEMS
from accord.cli.run import add_project_arguments

__all__ = ["register"]

EXAMPLES = """\
examples:
  accord audit shopify:450789469
  accord audit shopify:450789469 --format json
"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "audit",
        help="the audit trail of one record",
        description=(__doc__ or "").replace("``", ""),
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("record_id", help="<channel>:<external id>, as in a Result")
    add_project_arguments(parser)
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from accord.engine.runtime import load_project, open_store

    url, base = args.store, None
    if url is None:
        project = load_project(args.project)
        url, base = project.store_url, project.root
    with open_store(url, base_dir=base) as store, store.transaction(readonly=True) as tx:
        entries = tx.audit(args.record_id)
    if args.format == "json":
        print(json.dumps([e.to_dict() for e in entries], indent=2))
        return EXIT_OK if entries else EXIT_PROBLEMS
    if not entries:
        print(f"no audit entries for {args.record_id}")
        return EXIT_PROBLEMS
    for e in entries:
        spec = f"{e.mapping_id} v{e.mapping_version}" if e.mapping_id else "-"
        print(f"{e.at}  {e.action:<20} from {e.source_system}"
              f" event {e.event_id or '-'}  mapping {spec}")  # fmt: skip
        if e.rule_versions:
            rules = ", ".join(f"{k} v{v}" for k, v in e.rule_versions.items())
            print(f"    rules: {rules}")
        for reason in e.reasons:
            for text in reason.get("reasons", []) if isinstance(reason, dict) else []:
                print(f"    because: {text}")
        for op in e.details.get("ledger", []):
            print(f"    ledger: {op['op']} {op['qty']} x {op['sku']} at {op['location']}")
        if e.details.get("outbound"):
            print(f"    outbound: {', '.join(e.details['outbound'])}")
    return EXIT_OK
