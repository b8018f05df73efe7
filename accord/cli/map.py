"""``accord map``: map payload files and print the records as JSON.

Records are printed in canonical JSON form: money amounts and ids as strings, timestamps
ISO-8601 UTC with ``Z``. One input prints one object, several print a list (``--ndjson``: one
line each). A payload that fails to map is reported on stderr with the spec line and the data
path, and the others are still mapped.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from accord.cli import EXIT_INTERNAL, EXIT_OK, EXIT_PROBLEMS
from accord.cli._common import (
    add_mapping_arguments,
    dumps,
    error_diagnostics,
    guarded,
    print_diagnostics,
    resolve_mapping,
)
from accord.cli.payloads import iter_payloads
from accord.diagnostics import Diagnostic, Severity
from accord.errors import AccordError

__all__ = ["register"]

EXAMPLES = """\
examples:
  accord map --channel shopify --entity order samples/payloads/shopify/order/order-1040.json
  accord map --channel shopify --entity order --validate orders.ndjson.gz --ndjson
  accord map --channel netsuite --entity order --direction outbound record.json
  accord map --spec my/order.inbound.yaml - < payload.json
"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "map",
        help="map payload files and print the records as JSON",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_mapping_arguments(parser)
    parser.add_argument(
        "files", nargs="+", type=Path, help="payload files (.json, .ndjson, .gz) or - for stdin"
    )
    parser.add_argument(
        "--validate",
        action="store_true",
        help="also validate inbound records against the canonical model (CAN diagnostics)",
    )
    parser.add_argument("--ndjson", action="store_true", help="one compact JSON record per line")
    parser.set_defaults(func=guarded(run))


def run(args: argparse.Namespace) -> int:
    try:
        compiled = resolve_mapping(args)
    except AccordError as exc:
        print_diagnostics(error_diagnostics(exc))
        return EXIT_INTERNAL if exc.code.startswith(("YAML", "CLI")) else EXIT_PROBLEMS
    entity = args.entity or getattr(getattr(compiled, "spec", None), "target", None)
    outbound = args.direction == "outbound"
    records: list[Any] = []
    failed = unreadable = False
    for item in iter_payloads(args.files):
        if item.error is not None:
            print_diagnostics([item.error])
            unreadable = True
            continue
        payload = item.data
        if outbound:
            from accord.testing.subjects import revive

            payload = revive(payload)
        warnings: list[Diagnostic] = []
        try:
            record = compiled.apply(payload, warnings=warnings)
            if args.validate and not outbound and entity:
                warnings.extend(_validate(entity, record))
        except AccordError as exc:
            print_diagnostics(error_diagnostics(exc), label=item.source)
            failed = True
            continue
        if warnings:
            print_diagnostics(warnings, label=item.source)
            failed = failed or any(Severity(w.severity) is Severity.ERROR for w in warnings)
        if args.ndjson:
            print(dumps(record, indent=None))
        else:
            records.append(record)
    if not args.ndjson and records:
        print(dumps(records[0] if len(records) == 1 and len(args.files) == 1 else records))
    sys.stdout.flush()
    if unreadable:
        return EXIT_INTERNAL
    return EXIT_PROBLEMS if failed else EXIT_OK


def _validate(entity: str, record: Any) -> list[Diagnostic]:
    """Canonical validation; invariants (totals) are reported as warnings, not failures."""
    from accord.canonical import check_invariants, validate_record

    model = validate_record(entity, record, invariants=False)
    return [
        d if Severity(d.severity) is not Severity.ERROR else _as_warning(d)
        for d in check_invariants(model)
    ]


def _as_warning(d: Diagnostic) -> Diagnostic:
    from dataclasses import replace

    return replace(d, severity=Severity.WARNING)
