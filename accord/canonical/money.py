"""Exact money: a Decimal amount in an ISO 4217 currency.

>>> price = Money("19.99", "USD")
>>> str(price * 3)
'59.97 USD'
>>> [str(part) for part in Money("100.00", "USD").allocate([1, 1, 1])]
['33.34 USD', '33.33 USD', '33.33 USD']
>>> str(Money("10.005", "USD").round(Rounding.HALF_EVEN))
'10.00 USD'
>>> Money("1.00", "USD") + Money("1.00", "EUR")
Traceback (most recent call last):
...
accord.errors.CurrencyMismatchError: cannot add 1.00 USD and 1.00 EUR: the currencies differ

Rules of the type:

* The amount is a :class:`~decimal.Decimal`; a ``float`` is refused (``MoneyError``, CAN010),
  so no binary rounding ever touches an amount. Strings and ints are read exactly.
* Arithmetic (``+``, ``-``, unary ``-``, ``abs``) and ordering work only between amounts of
  the same currency; anything else raises :class:`~accord.errors.CurrencyMismatchError`.
  Equality between different currencies is simply ``False``.
* Multiplication by an ``int`` or ``Decimal`` is exact and keeps every digit; call
  :meth:`Money.round` with an explicit mode to come back to the currency's minor unit.
* The JSON form is ``{"amount": "12.30", "currency": "USD"}``: the amount is a string and its
  scale (trailing zeros) is kept.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Sequence
from decimal import (
    ROUND_05UP,
    ROUND_CEILING,
    ROUND_DOWN,
    ROUND_FLOOR,
    ROUND_HALF_DOWN,
    ROUND_HALF_EVEN,
    ROUND_HALF_UP,
    ROUND_UP,
    Context,
    Decimal,
    DivisionByZero,
    Inexact,
    InvalidOperation,
    Overflow,
)
from fractions import Fraction
from typing import Final

from pydantic import BaseModel, ConfigDict
from pydantic import ValidationError as PydanticValidationError
from pydantic_core import PydanticCustomError

from accord.canonical.currencies import CURRENCIES, quantum
from accord.canonical.diagnose import from_pydantic
from accord.canonical.types import CurrencyCode, ExactDecimal, in_range, parse_decimal
from accord.diagnostics import Diagnostic
from accord.errors import CurrencyMismatchError, MoneyError

__all__ = ["Money", "Rounding"]

# Arithmetic context: wide enough for any commerce amount, and it *traps* Inexact, so a sum or
# product that would need rounding raises instead of silently losing a digit.
_EXACT: Final = Context(prec=60, traps=[Inexact, InvalidOperation, DivisionByZero, Overflow])
# Rounding context: same width, but rounding is the point, so Inexact is not trapped.
_ROUNDING: Final = Context(prec=60, traps=[InvalidOperation, DivisionByZero, Overflow])
_PARSE_RE: Final = re.compile(r"^\s*(-?[0-9]+(?:\.[0-9]+)?)\s+([A-Za-z]{3})\s*$")


class Rounding(enum.StrEnum):
    """Rounding modes, named as in :mod:`decimal` without the ``ROUND_`` prefix.

    Banks and most tax authorities round half-even or half-up; pick the one your books use.
    """

    HALF_EVEN = "half_even"
    HALF_UP = "half_up"
    HALF_DOWN = "half_down"
    UP = "up"  # away from zero
    DOWN = "down"  # toward zero (truncate)
    CEILING = "ceiling"
    FLOOR = "floor"
    ZERO_FIVE_UP = "05up"

    @property
    def decimal_mode(self) -> str:
        """The :mod:`decimal` constant for this mode (``'ROUND_HALF_EVEN'``)."""
        return _DECIMAL_MODES[self]


_DECIMAL_MODES: Final = {
    Rounding.HALF_EVEN: ROUND_HALF_EVEN,
    Rounding.HALF_UP: ROUND_HALF_UP,
    Rounding.HALF_DOWN: ROUND_HALF_DOWN,
    Rounding.UP: ROUND_UP,
    Rounding.DOWN: ROUND_DOWN,
    Rounding.CEILING: ROUND_CEILING,
    Rounding.FLOOR: ROUND_FLOOR,
    Rounding.ZERO_FIVE_UP: ROUND_05UP,
}
# Also accept the decimal module's own constants ("ROUND_HALF_UP") as mode names.
_MODE_ALIASES: Final = {v: k for k, v in _DECIMAL_MODES.items()}


def _money_error(code: str, message: str, hint: str | None = None) -> MoneyError:
    return MoneyError(message, diagnostics=[Diagnostic(code=code, message=message, hint=hint)])


def _factor(value: object, what: str) -> Decimal:
    """An exact multiplier or weight; floats are refused like amounts are."""
    if isinstance(value, bool):
        raise _money_error("CAN009", f"{what} must be an int or Decimal, not a bool")
    try:
        return parse_decimal(value)
    except PydanticCustomError as exc:
        code = {"exact_float": "CAN010", "exact_range": "CAN005"}.get(exc.type, "CAN009")
        raise _money_error(code, f"{what}: {exc.message()}") from None


class Money(BaseModel):
    """An exact amount in one ISO 4217 currency; immutable and hashable.

    Build one positionally or by keyword; both forms validate:

    >>> Money("12.30", "USD") == Money(amount=Decimal("12.30"), currency="USD")
    True
    >>> Money(12.3, "USD")
    Traceback (most recent call last):
    ...
    accord.errors.MoneyError: amount: a float cannot hold an exact amount; ...
    """

    model_config = ConfigDict(
        frozen=True, extra="forbid", title="Money", use_attribute_docstrings=True
    )

    amount: ExactDecimal
    """The amount as an exact decimal; a string in JSON (``"12.30"``), scale kept."""
    currency: CurrencyCode
    """ISO 4217 currency code, upper case (``USD``)."""

    def __init__(self, amount: Decimal | int | str, currency: str) -> None:
        try:
            super().__init__(amount=amount, currency=currency)
        except PydanticValidationError as exc:
            diags = from_pydantic(exc)
            code = diags[0].code if diags else "CAN010"
            message = "; ".join(d.message for d in diags) or "invalid money"
            raise MoneyError(message, diagnostics=diags, code=code) from None

    # Marks this __init__ as pydantic's own (as pydantic's RootModel does), so validating a
    # nested ``{"amount": ..., "currency": ...}`` builds the instance in pydantic-core without
    # calling back into Python, and pydantic errors stay pydantic errors inside a record.
    __init__.__pydantic_base_init__ = True  # type: ignore[attr-defined]

    @classmethod
    def _make(cls, amount: Decimal, currency: str) -> Money:
        """Build from values known to be valid (results of arithmetic): no re-validation."""
        return cls.model_construct(amount=amount, currency=currency)

    @classmethod
    def _result(cls, compute: Callable[[], Decimal], currency: str, what: str) -> Money:
        """Build the result of arithmetic, refusing one that would not be exact or in range."""
        try:
            amount = compute()
            return cls._make(in_range(amount), currency)
        except (ArithmeticError, PydanticCustomError):
            # Inexact/Overflow from the exact context, or beyond the bounds amounts are read
            # with: either way the result could not be stored or sent without losing digits.
            raise _money_error("CAN005", f"{what} is out of range for an exact amount") from None

    @classmethod
    def zero(cls, currency: str) -> Money:
        """Zero at the currency's minor unit.

        >>> str(Money.zero("JPY")), str(Money.zero("KWD"))
        ('0 JPY', '0.000 KWD')
        """
        checked = cls(0, currency)
        return cls._make(Decimal(0).quantize(quantum(checked.currency)), checked.currency)

    @classmethod
    def parse(cls, text: str) -> Money:
        """Read the short text form used in case files and rule contexts: ``"100.00 USD"``.

        >>> Money.parse("100.00 USD")
        Money(amount=Decimal('100.00'), currency='USD')
        """
        match = _PARSE_RE.match(text) if isinstance(text, str) else None
        if match is None:
            raise _money_error("CAN009", f"{str(text)[:40]!r} is not money such as '12.30 USD'")
        return cls(match.group(1), match.group(2))

    @classmethod
    def from_minor_units(cls, units: int, currency: str) -> Money:
        """Money from an integer count of minor units (cents), as card APIs send it.

        >>> str(Money.from_minor_units(1230, "USD")), str(Money.from_minor_units(1230, "JPY"))
        ('12.30 USD', '1230 JPY')
        """
        if type(units) is not int:
            raise _money_error("CAN004", "minor units must be an int")
        code = cls(0, currency).currency
        return cls._result(
            lambda: Decimal(units).scaleb(-CURRENCIES[code], _EXACT), code, f"{units} minor units"
        )

    # -- properties ----------------------------------------------------------------------------

    @property
    def minor_units(self) -> int:
        """Digits of the currency's minor unit (2 for USD, 0 for JPY)."""
        return CURRENCIES[self.currency]

    def to_minor_units(self) -> int:
        """The amount as an integer count of minor units; refuses sub-minor precision.

        >>> Money("12.30", "USD").to_minor_units()
        1230
        """
        scaled = self.amount.scaleb(self.minor_units, _ROUNDING)
        if scaled != scaled.to_integral_value():
            raise _money_error(
                "CAN009",
                f"{self} has more digits than the {self.currency} minor unit; round it first",
            )
        return int(scaled)

    def is_zero(self) -> bool:
        """True when the amount is zero (of any scale)."""
        return self.amount.is_zero()

    # -- rounding and allocation --------------------------------------------------------------

    def round(self, mode: Rounding | str, *, places: int | None = None) -> Money:
        """Round to the currency's minor unit (or ``places`` digits) with an explicit mode.

        >>> str(Money("2.345", "USD").round("half_up")), str(Money("2.345", "USD").round("down"))
        ('2.35 USD', '2.34 USD')
        >>> str(Money("1234.5", "JPY").round(Rounding.HALF_EVEN))
        '1234 JPY'
        """
        rounding = _rounding(mode)
        if places is not None and (type(places) is not int or not -24 <= places <= 18):
            raise _money_error("CAN005", "places must be an int from -24 to 18")
        exp = quantum(self.currency) if places is None else Decimal(1).scaleb(-places)
        try:
            rounded = self.amount.quantize(exp, rounding=rounding.decimal_mode, context=_ROUNDING)
        except InvalidOperation:
            raise _money_error("CAN009", f"cannot round {self} to {exp}") from None
        return self._make(rounded, self.currency)

    def allocate(self, weights: Sequence[int | Decimal]) -> list[Money]:
        """Split into parts proportional to ``weights`` by the largest-remainder method.

        The parts always add up to exactly this amount. Each part is a whole number of the
        currency's minor units (or of the amount's own finer unit, when it has more digits),
        leftover units go to the parts with the largest remainders, ties to the earlier part,
        and a zero weight always gets zero.

        >>> [str(m) for m in Money("0.05", "USD").allocate([3, 7])]
        ['0.02 USD', '0.03 USD']
        >>> [str(m) for m in Money("-10", "JPY").allocate([1, 2])]
        ['-3 JPY', '-7 JPY']
        """
        if isinstance(weights, (str, bytes)) or not isinstance(weights, Sequence):
            raise _money_error("CAN009", "weights must be a list of ints or Decimals")
        if not weights:
            raise _money_error("CAN009", "cannot allocate across no parts")
        exact = [_factor(w, "weight") for w in weights]
        if any(w < 0 for w in exact):
            raise _money_error("CAN009", "weights must not be negative")
        total_weight = sum((Fraction(w) for w in exact), Fraction(0))
        if total_weight == 0:
            raise _money_error("CAN009", "at least one weight must be positive")

        # Work in integer units of the finer of the minor unit and the amount's own exponent.
        exponent = self.amount.as_tuple().exponent
        assert isinstance(exponent, int)  # finite by construction
        exp = min(-self.minor_units, exponent)
        units = int(self.amount.scaleb(-exp, _EXACT))
        sign = -1 if units < 0 else 1
        units = abs(units)

        shares = [Fraction(units) * Fraction(w) / total_weight for w in exact]
        parts = [int(share) for share in shares]  # floor: shares are non-negative
        leftover = units - sum(parts)
        by_remainder = sorted(range(len(shares)), key=lambda i: (parts[i] - shares[i], i))
        for i in by_remainder[:leftover]:
            parts[i] += 1
        return [self._make(Decimal(sign * p).scaleb(exp, _EXACT), self.currency) for p in parts]

    def split(self, n: int) -> list[Money]:
        """Split into ``n`` near-equal parts that add up exactly (earlier parts get the extra).

        >>> [str(m) for m in Money("10.00", "EUR").split(3)]
        ['3.34 EUR', '3.33 EUR', '3.33 EUR']
        """
        if type(n) is not int or n < 1:
            raise _money_error("CAN009", "split needs a positive int number of parts")
        return self.allocate([1] * n)

    # -- arithmetic ---------------------------------------------------------------------------

    def _check(self, other: Money, verb: str) -> None:
        if other.currency != self.currency:
            message = f"cannot {verb} {self} and {other}: the currencies differ"
            raise CurrencyMismatchError(
                message, diagnostics=[Diagnostic(code="CAN011", message=message)]
            )

    def __add__(self, other: object) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        self._check(other, "add")
        return self._result(lambda: _EXACT.add(self.amount, other.amount), self.currency, "sum")

    def __radd__(self, other: object) -> Money:
        # Lets sum(moneys) work: sum() starts from the int 0.
        if type(other) is int and other == 0:
            return self
        return NotImplemented

    def __sub__(self, other: object) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        self._check(other, "subtract")
        return self._result(
            lambda: _EXACT.subtract(self.amount, other.amount), self.currency, "difference"
        )

    def __mul__(self, factor: object) -> Money:
        if isinstance(factor, Money):
            raise _money_error("CAN009", "cannot multiply money by money")
        if not isinstance(factor, (int, Decimal, float)):
            return NotImplemented
        exact = _factor(factor, "factor")
        return self._result(lambda: _EXACT.multiply(self.amount, exact), self.currency, "product")

    __rmul__ = __mul__

    def __neg__(self) -> Money:
        return self._make(-self.amount, self.currency)

    def __pos__(self) -> Money:
        return self

    def __abs__(self) -> Money:
        return self._make(abs(self.amount), self.currency)

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Money):
            return NotImplemented
        self._check(other, "compare")
        return self.amount < other.amount

    def __le__(self, other: object) -> bool:
        if not isinstance(other, Money):
            return NotImplemented
        self._check(other, "compare")
        return self.amount <= other.amount

    def __gt__(self, other: object) -> bool:
        if not isinstance(other, Money):
            return NotImplemented
        self._check(other, "compare")
        return self.amount > other.amount

    def __ge__(self, other: object) -> bool:
        if not isinstance(other, Money):
            return NotImplemented
        self._check(other, "compare")
        return self.amount >= other.amount

    def __eq__(self, other: object) -> bool:
        # Value equality: 1.0 USD == 1.00 USD; different currencies are simply unequal.
        if not isinstance(other, Money):
            return NotImplemented
        return self.currency == other.currency and self.amount == other.amount

    def __hash__(self) -> int:
        return hash((self.amount, self.currency))

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"


def _rounding(mode: Rounding | str) -> Rounding:
    if isinstance(mode, Rounding):
        return mode
    if isinstance(mode, str):
        if mode in _MODE_ALIASES:
            return _MODE_ALIASES[mode]
        try:
            return Rounding(mode.lower())
        except ValueError:
            pass
    choices = ", ".join(m.value for m in Rounding)
    raise _money_error("CAN008", f"unknown rounding mode {mode!r}; choose one of {choices}")
