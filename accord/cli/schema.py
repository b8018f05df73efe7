"""``accord schema KIND``: print or write the JSON Schemas accord publishes.

Kinds are sub-choices of the one command; today ``canonical`` (the canonical entities). Other
kinds (spec files, case files, project config) plug in by adding a ``register`` function to
:data:`KINDS`.

    accord schema canonical                       # every entity, one bundled schema
    accord schema canonical order --draft 07      # one entity, draft-07 for editors
    accord schema canonical --write docs/schemas/canonical   # regenerate the committed files
    accord schema canonical --check docs/schemas/canonical   # exit 1 when they drift
"""

from __future__ import annotations

import argparse
import difflib
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from accord.cli import EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE

__all__ = ["KINDS", "register"]


def _canonical(args: argparse.Namespace) -> int:
    from accord.canonical import schema
    from accord.canonical.records import ENTITIES

    entity: str | None = args.entity
    if entity is not None and entity not in ENTITIES:
        close = difflib.get_close_matches(entity, list(ENTITIES), n=3)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        print(
            f"accord schema canonical: unknown entity {entity!r}{hint}; "
            f"known: {', '.join(ENTITIES)}",
            file=sys.stderr,
        )
        return EXIT_USAGE
    drafts = (args.draft,) if args.draft else schema.DRAFTS
    entities = [entity] if entity else None
    if args.write is not None:
        changed = schema.write_schemas(Path(args.write), entities, drafts)
        for path in changed:
            print(f"wrote {path}", file=sys.stderr)
        print(f"{len(changed)} schema file(s) changed in {args.write}", file=sys.stderr)
        return EXIT_OK
    if args.check is not None:
        directory = Path(args.check)
        stale = []
        for name, text in schema.expected_files(entities, drafts).items():
            path = directory / name
            if not path.is_file() or path.read_text(encoding="utf-8") != text:
                stale.append(path)
        for path in stale:
            print(f"{path}: out of date with the canonical model", file=sys.stderr)
        if stale:
            print(
                f"run: accord schema canonical --write {args.check}",
                file=sys.stderr,
            )
            return EXIT_PROBLEMS
        return EXIT_OK
    draft = args.draft or schema.DRAFTS[0]
    doc = schema.entity_schema(entity, draft) if entity else schema.bundle_schema(draft)
    sys.stdout.write(schema.dumps(doc))
    return EXIT_OK


def _register_canonical(kinds: Any) -> None:
    parser = kinds.add_parser(
        "canonical",
        help="JSON Schema of the canonical entities",
        description="Print the JSON Schema of a canonical entity (or of all of them, bundled), "
        "or write/check the committed schema files.",
    )
    parser.add_argument("entity", nargs="?", metavar="ENTITY", help="e.g. order, refund")
    parser.add_argument(
        "--draft", choices=("2020-12", "07"), help="JSON Schema draft (default 2020-12)"
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--write", metavar="DIR", help="write <entity>.schema.json files (both drafts) into DIR"
    )
    where.add_argument(
        "--check", metavar="DIR", help="exit 1 when the files in DIR differ from the model"
    )
    parser.set_defaults(func=_canonical)


def _register_cases(kinds: Any) -> None:
    from accord.cli.schema_cases import register_kind

    register_kind(kinds)


#: Schema kinds: name -> function adding its sub-parser.
KINDS: dict[str, Callable[[Any], None]] = {
    "canonical": _register_canonical,
    "cases": _register_cases,
}


def register(subparsers: Any) -> None:
    """Add ``accord schema`` and its kinds to the CLI."""
    parser = subparsers.add_parser(
        "schema",
        help="print or write the JSON Schemas accord publishes",
        description="Print or write the JSON Schemas accord publishes. KIND is what the schema "
        "describes: canonical (the canonical entities), cases (sidecar case files).",
    )
    kinds = parser.add_subparsers(title="kinds", metavar="KIND")
    for add in KINDS.values():
        add(kinds)

    def _usage(_: argparse.Namespace) -> int:
        parser.print_help(sys.stderr)
        return EXIT_USAGE

    parser.set_defaults(func=_usage)
