"""Static analysis of decision tables: overlapping rows (``unique``) and unreachable rows
(``first``).

Each literal cell is read as a set of input values: for ordered columns (numbers, money,
dates, date-times, durations) a union of intervals, for strings a finite set or everything but
a finite set, for booleans a subset of ``{true, false}``; a blank cell is everything. A row is
then a box (one set per column). Two rows of a ``unique`` table overlap when every column's
sets intersect; a row of a ``first`` table is unreachable when the rows above it, together,
cover its box (not only when one of them does). Cells that read other fields are unknown: a
row with one is never reported and never counts as covering, so there are no false alarms.

>>> iv = [(_NEG, False, Decimal(5), True)]          # <= 5
>>> _empty(_idiff(iv, [(_NEG, False, Decimal(10), False)]))   # minus < 10
True
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any, cast

from accord.engine.rules import ast as A

if TYPE_CHECKING:
    from accord.engine.rules.compiler import Compiler
    from accord.engine.rules.types import T

__all__ = ["check_rows"]

ORDERED_KINDS = ("number", "money", "date", "datetime", "duration")
#: Bound on the covering search (it is exponential in the worst case); past it, no finding.
_BUDGET = 20_000


class _Unknown(Exception):
    """A cell this analysis cannot read as a set of literal values."""


class _Inf:
    __slots__ = ("sign",)

    def __init__(self, sign: int) -> None:
        self.sign = sign

    def __repr__(self) -> str:
        return "+inf" if self.sign > 0 else "-inf"


_NEG, _POS = _Inf(-1), _Inf(1)

# An interval: (low, low closed, high, high closed); a column set over an ordered domain is a
# list of intervals. Unordered sets are ("in", values) or ("out", values) (everything else).
Interval = tuple[Any, bool, Any, bool]
OSet = list[Interval]
USet = tuple[str, frozenset[Any]]


def _lt(a: Any, b: Any) -> bool:
    """a < b for bounds, with the infinities; values of different types are unknown."""
    if isinstance(a, _Inf) or isinstance(b, _Inf):
        if isinstance(a, _Inf) and isinstance(b, _Inf):
            return a.sign < b.sign
        return (isinstance(a, _Inf) and a.sign < 0) or (isinstance(b, _Inf) and b.sign > 0)
    numbers = isinstance(a, int | Decimal) and isinstance(b, int | Decimal)
    if not numbers and type(a) is not type(b):
        raise _Unknown
    if isinstance(a, tuple) and a[0] != b[0]:
        raise _Unknown  # money of two currencies: the rule would fail at run time anyway
    return bool(a < b)


def _eq(a: Any, b: Any) -> bool:
    if isinstance(a, _Inf) or isinstance(b, _Inf):
        return a is b
    return not _lt(a, b) and not _lt(b, a)


def _iv_empty(iv: Interval) -> bool:
    lo, lo_c, hi, hi_c = iv
    if _lt(hi, lo):
        return True
    return _eq(lo, hi) and not (lo_c and hi_c)


def _iv_meet(a: Interval, b: Interval) -> Interval:
    alo, alc, ahi, ahc = a
    blo, blc, bhi, bhc = b
    if _lt(alo, blo):
        lo, lo_c = blo, blc
    elif _lt(blo, alo):
        lo, lo_c = alo, alc
    else:
        lo, lo_c = alo, alc and blc
    if _lt(ahi, bhi):
        hi, hi_c = ahi, ahc
    elif _lt(bhi, ahi):
        hi, hi_c = bhi, bhc
    else:
        hi, hi_c = ahi, ahc and bhc
    return (lo, lo_c, hi, hi_c)


def _iv_minus(a: Interval, b: Interval) -> OSet:
    """a without b: what lies below b's low end and above its high end."""
    out: OSet = []
    blo, blc, bhi, bhc = b
    if blo is not _NEG:
        below = _iv_meet(a, (_NEG, False, blo, not blc))
        if not _iv_empty(below):
            out.append(below)
    if bhi is not _POS:
        above = _iv_meet(a, (bhi, not bhc, _POS, False))
        if not _iv_empty(above):
            out.append(above)
    return out


def _imeet(a: OSet, b: OSet) -> OSet:
    return [m for x in a for y in b if not _iv_empty(m := _iv_meet(x, y))]


def _idiff(a: OSet, b: OSet) -> OSet:
    for y in b:
        a = [piece for x in a for piece in _iv_minus(x, y)]
    return a


def _umeet(a: USet, b: USet) -> USet:
    (ka, va), (kb, vb) = a, b
    if ka == "in" and kb == "in":
        return ("in", va & vb)
    if ka == "in":
        return ("in", va - vb)
    if kb == "in":
        return ("in", vb - va)
    return ("out", va | vb)


def _udiff(a: USet, b: USet) -> USet:
    kb, vb = b
    return _umeet(a, ("out" if kb == "in" else "in", vb))


def _empty(s: OSet | USet) -> bool:
    if isinstance(s, tuple):
        return s[0] == "in" and not s[1]
    return not s


def _meet(a: OSet | USet, b: OSet | USet) -> OSet | USet:
    if isinstance(a, tuple):
        return _umeet(a, cast(USet, b))
    return _imeet(a, cast(OSet, b))


def _diff(a: OSet | USet, b: OSet | USet) -> OSet | USet:
    if isinstance(a, tuple):
        return _udiff(a, cast(USet, b))
    return _idiff(a, cast(OSet, b))


def _value(e: A.Expr | None) -> Any:
    """A comparable key for a literal: money keys by currency then amount."""
    if isinstance(e, A.Unary) and e.op == "neg" and isinstance(e.operand, A.Lit):
        v = _value(e.operand)
        if isinstance(v, tuple):
            return (v[0], -v[1])
        return -v
    if not isinstance(e, A.Lit):
        raise _Unknown
    if e.kind == "money":
        amount, currency = cast("tuple[Decimal, str]", e.value)
        return (currency, Decimal(amount))
    return e.value


class _Column:
    """How one input column's cells become sets."""

    def __init__(self, t: T) -> None:
        if t.kind in ORDERED_KINDS:
            self.kind = "ordered"
        elif t.kind == "string":
            self.kind = "strings"
        elif t.kind == "bool":
            self.kind = "bools"
        else:
            raise _Unknown

    def everything(self) -> OSet | USet:
        if self.kind == "ordered":
            return [(_NEG, False, _POS, False)]
        if self.kind == "bools":
            return ("in", frozenset({True, False}))
        return ("out", frozenset())

    def value(self, v: Any) -> OSet | USet:
        if self.kind == "ordered":
            return [(v, True, v, True)]
        return ("in", frozenset({v}))

    def union(self, sets: list[OSet | USet]) -> OSet | USet:
        # A or B = everything minus ((everything minus A) minus B)
        rest = self.everything()
        for s in sets:
            rest = _diff(rest, s)
        return _diff(self.everything(), rest)

    def test(self, t: A.UTest) -> OSet | USet:
        if t.kind == "eq":
            if isinstance(t.value, A.ListLit):
                return self.union([self.value(_value(i)) for i in t.value.items])
            return self.value(_value(t.value))
        if t.kind == "cmp":
            v = _value(t.value)
            if t.op == "==":
                return self.value(v)
            if t.op == "!=":
                return _diff(self.everything(), self.value(v))
            if self.kind != "ordered":
                raise _Unknown
            return {
                ">": [(v, False, _POS, False)],
                ">=": [(v, True, _POS, False)],
                "<": [(_NEG, False, v, False)],
                "<=": [(_NEG, False, v, True)],
            }[t.op]
        if t.kind == "range":
            if self.kind != "ordered":
                raise _Unknown
            return [(_value(t.value), t.low_closed, _value(t.high), t.high_closed)]
        if t.kind == "not":
            return _diff(self.everything(), self.union([self.test(c) for c in t.children]))
        raise _Unknown

    def cell(self, cell: A.Cell) -> OSet | USet:
        if cell.tests is None:
            return self.everything()
        return self.union([self.test(t) for t in cell.tests])


Box = list["OSet | USet"]


class _Search:
    def __init__(self) -> None:
        self.steps = 0

    def covered(self, box: Box, others: list[Box]) -> bool:
        """Whether the union of ``others`` contains ``box``."""
        self.steps += 1
        if self.steps > _BUDGET:
            raise _Unknown
        if any(_empty(s) for s in box):
            return True
        if not others:
            return False
        first, rest = others[0], others[1:]
        inter = [_meet(b, c) for b, c in zip(box, first, strict=True)]
        if any(_empty(s) for s in inter):
            return self.covered(box, rest)
        # box minus first = pieces that differ from first in one column (and agree before it)
        prefix: Box = []
        for d in range(len(box)):
            outside = _diff(box[d], first[d])
            if not _empty(outside) and not self.covered([*prefix, outside, *box[d + 1 :]], rest):
                return False
            prefix.append(inter[d])
        return True


def check_rows(c: Compiler, table: A.Table, in_types: list[T]) -> None:
    """Report overlapping rows of a ``unique`` table and unreachable rows of a ``first`` one."""
    if table.hit not in ("unique", "first"):
        return
    try:
        columns = [_Column(t) for t in in_types]
    except _Unknown:
        return
    boxes: list[Box | None] = []
    for row in table.rows:
        try:
            boxes.append([col.cell(cell) for col, cell in zip(columns, row.cells, strict=True)])
        except (_Unknown, TypeError):
            boxes.append(None)
    for j, box in enumerate(boxes):
        if box is None:
            continue
        row = table.rows[j]
        try:
            if table.hit == "unique":
                for i in range(j):
                    other = boxes[i]
                    if other is not None and not any(
                        _empty(_meet(a, b)) for a, b in zip(other, box, strict=True)
                    ):
                        c.err(
                            "RULE130",
                            f"rows {table.rows[i].number} and {row.number} of unique table "
                            f"{table.name!r} overlap: one input can match both",
                            row.pos,
                        )
                        break
            else:
                above = [b for b in boxes[:j] if b is not None]
                if above and _Search().covered(box, above):
                    c.err(
                        "RULE131",
                        f"row {row.number} of table {table.name!r} is unreachable: the rows "
                        "above it match everything it matches",
                        row.pos,
                    )
        except (_Unknown, TypeError, RecursionError):
            continue
