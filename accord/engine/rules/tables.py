"""Static analysis of decision tables: overlapping rows (``unique``) and unreachable rows
(``first``).

Cells made of literals are read as sets of values (``"US", "CA"``), intervals (``[1..10]``,
``> 100``) or "anything" (blank). Two rows overlap when every column's cells intersect; a row
of a ``first`` table is unreachable when one earlier row covers each of its cells. Cells that
are not literal (they read other fields) are "unknown" and never produce a finding, so the
check has no false alarms.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any, cast

from accord.engine.rules import ast as A

if TYPE_CHECKING:
    from accord.engine.rules.compiler import Compiler
    from accord.engine.rules.types import T

__all__ = ["check_rows"]

_INF = object()


class _Unknown(Exception):
    pass


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


# An atom: ("eq", v) or ("range", lo, lo_closed, hi, hi_closed) with _INF for open ends.
Atom = tuple[Any, ...]


def _atoms(cell: A.Cell) -> list[Atom] | None:
    """The cell as atoms, None for blank (anything). Raises _Unknown for non-literals."""
    if cell.tests is None:
        return None
    atoms: list[Atom] = []
    for t in cell.tests:
        if t.kind == "eq":
            if isinstance(t.value, A.ListLit):
                atoms.extend(("eq", _value(i)) for i in t.value.items)
            else:
                atoms.append(("eq", _value(t.value)))
        elif t.kind == "cmp":
            v = _value(t.value)
            if t.op == "==":
                atoms.append(("eq", v))
            elif t.op in (">", ">="):
                atoms.append(("range", v, t.op == ">=", _INF, False))
            elif t.op in ("<", "<="):
                atoms.append(("range", _INF, False, v, t.op == "<="))
            else:
                raise _Unknown
        elif t.kind == "range":
            atoms.append(("range", _value(t.value), t.low_closed, _value(t.high), t.high_closed))
        else:
            raise _Unknown
    return atoms


def _lt(a: Any, b: Any) -> bool:
    numbers = isinstance(a, int | Decimal) and isinstance(b, int | Decimal)
    if not numbers and type(a) is not type(b):
        raise _Unknown
    if isinstance(a, tuple) and a[0] != b[0]:
        raise _Unknown
    return bool(a < b)


def _in_range(v: Any, r: Atom) -> bool:
    _, lo, lo_c, hi, hi_c = r
    if lo is not _INF and (_lt(v, lo) or (v == lo and not lo_c)):
        return False
    return not (hi is not _INF and (_lt(hi, v) or (v == hi and not hi_c)))


def _atoms_meet(a: Atom, b: Atom) -> bool:
    if a[0] == "eq" and b[0] == "eq":
        return bool(a[1] == b[1])
    if a[0] == "eq":
        return _in_range(a[1], b)
    if b[0] == "eq":
        return _in_range(b[1], a)
    _, alo, alc, ahi, ahc = a
    _, blo, blc, bhi, bhc = b

    # Ranges meet unless one ends before the other starts.
    def before(hi: Any, hi_c: bool, lo: Any, lo_c: bool) -> bool:
        if hi is _INF or lo is _INF:
            return False
        return _lt(hi, lo) or (hi == lo and not (hi_c and lo_c))

    return not (before(ahi, ahc, blo, blc) or before(bhi, bhc, alo, alc))


def _atom_covers(big: Atom, small: Atom) -> bool:
    if big[0] == "eq":
        return small[0] == "eq" and bool(small[1] == big[1])
    if small[0] == "eq":
        return _in_range(small[1], big)
    _, blo, blc, bhi, bhc = big
    _, slo, slc, shi, shc = small
    if blo is not _INF and (slo is _INF or _lt(slo, blo) or (slo == blo and slc and not blc)):
        return False
    return not (
        bhi is not _INF and (shi is _INF or _lt(bhi, shi) or (shi == bhi and shc and not bhc))
    )


def _cells_meet(a: list[Atom] | None, b: list[Atom] | None) -> bool:
    if a is None or b is None:
        return True
    return any(_atoms_meet(x, y) for x in a for y in b)


def _cell_covers(big: list[Atom] | None, small: list[Atom] | None) -> bool:
    if big is None:
        return True
    if small is None:
        return False
    return all(any(_atom_covers(b, s) for b in big) for s in small)


def check_rows(c: Compiler, table: A.Table, in_types: list[T]) -> None:
    """Report overlapping rows of a ``unique`` table and unreachable rows of a ``first`` one."""
    if table.hit not in ("unique", "first"):
        return
    rows: list[list[list[Atom] | None] | None] = []
    for row in table.rows:
        try:
            rows.append([_atoms(cell) for cell in row.cells])
        except _Unknown:
            rows.append(None)
    for j, row_j in enumerate(rows):
        if row_j is None:
            continue
        for i in range(j):
            row_i = rows[i]
            if row_i is None:
                continue
            try:
                if table.hit == "unique":
                    if all(_cells_meet(a, b) for a, b in zip(row_i, row_j, strict=True)):
                        c.err(
                            "RULE130",
                            f"rows {table.rows[i].number} and {table.rows[j].number} of unique "
                            f"table {table.name!r} overlap: one input can match both",
                            table.rows[j].pos,
                        )
                        break
                elif all(_cell_covers(a, b) for a, b in zip(row_i, row_j, strict=True)):
                    c.err(
                        "RULE131",
                        f"row {table.rows[j].number} of table {table.name!r} is unreachable: "
                        f"row {table.rows[i].number} matches everything it matches",
                        table.rows[j].pos,
                    )
                    break
            except (_Unknown, TypeError):
                continue
