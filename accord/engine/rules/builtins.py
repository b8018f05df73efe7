"""The functions rule text may call: a registry of name, Python helper, arity, type rule, a
one-line summary and an example that holds (the examples run as tests and appear in
``docs/rules-language.md``).

>>> BUILTINS["round"].example
'round(2.345, 2, "half_up") == 2.35'
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from accord.engine.rules import ast as A
from accord.engine.rules.types import ANY, BOOL, DATE, DATETIME, DURATION, MONEY, NUMBER, STRING, T

if TYPE_CHECKING:
    from accord.engine.rules.compiler import Compiler

__all__ = ["BUILTINS", "Builtin"]


@dataclass(frozen=True, slots=True)
class Builtin:
    """A function rules may call: name, Python helper, arity, type rule, docs and an example."""

    name: str
    py: str
    min_args: int
    max_args: int | None
    check: Callable[[Compiler, A.Call, list[T]], T]
    summary: str
    example: str
    result: str


def _want(c: Compiler, e: A.Call, t: T, kinds: tuple[str, ...], i: int) -> None:
    if t.kind != "any" and t.kind not in kinds:
        c.err(
            "RULE114",
            f"argument {i + 1} of {e.name}(...) must be {' or '.join(kinds)}, not {t}",
            e.args[i].pos,
        )


def _same(c: Compiler, e: A.Call, types: list[T]) -> T:
    if len(types) == 1 and types[0].kind == "list":
        return types[0].item or ANY
    return c.unify(types, e.pos, f"the arguments of {e.name}(...)")


def _numeric(c: Compiler, e: A.Call, types: list[T]) -> T:
    _want(c, e, types[0], ("number", "money"), 0)
    for i, t in enumerate(types[1:2], start=1):
        _want(c, e, t, ("number",), i)
    return types[0]


def _fixed(result: T, *kinds: tuple[str, ...]) -> Callable[[Compiler, A.Call, list[T]], T]:
    def check(c: Compiler, e: A.Call, types: list[T]) -> T:
        for i, (t, k) in enumerate(zip(types, kinds, strict=False)):
            _want(c, e, t, k, i)
        return result

    return check


def _item(c: Compiler, e: A.Call, types: list[T]) -> T:
    _want(c, e, types[0], ("list",), 0)
    return types[0].item or ANY if types[0].kind == "list" else ANY


def _sum(c: Compiler, e: A.Call, types: list[T]) -> T:
    _want(c, e, types[0], ("list",), 0)
    item = types[0].item or ANY
    return item if item.kind in ("number", "money") else NUMBER


S, N, M, Dt, Dd = ("string",), ("number",), ("money",), ("datetime",), ("date", "datetime")
BUILTINS: dict[str, Builtin] = {
    b.name: b
    for b in [
        Builtin(
            "len",
            "length",
            1,
            1,
            _fixed(NUMBER, ("list", "string", "map")),
            "number of items or characters",
            'len("abc") == 3',
            "number",
        ),
        Builtin(
            "count",
            "length",
            1,
            1,
            _fixed(NUMBER, ("list",)),
            "number of items in a list",
            "count([1, 2]) == 2",
            "number",
        ),
        Builtin(
            "min",
            "min_",
            1,
            None,
            _same,
            "smallest argument (or item of one list)",
            "min(3, 1, 2) == 1",
            "same",
        ),
        Builtin(
            "max",
            "max_",
            1,
            None,
            _same,
            "largest argument (or item of one list)",
            "max(3 USD, 5 USD) == 5 USD",
            "same",
        ),
        Builtin(
            "clamp",
            "clamp",
            3,
            3,
            _same,
            "the value kept within low..high",
            "clamp(12, 0, 10) == 10",
            "same",
        ),
        Builtin(
            "floor",
            "floor_",
            1,
            1,
            _numeric,
            "round down to a whole unit",
            "floor(2.7) == 2",
            "same",
        ),
        Builtin(
            "ceil", "ceil_", 1, 1, _numeric, "round up to a whole unit", "ceil(2.1) == 3", "same"
        ),
        Builtin(
            "round",
            "round_",
            1,
            3,
            _numeric,
            "round(x, places, mode); modes half_even (default), half_up, down, up, floor, ceiling",
            'round(2.345, 2, "half_up") == 2.35',
            "same",
        ),
        Builtin("abs", "abs_", 1, 1, _numeric, "absolute value", "abs(-2) == 2", "same"),
        Builtin(
            "lower",
            "str.lower",
            1,
            1,
            _fixed(STRING, S),
            "lower-case text",
            'lower("AbC") == "abc"',
            "string",
        ),
        Builtin(
            "upper",
            "str.upper",
            1,
            1,
            _fixed(STRING, S),
            "upper-case text",
            'upper("abc") == "ABC"',
            "string",
        ),
        Builtin(
            "trim",
            "str.strip",
            1,
            1,
            _fixed(STRING, S),
            "text without surrounding spaces",
            'trim(" a ") == "a"',
            "string",
        ),
        Builtin(
            "contains",
            "contains",
            2,
            2,
            _fixed(BOOL, S, S),
            "whether text contains a part",
            'contains("gift card", "gift")',
            "bool",
        ),
        Builtin(
            "starts_with",
            "str.startswith",
            2,
            2,
            _fixed(BOOL, S, S),
            "whether text starts with a prefix",
            'starts_with("SKU-1", "SKU-")',
            "bool",
        ),
        Builtin(
            "ends_with",
            "str.endswith",
            2,
            2,
            _fixed(BOOL, S, S),
            "whether text ends with a suffix",
            'ends_with("a.pdf", ".pdf")',
            "bool",
        ),
        Builtin(
            "money",
            "money",
            2,
            2,
            _fixed(MONEY, N, S),
            "money from an amount and a currency code",
            'money(5, "USD") == 5 USD',
            "money",
        ),
        Builtin(
            "first",
            "first",
            1,
            1,
            _item,
            "first item of a list (missing when empty)",
            "first([4, 5]) == 4",
            "item",
        ),
        Builtin(
            "last",
            "last",
            1,
            1,
            _item,
            "last item of a list (missing when empty)",
            "last([4, 5]) == 5",
            "item",
        ),
        Builtin(
            "sum",
            "sum_",
            1,
            1,
            _sum,
            "sum of a list of numbers or money",
            "sum([1, 2]) == 3",
            "same",
        ),
        Builtin(
            "date",
            "date_of",
            1,
            1,
            _fixed(DATE, Dt),
            "the UTC date of a date-time",
            "date(2026-03-02T10:00:00Z) == 2026-03-02",
            "date",
        ),
        Builtin(
            "days",
            "days",
            1,
            1,
            _fixed(DURATION, N),
            "a duration of n days",
            "days(2) == 48h",
            "duration",
        ),
        Builtin(
            "hours",
            "hours",
            1,
            1,
            _fixed(DURATION, N),
            "a duration of n hours",
            "hours(3) == 180m",
            "duration",
        ),
        Builtin(
            "add_business_days",
            "add_business_days",
            3,
            3,
            _fixed(DATETIME, Dt, N, ("calendar",)),
            "end of the working day n working days after the start day "
            "(after the cut-off, the next working day is day 0)",
            "add_business_days(2026-03-06T12:00:00Z, 1, weekdays_utc) == 2026-03-09T23:59:59Z",
            "datetime",
        ),
        Builtin(
            "is_business_day",
            "is_business_day",
            2,
            2,
            _fixed(BOOL, Dd, ("calendar",)),
            "whether the local day is a working day",
            "not is_business_day(2026-03-07, weekdays_utc)",
            "bool",
        ),
        Builtin(
            "business_days_between",
            "business_days_between",
            3,
            3,
            _fixed(NUMBER, Dt, Dt, ("calendar",)),
            "working days after the first day up to the second",
            "business_days_between(2026-03-06T10:00:00Z, 2026-03-10T10:00:00Z, weekdays_utc) == 2",
            "number",
        ),
    ]
}
