"""The store's JSON: orjson and the standard library write the same text."""

from __future__ import annotations

import dataclasses
import enum
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from accord.engine.runtime import _json

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.decimals(allow_nan=False, allow_infinity=False, places=4)
    | st.text()
    | st.datetimes(timezones=st.sampled_from([UTC, timezone(timedelta(hours=-5))]))
    | st.dates()
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


@given(values)
def test_fast_encoder_writes_the_standard_text(value: Any) -> None:
    assert _json.dumps(value) == _json.dumps_stdlib(value)


class Kind(enum.Enum):
    ORDER = "order"


@dataclasses.dataclass
class Line:
    sku: str
    qty: int


@dataclasses.dataclass
class WithToDict:
    sku: str

    def to_dict(self) -> dict[str, Any]:
        return {"SKU": self.sku}


def test_special_values_are_written_as_the_store_expects() -> None:
    value = {
        "amount": Decimal("10.50"),
        "at": datetime(2026, 3, 1, 23, 30, tzinfo=timezone(timedelta(hours=-5))),
        "naive": datetime(2026, 3, 1, 12, 0),
        "day": date(2026, 3, 1),
        "kind": Kind.ORDER,
        "tags": ("a", "b"),
        "line": Line("A", 2),
        "custom": WithToDict("B"),
        "text": "caf\u00e9 \u2028 \x01",
    }
    text = _json.dumps(value)
    assert text == _json.dumps_stdlib(value)
    assert text == (
        '{"amount":"10.50","at":"2026-03-02T04:30:00Z","naive":"2026-03-01T12:00:00",'
        '"day":"2026-03-01","kind":"order","tags":["a","b"],"line":{"sku":"A","qty":2},'
        '"custom":{"SKU":"B"},"text":"caf\u00e9 \u2028 \\u0001"}'
    )


def test_what_orjson_refuses_is_written_by_the_standard_encoder() -> None:
    value = {"big": 2**80, 1: "int key"}
    assert _json.dumps(value) == '{"big":1208925819614629174706176,"1":"int key"}'


def test_lone_surrogates_fall_back_to_the_standard_encoder() -> None:
    assert _json.dumps({"t": "\ud800"}) == '{"t":"\ud800"}'


def test_unknown_objects_are_refused_with_a_type_error() -> None:
    with pytest.raises(TypeError, match="cannot store a object"):
        _json.dumps({"x": object()})
