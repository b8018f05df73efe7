from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from accord.testing.match import (
    compare,
    format_path,
    parse_path,
    render_mismatches,
    scalars_equal,
    to_json_form,
)


def test_json_form_of_engine_values() -> None:
    at = datetime(2026, 3, 2, 11, 0, tzinfo=timezone(timedelta(hours=1)))
    assert to_json_form(
        {"total": {"amount": Decimal("12.30"), "currency": "USD"}, "at": at, "n": 3, "ok": True}
    ) == {
        "total": {"amount": "12.30", "currency": "USD"},
        "at": "2026-03-02T10:00:00Z",
        "n": 3,
        "ok": True,
    }


def test_partial_match_ignores_extra_keys_but_exact_reports_them() -> None:
    actual = {"id": "1", "total": {"amount": Decimal("5.00"), "currency": "USD"}, "note": "x"}
    assert compare({"id": "1", "total": {"amount": "5.00"}}, actual) == []
    found = compare({"id": "1", "total": {"amount": "5.00", "currency": "USD"}}, actual, exact=True)
    assert [(m.where, m.kind, m.actual) for m in found] == [("note", "unexpected", "x")]


def test_missing_key_value_and_length_differences_are_all_reported_in_path_order() -> None:
    actual = {"lines": [{"sku": "A"}, {"sku": "B"}], "status": "paid"}
    found = compare({"status": "pending", "lines": [{"sku": "A"}], "email": "a@b.c"}, actual)
    assert [(m.where, m.kind) for m in found] == [
        ("email", "missing"),
        ("lines", "length"),
        ("status", "value"),
    ]
    text = render_mismatches(found)
    assert 'email: expected "a@b.c", but the key is missing' in text
    assert "lines: expected 1 items, got 2" in text
    assert 'status: expected "pending", got "paid"' in text


def test_numbers_compare_by_value_but_ids_compare_as_text() -> None:
    assert scalars_equal("12.3", Decimal("12.30"))
    assert scalars_equal(2, Decimal("2"))
    assert not scalars_equal("007", "7")
    assert not scalars_equal(7, "7")  # an id that the engine emits as a string
    assert not scalars_equal("12.31", Decimal("12.30"))
    assert not scalars_equal(True, 1)
    assert not scalars_equal(None, "")


def test_timestamps_compare_as_instants() -> None:
    at = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    assert scalars_equal("2026-03-02T10:00:00Z", at)
    assert scalars_equal("2026-03-02T11:00:00+01:00", at)
    assert not scalars_equal("2026-03-02T10:00:01Z", at)
    assert not scalars_equal("not a time", at)


def test_type_mismatch_between_object_and_scalar() -> None:
    found = compare({"total": {"amount": "1"}}, {"total": "1 USD"})
    assert [(m.where, m.kind) for m in found] == [("total", "type")]


def test_ignore_paths_with_wildcards() -> None:
    actual = {
        "updated_at": "now",
        "lines": [{"id": "x1", "sku": "A"}, {"id": "x2", "sku": "B"}],
        "extra": {"a": 1},
    }
    expect = {
        "updated_at": "then",
        "lines": [{"id": "?", "sku": "A"}, {"id": "?", "sku": "B"}],
        "extra": {"a": 2},
    }
    assert compare(expect, actual, ignore=["updated_at", "lines[].id", "extra.*"]) == []
    left = compare(expect, actual, ignore=["updated_at", "lines[0].id"])
    assert [m.where for m in left] == ["extra.a", "lines[1].id"]


def test_ignore_also_silences_exact_extras() -> None:
    assert compare({"a": 1}, {"a": 1, "b": 2}, exact=True, ignore=["b"]) == []


def test_parse_and_format_paths() -> None:
    assert parse_path("lines[].unit_price.amount") == ("lines", None, "unit_price", "amount")
    assert parse_path("a[*].b[3]") == ("a", None, "b", 3)
    assert format_path(("lines", 0, "sku")) == "lines[0].sku"
    assert format_path(()) == "$"
    with pytest.raises(ValueError, match="cannot parse path"):
        parse_path("a[x]")


json_scalars = st.none() | st.booleans() | st.integers() | st.text(max_size=5)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3)
    ),
    max_leaves=10,
)


@given(json_values)
def test_a_value_always_matches_itself_exactly(value: object) -> None:
    assert compare(value, value, exact=True) == []


@given(json_values, json_values)
def test_compare_reports_a_difference_exactly_when_the_json_differs(a: object, b: object) -> None:
    found = compare(a, b, exact=True)
    same = json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)
    assert (found == []) == same


class _Decisionish:
    """An engine object that is not a Mapping but has a JSON form."""

    def to_dict(self) -> dict[str, object]:
        return {"outcomes": [{"kind": "approve", "amount": Decimal("10.50")}]}


def test_engine_objects_are_compared_through_their_dict_form() -> None:
    assert compare({"outcomes": [{"kind": "approve", "amount": "10.5"}]}, _Decisionish()) == []
    found = compare({"outcomes": [{"kind": "reject"}]}, _Decisionish())
    assert [(m.where, m.actual) for m in found] == [("outcomes[0].kind", "approve")]
