"""``accord ownership``: print the system-of-record table as Markdown.

accord ownership                      # the shipped rules/ownership.rules
accord ownership --rules my.rules     # another ownership block
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from accord.cli._common import guarded

__all__ = ["register"]


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "ownership",
        help="print which system owns which field (Markdown)",
        description="Render the system-of-record table of an ownership rule file as Markdown.",
        epilog="examples:\n"
        "  accord ownership                                   # the shipped ownership.rules\n"
        "  accord ownership --rules rules/ownership.rules > docs/ownership-table.md\n",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--rules", help="the rule file (default: the shipped ownership.rules)")
    parser.set_defaults(func=guarded(run))


def run(args: argparse.Namespace) -> int:
    from accord.cli import EXIT_INTERNAL, EXIT_OK, EXIT_PROBLEMS
    from accord.diagnostics import render_all
    from accord.engine.rules import OwnershipPolicy, load_ruleset
    from accord.errors import SpecError
    from accord.resources import rules_dir

    path = args.rules or str(rules_dir() / "ownership.rules")
    try:
        ruleset = load_ruleset(path)
    except SpecError as exc:
        if exc.code == "RULE000":
            print(f"accord ownership: {exc}", file=sys.stderr)
            return EXIT_INTERNAL
        print(render_all(list(exc.diagnostics), {path: _read(path)}), file=sys.stderr)
        return EXIT_PROBLEMS
    policy = OwnershipPolicy(ruleset)
    if not policy.entries:
        print(f"accord ownership: {path} has no ownership block", file=sys.stderr)
        return EXIT_PROBLEMS
    sys.stdout.write(policy.to_markdown())
    return EXIT_OK


def _read(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as fh:
            return fh.read()
    except OSError:
        return ""
