"""Read payload files for ``map``, ``explain``, ``replay`` and ``diff``, one at a time.

* ``*.json``: one payload per file, or a JSON array of payloads (an export).
* ``*.ndjson`` / ``*.jsonl``: one payload per line (blank lines skipped).
* Either of them gzip-compressed (``*.json.gz``, ``*.ndjson.gz``).
* ``-``: standard input (JSON, or NDJSON when it has several lines of objects).

Numbers with a fraction become ``Decimal`` (amounts never pass through a float); integers stay
integers (ids are turned into strings by the mapping, with every digit). A file or line that
is not JSON yields a :class:`Payload` carrying a ``CLI010`` diagnostic instead of raising, so a
replay over a million payloads counts the bad one and goes on.
"""

from __future__ import annotations

import gzip
import io
import json
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from accord.diagnostics import Diagnostic

__all__ = ["PAYLOAD_SUFFIXES", "Payload", "iter_payloads", "payload_files", "read_payloads"]

PAYLOAD_SUFFIXES = (".json", ".ndjson", ".jsonl")


@dataclass(slots=True)
class Payload:
    """One payload and where it came from (``file`` or ``file:line``)."""

    source: str
    data: Any = None
    error: Diagnostic | None = None
    file: Path | None = None


def _is_payload_file(path: Path) -> bool:
    name = path.name[:-3] if path.name.endswith(".gz") else path.name
    return name.endswith(PAYLOAD_SUFFIXES)


def payload_files(root: Path) -> Iterator[Path]:
    """Payload files under ``root`` (or ``root`` itself), sorted so runs are repeatable."""
    if root.is_dir():
        for path in sorted(root.rglob("*")):
            if path.is_file() and _is_payload_file(path) and not path.name.startswith("."):
                yield path
    else:
        yield root


def _open(path: Path) -> IO[str]:
    if path.name.endswith(".gz"):
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8")
    return path.open(encoding="utf-8")


def _loads(text: str) -> Any:
    return json.loads(text, parse_float=Decimal)


def _parses(text: str) -> bool:
    try:
        _loads(text)
    except ValueError:
        return False
    return True


def _bad(source: str, message: str, path: Path | None, line: int | None = None) -> Payload:
    diag = Diagnostic(code="CLI010", message=message, file=str(path) if path else source, line=line)
    return Payload(source=source, error=diag, file=path)


def read_payloads(path: Path) -> Iterator[Payload]:
    """Every payload in one file (streamed line by line for NDJSON)."""
    name = path.name[:-3] if path.name.endswith(".gz") else path.name
    try:
        if str(path) == "-":
            yield from _from_text("<stdin>", sys.stdin.read(), None)
            return
        if name.endswith((".ndjson", ".jsonl")):
            with _open(path) as stream:
                for number, line in enumerate(stream, 1):
                    if not line.strip():
                        continue
                    source = f"{path}:{number}"
                    try:
                        yield Payload(source=source, data=_loads(line), file=path)
                    except ValueError as exc:
                        yield _bad(source, f"line is not JSON: {exc}", path, number)
            return
        with _open(path) as stream:
            text = stream.read()
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        yield _bad(str(path), f"cannot read payload file: {exc}", path)
        return
    yield from _from_text(str(path), text, path)


def _from_text(source: str, text: str, path: Path | None) -> Iterator[Payload]:
    try:
        data = _loads(text)
    except ValueError as first:
        lines = [ln for ln in text.splitlines() if ln.strip()]
        if len(lines) < 2 or not _parses(lines[0]):
            # one broken document (say, pretty-printed JSON): one diagnostic, not one a line
            yield _bad(source, f"not JSON: {first}", path)
            return
    else:
        if isinstance(data, list):
            # an export file: a JSON array of payloads (a mapping never takes a bare list)
            for i, item in enumerate(data):
                yield Payload(source=f"{source}[{i}]", data=item, file=path)
        else:
            yield Payload(source=source, data=data, file=path)
        return
    for number, line in enumerate(text.splitlines(), 1):  # NDJSON on stdin
        if line.strip():
            try:
                yield Payload(source=f"{source}:{number}", data=_loads(line), file=path)
            except ValueError as exc:
                yield _bad(f"{source}:{number}", f"line is not JSON: {exc}", path, number)


def iter_payloads(paths: Iterable[Path]) -> Iterator[Payload]:
    """Every payload under ``paths`` in a stable order; folders are walked."""
    for root in paths:
        if str(root) != "-" and not root.exists():
            yield _bad(str(root), "no such file or folder", root)
            continue
        for path in payload_files(root) if str(root) != "-" else [root]:
            yield from read_payloads(path)
