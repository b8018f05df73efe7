"""Structural matching of an actual output against a case's expectation.

Both sides are compared in their JSON form: ``Decimal`` amounts and ids as strings, datetimes
as ISO-8601 UTC with ``Z``. A *partial* match requires every key of ``expect`` to be present and
to match (extra keys in the output are fine); an *exact* match also refuses extra keys. Lists
always have to have the same length and match element-wise. ``ignore`` paths are skipped.

>>> from decimal import Decimal
>>> found = compare({"total": {"amount": "12.30"}, "lines": [{"sku": "A"}]},
...                 {"total": {"amount": Decimal("12.31"), "currency": "USD"},
...                  "lines": [{"sku": "B"}]})
>>> print(render_mismatches(found))
  lines[0].sku: expected "A", got "B"
  total.amount: expected "12.30", got "12.31"
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any

__all__ = [
    "Mismatch",
    "Path",
    "compare",
    "format_path",
    "parse_path",
    "render_mismatches",
    "to_json_form",
]

#: A location inside a JSON value: keys are strings, list indexes are ints.
Path = tuple[str | int, ...]


def to_json_form(value: Any) -> Any:
    """The JSON form of a record: what both sides of a comparison are reduced to.

    >>> from decimal import Decimal
    >>> from datetime import datetime, timezone
    >>> to_json_form({"amount": Decimal("1.50"), "at": datetime(2026, 3, 2, tzinfo=timezone.utc)})
    {'amount': '1.50', 'at': '2026-03-02T00:00:00Z'}
    """
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, float):
        # Only reachable from hand-written YAML/JSON: keep the digits the author typed.
        return str(Decimal(repr(value)))
    if isinstance(value, datetime):
        return _iso(value)
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): to_json_form(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=repr) if isinstance(value, set | frozenset) else value
        return [to_json_form(v) for v in items]
    dump = getattr(value, "model_dump", None)
    if callable(dump):  # a pydantic model (canonical record)
        return to_json_form(dump(mode="json"))
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict):  # Decision, Result, Explanation
        return to_json_form(to_dict())
    return str(value)


def _iso(value: datetime) -> str:
    if value.tzinfo is None:
        return value.isoformat()
    text = value.astimezone(UTC).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def format_path(path: Path) -> str:
    """``("lines", 0, "sku")`` -> ``lines[0].sku``; the empty path is ``$``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + part
    return out or "$"


_SEGMENT = re.compile(r"([^.\[\]]+)|\[(\d*|\*)\]")


def parse_path(text: str) -> tuple[str | int | None, ...]:
    """Parse an ``ignore:`` path; ``None`` stands for any list index, ``"*"`` for any key.

    >>> parse_path("lines[].unit_price.amount")
    ('lines', None, 'unit_price', 'amount')
    >>> parse_path("lines[2].*")
    ('lines', 2, '*')
    """
    parts: list[str | int | None] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        if text[pos] == ".":
            pos += 1
            continue
        m = _SEGMENT.match(text, pos)
        if m is None:
            raise ValueError(f"cannot parse path {text!r} at column {pos + 1}")
        if m.group(1) is not None:
            parts.append(m.group(1))
        else:
            index = m.group(2)
            parts.append(int(index) if index and index != "*" else None)
        pos = m.end()
    return tuple(parts)


def _ignored(path: Path, patterns: Sequence[tuple[str | int | None, ...]]) -> bool:
    for pattern in patterns:
        if len(pattern) > len(path):
            continue
        for want, have in zip(pattern, path, strict=False):
            if want is None:
                if not isinstance(have, int):
                    break
            elif want == "*":
                continue
            elif want != have:
                break
        else:
            return True
    return False


@dataclass(frozen=True, slots=True)
class Mismatch:
    """One difference between the expectation and the output."""

    path: Path
    kind: str  # "value" | "missing" | "unexpected" | "type" | "length"
    expected: Any = None
    actual: Any = None

    @property
    def where(self) -> str:
        return format_path(self.path)

    def describe(self) -> str:
        if self.kind == "missing":
            return f"{self.where}: expected {_show(self.expected)}, but the key is missing"
        if self.kind == "unexpected":
            return f"{self.where}: not expected, got {_show(self.actual)}"
        if self.kind == "length":
            return (
                f"{self.where}: expected {len(self.expected)} items, got {len(self.actual)}"
                f"\n      expected {_show(self.expected)}\n      got      {_show(self.actual)}"
            )
        return f"{self.where}: expected {_show(self.expected)}, got {_show(self.actual)}"


def _show(value: Any, limit: int = 160) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def compare(
    expected: Any,
    actual: Any,
    *,
    exact: bool = False,
    ignore: Iterable[str] = (),
) -> list[Mismatch]:
    """Every difference between ``expected`` and ``actual`` (both reduced to JSON form),
    sorted by path. An empty list means the output matches."""
    patterns = [parse_path(p) for p in ignore]
    found: list[Mismatch] = []
    _compare(to_json_form(expected), actual, (), exact, patterns, found)
    return sorted(found, key=lambda m: [(isinstance(p, int), str(p).zfill(8)) for p in m.path])


def _compare(
    expected: Any,
    actual: Any,
    path: Path,
    exact: bool,
    patterns: Sequence[tuple[str | int | None, ...]],
    found: list[Mismatch],
) -> None:
    if _ignored(path, patterns):
        return
    actual = _materialise(actual)
    if isinstance(expected, dict):
        if isinstance(actual, Mapping):
            for key, want in expected.items():
                sub = (*path, key)
                if key not in actual:
                    if not _ignored(sub, patterns):
                        found.append(Mismatch(sub, "missing", want))
                    continue
                _compare(want, actual[key], sub, exact, patterns, found)
            if exact:
                for key in actual:
                    sub = (*path, str(key))
                    if str(key) not in expected and not _ignored(sub, patterns):
                        found.append(Mismatch(sub, "unexpected", None, to_json_form(actual[key])))
            return
        found.append(Mismatch(path, "type", expected, to_json_form(actual)))
        return
    if isinstance(expected, list):
        if isinstance(actual, list | tuple):
            if len(expected) != len(actual):
                found.append(Mismatch(path, "length", expected, to_json_form(list(actual))))
                return
            for i, (want, have) in enumerate(zip(expected, actual, strict=True)):
                _compare(want, have, (*path, i), exact, patterns, found)
            return
        found.append(Mismatch(path, "type", expected, to_json_form(actual)))
        return
    if not scalars_equal(expected, actual):
        found.append(Mismatch(path, "value", expected, to_json_form(actual)))


def _materialise(value: Any) -> Any:
    """Objects the engine returns (a Decision, a canonical model) as plain data, keeping
    Decimals and datetimes so that numbers and instants still compare by value."""
    if isinstance(value, Mapping | list | tuple | str | int | Decimal | datetime) or value is None:
        return value
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        return dump()
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict):
        return to_dict()
    return value


def scalars_equal(expected: Any, actual: Any) -> bool:
    """Compare a JSON-form expectation with an actual scalar.

    Numbers produced by the engine compare by value (``"12.3"`` matches ``Decimal("12.30")``)
    but strings compare as strings, so the id ``"007"`` never matches ``"7"``. Timestamps
    compare as instants when the output holds a datetime.
    """
    if isinstance(actual, Mapping | list | tuple):
        return False
    normal = to_json_form(actual)
    if expected == normal and type(expected) is type(normal):
        return True
    if isinstance(actual, bool) or isinstance(expected, bool) or expected is None:
        return False
    if isinstance(actual, int | Decimal | float) and isinstance(expected, int | str):
        try:
            return Decimal(str(expected)) == Decimal(str(normal))
        except InvalidOperation:
            return False
    if isinstance(actual, datetime) and isinstance(expected, str):
        try:
            when = datetime.fromisoformat(expected.replace("Z", "+00:00"))
        except ValueError:
            return False
        return when == actual  # a naive and an aware datetime are never equal
    if isinstance(actual, str) and isinstance(expected, int):
        return False  # an id that is a string never matches an int: ids are strings
    return False


def render_mismatches(mismatches: Sequence[Mismatch]) -> str:
    """One indented line per difference, in path order."""
    return "\n".join("  " + m.describe() for m in mismatches)
