"""Every entity survives python form -> model -> JSON text -> model exactly, and its JSON form
matches the published JSON Schema (both drafts)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from _canonical_strategies import records
from hypothesis import given
from hypothesis import strategies as st
from jsonschema import Draft7Validator, Draft202012Validator

from accord.canonical import ENTITIES, from_json, to_json, validate_record
from accord.canonical.schema import entity_schema

_VALIDATORS = {entity: Draft202012Validator(entity_schema(entity)) for entity in ENTITIES}

# The entities with the most structure (nested lists, money in one currency, invariants) get
# their own run; every entity, these included, also round-trips in the sampled test below.
RICH = ["order", "product", "refund"]


def _leaves(value: Any, path: str = "") -> dict[str, Any]:
    """Flatten a python-form record into path -> leaf value, for exact comparisons."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            out.update(_leaves(item, f"{path}.{key}" if path else str(key)))
        return out
    if isinstance(value, list):
        out = {}
        for i, item in enumerate(value):
            out.update(_leaves(item, f"{path}[{i}]"))
        return out
    return {path: value}


def _check_round_trip(entity: str, record: dict[str, Any]) -> None:
    model = validate_record(entity, record)

    text = json.dumps(to_json(model))
    again = from_json(entity, text)

    assert again == model
    assert to_json(again) == to_json(model)
    # The python form a model dumps is accepted back as is (what outbound mappings read).
    assert to_json(validate_record(entity, model.model_dump())) == to_json(model)
    # Value by value against what went in: Decimal scale (as_tuple keeps trailing zeros),
    # aware datetimes (same instant), ids as the very same strings.
    dumped = _leaves(again.model_dump())
    for path, original in _leaves(record).items():
        if path not in dumped:
            continue  # dict keys (external_ids) are compared through to_json above
        got = dumped[path]
        if isinstance(original, Decimal):
            assert isinstance(got, Decimal), path
            assert got.as_tuple() == original.as_tuple(), path
        elif isinstance(original, datetime):
            assert got == original, path
            assert got.utcoffset() == timedelta(0), path
        elif isinstance(original, str) and path.endswith("email"):
            assert got == original.lower(), path
        elif isinstance(original, str):
            assert got == original, path

    # The JSON form is what the published schema describes.
    errors = sorted(_VALIDATORS[entity].iter_errors(json.loads(text)), key=lambda e: list(e.path))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors[:3]]


@pytest.mark.parametrize("entity", RICH)
@given(data=st.data())
def test_json_round_trip_is_exact_and_matches_the_schema(entity: str, data: st.DataObject) -> None:
    _check_round_trip(entity, data.draw(records(entity)))


@given(data=st.data())
def test_every_entity_round_trips_standalone(data: st.DataObject) -> None:
    entity = data.draw(st.sampled_from(sorted(ENTITIES)))
    _check_round_trip(entity, data.draw(records(entity)))


def test_eighteen_digit_ids_and_scale_survive_json_text() -> None:
    record = {
        "id": "shopify:820982911946154508",
        "external_ids": {"shopify": "820982911946154508"},
        "currency": "USD",
        "subtotal": {"amount": Decimal("10.10"), "currency": "USD"},
        "total": {"amount": Decimal("10.10"), "currency": "USD"},
        "lines": [
            {
                "sku": "A",
                "quantity": 1,
                "unit_price": {"amount": Decimal("10.10"), "currency": "USD"},
                "external_ids": {"shopify": "466157049000000001"},
            }
        ],
    }
    model = validate_record("order", record)
    text = json.dumps(to_json(model))
    assert '"820982911946154508"' in text
    assert '"10.10"' in text
    again = from_json("order", text)
    assert again.external_ids["shopify"] == "820982911946154508"
    assert again.lines[0].external_ids == {"shopify": "466157049000000001"}  # type: ignore[attr-defined]
    assert str(again.total.amount) == "10.10"  # type: ignore[attr-defined]
    # The draft-07 variant for editors accepts the same document.
    assert not list(Draft7Validator(entity_schema("order", "07")).iter_errors(json.loads(text)))
