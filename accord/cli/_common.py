"""Pieces shared by ``map``, ``explain``, ``replay`` and ``diff``: choosing a mapping, JSON
output in canonical form, rendering an error with its source line."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from accord.diagnostics import Diagnostic, sort_diagnostics
from accord.errors import AccordError, SpecError

__all__ = [
    "add_mapping_arguments",
    "default_mapping_roots",
    "dumps",
    "guarded",
    "load_facts",
    "parse_now",
    "print_diagnostics",
    "resolve_mapping",
]


def add_mapping_arguments(parser: argparse.ArgumentParser, *, required: bool = True) -> None:
    """``--channel``, ``--entity``, ``--direction``, ``--spec``, ``--mappings``."""
    parser.add_argument("--channel", help="channel name (shopify, amazon, woocommerce, ...)")
    parser.add_argument("--entity", help="canonical entity (order, product, refund, ...)")
    parser.add_argument(
        "--direction", choices=("inbound", "outbound"), default="inbound", help="default: inbound"
    )
    parser.add_argument(
        "--spec", type=Path, help="use this mapping spec instead of looking one up by channel"
    )
    parser.add_argument(
        "--mappings",
        type=Path,
        action="append",
        metavar="DIR",
        help="folder of mapping specs (repeatable; default: ./mappings, else the shipped ones)",
    )


def default_mapping_roots(given: list[Path] | None) -> list[Path]:
    if given:
        return list(given)
    local = Path("mappings")
    if local.is_dir():
        return [local]
    from accord.resources import mappings_dir

    return [mappings_dir()]


def resolve_mapping(
    args: argparse.Namespace, *, channel: str | None = None, entity: str | None = None
) -> Any:
    """The compiled mapping the arguments name; ``SpecError`` (CLI020) when none does."""
    from accord.engine.mapping import MappingCatalog, compile_mapping, load_spec

    if args.spec is not None:
        return compile_mapping(load_spec(args.spec))
    channel = channel or args.channel
    entity = entity or args.entity
    if not channel or not entity:
        raise SpecError(
            diagnostics=[
                Diagnostic(
                    code="CLI020",
                    message="give --channel and --entity (or --spec FILE)",
                )
            ]
        )
    catalog = MappingCatalog(default_mapping_roots(args.mappings))
    return catalog.find(channel, entity, args.direction)


def dumps(value: Any, *, indent: int | None = 2) -> str:
    """JSON in canonical form: amounts and ids as strings, timestamps ISO-8601 UTC.

    The C encoder walks the value; only what JSON lacks (Decimal, datetime, models) reaches
    :func:`_json_default`, which is what keeps ``replay`` fast on big records.

    >>> from decimal import Decimal
    >>> dumps({"total": {"amount": Decimal("9.90"), "currency": "USD"}}, indent=None)
    '{"total":{"amount":"9.90","currency":"USD"}}'
    """
    return json.dumps(
        value,
        indent=indent,
        ensure_ascii=False,
        separators=None if indent else (",", ":"),
        default=_json_default,
    )


def _json_default(value: Any) -> Any:
    from accord.testing.match import to_json_form

    return to_json_form(value)


def print_diagnostics(
    diagnostics: Iterable[Diagnostic], stream: TextIO | None = None, *, label: str | None = None
) -> None:
    """Render diagnostics compiler-style, with source lines from the files they name."""
    stream = stream if stream is not None else sys.stderr
    sources: dict[str, str] = {}
    for d in sort_diagnostics(diagnostics):
        if d.file and d.file not in sources and d.line is not None:
            try:
                sources[d.file] = Path(d.file).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                sources[d.file] = ""
        text = d.render(sources.get(d.file or "") or None)
        print(f"{label}: {text}" if label else text, file=stream)


def error_diagnostics(exc: AccordError) -> list[Diagnostic]:
    return list(exc.diagnostics) or [Diagnostic(code=exc.code, message=exc.message)]


def load_facts(text: str | None) -> dict[str, Any]:
    """``--facts``: inline JSON, or ``@file.json`` / ``@file.yaml``."""
    if not text:
        return {}
    from decimal import Decimal

    if text.startswith("@"):
        path = Path(text[1:])
        if path.suffix in (".yaml", ".yml"):
            from accord.engine.yamlsource import load_yaml

            data = load_yaml(path).data
        else:
            try:
                data = json.loads(path.read_text(encoding="utf-8"), parse_float=Decimal)
            except (OSError, ValueError) as exc:
                raise SpecError(
                    diagnostics=[
                        Diagnostic(code="CLI021", message=f"--facts: {exc}", file=str(path))
                    ]
                ) from exc
    else:
        try:
            data = json.loads(text, parse_float=Decimal)
        except ValueError as exc:
            raise SpecError(
                diagnostics=[Diagnostic(code="CLI021", message=f"--facts is not JSON: {exc}")]
            ) from exc
    if not isinstance(data, Mapping):
        raise SpecError(
            diagnostics=[Diagnostic(code="CLI021", message="--facts must be a JSON object")]
        )
    return dict(data)


def parse_now(text: str | None) -> datetime | None:
    """``--now``: an ISO-8601 time with a zone (``2026-03-02T10:00:00Z``)."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise SpecError(
            diagnostics=[
                Diagnostic(code="CLI022", message=f"--now {text!r} is not ISO-8601 with a zone")
            ]
        )
    return moment


def guarded(func: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Wrap a command so that an engine bug ends in exit code 3 with a one-line message
    instead of a traceback (``ACCORD_TRACEBACK=1`` shows the traceback too)."""

    def run(args: argparse.Namespace) -> int:
        try:
            return func(args)
        except (AccordError, KeyboardInterrupt, BrokenPipeError):
            raise
        except Exception as exc:  # the last line of defence: classify, never crash
            import os
            import traceback

            if os.environ.get("ACCORD_TRACEBACK"):
                traceback.print_exc()
            print(
                f"accord: internal error: {type(exc).__name__}: {exc} "
                "(set ACCORD_TRACEBACK=1 for details)",
                file=sys.stderr,
            )
            return 3

    run.__doc__ = func.__doc__
    return run
