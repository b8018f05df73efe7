from __future__ import annotations

import pickle
from collections.abc import Callable
from decimal import Decimal
from fractions import Fraction

import pytest
from _canonical_strategies import CURRENCY_CODES, decimals
from hypothesis import given
from hypothesis import strategies as st

from accord.canonical import CURRENCIES, Money, Rounding, minor_units
from accord.canonical.currencies import quantum
from accord.errors import CurrencyMismatchError, MoneyError, ValidationError


def usd(amount: str) -> Money:
    return Money(amount, "USD")


# -- currency table -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "digits"),
    [
        ("USD", 2),
        ("EUR", 2),
        ("GBP", 2),
        ("JPY", 0),
        ("KRW", 0),
        ("VND", 0),
        ("CLP", 0),
        ("ISK", 0),
        ("KWD", 3),
        ("BHD", 3),
        ("JOD", 3),
        ("OMR", 3),
        ("TND", 3),
        ("CLF", 4),
        ("UYW", 4),
        ("XOF", 0),
        ("XPF", 0),
    ],
)
def test_minor_units_follow_iso_4217(code: str, digits: int) -> None:
    assert minor_units(code) == digits
    assert quantum(code) == Decimal(1).scaleb(-digits)


def test_table_holds_active_currencies_only() -> None:
    assert len(CURRENCIES) > 150
    assert all(len(code) == 3 and code.isupper() for code in CURRENCIES)
    for gone in ("HRK", "XXX", "XTS", "XAU", "DEM", "LTL"):
        assert gone not in CURRENCIES
    for new in ("ZWG", "XCG", "SLE", "VED"):
        assert new in CURRENCIES


# -- construction -------------------------------------------------------------------------------


def test_positional_and_keyword_construction_agree() -> None:
    assert Money("12.30", "USD") == Money(amount=Decimal("12.30"), currency="USD")
    assert Money(5, "JPY").amount == Decimal(5)


def test_float_amount_is_refused_with_a_money_error_naming_the_field() -> None:
    with pytest.raises(MoneyError) as info:
        Money(12.3, "USD")  # type: ignore[arg-type]
    assert info.value.code == "CAN010"
    assert info.value.diagnostics[0].data_path == "amount"
    assert isinstance(info.value, ValidationError)
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize("bad", [True, None, "12,30", "1e5", "NaN", "", " 1", [1]])
def test_other_non_amounts_are_refused(bad: object) -> None:
    with pytest.raises(MoneyError) as info:
        Money(bad, "USD")  # type: ignore[arg-type]
    assert info.value.code == "CAN009"


def test_non_finite_decimal_is_refused() -> None:
    with pytest.raises(MoneyError):
        Money(Decimal("Infinity"), "USD")


@pytest.mark.parametrize(
    "bad", [Decimal("1E+24"), "1" * 25, 10**24, "0." + "0" * 18 + "1", Decimal("1E+999999")]
)
def test_amounts_beyond_24_integer_or_18_fraction_digits_are_refused(bad: object) -> None:
    with pytest.raises(MoneyError) as info:
        Money(bad, "USD")  # type: ignore[arg-type]
    assert info.value.code == "CAN005"


def test_the_largest_amounts_still_compute_exactly_or_refuse() -> None:
    big = Money("9" * 24 + "." + "9" * 18, "USD")
    assert (big - big).is_zero()
    with pytest.raises(MoneyError) as info:
        big + big  # 25 integer digits: could not be read back
    assert info.value.code == "CAN005"
    with pytest.raises(MoneyError):
        big * Decimal("1.000000000000000001")  # 84 digits: beyond the exact context
    assert Money("0.000000000000000001", "USD") * 3 == Money("0.000000000000000003", "USD")


@pytest.mark.parametrize("bad", ["XYZ", "US", "usdollar", "", "XXX"])
def test_unknown_currency_is_refused(bad: str) -> None:
    with pytest.raises(MoneyError) as info:
        Money("1.00", bad)
    assert info.value.code == "CAN012"
    assert info.value.diagnostics[0].data_path == "currency"


def test_lower_case_currency_is_upper_cased() -> None:
    assert Money("1.00", "eur").currency == "EUR"


def test_money_is_immutable_and_hashable() -> None:
    m = usd("1.00")
    with pytest.raises(Exception, match="frozen"):
        m.amount = Decimal(2)  # type: ignore[misc]
    assert len({usd("1.0"), usd("1.00"), usd("2")}) == 2
    assert pickle.loads(pickle.dumps(m)) == m


def test_json_form_keeps_scale() -> None:
    assert usd("12.30").model_dump(mode="json") == {"amount": "12.30", "currency": "USD"}
    assert Money("0.0000001", "USD").model_dump(mode="json")["amount"] == "0.0000001"
    assert Money.model_validate({"amount": "12.30", "currency": "USD"}).amount.as_tuple() == (
        Decimal("12.30").as_tuple()
    )


def test_parse_and_str() -> None:
    assert Money.parse("100.00 USD") == usd("100.00")
    assert Money.parse(" -3 jpy ") == Money(-3, "JPY")
    assert str(Money("1234.5", "EUR")) == "1234.5 EUR"
    for bad in ("100 dollars", "USD 100", "1.00", ""):
        with pytest.raises(MoneyError):
            Money.parse(bad)


def test_minor_unit_conversions() -> None:
    assert Money.from_minor_units(1230, "USD") == usd("12.30")
    assert str(Money.from_minor_units(1230, "KWD")) == "1.230 KWD"
    assert usd("12.30").to_minor_units() == 1230
    with pytest.raises(MoneyError):
        usd("12.305").to_minor_units()
    assert str(Money.zero("BHD")) == "0.000 BHD"
    with pytest.raises(MoneyError) as info:
        Money.from_minor_units(10**70, "USD")
    assert info.value.code == "CAN005"


# -- arithmetic ---------------------------------------------------------------------------------


def test_arithmetic_is_exact() -> None:
    assert usd("0.10") + usd("0.20") == usd("0.30")
    assert str(usd("0.10") + usd("0.20")) == "0.30 USD"
    assert usd("10.00") - usd("0.01") == usd("9.99")
    assert usd("19.99") * 3 == usd("59.97")
    assert 3 * usd("19.99") == usd("59.97")
    assert usd("10.00") * Decimal("0.075") == usd("0.75000")
    assert -usd("1.50") == usd("-1.50")
    assert abs(usd("-1.50")) == usd("1.50")
    assert sum([usd("1.00"), usd("2.50")]) == usd("3.50")


def test_comparisons() -> None:
    assert usd("1.00") < usd("1.01") <= usd("1.01") < usd("2")
    assert usd("3") > usd("2.99") >= usd("2.99")
    assert usd("1.0") == usd("1.00")
    assert usd("1.00") != Money("1.00", "EUR")


def test_mixed_currency_arithmetic_raises_currency_mismatch() -> None:
    eur = Money("1.00", "EUR")
    for op in (
        lambda: usd("1") + eur,
        lambda: usd("1") - eur,
        lambda: usd("1") < eur,
        lambda: usd("1") >= eur,
    ):
        with pytest.raises(CurrencyMismatchError) as info:
            op()
        assert info.value.code == "CAN011"
        assert isinstance(info.value, TypeError)
        assert isinstance(info.value, MoneyError)


def test_multiplying_by_a_float_or_money_is_refused() -> None:
    with pytest.raises(MoneyError) as info:
        usd("1.00") * 1.5
    assert info.value.code == "CAN010"
    with pytest.raises(MoneyError):
        usd("1.00") * usd("2.00")
    with pytest.raises(TypeError):
        usd("1.00") + 1


# -- rounding -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "mode", "expected"),
    [
        ("2.345", Rounding.HALF_EVEN, "2.34"),
        ("2.355", Rounding.HALF_EVEN, "2.36"),
        ("2.345", Rounding.HALF_UP, "2.35"),
        ("2.345", Rounding.HALF_DOWN, "2.34"),
        ("2.341", Rounding.UP, "2.35"),
        ("2.349", Rounding.DOWN, "2.34"),
        ("-2.341", Rounding.CEILING, "-2.34"),
        ("-2.341", Rounding.FLOOR, "-2.35"),
        ("2.345", "half_up", "2.35"),
        ("2.345", "ROUND_HALF_UP", "2.35"),
        ("2", Rounding.HALF_EVEN, "2.00"),
    ],
)
def test_round_to_the_minor_unit_with_an_explicit_mode(
    amount: str, mode: Rounding | str, expected: str
) -> None:
    rounded = usd(amount).round(mode)
    assert str(rounded.amount) == expected


def test_round_respects_the_currency_and_places() -> None:
    assert str(Money("1234.5", "JPY").round(Rounding.HALF_UP).amount) == "1235"
    assert str(Money("1.23456", "KWD").round(Rounding.HALF_EVEN).amount) == "1.235"
    assert str(usd("1.23456").round(Rounding.DOWN, places=4).amount) == "1.2345"


def test_round_places_must_be_a_small_int() -> None:
    for bad in (1.5, "2", 40):
        with pytest.raises(MoneyError):
            usd("1.005").round(Rounding.HALF_UP, places=bad)  # type: ignore[arg-type]


def test_round_needs_a_known_mode() -> None:
    with pytest.raises(MoneyError) as info:
        usd("1.005").round("bankers")
    assert info.value.code == "CAN008"


# -- allocation ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "currency", "weights", "expected"),
    [
        ("100.00", "USD", [1, 1, 1], ["33.34", "33.33", "33.33"]),
        ("0.05", "USD", [3, 7], ["0.02", "0.03"]),
        ("10", "JPY", [1, 1, 1], ["4", "3", "3"]),
        ("1.000", "KWD", [1, 2], ["0.333", "0.667"]),
        ("10.00", "USD", [0, 1], ["0.00", "10.00"]),
        ("-10.00", "USD", [1, 2], ["-3.33", "-6.67"]),
        ("10.005", "USD", [1, 1], ["5.003", "5.002"]),
        ("0.01", "USD", [Decimal("0.5"), Decimal("0.5")], ["0.01", "0.00"]),
    ],
)
def test_allocate_examples(
    amount: str, currency: str, weights: list[int | Decimal], expected: list[str]
) -> None:
    parts = Money(amount, currency).allocate(weights)
    assert [str(p.amount) for p in parts] == expected
    assert all(p.currency == currency for p in parts)


@pytest.mark.parametrize("bad", [[], [0, 0], [1, -1], [1.5, 1], "12", 3])
def test_allocate_refuses_bad_weights(bad: object) -> None:
    with pytest.raises(MoneyError):
        usd("1.00").allocate(bad)  # type: ignore[arg-type]


def test_split() -> None:
    assert [str(p.amount) for p in Money("10.00", "EUR").split(3)] == ["3.34", "3.33", "3.33"]
    with pytest.raises(MoneyError):
        usd("1").split(0)


weights = st.lists(
    st.one_of(
        st.integers(min_value=0, max_value=10**6),
        st.decimals(min_value=0, max_value=10**4, places=3, allow_nan=False),
    ),
    min_size=1,
    max_size=12,
).filter(lambda ws: any(w > 0 for w in ws))


@given(amount=decimals, currency=st.sampled_from(CURRENCY_CODES), ws=weights)
def test_allocate_always_sums_exactly_to_the_whole(
    amount: Decimal, currency: str, ws: list[int | Decimal]
) -> None:
    money = Money(amount, currency)
    parts = money.allocate(ws)

    assert len(parts) == len(ws)
    assert sum(p.amount for p in parts) == amount
    assert sum(parts[1:], parts[0]) == money
    # Each part is a whole number of the unit used (the minor unit, or finer if the amount is).
    own = amount.as_tuple().exponent
    assert isinstance(own, int)
    exponent = min(-minor_units(currency), own)
    unit = Fraction(1, 10**-exponent)
    total_weight = sum(Fraction(w) for w in ws)
    for part, w in zip(parts, ws, strict=True):
        assert part.currency == currency
        assert (Fraction(part.amount) / unit).denominator == 1
        exact_share = Fraction(amount) * Fraction(w) / total_weight
        # Largest remainder: never more than one unit away from the exact share.
        assert abs(Fraction(part.amount) - exact_share) < unit
        if w == 0:
            assert part.amount == 0


bounded = st.decimals(
    min_value=Decimal("-999999999999999999999999.999999999999999999"),
    max_value=Decimal("999999999999999999999999.999999999999999999"),
    places=18,
    allow_nan=False,
    allow_infinity=False,
)


def _outcome(op: Callable[[], Money]) -> Money | str:
    """The result, or the code of the MoneyError: any other exception fails the test."""
    try:
        return op()
    except MoneyError as exc:
        return exc.code


@given(
    a=bounded,
    b=bounded,
    factor=st.one_of(bounded, st.integers()),
    mode=st.sampled_from(Rounding),
)
def test_arithmetic_is_exact_or_refused_never_a_raw_error(
    a: Decimal, b: Decimal, factor: Decimal | int, mode: Rounding
) -> None:
    x, y = Money(a, "USD"), Money(b, "USD")
    fa, fb = Fraction(a), Fraction(b)
    for op, exact in (
        (lambda: x + y, fa + fb),
        (lambda: x - y, fa - fb),
        (lambda: x * factor, fa * Fraction(factor)),
    ):
        outcome = _outcome(op)
        if isinstance(outcome, str):
            assert outcome == "CAN005"  # beyond the bounds or the exact context: refused
        else:
            assert Fraction(outcome.amount) == exact  # never silently rounded
    rounded = _outcome(lambda: x.round(mode))
    assert not isinstance(rounded, str)
    assert abs(Fraction(rounded.amount) - fa) < Fraction(1, 100)
