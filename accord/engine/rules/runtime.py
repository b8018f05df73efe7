"""The helpers compiled rules call at run time, and the value conventions they share.

Generated code sees only the names in :func:`namespace` (no builtins, no imports), so this
module *is* the sandbox's whole surface. Values inside an evaluation:

* numbers are ``Decimal`` (ints from records are accepted as they are);
* money is the canonical dict form ``{"amount": Decimal, "currency": "USD"}``;
* datetimes are aware, dates are ``date``, durations ``timedelta``;
* a missing value is never ``None`` in an operation: reading it raises :class:`Missing`
  (turned into a ``RULE201`` error) unless the rule guards it with ``exists(...)`` or ``??``.

>>> fmt({"amount": Decimal("12.30"), "currency": "USD"})
'12.30 USD'
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import (
    ROUND_CEILING,
    ROUND_DOWN,
    ROUND_FLOOR,
    ROUND_HALF_DOWN,
    ROUND_HALF_EVEN,
    ROUND_HALF_UP,
    ROUND_UP,
    Decimal,
)
from typing import Any

from accord.engine.rules.calendars import MAX_SCAN_DAYS, BusinessCalendar, BusinessDayRangeError

__all__ = ["MISSING", "CurrencyMix", "Missing", "fmt", "namespace"]


class _MissingType:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


#: What a guarded read (``exists``/``??``) returns for an absent or null value.
MISSING: Any = _MissingType()


class Missing(LookupError):
    """A value the rule needs is absent or null (becomes ``RULE201``)."""


class CurrencyMix(ArithmeticError):
    """Money of two currencies met in one operation (becomes ``RULE206``)."""


ROUNDING_MODES = {
    "half_up": ROUND_HALF_UP,
    "half_even": ROUND_HALF_EVEN,
    "half_down": ROUND_HALF_DOWN,
    "up": ROUND_UP,
    "down": ROUND_DOWN,
    "ceiling": ROUND_CEILING,
    "floor": ROUND_FLOOR,
}

_ZERO = Decimal(0)


def _is_money(v: object) -> bool:
    return isinstance(v, dict) and "amount" in v and "currency" in v


def nn(v: Any) -> Any:
    """The value, or :class:`Missing` when it is null."""
    if v is None:
        raise Missing("null value")
    return v


def miss() -> Any:
    raise Missing("null value")


def sg(obj: Any, key: Any) -> Any:
    """Guarded read: ``obj[key]`` or :data:`MISSING` (absent key, null, out of range)."""
    if obj is MISSING or obj is None:
        return MISSING
    try:
        if isinstance(obj, list):
            if not isinstance(key, int | Decimal) or key != int(key):
                return MISSING
            v = obj[int(key)]
        elif isinstance(obj, dict):
            v = obj.get(key, MISSING)
        else:
            return MISSING
    except (IndexError, TypeError):
        return MISSING
    return MISSING if v is None else v


def idx(obj: Any, key: Any) -> Any:
    """``obj[key]`` for lists (a whole Decimal index) and maps; missing -> :class:`Missing`."""
    v = sg(obj, key)
    if v is MISSING:
        raise Missing(f"no element {fmt(key) if key is not MISSING else '?'}")
    return v


# -- money --------------------------------------------------------------------------------


def mix(a: Any, b: Any) -> Any:
    raise CurrencyMix(f"cannot combine {fmt(a)} and {fmt(b)}: the currencies differ")


def madd(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    if a["currency"] != b["currency"]:
        mix(a, b)
    return {"amount": a["amount"] + b["amount"], "currency": a["currency"]}


def msub(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    if a["currency"] != b["currency"]:
        mix(a, b)
    return {"amount": a["amount"] - b["amount"], "currency": a["currency"]}


def mmul(a: dict[str, Any], n: Decimal) -> dict[str, Any]:
    return {"amount": a["amount"] * n, "currency": a["currency"]}


def mdiv(a: dict[str, Any], n: Decimal) -> dict[str, Any]:
    return {"amount": a["amount"] / n, "currency": a["currency"]}


def mratio(a: dict[str, Any], b: dict[str, Any]) -> Decimal:
    if a["currency"] != b["currency"]:
        mix(a, b)
    result: Decimal = a["amount"] / b["amount"]
    return result


def mneg(a: dict[str, Any]) -> dict[str, Any]:
    return {"amount": -a["amount"], "currency": a["currency"]}


def mcmp(a: dict[str, Any], b: dict[str, Any]) -> int:
    """-1, 0 or 1; raises :class:`CurrencyMix` across currencies."""
    if a["currency"] != b["currency"]:
        mix(a, b)
    x, y = a["amount"], b["amount"]
    return -1 if x < y else (1 if x > y else 0)


def meq(a: dict[str, Any], b: dict[str, Any]) -> bool:
    # Equality across currencies is simply false, as for accord.canonical.Money.
    return bool(a["currency"] == b["currency"] and a["amount"] == b["amount"])


def money(amount: Any, currency: Any) -> dict[str, Any]:
    return {"amount": num(amount), "currency": str(currency)}


# -- numbers --------------------------------------------------------------------------------


def num(v: Any) -> Decimal:
    """A Decimal from a Decimal, int or numeric string; floats are refused (exactness)."""
    if isinstance(v, Decimal):
        return v
    if isinstance(v, bool):
        raise TypeError("a boolean is not a number")
    if isinstance(v, int):
        return Decimal(v)
    if isinstance(v, str):
        return Decimal(v.strip())
    raise TypeError(f"expected a number, got {type(v).__name__}")


def _round_any(v: Any, places: Any, mode: str) -> Any:
    quantum = Decimal(1).scaleb(-int(places))
    rounding = ROUNDING_MODES[mode]
    if _is_money(v):
        return {
            "amount": v["amount"].quantize(quantum, rounding=rounding),
            "currency": v["currency"],
        }
    return num(v).quantize(quantum, rounding=rounding)


def round_(v: Any, places: Any = _ZERO, mode: str = "half_even") -> Any:
    return _round_any(v, places, mode)


def floor_(v: Any) -> Any:
    return _round_any(v, 0, "floor")


def ceil_(v: Any) -> Any:
    return _round_any(v, 0, "ceiling")


_ONE = Decimal(1)


def floor_n(v: Decimal | int) -> Decimal | int:
    return v.to_integral_value(rounding=ROUND_FLOOR) if isinstance(v, Decimal) else v


def ceil_n(v: Decimal | int) -> Decimal | int:
    return v.to_integral_value(rounding=ROUND_CEILING) if isinstance(v, Decimal) else v


def abs_(v: Any) -> Any:
    if _is_money(v):
        return {"amount": abs(v["amount"]), "currency": v["currency"]}
    return abs(num(v))


def _key(v: Any, first: list[Any]) -> Any:
    """Ordering key that refuses to rank money of two currencies against each other."""
    if _is_money(v):
        if not first:
            first.append(v)
        elif first[0]["currency"] != v["currency"]:
            mix(first[0], v)
        return v["amount"]
    return v


def min_(*values: Any) -> Any:
    if len(values) == 1 and isinstance(values[0], list):
        values = tuple(values[0])
    if not values:
        raise Missing("min of an empty list")
    seen: list[Any] = []
    return min(values, key=lambda v: _key(v, seen))


def max_(*values: Any) -> Any:
    if len(values) == 1 and isinstance(values[0], list):
        values = tuple(values[0])
    if not values:
        raise Missing("max of an empty list")
    seen: list[Any] = []
    return max(values, key=lambda v: _key(v, seen))


def clamp(v: Any, low: Any, high: Any) -> Any:
    return max_(low, min_(v, high))


def sum_(values: Iterable[Any]) -> Any:
    items = list(values)
    if not items:
        return _ZERO
    if _is_money(items[0]):
        total = items[0]
        for m in items[1:]:
            total = madd(total, m)
        return total
    acc = _ZERO
    for v in items:
        acc += num(v)
    return acc


def msum(values: Iterable[Any]) -> Any:
    """Sum of money; an empty list has no currency, so it is a missing value."""
    items = list(values)
    if not items:
        raise Missing("sum of an empty list of money has no currency")
    return sum_(items)


def sort(values: Iterable[Any], key: Callable[[Any], Any]) -> list[Any]:
    seen: dict[int, list[Any]] = {}

    def k(v: Any) -> tuple[Any, ...]:
        raw = key(v)
        parts = raw if isinstance(raw, tuple) else (raw,)
        return tuple(_key(p, seen.setdefault(i, [])) for i, p in enumerate(parts))

    return sorted(values, key=k)


def first(values: list[Any]) -> Any:
    if not values:
        raise Missing("first of an empty list")
    return values[0]


def last(values: list[Any]) -> Any:
    if not values:
        raise Missing("last of an empty list")
    return values[-1]


def length(v: Any) -> Decimal:
    return Decimal(len(v))


def contains(s: Any, part: Any) -> bool:
    return bool(part in s)


def member(item: Any, coll: Any) -> bool:
    """``item in coll`` for lists and maps (keys) with money-aware equality."""
    if _is_money(item):
        return any(_is_money(c) and meq(item, c) for c in coll)
    return bool(item in coll)


def date_of(v: datetime) -> date:
    return v.astimezone(UTC).date()


def days(n: Any) -> timedelta:
    return timedelta(days=int(num(n)))


def hours(n: Any) -> timedelta:
    return timedelta(hours=int(num(n)))


def add_business_days(moment: datetime, n: Any, cal: BusinessCalendar) -> datetime:
    days = num(n)
    if days != days.to_integral_value():
        raise BusinessDayRangeError(f"business days to add must be a whole number, not {days}")
    if days > MAX_SCAN_DAYS:  # more working days than calendar days in the window
        raise BusinessDayRangeError(
            f"{days} working days of calendar {cal.name!r} go beyond two years: business-day "
            "arithmetic looks at most two years ahead"
        )
    return cal.add_business_days(moment, int(days))


def is_business_day(moment: datetime | date, cal: BusinessCalendar) -> bool:
    return cal.is_business_day(moment)


def business_days_between(a: datetime, b: datetime, cal: BusinessCalendar) -> Decimal:
    return Decimal(cal.business_days_between(a, b))


# -- generic operators (operands of unknown static type) ---------------------------------------


def gadd(a: Any, b: Any) -> Any:
    if _is_money(a) and _is_money(b):
        return madd(a, b)
    if _is_money(a) or _is_money(b):
        raise TypeError("money plus a bare number")
    if isinstance(a, str) and isinstance(b, str):
        return a + b
    if isinstance(a, datetime | date) or isinstance(b, timedelta):
        return a + b
    return num(a) + num(b)


def gsub(a: Any, b: Any) -> Any:
    if _is_money(a) and _is_money(b):
        return msub(a, b)
    if _is_money(a) or _is_money(b):
        raise TypeError("money minus a bare number")
    if isinstance(a, datetime | date | timedelta):
        return a - b
    return num(a) - num(b)


def gmul(a: Any, b: Any) -> Any:
    if _is_money(a):
        return mmul(a, num(b))
    if _is_money(b):
        return mmul(b, num(a))
    if isinstance(a, timedelta):
        return a * int(num(b))
    return num(a) * num(b)


def gdiv(a: Any, b: Any) -> Any:
    if _is_money(a):
        return mratio(a, b) if _is_money(b) else mdiv(a, num(b))
    if _is_money(b):
        raise TypeError("a number divided by money")
    return num(a) / num(b)


def gneg(a: Any) -> Any:
    return mneg(a) if _is_money(a) else -num(a)


def gcmp(a: Any, b: Any) -> int:
    if _is_money(a) or _is_money(b):
        if not (_is_money(a) and _is_money(b)):
            raise TypeError("money compared with a bare number")
        return mcmp(a, b)
    if isinstance(a, int | Decimal) and isinstance(b, int | Decimal):
        pass
    elif type(a) is not type(b):
        raise TypeError(f"cannot compare {type(a).__name__} with {type(b).__name__}")
    return -1 if a < b else (1 if a > b else 0)


def geq(a: Any, b: Any) -> bool:
    if _is_money(a) and _is_money(b):
        return meq(a, b)
    return bool(nn(a) == nn(b))


def truth(v: Any) -> bool:
    """A condition must be a boolean: null/missing or a non-boolean never reads as false."""
    if v is True or v is False:
        return v
    if v is None or v is MISSING:
        raise Missing("condition value is missing")
    raise TypeError(f"a condition must be true or false, not {type(v).__name__}")


# -- rendering --------------------------------------------------------------------------------


def fmt_duration(d: timedelta) -> str:
    seconds = int(d.total_seconds())
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60)):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def fmt(v: Any) -> str:
    """How a value appears in a rendered reason."""
    if v is None or v is MISSING:
        return "(missing)"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, Decimal):
        return str(v)
    if _is_money(v):
        return f"{v['amount']} {v['currency']}"
    if isinstance(v, datetime):
        return v.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, timedelta):
        return fmt_duration(v)
    if isinstance(v, list | tuple | set | frozenset):
        return ", ".join(fmt(x) for x in v)
    if isinstance(v, BusinessCalendar):
        return v.name
    return str(v)


def to_json(v: Any) -> Any:
    """The JSON form of a value (Decimal as string, datetimes ISO with ``Z``)."""
    if v is None or v is MISSING:
        return None
    if isinstance(v, bool | str):
        return v
    if isinstance(v, int):
        return str(v)
    if isinstance(v, Decimal):
        return str(v)
    if isinstance(v, Mapping):
        if _is_money(v) and len(v) == 2:
            return {"amount": str(v["amount"]), "currency": v["currency"]}
        return {str(k): to_json(x) for k, x in v.items()}
    if isinstance(v, datetime):
        return fmt(v)
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, timedelta):
        return fmt_duration(v)
    if isinstance(v, list | tuple | set | frozenset):
        return [to_json(x) for x in v]
    if isinstance(v, float) and math.isfinite(v):  # pragma: no cover - floats never enter
        return repr(v)
    return str(v)


#: The helpers generated code may call, by name.
_HELPERS: tuple[str, ...] = (
    "nn",
    "miss",
    "sg",
    "idx",
    "mix",
    "madd",
    "msub",
    "mmul",
    "mdiv",
    "mratio",
    "mneg",
    "mcmp",
    "meq",
    "money",
    "num",
    "round_",
    "floor_",
    "ceil_",
    "abs_",
    "min_",
    "max_",
    "clamp",
    "sum_",
    "msum",
    "sort",
    "first",
    "last",
    "length",
    "contains",
    "member",
    "date_of",
    "days",
    "hours",
    "add_business_days",
    "is_business_day",
    "business_days_between",
    "gadd",
    "gsub",
    "gmul",
    "gdiv",
    "gneg",
    "gcmp",
    "geq",
    "truth",
    "fmt",
    "attempt",
    "setf",
    "Conflict",
    "fmt_money",
    "otherwise",
    "floor_n",
    "ceil_n",
)


def namespace() -> dict[str, Any]:
    """The globals of generated rule code: these helpers and nothing else."""
    names: dict[str, Any] = {
        "__builtins__": {},
        "MISSING": MISSING,
        "Missing": Missing,
        "D": Decimal,
        "any": any,
        "all": all,
        "len": len,
        "sorted": sorted,
        "int": int,
        "str": str,
        "Exception": Exception,
        "type": type,
        "dict": dict,
        "list": list,
        "DT": datetime,
        "bmin": min,
        "bmax": max,
    }
    for name in _HELPERS:
        names[name] = globals()[name]
    return names


def fmt_money(m: dict[str, Any]) -> str:
    return f"{m['amount']} {m['currency']}"


def otherwise(value: Callable[[], Any], default: Callable[[], Any]) -> Any:
    """``value ?? default`` for an expression that is not a plain path."""
    v = attempt(value)
    return default() if v is MISSING else v


def attempt(fn: Callable[[], Any]) -> Any:
    """Evaluate a guarded expression: :data:`MISSING` instead of a missing-value failure."""
    try:
        v = fn()
    except (Missing, KeyError, IndexError):
        return MISSING
    return MISSING if v is None else v


class Conflict(Exception):
    """Two outcomes of one evaluation contradict each other (becomes ``RULE207``)."""


def setf(fields: dict[str, Any], name: str, value: Any) -> Any:
    """Record ``set name = value``; a second, different value for one field is a conflict."""
    if value is None or value is MISSING:
        raise Missing(f"value for {name!r} is missing")
    if name in fields and fields[name] != value:
        raise Conflict(
            f"field {name!r} is set to {fmt(fields[name])} and to {fmt(value)} in one evaluation"
        )
    fields[name] = value
    return value
