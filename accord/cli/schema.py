"""``accord schema KIND``: print or write the JSON Schemas accord publishes.

Kinds are sub-choices of the one command: ``canonical`` (the canonical entities), ``spec``
(mapping spec files and lookup tables), ``cases`` (sidecar case files), ``project`` (the project
config, ``accord.yaml``) and ``all`` (every file of the others, laid out as ``docs/schemas/``).
Each prints a schema, or with ``--write`` writes the files and with ``--check`` exits 1 when
the files on disk differ from what accord would write. Editors want draft-07: the spec and case
schemas are draft-07, the canonical and project ones come in both drafts.

    accord schema canonical                       # every entity, one bundled schema
    accord schema canonical order --draft 07      # one entity, draft-07 for editors
    accord schema spec lookup                     # the lookup table schema
    accord schema project                         # accord.yaml, draft-07
    accord schema all --write schemas             # everything an editor needs, in one folder
    accord schema all --check docs/schemas        # exit 1 when a committed schema drifted
"""

from __future__ import annotations

import argparse
import copy
import difflib
import json
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Final

from accord.cli import EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE
from accord.cli._common import guarded

__all__ = ["KINDS", "expected_files", "project_schema", "register"]

_DRAFT_URIS: Final = {
    "2020-12": "https://json-schema.org/draft/2020-12/schema",
    "07": "http://json-schema.org/draft-07/schema#",
}
#: Keywords of drafts after 07 that a draft-07 validator would silently ignore.
_NEWER_KEYWORDS: Final = frozenset(
    {
        "$anchor",
        "$dynamicAnchor",
        "$dynamicRef",
        "$recursiveAnchor",
        "$recursiveRef",
        "$vocabulary",
        "dependentRequired",
        "dependentSchemas",
        "maxContains",
        "minContains",
        "prefixItems",
        "unevaluatedItems",
        "unevaluatedProperties",
    }
)
#: Keywords whose value maps names to schemas (the names are not keywords).
_SCHEMA_MAPS: Final = ("$defs", "definitions", "properties", "patternProperties")


def _text(schema: Mapping[str, Any]) -> str:
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def _draft07_name(name: str) -> str:
    """``project.schema.json`` -> ``project.draft-07.schema.json``."""
    return name.removesuffix(".schema.json") + ".draft-07.schema.json"


def to_draft07(schema: Mapping[str, Any], *, where: str = "#") -> dict[str, Any]:
    """Rewrite a draft 2020-12 schema as draft-07: ``$defs`` -> ``definitions``, ``$ref``
    with sibling keywords wrapped in ``allOf`` (draft-07 ignores a ``$ref``'s siblings) and
    the ``$schema``/``$id`` of draft-07. A keyword draft-07 lacks raises ``ValueError``
    instead of being dropped, since an editor would then accept what accord refuses.

    >>> to_draft07({"$ref": "#/$defs/x", "description": "d", "$defs": {"x": {}}})
    {'allOf': [{'$ref': '#/definitions/x'}], 'description': 'd', 'definitions': {'x': {}}}
    >>> to_draft07({"prefixItems": [{}]})
    Traceback (most recent call last):
    ...
    ValueError: #: 'prefixItems' has no draft-07 equivalent
    """
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in _NEWER_KEYWORDS or (key == "items" and isinstance(value, list)):
            raise ValueError(f"{where}: {key!r} has no draft-07 equivalent")
        if key == "$schema" and where == "#":
            out[key] = _DRAFT_URIS["07"]
        elif key == "$id" and where == "#" and isinstance(value, str):
            out[key] = _draft07_name(value) if value.endswith(".schema.json") else value
        elif key == "$ref" and isinstance(value, str):
            out[key] = value.replace("#/$defs/", "#/definitions/")
        elif key in _SCHEMA_MAPS and isinstance(value, Mapping):
            name = "definitions" if key == "$defs" else key
            out[name] = {k: _sub(v, f"{where}/{key}/{k}") for k, v in value.items()}
        else:
            out[key] = _sub(value, f"{where}/{key}")
    if "$ref" in out and len(out) > 1:
        ref = out.pop("$ref")
        out = {"allOf": [{"$ref": ref}], **out}
    return out


def _sub(value: Any, where: str) -> Any:
    if isinstance(value, Mapping):
        return to_draft07(value, where=where)
    if isinstance(value, list):
        return [_sub(v, f"{where}/{i}") for i, v in enumerate(value)]
    return value


def project_schema(draft: str = "07") -> dict[str, Any]:
    """The JSON Schema of ``accord.yaml``: the runtime's own (draft 2020-12), or the draft-07
    variant derived from it for editors."""
    from accord.engine.runtime.config import project_schema as packaged

    schema = packaged()
    if draft == "2020-12":
        return copy.deepcopy(schema)
    return to_draft07(schema)


def _spec_files(which: str | None = None) -> dict[str, str]:
    from accord.engine.mapping.schema import SCHEMA_FILES, schema_text

    names = {"mapping": "mapping-spec.schema.json", "lookup": "lookup-table.schema.json"}
    chosen = [names[which]] if which else list(names.values())
    return {name: schema_text(SCHEMA_FILES[name]) for name in chosen}


def _project_files(draft: str | None = None) -> dict[str, str]:
    drafts = (draft,) if draft else ("2020-12", "07")
    return {
        ("project.schema.json" if d == "2020-12" else _draft07_name("project.schema.json")): (
            _text(project_schema(d))
        )
        for d in drafts
    }


def _cases_files() -> dict[str, str]:
    from accord.testing.schema import case_file_schema

    return {"cases.schema.json": json.dumps(case_file_schema(), indent=2) + "\n"}


def _canonical_files(entity: str | None = None, draft: str | None = None) -> dict[str, str]:
    from accord.canonical import schema

    drafts = (draft,) if draft else schema.DRAFTS
    return schema.expected_files([entity] if entity else None, drafts)


def expected_files() -> dict[str, str]:
    """Relative path -> text of every schema file ``accord schema all --write`` writes; the
    layout of ``docs/schemas/``."""
    files = {**_spec_files(), **_cases_files(), **_project_files()}
    files.update({f"canonical/{name}": text for name, text in _canonical_files().items()})
    return files


def _write_or_check(
    args: argparse.Namespace, files: Mapping[str, str], *, source: str, rerun: str
) -> int:
    """``--write DIR``: write the files whose text changed; ``--check DIR``: exit 1 naming
    every file that is missing or differs."""
    if args.write is not None:
        directory = Path(args.write)
        changed = []
        for name, text in files.items():
            path = directory / name
            if not path.is_file() or path.read_text(encoding="utf-8") != text:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text, encoding="utf-8")
                changed.append(path)
        for path in changed:
            print(f"wrote {path}", file=sys.stderr)
        print(f"{len(changed)} schema file(s) changed in {directory}", file=sys.stderr)
        return EXIT_OK
    directory = Path(args.check)
    stale = []
    for name, text in files.items():
        path = directory / name
        try:
            current = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            current = None
        if current != text:
            stale.append(path)
    for path in stale:
        print(f"{path}: out of date with {source}", file=sys.stderr)
    if stale:
        print(f"run: accord schema {rerun} --write {args.check}", file=sys.stderr)
        return EXIT_PROBLEMS
    return EXIT_OK


def _add_write_check(parser: argparse.ArgumentParser, what: str) -> None:
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--write", metavar="DIR", help=f"write {what} into DIR (created if needed)")
    where.add_argument(
        "--check",
        metavar="DIR",
        help="exit 1 when the files in DIR differ from what --write writes",
    )


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
    if args.write is not None or args.check is not None:
        return _write_or_check(
            args,
            _canonical_files(entity, args.draft),
            source="the canonical model",
            rerun="canonical",
        )
    draft = args.draft or schema.DRAFTS[0]
    doc = schema.entity_schema(entity, draft) if entity else schema.bundle_schema(draft)
    sys.stdout.write(schema.dumps(doc))
    return EXIT_OK


def _spec(args: argparse.Namespace) -> int:
    if args.write is not None or args.check is not None:
        return _write_or_check(
            args, _spec_files(args.which), source="the mapping spec language", rerun="spec"
        )
    sys.stdout.write(next(iter(_spec_files(args.which or "mapping").values())))
    return EXIT_OK


def _project(args: argparse.Namespace) -> int:
    if args.write is not None or args.check is not None:
        return _write_or_check(
            args, _project_files(args.draft), source="the project config", rerun="project"
        )
    sys.stdout.write(_text(project_schema(args.draft or "07")))
    return EXIT_OK


def _all(args: argparse.Namespace) -> int:
    return _write_or_check(args, expected_files(), source="this version of accord", rerun="all")


def _kind_parser(kinds: Any, name: str, help: str, description: str, examples: str) -> Any:
    return kinds.add_parser(
        name,
        help=help,
        description=description,
        epilog="examples:\n" + examples,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def _register_canonical(kinds: Any) -> None:
    parser = _kind_parser(
        kinds,
        "canonical",
        "JSON Schema of the canonical entities",
        "Print the JSON Schema of a canonical entity (or of all of them, bundled), "
        "or write/check the schema files (<entity>.schema.json and "
        "<entity>.draft-07.schema.json).",
        "  accord schema canonical order --draft 07\n"
        "  accord schema canonical --check docs/schemas/canonical\n"
        "  accord schema canonical --write docs/schemas/canonical\n",
    )
    parser.add_argument("entity", nargs="?", metavar="ENTITY", help="e.g. order, refund")
    parser.add_argument(
        "--draft", choices=("2020-12", "07"), help="JSON Schema draft (default 2020-12)"
    )
    _add_write_check(parser, "<entity>.schema.json files (both drafts unless --draft)")
    parser.set_defaults(func=guarded(_canonical))


def _register_spec(kinds: Any) -> None:
    parser = _kind_parser(
        kinds,
        "spec",
        "JSON Schema of mapping spec files and lookup tables (draft-07)",
        "Print the JSON Schema (draft-07) of mapping spec files (mapping, the default) or of "
        "lookup table files (lookup), or write/check mapping-spec.schema.json and "
        "lookup-table.schema.json.",
        "  accord schema spec\n"
        "  accord schema spec lookup\n"
        "  accord schema spec --check docs/schemas\n",
    )
    parser.add_argument(
        "which",
        nargs="?",
        choices=("mapping", "lookup"),
        help="default: mapping (both with --write)",
    )
    _add_write_check(parser, "mapping-spec.schema.json and lookup-table.schema.json")
    parser.set_defaults(func=guarded(_spec))


def _register_cases(kinds: Any) -> None:
    from accord.cli.schema_cases import register_kind

    register_kind(kinds)


def _register_project(kinds: Any) -> None:
    parser = _kind_parser(
        kinds,
        "project",
        "JSON Schema of the project config (accord.yaml)",
        "Print the JSON Schema of the project config, accord.yaml (draft-07 by default; the "
        "runtime validates with its draft 2020-12 original), or write/check "
        "project.schema.json and project.draft-07.schema.json.",
        "  accord schema project\n"
        "  accord schema project --draft 2020-12\n"
        "  accord schema project --check docs/schemas\n",
    )
    parser.add_argument("--draft", choices=("2020-12", "07"), help="JSON Schema draft (default 07)")
    _add_write_check(parser, "project.schema.json files (both drafts unless --draft)")
    parser.set_defaults(func=guarded(_project))


def _register_all(kinds: Any) -> None:
    parser = _kind_parser(
        kinds,
        "all",
        "write or check every schema file at once",
        "Write (or check) every schema of the other kinds into one folder, laid out as "
        "docs/schemas/: mapping-spec, lookup-table, cases, project (both drafts) and "
        "canonical/.",
        "  accord schema all --write schemas\n  accord schema all --check docs/schemas\n",
    )
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--write", metavar="DIR", help="write every schema file into DIR")
    where.add_argument(
        "--check", metavar="DIR", help="exit 1 when a schema file in DIR is missing or differs"
    )
    parser.set_defaults(func=guarded(_all))


#: Schema kinds: name -> function adding its sub-parser.
KINDS: dict[str, Callable[[Any], None]] = {
    "canonical": _register_canonical,
    "spec": _register_spec,
    "cases": _register_cases,
    "project": _register_project,
    "all": _register_all,
}

EXAMPLES = """\
examples:
  accord schema project                        # accord.yaml's schema, draft-07
  accord schema spec lookup
  accord schema canonical order --draft 07
  accord schema all --write schemas            # every schema an editor needs
  accord schema all --check docs/schemas       # in CI: exit 1 when one drifted
"""


def register(subparsers: Any) -> None:
    """Add ``accord schema`` and its kinds to the CLI."""
    parser = subparsers.add_parser(
        "schema",
        help="print or write the JSON Schemas accord publishes",
        description="Print or write the JSON Schemas accord publishes, for editors (the "
        "'# yaml-language-server: $schema=...' line) and tools. KIND is what the schema "
        "describes: canonical (the canonical entities), spec (mapping specs and lookup "
        "tables), cases (sidecar case files), project (accord.yaml); all writes or checks "
        "every file at once.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    kinds = parser.add_subparsers(title="kinds", metavar="KIND")
    for add in KINDS.values():
        add(kinds)

    def _usage(_: argparse.Namespace) -> int:
        parser.print_help(sys.stderr)
        return EXIT_USAGE

    parser.set_defaults(func=_usage)
