"""The ``as:`` coercions: turn real-world channel values into canonical Python values.

Every coercion is built once per field at compile time (time zones, formats and currencies are
resolved then) and is then a plain function of the value. A value that cannot be coerced raises
:class:`FieldFailure`, which the compiled mapping turns into a located
:class:`~accord.errors.MappingError`.

>>> to_decimal("19.99")
Decimal('19.99')
>>> to_bool("T"), to_bool(0), to_bool("false")
(True, False, False)
>>> make_datetime()("2008-01-10T11:00:00-05:00").isoformat()
'2008-01-10T16:00:00+00:00'
>>> make_money(None)({"Amount": "12.50", "CurrencyCode": "eur"}, None, None)
{'amount': Decimal('12.50'), 'currency': 'EUR'}

Floats: JSON numbers parsed as ``float`` have already lost exactness for some values, so callers
should parse JSON with ``json.loads(text, parse_float=Decimal)``. A float that still reaches a
decimal or money coercion is converted through its shortest ``repr`` when that has at most 15
significant digits (every such decimal survives the float round trip unchanged), with a
``MAP251`` warning; a float with more digits is refused with ``MAP207``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from decimal import Decimal, InvalidOperation
from email.utils import parsedate_to_datetime
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from accord.diagnostics import Diagnostic, Severity

__all__ = [
    "COERCIONS",
    "FieldFailure",
    "make_date",
    "make_datetime",
    "make_money",
    "to_bool",
    "to_decimal",
    "to_int",
    "to_string",
    "zone",
]

#: Names accepted by ``as:``.
COERCIONS: Final = ("string", "int", "decimal", "bool", "money", "datetime", "date")

#: Only 15 significant digits are guaranteed to survive decimal -> float -> decimal.
FLOAT_DIGITS: Final = 15

_NOVALUE: Final = object()


class FieldFailure(Exception):
    """A value failed inside one field. Internal: the compiled mapping adds the spec location,
    the data path and the record id and raises :class:`~accord.errors.MappingError`."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        value: Any = _NOVALUE,
        classification: str = "type",
        data_path: str | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.value = value
        self.classification = classification
        self.data_path = data_path

    @property
    def has_value(self) -> bool:
        return self.value is not _NOVALUE


def type_name(value: Any) -> str:
    """The JSON-ish name of a value's type, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, str):
        return "string"
    if isinstance(value, int | float | Decimal):
        return "number"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list | tuple):
        return "list"
    return type(value).__name__


def _bad(as_: str, value: Any, why: str = "") -> FieldFailure:
    extra = f": {why}" if why else ""
    return FieldFailure(
        "MAP203",
        f"cannot read {type_name(value)} as {as_}{extra}",
        value=value,
        classification="type",
    )


def float_warning(value: float) -> Diagnostic:
    """The ``MAP251`` warning recorded when a float amount is converted."""
    return Diagnostic(
        code="MAP251",
        message="a float amount was converted to Decimal; parse JSON with parse_float=Decimal",
        severity=Severity.WARNING,
    )


def decimal_from_float(value: float, warnings: list[Diagnostic] | None) -> Decimal:
    """Convert a float through its shortest repr, refusing values whose digits are in doubt.

    >>> decimal_from_float(19.99, None)
    Decimal('19.99')
    """
    if not math.isfinite(value):
        raise FieldFailure(
            "MAP207", "the float is not a finite amount", value=value, classification="precision"
        )
    exact = Decimal(repr(value))
    digits = len(exact.as_tuple().digits)
    if digits > FLOAT_DIGITS:
        raise FieldFailure(
            "MAP207",
            f"a float with {digits} significant digits has lost its exact value "
            "(parse JSON with parse_float=Decimal)",
            value=value,
            classification="precision",
        )
    if warnings is not None:
        warnings.append(float_warning(value))
    return exact


# -- scalar coercions ---------------------------------------------------------------------


def to_string(value: Any) -> str:
    """``as: string``: numbers and booleans become their JSON text, datetimes ISO 8601 UTC
    text ending in ``Z`` (for outbound specs); objects and lists are refused.

    >>> to_string(450789469123456789), to_string(True), to_string(Decimal("1.50"))
    ('450789469123456789', 'true', '1.50')
    """
    cls = value.__class__
    if cls is str:
        return value  # type: ignore[no-any-return]
    if cls is bool:
        return "true" if value else "false"
    if cls is int or cls is Decimal:
        return str(value)
    if cls is float:
        if not math.isfinite(value):
            raise _bad("string", value, "not a finite number")
        return str(int(value)) if value.is_integer() and abs(value) < 2**53 else repr(value)
    if isinstance(value, datetime):  # outbound: canonical timestamps become ISO 8601 text
        aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        return aware.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        return str(value)
    raise _bad("string", value)


def _decimal_text(value: str, as_: str) -> Decimal:
    # Decimal() also accepts "1_000", "NaN" and "Infinity": none is an amount a channel means.
    if "_" in value:
        raise _bad(as_, value, "not a number")
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise _bad(as_, value, "not a number") from None
    if not number.is_finite():
        raise _bad(as_, value, "not a finite number")
    return number


def to_decimal(value: Any, warnings: list[Diagnostic] | None = None) -> Decimal:
    """``as: decimal``: strings and ints exactly; floats through :func:`decimal_from_float`.

    >>> to_decimal(" 0.10 "), to_decimal(3)
    (Decimal('0.10'), Decimal('3'))
    """
    cls = value.__class__
    if cls is str:
        return _decimal_text(value, "decimal")
    if cls is Decimal:
        if not value.is_finite():
            raise _bad("decimal", value, "not a finite number")
        return value  # type: ignore[no-any-return]
    if cls is int:
        return Decimal(value)
    if cls is float:
        return decimal_from_float(value, warnings)
    raise _bad("decimal", value)


def to_int(value: Any) -> int:
    """``as: int``: integral numbers and numeric strings (``"3"``, ``"3.0"``); never booleans.

    >>> to_int("42"), to_int(Decimal("3.0")), to_int(7.0)
    (42, 3, 7)
    """
    cls = value.__class__
    if cls is int:
        return value  # type: ignore[no-any-return]
    if cls is str:
        text = value.strip()
        if text.isdigit():
            return int(text)
        number = _decimal_text(value, "int")
    elif cls is Decimal:
        number = value
    elif cls is float:
        if not math.isfinite(value) or not value.is_integer():
            raise _bad("int", value, "not a whole number")
        return int(value)
    else:
        raise _bad("int", value)
    if not number.is_finite() or number != number.to_integral_value():
        raise _bad("int", value, "not a whole number")
    return int(number)


_TRUE_TEXT: Final = frozenset({"true", "t", "yes", "y", "1", "on"})
_FALSE_TEXT: Final = frozenset({"false", "f", "no", "n", "0", "off"})


def to_bool(value: Any) -> bool:
    """``as: bool``: ``true/false``, ``T/F``, ``yes/no``, ``Y/N``, ``on/off``, ``1/0``.

    >>> to_bool("Yes"), to_bool("0"), to_bool(1)
    (True, False, True)
    """
    cls = value.__class__
    if cls is bool:
        return value  # type: ignore[no-any-return]
    if cls is str:
        text = value.strip().lower()
        if text in _TRUE_TEXT:
            return True
        if text in _FALSE_TEXT:
            return False
        raise _bad("bool", value, "not a yes/no value")
    if cls is int or cls is Decimal or cls is float:
        if value == 1:
            return True
        if value == 0:
            return False
        raise _bad("bool", value, "only 1 and 0 are booleans")
    raise _bad("bool", value)


# -- dates and times ----------------------------------------------------------------------


def zone(name: str | None) -> tzinfo:
    """The time zone called ``name`` (IANA), UTC for ``None``; ``ValueError`` if unknown.

    >>> zone("America/New_York").key
    'America/New_York'
    """
    if name is None or name.upper() in ("UTC", "Z"):
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {name!r}") from exc


#: Epoch numbers at or above this are milliseconds (as seconds it would be the year 5138).
EPOCH_MS_THRESHOLD: Final = 100_000_000_000
_NUMERIC = re.compile(r"^\s*-?\d+(\.\d+)?\s*$")
_MS_JSON_DATE = re.compile(r"^/Date\((-?\d+)([+-]\d{4})?\)/$")


def _from_epoch(number: Decimal, unit: str | None, original: Any) -> datetime:
    if unit == "ms" or (unit is None and abs(number) >= EPOCH_MS_THRESHOLD):
        number = number / 1000
    try:
        whole = int(number)
        micros = int((number - whole) * 1_000_000)
        return datetime.fromtimestamp(whole, UTC) + timedelta(microseconds=micros)
    except (OverflowError, OSError, ValueError) as exc:
        raise _bad("datetime", original, "epoch out of range") from exc


def _parse_text(text: str, fmt: str | None, unit: str | None, original: Any) -> datetime:
    if fmt is not None:
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            raise _bad("datetime", original, f"does not match the format {fmt!r}") from None
    # Digit strings are epochs, except 8 digits, which ISO 8601 reads as a date (20240301).
    if _NUMERIC.match(text) and not (len(text) == 8 and text.isdigit()):
        return _from_epoch(Decimal(text), unit, original)
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        pass
    match = _MS_JSON_DATE.match(text)
    if match:  # Microsoft JSON dates, still sent by some marketplace APIs
        return _from_epoch(Decimal(match.group(1)), "ms", original)
    try:
        parsed = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        raise _bad("datetime", original, "not a date or time") from None
    return parsed


def make_datetime(
    tz: str | None = None, *, fmt: str | None = None, epoch: str | None = None
) -> Callable[[Any], datetime]:
    """Build the ``as: datetime`` coercion: always an aware UTC ``datetime`` out.

    Accepted: ISO 8601 with ``Z`` or an offset, naive ISO (read in ``tz``), date-only
    (midnight in ``tz``), epoch seconds or milliseconds as numbers or digit strings (values
    >= 1e11 are milliseconds unless ``epoch`` says), RFC 2822, ``/Date(ms)/``, and, with
    ``fmt``, any ``strptime`` format. ``""`` never reaches it: it counts as missing.

    >>> make_datetime("Europe/Paris")("2024-07-01 12:00:00").isoformat()
    '2024-07-01T10:00:00+00:00'
    >>> make_datetime()(1704067200000).isoformat()
    '2024-01-01T00:00:00+00:00'
    >>> make_datetime()("Tue, 01 Mar 2022 10:00:00 +0100").isoformat()
    '2022-03-01T09:00:00+00:00'
    """
    local = zone(tz)

    def coerce(value: Any) -> datetime:
        cls = value.__class__
        if cls is str:
            parsed = _parse_text(value.strip(), fmt, epoch, value)
        elif cls is int or cls is Decimal:
            parsed = _from_epoch(Decimal(value), epoch, value)
        elif cls is float:
            if not math.isfinite(value):
                raise _bad("datetime", value, "not a finite number")
            parsed = _from_epoch(Decimal(repr(value)), epoch, value)
        elif isinstance(value, datetime):
            parsed = value
        elif isinstance(value, date):
            parsed = datetime.combine(value, time())
        else:
            raise _bad("datetime", value)
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=local)
        try:
            return parsed.astimezone(UTC)
        except (OverflowError, ValueError) as exc:
            raise _bad("datetime", value, "out of range") from exc

    return coerce


def make_date(
    tz: str | None = None, *, fmt: str | None = None, epoch: str | None = None
) -> Callable[[Any], date]:
    """Build the ``as: date`` coercion. A timestamp's date is the date as written (in its own
    offset); an epoch's date is the UTC date.

    >>> make_date()("2024-03-01T23:30:00-05:00")
    datetime.date(2024, 3, 1)
    """
    local = zone(tz)

    def coerce(value: Any) -> date:
        cls = value.__class__
        if cls is str:
            text = value.strip()
            if fmt is None and len(text) == 10:
                try:
                    return date.fromisoformat(text)
                except ValueError:
                    pass
            return _parse_text(text, fmt, epoch, value).date()
        if cls is int or cls is Decimal or cls is float:
            if cls is float and not math.isfinite(value):
                raise _bad("date", value, "not a finite number")
            number = Decimal(repr(value)) if cls is float else Decimal(value)
            return _from_epoch(number, epoch, value).date()
        if isinstance(value, datetime):
            aware = value if value.tzinfo else value.replace(tzinfo=local)
            return aware.date()
        if isinstance(value, date):
            return value
        raise _bad("date", value)

    return coerce


# -- money --------------------------------------------------------------------------------

_AMOUNT_KEYS: Final = ("amount", "Amount", "value", "Value", "CurrencyAmount", "currencyAmount")
_CURRENCY_KEYS: Final = (
    "currency",
    "currency_code",
    "currencyCode",
    "CurrencyCode",
    "Currency",
    "currencyID",
)
_SET_KEYS: Final = ("shop_money", "presentment_money")
_CURRENCY = re.compile(r"^[A-Za-z]{3}$")
#: Codes already validated (bounded): the compiled code checks here before validating.
CURRENCY_SEEN: dict[str, str] = {}

#: ``fn(value, currency, warnings) -> {"amount": Decimal, "currency": str}``
MoneyCoercion = Callable[[Any, Any, "list[Diagnostic] | None"], dict[str, Any]]


def currency_code(value: Any) -> str:
    """Validate and upper-case an ISO 4217 style code.

    >>> currency_code("usd")
    'USD'
    """
    if value.__class__ is str:
        known = CURRENCY_SEEN.get(value)
        if known is not None:
            return known
        if _CURRENCY.match(value):
            code: str = value.upper()
            if len(CURRENCY_SEEN) < 4096:  # bounded: codes come from untrusted payloads
                CURRENCY_SEEN[value] = code
            return code
    if value is None or value == "":
        raise FieldFailure(
            "MAP204", "the money value has no currency", value=value, classification="currency"
        )
    raise FieldFailure(
        "MAP204",
        "not a three-letter currency code",
        value=value,
        classification="currency",
    )


def _amount(value: Any, warnings: list[Diagnostic] | None) -> Decimal:
    cls = value.__class__
    if cls is str:
        return _decimal_text(value, "money")
    if cls is Decimal:
        if not value.is_finite():
            raise _bad("money", value, "not a finite amount")
        return value  # type: ignore[no-any-return]
    if cls is int:
        return Decimal(value)
    if cls is float:
        return decimal_from_float(value, warnings)
    raise _bad("money", value)


def make_money(choice: str | None, literal_currency: str | None = None) -> MoneyCoercion:
    """Build the ``as: money`` coercion.

    The amount is a string, an int, a Decimal (or a float, see the module notes) or an object:
    ``{amount, currency}``, ``{Amount, CurrencyCode}``, ``{value, currency}``,
    ``{currencyCode, amount}``, ``{CurrencyAmount, CurrencyCode}``, ``{amount,
    currency_code}``, or a Shopify ``*_set`` bag (``{shop_money, presentment_money}``) from
    which ``choice`` (``"shop"`` or ``"presentment"``) picks one. A currency inside the object
    wins; otherwise the field's currency (a literal, or the value read at run time and passed
    as ``currency``) is used.

    >>> m = make_money("presentment")
    >>> bag = {"shop_money": {"amount": "10.00", "currency_code": "USD"},
    ...        "presentment_money": {"amount": "9.10", "currency_code": "EUR"}}
    >>> m(bag, None, None)
    {'amount': Decimal('9.10'), 'currency': 'EUR'}
    >>> make_money(None, "USD")("5", None, None)
    {'amount': Decimal('5'), 'currency': 'USD'}
    """
    fallback = currency_code(literal_currency) if literal_currency is not None else None
    set_key = f"{choice}_money" if choice else None

    def coerce(value: Any, currency: Any, warnings: list[Diagnostic] | None) -> dict[str, Any]:
        if value.__class__ is str:
            amount = _decimal_text(value, "money")
            found: Any = None
        elif isinstance(value, dict):
            if "shop_money" in value or "presentment_money" in value:
                if set_key is None:
                    raise FieldFailure(
                        "MAP203",
                        "a Shopify *_set money bag needs `money: shop` or `money: presentment`",
                        value=value,
                        classification="type",
                    )
                inner = value.get(set_key)
                if not isinstance(inner, dict):
                    raise FieldFailure(
                        "MAP203",
                        f"the money bag has no {set_key} object",
                        value=value,
                        classification="structure",
                    )
                value = inner
            amount_key = next((k for k in _AMOUNT_KEYS if k in value), None)
            if amount_key is None or value[amount_key] is None:
                raise FieldFailure(
                    "MAP203",
                    "the money object has no amount (amount, Amount, value, CurrencyAmount)",
                    value=value,
                    classification="type",
                )
            amount = _amount(value[amount_key], warnings)
            found = next((value[k] for k in _CURRENCY_KEYS if value.get(k) is not None), None)
        else:
            amount = _amount(value, warnings)
            found = None
        if found is not None:
            code = currency_code(found)
        elif currency is not None:
            if isinstance(currency, dict):  # a sibling money field: take its currency
                currency = currency.get("currency")
            code = currency_code(currency)
        elif fallback is not None:
            code = fallback
        else:
            code = currency_code(None)
        return {"amount": amount, "currency": code}

    return coerce
