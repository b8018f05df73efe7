"""Field types shared by the canonical model: exact decimals, aware timestamps, string ids.

Each type accepts both forms a record arrives in: the *python form* a compiled mapping builds
(``Decimal``, aware ``datetime``) and the *JSON form* (amount strings, ISO-8601 strings). Floats
are refused wherever an exact number is expected, naive datetimes wherever a timestamp is, and
ints wherever an id is. Failures are pydantic errors with our own ``type`` names (listed in
:data:`ERROR_TYPES`), which :mod:`accord.canonical.validation` turns into ``CAN`` diagnostics.

The validators are plain functions, not chains of pydantic steps: they run once per field in
the hot path of every record, so each does the cheapest checks first.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Final

from pydantic import Field, PlainSerializer, PlainValidator, StringConstraints, WithJsonSchema
from pydantic_core import PydanticCustomError

from accord.canonical.currencies import CURRENCIES

__all__ = [
    "AMOUNT_PATTERN",
    "ERROR_TYPES",
    "MAX_FRACTION_DIGITS",
    "MAX_INTEGER_DIGITS",
    "CountryCode",
    "CurrencyCode",
    "Date",
    "Email",
    "ExactDecimal",
    "Id",
    "Quantity",
    "SignedQuantity",
    "Text",
    "Timestamp",
    "decimal_to_json",
    "in_range",
    "parse_decimal",
    "parse_timestamp",
    "timestamp_to_json",
]

#: What a JSON amount string looks like: optional minus, up to 24 digits, optional fraction of
#: up to 18 digits (the bounds below; the schemas publish this pattern).
AMOUNT_PATTERN: Final = r"^-?[0-9]{1,24}(\.[0-9]{1,18})?$"
# Parsing accepts any length so that too many digits is reported as out of range (CAN005),
# not as a malformed number.
_AMOUNT_RE: Final = re.compile(r"^-?[0-9]+(\.[0-9]+)?$")
_EMAIL_RE: Final = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_COUNTRY_RE: Final = re.compile(r"^[A-Z]{2}$")

# Bounds on exact numbers: 24 digits before the point and 18 after cover every amount, rate
# and weight in commerce (18 decimals is a crypto token's smallest unit), and keep every sum
# and product Money computes inside its 60-digit exact context.
MAX_INTEGER_DIGITS: Final = 24
MAX_FRACTION_DIGITS: Final = 18
_MAX_TEXT: Final = MAX_INTEGER_DIGITS + MAX_FRACTION_DIGITS + 2  # sign and point

#: Our pydantic error types (besides pydantic's own), each with the CAN code it becomes.
ERROR_TYPES: Final = {
    "exact_float": "CAN010",
    "exact_type": "CAN009",
    "exact_parsing": "CAN009",
    "exact_range": "CAN005",
    "unknown_currency": "CAN012",
    "timestamp_naive": "CAN006",
    "timestamp_type": "CAN007",
    "timestamp_parsing": "CAN007",
    "date_value": "CAN007",
    "email_format": "CAN013",
    "country_format": "CAN016",
}


# -- exact decimals ----------------------------------------------------------------------------


def parse_decimal(value: object) -> Decimal:
    """Read an exact number: a ``Decimal``, an ``int`` or a plain decimal string.

    >>> parse_decimal("12.30"), parse_decimal(3), parse_decimal(Decimal("0.5"))
    (Decimal('12.30'), Decimal('3'), Decimal('0.5'))

    Floats are refused (binary floats cannot hold 0.1 exactly), as are booleans, exponent
    notation in strings, NaN, infinities and numbers beyond 24 integer or 18 fraction digits.
    """
    if type(value) is Decimal:
        if value.is_finite():
            return in_range(value)
        raise PydanticCustomError(
            "exact_parsing", "{value} is not a finite number", {"value": str(value)}
        )
    if type(value) is str:
        if _AMOUNT_RE.match(value):
            if len(value) > _MAX_TEXT:  # before Decimal(): never parse a megabyte of digits
                return in_range(Decimal(1).scaleb(len(value)))
            return in_range(Decimal(value))
        raise PydanticCustomError(
            "exact_parsing",
            "'{value}' is not a decimal number such as '12.30'",
            {"value": str(value)[:40]},
        )
    if type(value) is int:
        return in_range(Decimal(value))
    if isinstance(value, float):
        raise PydanticCustomError(
            "exact_float",
            "a float cannot hold an exact amount; pass a Decimal or a string such as '12.30'",
        )
    if isinstance(value, Decimal):  # a subclass: read it as a plain Decimal
        return parse_decimal(Decimal(value))
    if isinstance(value, int) and not isinstance(value, bool):
        return in_range(Decimal(int(value)))
    raise PydanticCustomError(
        "exact_type",
        "expected a Decimal or a decimal string, got {type}",
        {"type": type(value).__name__},
    )


def in_range(value: Decimal) -> Decimal:
    """Return a finite ``value`` unchanged if it fits the bounds on exact numbers, else raise
    the ``exact_range`` error (``CAN005``)."""
    exponent = value.as_tuple().exponent
    assert isinstance(exponent, int)  # finite: checked by every caller
    if value.adjusted() < MAX_INTEGER_DIGITS and exponent >= -MAX_FRACTION_DIGITS:
        return value
    raise PydanticCustomError(
        "exact_range",
        "number out of range: at most {int_digits} digits before the point and {frac_digits} after",
        {"int_digits": MAX_INTEGER_DIGITS, "frac_digits": MAX_FRACTION_DIGITS},
    )


def decimal_to_json(value: Decimal) -> str:
    """A Decimal as a plain string, scale kept and never in exponent notation.

    >>> decimal_to_json(Decimal("12.30")), decimal_to_json(Decimal("-0.005"))
    ('12.30', '-0.005')
    """
    text = str(value)
    if "E" in text or "e" in text:
        # str() switches to exponent notation for very small or large exponents; 'f' never does.
        return format(value, "f")
    return text


ExactDecimal = Annotated[
    Decimal,
    PlainValidator(parse_decimal),
    PlainSerializer(decimal_to_json, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "pattern": AMOUNT_PATTERN}),
]
"""A Decimal that refuses floats; a string in JSON."""


# -- timestamps --------------------------------------------------------------------------------


def parse_timestamp(value: object) -> datetime:
    """Read an aware timestamp (a ``datetime`` or an ISO-8601 string) and return it in UTC.

    >>> parse_timestamp("2008-01-10T11:00:00-05:00")
    datetime.datetime(2008, 1, 10, 16, 0, tzinfo=datetime.timezone.utc)

    Naive values are refused: guessing the zone is the mapping's job (``tz:``), not the model's.
    """
    if isinstance(value, datetime):
        moment = value
    elif type(value) is str:
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise PydanticCustomError(
                "timestamp_parsing",
                "'{value}' is not an ISO-8601 timestamp",
                {"value": str(value)[:40]},
            ) from None
    else:
        raise PydanticCustomError(
            "timestamp_type",
            "expected an aware datetime or an ISO-8601 string, got {type}",
            {"type": type(value).__name__},
        )
    offset = moment.utcoffset()
    if offset is None:
        raise PydanticCustomError(
            "timestamp_naive",
            "timestamp has no time zone; give an offset such as 'Z' or '+02:00'",
        )
    if moment.tzinfo is UTC:
        return moment
    return moment.astimezone(UTC)


def timestamp_to_json(value: datetime) -> str:
    """ISO-8601 in UTC with a ``Z``.

    >>> timestamp_to_json(datetime(2026, 3, 2, 10, 0, tzinfo=UTC))
    '2026-03-02T10:00:00Z'
    """
    text = value.astimezone(UTC).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


Timestamp = Annotated[
    datetime,
    PlainValidator(parse_timestamp),
    PlainSerializer(timestamp_to_json, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]
"""A timezone-aware datetime, normalised to UTC; ISO-8601 with ``Z`` in JSON."""


def _parse_date(value: object) -> date:
    if type(value) is date:
        return value
    if type(value) is str:
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise PydanticCustomError(
        "date_value",
        "expected a date such as '2026-03-02', got {type}",
        {"type": type(value).__name__},
    )


Date = Annotated[
    date,
    PlainValidator(_parse_date),
    PlainSerializer(date.isoformat, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "format": "date"}),
]
"""A calendar date (no time, no zone); ``YYYY-MM-DD`` in JSON."""


# -- strings -----------------------------------------------------------------------------------

Id = Annotated[str, StringConstraints(strict=True, min_length=1)]
"""An identifier: always a non-empty string, never an int (Shopify ids exceed 2**53)."""

Text = Annotated[str, StringConstraints(strict=True)]
"""Free text; strict, so a number is not silently turned into a string."""


def _currency(value: object) -> str:
    if type(value) is str:
        if value in CURRENCIES:
            return value
        upper = value.upper()
        if upper in CURRENCIES:  # eBay and Stripe spell codes in lower case
            return upper
    raise PydanticCustomError(
        "unknown_currency",
        "'{value}' is not an ISO 4217 currency code",
        {"value": str(value)[:12]},
    )


CurrencyCode = Annotated[
    str,
    PlainValidator(_currency),
    WithJsonSchema({"type": "string", "enum": sorted(CURRENCIES)}),
]
"""An ISO 4217 code such as ``USD``; lower case input is upper-cased."""


def _email(value: object) -> str | None:
    if type(value) is not str:
        raise PydanticCustomError(
            "email_format",
            "expected an email address string, got {type}",
            {"type": type(value).__name__},
        )
    text = value.strip().lower()
    if _EMAIL_RE.match(text):
        return text
    if not text:
        # Shopify POS and guest orders send "" for "no email": that is absent, not malformed.
        return None
    raise PydanticCustomError("email_format", "not an email address")


Email = Annotated[
    str,
    PlainValidator(_email),
    WithJsonSchema({"type": "string", "format": "email"}),
]
"""An email address, trimmed and lower-cased so the same customer matches across channels; an
empty string becomes ``None`` (channels send ``""`` for "no email")."""


def _country(value: object) -> str:
    if type(value) is str:
        upper = value.upper()
        if _COUNTRY_RE.match(upper):
            return upper
    raise PydanticCustomError(
        "country_format", "expected an ISO 3166-1 alpha-2 country code such as 'US'"
    )


CountryCode = Annotated[
    str,
    PlainValidator(_country),
    WithJsonSchema({"type": "string", "pattern": "^[A-Z]{2}$"}),
]
"""An ISO 3166-1 alpha-2 country code, upper case."""


# -- integers ----------------------------------------------------------------------------------

Quantity = Annotated[int, Field(strict=True, ge=0)]
"""A count of units: a non-negative int (``3.0``, ``"3"`` and ``True`` are refused)."""

SignedQuantity = Annotated[int, Field(strict=True)]
"""A count that may go below zero (inventory oversold, adjustment deltas)."""
