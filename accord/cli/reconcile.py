"""``accord reconcile``: compare two systems' exports and write a variance report."""

from __future__ import annotations

import argparse
import json
import sys
from decimal import Decimal, InvalidOperation
from pathlib import Path

from accord.cli import EXIT_INTERNAL, EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE

__all__ = ["register"]

EXAMPLES = """\
examples:
  accord reconcile orders shopify_orders.csv netsuite_orders.csv --amount-tolerance 0.01
  accord reconcile inventory shipbob.json netsuite_stock.csv --quantity-tolerance 1
  accord reconcile refunds shopify_refunds.jsonl erp_refunds.csv --out report.json
  accord reconcile orders a.csv b.csv --column total=Amount --column date=Order Date

orders: count and total per day and currency; inventory: quantity per SKU and location;
refunds: count and total per currency (and day). Exit code 1 when a line is out of tolerance.
"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "reconcile",
        help="compare two systems' exports (orders, inventory, refunds) with tolerances",
        description=(__doc__ or "").replace("``", ""),
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("kind", choices=("orders", "inventory", "refunds"))
    parser.add_argument("left", type=Path, help="the first system's export (CSV/JSON/JSONL)")
    parser.add_argument("right", type=Path, help="the second system's export")
    parser.add_argument("--amount-tolerance", default="0", help="money gap accepted per line")
    parser.add_argument("--count-tolerance", type=int, default=0, help="count gap accepted")
    parser.add_argument("--quantity-tolerance", type=int, default=0, help="unit gap accepted")
    parser.add_argument(
        "--column", action="append", default=[], metavar="ROLE=NAME",
        help="name a column (roles: id, date, total, currency, sku, location, quantity)",
    )  # fmt: skip
    parser.add_argument("--out", type=Path, help="also write the report as JSON here")
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from accord.engine.runtime.reconcile import Tolerances, load_export, reconcile

    try:
        amount = Decimal(args.amount_tolerance)
    except InvalidOperation:
        print(f"accord reconcile: --amount-tolerance {args.amount_tolerance!r} is not a number",
              file=sys.stderr)  # fmt: skip
        return EXIT_USAGE
    columns = {}
    for item in args.column:
        role, sep, name = item.partition("=")
        if not sep or not name:
            print(f"accord reconcile: --column {item!r} is not ROLE=NAME", file=sys.stderr)
            return EXIT_USAGE
        columns[role.strip()] = name
    try:
        left, right = load_export(args.left), load_export(args.right)
    except ValueError as exc:  # ValidationError with a located RUN101 diagnostic
        print(f"accord reconcile: {exc}", file=sys.stderr)
        return EXIT_INTERNAL
    report = reconcile(
        args.kind, left, right,
        tolerances=Tolerances(args.count_tolerance, amount, args.quantity_tolerance),
        columns=columns,
    )  # fmt: skip
    data = report.to_dict() | {"left": str(args.left), "right": str(args.right)}
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(data, indent=2) if args.format == "json" else report.to_text())
    return EXIT_OK if report.ok else EXIT_PROBLEMS
