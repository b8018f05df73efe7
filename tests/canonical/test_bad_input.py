"""Bad input never crashes: any value anywhere yields a record or a classified, located error."""

from __future__ import annotations

import copy
from datetime import datetime
from decimal import Decimal
from typing import Any

from _canonical_strategies import records
from hypothesis import given
from hypothesis import strategies as st

from accord.canonical import CODES, ENTITIES, validate_record
from accord.canonical.introspect import resolve_path
from accord.diagnostics import Diagnostic
from accord.errors import ValidationError

junk = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(),
        st.text(max_size=6),
        st.decimals(),
        st.datetimes(),
        st.binary(max_size=4),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=6,
)


def _slots(value: Any, path: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    """Every position in a record where a value could be swapped."""
    out = [path] if path else []
    if isinstance(value, dict):
        for key, item in value.items():
            out.extend(_slots(item, (*path, key)))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            out.extend(_slots(item, (*path, i)))
    return out


def _put(record: dict[str, Any], path: tuple[str | int, ...], value: Any) -> None:
    target: Any = record
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value


def _problems(entity: str, data: Any) -> tuple[Diagnostic, ...] | None:
    """None when the record is valid, else the diagnostics of the classified error."""
    try:
        validate_record(entity, data)
    except ValidationError as exc:
        return exc.diagnostics
    return None


def _check(entity: str, data: Any) -> None:
    # Anything but a ValidationError escaping validate_record fails the test by itself.
    problems = _problems(entity, data)
    if problems is None:
        return
    assert problems
    for diag in problems:
        assert diag.code in CODES, diag
        if diag.data_path is not None and diag.code != "CAN002":
            resolve_path(entity, diag.data_path)


@given(data=st.data())
def test_junk_anywhere_in_a_valid_record_is_classified(data: st.DataObject) -> None:
    entity = data.draw(st.sampled_from(["order", "refund", "product", "fulfillment"]))
    record = data.draw(records(entity))
    slots = _slots(record)
    if slots:
        path = data.draw(st.sampled_from(slots))
        broken = copy.deepcopy(record)
        _put(broken, path, data.draw(junk))
        _check(entity, broken)


@given(entity=st.sampled_from(sorted(ENTITIES)), value=junk)
def test_junk_as_a_whole_record_is_classified(entity: str, value: Any) -> None:
    _check(entity, value)


def test_values_python_might_choke_on() -> None:
    for value in (
        Decimal("NaN"),
        Decimal("-Infinity"),
        Decimal("1E+999999"),
        float("nan"),
        10**400,
        datetime.max,
        "9" * 5000,
        b"\xff",
    ):
        _check("order", {"id": "o1", "total": {"amount": value, "currency": "USD"}})
        _check("order", {"id": "o1", "placed_at": value})
        _check("order_line", {"quantity": value})
