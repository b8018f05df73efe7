"""``accord schema cases``: the JSON Schema of sidecar case files (``*.cases.yaml``).

    accord schema cases                                   # print it
    accord schema cases --write docs/schemas/cases.schema.json
    accord schema cases --check docs/schemas/cases.schema.json   # exit 1 when it drifted

Editors pick it up from a first line ``# yaml-language-server: $schema=<path or URL>``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from accord.cli import EXIT_OK, EXIT_PROBLEMS
from accord.cli._common import guarded

__all__ = ["register_kind"]


def register_kind(kinds: Any) -> None:
    """Add the ``cases`` kind to ``accord schema``."""
    parser = kinds.add_parser(
        "cases",
        help="JSON Schema of sidecar case files (*.cases.yaml)",
        description="Print the JSON Schema (draft-07) of sidecar case files, or write/check "
        "the file holding it.",
        epilog="examples:\n"
        "  accord schema cases\n"
        "  accord schema cases --write schemas/cases.schema.json\n"
        "  accord schema cases --check docs/schemas/cases.schema.json\n",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--write", type=Path, metavar="FILE", help="write it to FILE")
    group.add_argument("--check", type=Path, metavar="FILE", help="exit 1 if FILE differs")
    parser.set_defaults(func=guarded(run))


def run(args: argparse.Namespace) -> int:
    from accord.testing.schema import case_file_schema

    text = json.dumps(case_file_schema(), indent=2) + "\n"
    if args.write is not None:
        args.write.parent.mkdir(parents=True, exist_ok=True)
        args.write.write_text(text, encoding="utf-8")
        print(f"wrote {args.write}")
        return EXIT_OK
    if args.check is not None:
        try:
            current = args.check.read_text(encoding="utf-8")
        except OSError:
            current = ""
        if current != text:
            print(
                f"{args.check}: out of date; run: accord schema cases --write {args.check}",
                file=sys.stderr,
            )
            return EXIT_PROBLEMS
        return EXIT_OK
    sys.stdout.write(text)
    return EXIT_OK
