"""Hypothesis strategies for canonical records, derived from the model's own description.

The strategy walks :func:`accord.canonical.introspect.describe`, so every entity (and every field
added later) is covered without a hand-written builder. Records come out in the *python form* a
compiled mapping produces: Decimal amounts, aware datetimes in assorted offsets, string ids.
Each record uses one currency, and the cross-field invariants are made to hold afterwards, so
the records validate with invariants on.
"""

from __future__ import annotations

import functools
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

from accord.canonical import CURRENCIES
from accord.canonical.introspect import FieldSpec, describe

CURRENCY_CODES = sorted(CURRENCIES)

#: Exact amounts with assorted scales, including trailing zeros ("0.00") and tiny exponents
#: that str(Decimal) would write in exponent notation ("1E-7").
decimals = st.builds(
    lambda units, scale: Decimal(units).scaleb(-scale),
    st.integers(min_value=-(10**15), max_value=10**15),
    st.integers(min_value=0, max_value=8),
)
non_negative_decimals = decimals.map(abs)

offsets = st.integers(min_value=-14 * 60, max_value=14 * 60).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)
aware_datetimes = st.builds(
    lambda naive, tz: naive.replace(tzinfo=tz),
    st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2099, 12, 31)),
    offsets,
)

#: Ids: mostly 18-digit numbers (beyond 2**53, as Shopify's are), sometimes free text.
ids = st.one_of(
    st.integers(min_value=10**17, max_value=10**18 - 1).map(str),
    st.text(min_size=1, max_size=8),
)
texts = st.text(max_size=8)
emails = st.from_regex(r"[a-z0-9._+-]{1,10}@[a-z0-9-]{1,10}\.[a-z]{2,4}", fullmatch=True)
countries = st.from_regex(r"[A-Z]{2}", fullmatch=True)
json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**40), max_value=2**40), texts
)


def _value(spec: FieldSpec, currency: str, depth: int = 0) -> st.SearchStrategy[Any]:
    kind = spec.kind
    if spec.name == "schema_version":
        return st.just(1)
    if kind == "money":
        return st.builds(lambda a: {"amount": a, "currency": currency}, decimals)
    if kind == "string":
        if spec.name == "currency":
            return st.just(currency)
        if spec.name == "email":
            return emails
        if spec.name == "country_code":
            return countries
        return ids
    if kind == "int":
        return st.integers(min_value=0, max_value=10**6)
    if kind == "decimal":
        return decimals
    if kind == "bool":
        return st.booleans()
    if kind == "datetime":
        return aware_datetimes
    if kind == "date":
        return st.dates()
    if kind == "enum":
        assert spec.enum_values
        return st.sampled_from(spec.enum_values)
    if kind == "any":
        return json_scalars
    if kind == "list":
        assert spec.item is not None
        # Nested lists stay short: depth costs generation time, not coverage.
        return st.lists(_value(spec.item, currency, depth + 1), max_size=2 if depth == 0 else 1)
    if kind == "dict":
        assert spec.item is not None
        keys = st.text(max_size=8) if spec.item.kind == "any" else ids
        size = 2 if depth == 0 else 1
        return st.dictionaries(keys, _value(spec.item, currency, depth + 1), max_size=size)
    if kind == "object":
        return _object(spec, currency, depth + 1)
    raise AssertionError(f"no strategy for kind {kind!r}")


def _object(spec: FieldSpec, currency: str, depth: int = 0) -> st.SearchStrategy[dict[str, Any]]:
    assert spec.children is not None
    fields = spec.children.items()
    required = {n: _value(c, currency, depth) for n, c in fields if c.required}
    optional = {n: _value(c, currency, depth) for n, c in fields if not c.required}
    return st.fixed_dictionaries(required, optional=optional)


def _money(amount: Decimal, currency: str) -> dict[str, Any]:
    return {"amount": amount, "currency": currency}


def _fix_order(data: dict[str, Any]) -> dict[str, Any]:
    """Make the totals reconcile and refunded <= captured, as a real order's would."""
    if data.get("subtotal") is not None:
        currency = data["subtotal"]["currency"]
        zero = Decimal(0)
        expected = (
            data["subtotal"]["amount"]
            - (data.get("discount_total") or {"amount": zero})["amount"]
            + (data.get("shipping_total") or {"amount": zero})["amount"]
        )
        if not data.get("taxes_included", False):
            expected += (data.get("tax_total") or {"amount": zero})["amount"]
        if data.get("total") is not None:
            data["total"] = _money(expected, currency)
    captured, refunded = data.get("captured_total"), data.get("refunded_total")
    if captured is not None and refunded is not None and refunded["amount"] > captured["amount"]:
        data["captured_total"], data["refunded_total"] = refunded, captured
    return data


def _fix_refund(data: dict[str, Any]) -> dict[str, Any]:
    """A refund is positive and at most what was captured."""
    if data.get("amount") is not None:
        amount = data["amount"]
        data["amount"] = _money(abs(amount["amount"]), amount["currency"])
        if data.get("captured") is not None:
            extra = abs(data["captured"]["amount"])
            data["captured"] = _money(data["amount"]["amount"] + extra, amount["currency"])
    else:
        data.pop("captured", None)
    return data


_FIXES = {"order": _fix_order, "refund": _fix_refund}


def _one_price_per_currency(value: Any) -> Any:
    """A variant lists at most one price per currency (every amount here shares one)."""
    if isinstance(value, dict):
        out = {k: _one_price_per_currency(v) for k, v in value.items()}
        prices = out.get("prices")
        if isinstance(prices, list):
            seen: set[Any] = set()
            kept = []
            for price in prices:
                currency = (
                    price.get("price", {}).get("currency") if isinstance(price, dict) else None
                )
                if currency not in seen:
                    seen.add(currency)
                    kept.append(price)
            out["prices"] = kept
        return out
    if isinstance(value, list):
        return [_one_price_per_currency(v) for v in value]
    return value


_PLACEHOLDER = "USD"


def _in_currency(value: Any, currency: str) -> Any:
    """Swap the placeholder currency for ``currency`` everywhere in a record."""
    if isinstance(value, dict):
        return {
            k: (currency if k == "currency" and v == _PLACEHOLDER else _in_currency(v, currency))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_in_currency(v, currency) for v in value]
    return value


@functools.cache
def records(entity: str) -> st.SearchStrategy[dict[str, Any]]:
    """Valid python-form records of ``entity``, all amounts in one (drawn) currency.

    Built once per entity: strategies are costly to construct and cheap to draw from, so the
    currency is drawn separately and substituted, rather than building a strategy per currency.
    """
    fix = _FIXES.get(entity, lambda d: d)
    shape = _object(describe(entity), _PLACEHOLDER)
    return st.tuples(st.sampled_from(CURRENCY_CODES), shape).map(
        lambda pair: fix(_one_price_per_currency(_in_currency(pair[1], pair[0])))
    )


__all__ = ["CURRENCY_CODES", "aware_datetimes", "decimals", "ids", "records"]
