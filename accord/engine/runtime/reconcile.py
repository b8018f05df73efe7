"""Reconciliation: compare two systems' exports and report the variances.

Three comparisons, each keyed so the two sides line up:

* ``orders``: order count and total per day and currency (``placed_at`` cut to the UTC date);
* ``inventory``: quantity per SKU and location;
* ``refunds``: refund count and total per currency (and per day when dates are present).

Exports are CSV (with a header), JSON (a list of objects, or ``{"items": [...]}``) or JSON
Lines. Columns are found by common names (``total``/``amount``/``total_price``...) or named
explicitly with ``columns``. Amounts are exact Decimals; a row that cannot be read is a located
``RUN1xx`` diagnostic (``file:line``), never a crash.

>>> left = [{"id": "1", "placed_at": "2026-03-01T10:00:00Z", "total": "10.00", "currency": "USD"}]
>>> right = [{"id": "A", "date": "2026-03-01", "amount": "10.01", "currency": "USD"}]
>>> report = reconcile("orders", rows_of(left, "erp"), rows_of(right, "shop"),
...                    tolerances=Tolerances(amount=Decimal("0.01")))
>>> report.ok, [v.to_dict()["total_diff"] for v in report.lines]
(True, ['0.01'])
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from accord.diagnostics import Diagnostic
from accord.errors import ValidationError

__all__ = [
    "KINDS",
    "Report",
    "Row",
    "Tolerances",
    "Variance",
    "load_export",
    "reconcile",
    "rows_of",
]

KINDS = ("orders", "inventory", "refunds")

ALIASES: dict[str, tuple[str, ...]] = {
    "id": ("id", "order_id", "refund_id", "order_number", "number", "external_id", "tranid"),
    "date": ("placed_at", "date", "day", "created_at", "order_date", "trandate", "processed_at"),
    "total": ("total", "amount", "total_price", "grand_total", "order_total", "refund_total"),
    "currency": ("currency", "currency_code", "currencycode"),
    "sku": ("sku", "item", "item_sku", "seller_sku", "itemid"),
    "location": ("location", "location_id", "warehouse", "fulfillment_center", "site"),
    "quantity": ("quantity", "on_hand", "available", "qty", "quantity_on_hand"),
}


@dataclass(frozen=True, slots=True)
class Row:
    """One export row with where it came from (``file:line``)."""

    data: Mapping[str, Any]
    file: str
    line: int


@dataclass(frozen=True, slots=True)
class Tolerances:
    """Differences at or below these are accepted (absolute, per compared line)."""

    count: int = 0
    amount: Decimal = Decimal("0")
    quantity: int = 0


@dataclass(frozen=True, slots=True)
class Variance:
    """One compared key: both sides' figures and whether the gap is within tolerance."""

    key: tuple[str, ...]
    left_count: int
    right_count: int
    left_total: Decimal | None
    right_total: Decimal | None
    within: bool

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "key": list(self.key),
            "left_count": self.left_count,
            "right_count": self.right_count,
            "count_diff": self.right_count - self.left_count,
            "within_tolerance": self.within,
        }
        if self.left_total is not None or self.right_total is not None:
            lt, rt = self.left_total or Decimal(0), self.right_total or Decimal(0)
            out |= {"left_total": str(lt), "right_total": str(rt), "total_diff": str(rt - lt)}
        return out


@dataclass(slots=True)
class Report:
    """The variance report of one comparison."""

    kind: str
    key_names: tuple[str, ...]
    lines: list[Variance] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(v.within for v in self.lines) and not self.diagnostics

    @property
    def variances(self) -> list[Variance]:
        return [v for v in self.lines if not v.within]

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "key": list(self.key_names),
            "ok": self.ok,
            "compared": len(self.lines),
            "out_of_tolerance": len(self.variances),
            "lines": [v.to_dict() for v in self.lines],
            "diagnostics": [d.to_dict() for d in self.diagnostics],
        }

    def to_text(self) -> str:
        head = [*self.key_names, "left", "right", "diff", "status"]
        rows = [head]
        for v in self.lines:
            if v.left_total is not None or v.right_total is not None:
                lt, rt = v.left_total or Decimal(0), v.right_total or Decimal(0)
                figures = [f"{v.left_count} / {lt}", f"{v.right_count} / {rt}",
                           f"{v.right_count - v.left_count} / {rt - lt}"]  # fmt: skip
            else:
                figures = [str(v.left_count), str(v.right_count),
                           str(v.right_count - v.left_count)]  # fmt: skip
            rows.append([*v.key, *figures, "ok" if v.within else "VARIANCE"])
        widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
        text = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
                for r in rows]  # fmt: skip
        bad = len(self.variances)
        text.append(f"{self.kind}: {len(self.lines)} compared, {bad} out of tolerance")
        text.extend(d.render() for d in self.diagnostics)
        return "\n".join(text)


def rows_of(items: Iterable[Mapping[str, Any]], name: str) -> list[Row]:
    """Wrap in-memory records as rows (line = position, 1-based)."""
    return [Row(item, name, i) for i, item in enumerate(items, 1)]


def _bad(file: str, line: int | None, code: str, message: str) -> ValidationError:
    return ValidationError(diagnostics=[Diagnostic(code=code, message=message, file=file,
                                                   line=line)])  # fmt: skip


def load_export(path: Path) -> list[Row]:
    """Read a CSV, JSON or JSON Lines export. Raises ValidationError (``RUN101``) when the
    file cannot be read or parsed."""
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise _bad(name, None, "RUN101", f"cannot read the export: {exc}") from exc
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        rows = []
        for i, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line, parse_float=Decimal)
            except ValueError as exc:
                raise _bad(name, i, "RUN101", f"not valid JSON: {exc}") from exc
            if not isinstance(obj, dict):
                raise _bad(name, i, "RUN101", "each line must be a JSON object")
            rows.append(Row(obj, name, i))
        return rows
    if suffix == ".json":
        try:
            data = json.loads(text, parse_float=Decimal)
        except ValueError as exc:
            raise _bad(name, getattr(exc, "lineno", None), "RUN101",
                       f"not valid JSON: {exc}") from exc  # fmt: skip
        if isinstance(data, dict):
            data = next((v for v in data.values() if isinstance(v, list)), None)
        if not isinstance(data, list) or not all(isinstance(x, dict) for x in data):
            raise _bad(name, None, "RUN101", "expected a list of objects")
        return rows_of(data, name)
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames:
        raise _bad(name, 1, "RUN101", "the CSV has no header row")
    # line_num counts physical lines, so quoted newlines keep positions right
    return [Row(dict(r), name, reader.line_num) for r in reader]


def _column(rows: Sequence[Row], role: str, given: Mapping[str, str]) -> str | None:
    if role in given:
        return given[role]
    present = {k.lower(): k for r in rows[:50] for k in r.data}
    return next((present[a] for a in ALIASES[role] if a in present), None)


def _amount(value: Any, row: Row, col: str) -> tuple[Decimal, str | None]:
    """A Decimal from ``12.30``, ``"1,234.50"``, ``"12.30 USD"`` or ``{"amount", "currency"}``."""
    currency = None
    if isinstance(value, Mapping):
        currency = value.get("currency") or value.get("currency_code")
        value = value.get("amount")
    if isinstance(value, float):  # JSON is read with Decimal; a float here came from a caller
        value = repr(value)
    text = str(value).replace(",", "").strip() if value is not None else ""
    parts = text.split()
    if len(parts) == 2 and parts[1].isalpha():
        text, currency = parts[0], parts[1]
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise _bad(row.file, row.line, "RUN103", f"{col}: {value!r} is not an amount") from None
    if not amount.is_finite():
        raise _bad(row.file, row.line, "RUN103", f"{col}: {value!r} is not an amount")
    return amount, str(currency) if currency else None


def _day(value: Any, row: Row, col: str) -> str:
    text = str(value or "").strip()
    try:
        if len(text) == 10:
            return datetime.strptime(text, "%Y-%m-%d").date().isoformat()
        at = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise _bad(row.file, row.line, "RUN103", f"{col}: {value!r} is not a date") from None
    return (at.astimezone(UTC) if at.tzinfo else at).date().isoformat()


def _int(value: Any, row: Row, col: str) -> int:
    try:
        number = Decimal(str(value).replace(",", "").strip())
    except InvalidOperation:
        raise _bad(row.file, row.line, "RUN103", f"{col}: {value!r} is not a quantity") from None
    if number != number.to_integral_value():
        raise _bad(row.file, row.line, "RUN103", f"{col}: {value!r} is not a whole quantity")
    return int(number)


Agg = dict[tuple[str, ...], list[Any]]  # key -> [count, total or None]


def _aggregate(kind: str, rows: Sequence[Row], columns: Mapping[str, str],
               diags: list[Diagnostic]) -> tuple[tuple[str, ...], Agg]:  # fmt: skip
    out: Agg = {}
    if not rows:
        return (), out
    file = rows[0].file

    def need(role: str) -> str | None:
        col = _column(rows, role, columns)
        if col is None:
            diags.append(Diagnostic(
                code="RUN102", file=file, line=1,
                message=f"no {role} column (tried {', '.join(ALIASES[role])});"
                        f" name it with --column {role}=NAME",
            ))  # fmt: skip
        return col

    if kind == "inventory":
        sku_c, qty_c = need("sku"), need("quantity")
        loc_c = _column(rows, "location", columns)
        if sku_c is None or qty_c is None:
            return (), out
        names: tuple[str, ...] = ("sku", "location")
        for r in rows:
            try:
                qty = _int(r.data.get(qty_c), r, qty_c)
            except ValidationError as exc:
                diags.extend(exc.diagnostics)
                continue
            ikey = (str(r.data.get(sku_c, "")).strip(),
                   str(r.data.get(loc_c, "") if loc_c else "").strip() or "-")  # fmt: skip
            slot = out.setdefault(ikey, [0, None])
            slot[0] += qty
        return names, out
    total_c, cur_c = need("total"), _column(rows, "currency", columns)
    date_c = _column(rows, "date", columns) if kind == "refunds" else need("date")
    if total_c is None or (kind == "orders" and date_c is None):
        return (), out
    names = ("day", "currency") if date_c else ("currency",)
    for r in rows:
        try:
            amount, cur = _amount(r.data.get(total_c), r, total_c)
            day = _day(r.data.get(date_c), r, date_c) if date_c else None
        except ValidationError as exc:
            diags.extend(exc.diagnostics)
            continue
        currency = str(r.data.get(cur_c) or cur or "").upper() if cur_c else (cur or "")
        key: tuple[str, ...] = (day, currency or "-") if day is not None else (currency or "-",)
        slot = out.setdefault(key, [0, Decimal(0)])
        slot[0] += 1
        slot[1] += amount
    return names, out


def reconcile(
    kind: str,
    left: Sequence[Row],
    right: Sequence[Row],
    *,
    tolerances: Tolerances = Tolerances(),
    columns: Mapping[str, str] | None = None,
    right_columns: Mapping[str, str] | None = None,
) -> Report:
    """Compare ``left`` and ``right`` exports of ``kind`` line by line."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}")
    diags: list[Diagnostic] = []
    lnames, lagg = _aggregate(kind, left, columns or {}, diags)
    rnames, ragg = _aggregate(kind, right, right_columns or columns or {}, diags)
    names = lnames or rnames
    report = Report(kind, names, diagnostics=diags)
    for key in sorted(set(lagg) | set(ragg)):
        lc, lt = lagg.get(key, [0, None])
        rc, rt = ragg.get(key, [0, None])
        if kind == "inventory":
            within = abs(rc - lc) <= tolerances.quantity
            report.lines.append(Variance(key, lc, rc, None, None, within))
            continue
        lt = lt if lt is not None else Decimal(0)
        rt = rt if rt is not None else Decimal(0)
        within = abs(rc - lc) <= tolerances.count and abs(rt - lt) <= tolerances.amount
        report.lines.append(Variance(key, lc, rc, lt, rt, within))
    return report


def iter_kinds(value: str) -> Iterator[str]:
    for part in value.split(","):
        if part.strip():
            yield part.strip()
