"""Run-time behaviour a single compliance case cannot show: diagnostics in detail, PII
redaction, batches that continue past a bad record, warnings, and the generated code."""

from __future__ import annotations

import json
import pickle
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from accord.diagnostics import Diagnostic
from accord.engine.mapping import CompiledMapping, MappingSpec, compile_mapping
from accord.engine.mapping.runtime import holds_pii, is_pii, redact
from accord.errors import AccordError, ErrorClass, MappingError

HEADER = {
    "mapping": "test.order.inbound",
    "channel": "test",
    "direction": "inbound",
    "source": "test.order",
    "target": "order",
    "version": 4,
}


def compiled(fields: dict[str, Any], **header: Any) -> CompiledMapping:
    return compile_mapping(MappingSpec.from_dict({**HEADER, **header, "fields": fields}))


def test_mapping_error_is_classified_and_picklable() -> None:
    mapping = compiled({"price": {"from": "price", "as": "decimal"}})
    with pytest.raises(MappingError) as caught:
        mapping.apply({"price": "abc"}, record_id="r1")
    err = caught.value
    assert isinstance(err, AccordError)
    assert isinstance(err, ValueError)
    assert err.error_class is ErrorClass.VALIDATION
    assert not err.error_class.retryable
    diag = err.diagnostics[0]
    assert dict(diag.details) == {
        "classification": "type",
        "target": "price",
        "value": "'abc'",
    }
    again = pickle.loads(pickle.dumps(err))
    assert again.diagnostics == err.diagnostics
    assert Diagnostic.from_dict(diag.to_dict()) == diag


@pytest.mark.parametrize(
    ("fields", "payload", "secret"),
    [
        ({"email": {"from": "email", "as": "int"}}, {"email": "bob@example.com"}, "bob@"),
        (
            {"c": {"from": "customer.phone", "as": "int"}},
            {"customer": {"phone": "555-625-1199"}},
            "555",
        ),
        (
            {
                "ship": {
                    "from": "shipping_address",
                    "fields": {"line1": {"from": "address1", "as": "int"}},
                }
            },
            {"shipping_address": {"address1": "Chestnut Street 92"}},
            "Chestnut",
        ),
        ({"buyer": {"from": "BuyerEmail", "map": {"x": "y"}}}, {"BuyerEmail": "a@b.co"}, "a@b"),
        ({"zip": {"from": "zip", "as": "bool"}}, {"zip": "40202"}, "40202"),
        # a path ending in an index reads an element of a personal list
        ({"e": {"from": "emails[0]", "as": "int"}}, {"emails": ["secret@x.com"]}, "secret"),
        (
            {"a": {"from": "ShippingAddress.AddressLines[0]", "as": "int"}},
            {"ShippingAddress": {"AddressLines": ["12 Secret Rd"]}},
            "Secret",
        ),
        # a neutral key holding an object with personal fields inside
        (
            {"b": {"from": "BuyerInfo", "transform": ["strip"]}},
            {"BuyerInfo": {"BuyerEmail": "secret@x.com", "BuyerName": "Jane Secret"}},
            "Secret",
        ),
        (
            {"b": {"from": "customer", "as": "string"}},
            {"customer": {"email": "secret@x.com", "first_name": "Jane"}},
            "secret",
        ),
        (
            {"s": {"from": "status", "map": {"paid": "paid"}}},
            {"status": {"contact": {"phone": "555-625-1199"}}},
            "555",
        ),
        (
            {"s": {"from": "meta", "as": "int"}},
            {"meta": [{"k": 1}, {"ship_to": {"name": "Jane Secret"}}]},
            "Secret",
        ),
        # a field read inside a personal object is personal though its own key is neutral
        (
            {"ship": {"from": "ShippingAddress", "fields": {"n": {"from": "Name", "as": "int"}}}},
            {"ShippingAddress": {"Name": "Jane Secret"}},
            "Secret",
        ),
        # `each:` over a personal list, and elements holding personal fields
        (
            {"l": {"each": "ShippingAddress.AddressLines", "fields": {"n": {"from": "q"}}}},
            {"ShippingAddress": {"AddressLines": ["12 Secret Rd"]}},
            "Secret",
        ),
        (
            {"l": {"each": "emails", "fields": {"n": {"from": "q"}}}},
            {"emails": "secret@x.com"},
            "secret",
        ),
        (
            {"l": {"each": "people", "fields": {"n": {"from": "q"}}}},
            {"people": [[{"email": "secret@x.com"}]]},
            "secret",
        ),
        (
            {"l": {"each": "people", "fields": {"n": {"from": "q"}}}},
            {"people": {"email": "secret@x.com"}},
            "secret",
        ),
        (
            {"l": {"each": "tracking", "transform": ["upper"]}},
            {"tracking": [{"recipient": {"address1": "12 Secret Rd"}}]},
            "Secret",
        ),
    ],
)
def test_personal_values_are_redacted(fields: dict[str, Any], payload: Any, secret: str) -> None:
    mapping = compiled(fields)
    with pytest.raises(MappingError) as caught:
        mapping.apply(payload)
    text = json.dumps([d.to_dict() for d in caught.value.diagnostics]) + str(caught.value)
    assert secret not in text
    assert "<redacted" in text


def test_non_personal_values_are_shown() -> None:
    mapping = compiled({"qty": {"from": "quantity", "as": "int"}})
    with pytest.raises(MappingError) as caught:
        mapping.apply({"quantity": "three"})
    assert dict(caught.value.diagnostics[0].details)["value"] == "'three'"
    # objects and lists without a personal field inside are shown as they are
    with pytest.raises(MappingError) as caught:
        mapping.apply({"quantity": {"value": "3", "unit": "each"}})
    assert dict(caught.value.diagnostics[0].details)["value"] == "{'value': '3', 'unit': 'each'}"
    tags = compiled({"tag": {"from": "tags[0]", "as": "int"}})
    with pytest.raises(MappingError) as caught:
        tags.apply({"tags": ["gift"]})
    assert dict(caught.value.diagnostics[0].details)["value"] == "'gift'"


def test_redacted_values_keep_their_shape() -> None:
    mapping = compiled({"b": {"from": "BuyerInfo", "as": "string"}})
    with pytest.raises(MappingError) as caught:
        mapping.apply({"BuyerInfo": {"BuyerEmail": "a@b.co", "BuyerName": "Jane"}})
    diag = caught.value.diagnostics[0]
    assert dict(diag.details)["value"] == "<redacted object, 2 keys>"
    assert diag.data_path == "BuyerInfo"
    assert diag.message == "b: cannot read object as string (got <redacted object, 2 keys>)"


def test_long_values_are_shortened() -> None:
    mapping = compiled({"qty": {"from": "quantity", "as": "int"}})
    with pytest.raises(MappingError) as caught:
        mapping.apply({"quantity": "x" * 500})
    assert len(dict(caught.value.diagnostics[0].details)["value"]) == 80


def test_pii_detection() -> None:
    assert is_pii("BuyerInfo.BuyerEmail")
    assert is_pii("billing_address.first_name")
    assert is_pii("lines[].contact_phone")
    assert not is_pii("total_price")
    assert not is_pii("name")  # Shopify's order name (#1001) is not personal
    assert is_pii("customer.name")
    assert is_pii("ShippingAddress.Name")
    assert redact(["a"]) == "<redacted list, 1 item>"
    assert redact({"a": 1, "b": 2}) == "<redacted object, 2 keys>"
    assert redact(12) == "<redacted number>"
    # an index, wildcard or slice at the end names an element of the list before it
    assert is_pii("emails[0]")
    assert is_pii("street[0]")
    assert is_pii("ShippingAddress.AddressLines[-1]")
    assert is_pii("customer.phones[*]")
    assert is_pii("addresses[0:2]")
    assert not is_pii("tags[0]")
    assert not is_pii("line_items[0].name")
    assert is_pii("customers[0].name")
    # containers: personal by any key inside, or by the path they were read at
    assert holds_pii({"BuyerEmail": "a@b.co"})
    assert holds_pii([[{"deep": {"phone": "1"}}]])
    assert holds_pii({"name": "Jane"}, "billing_address")
    assert not holds_pii({"name": "Hat", "sku": "H-1", "qty": 2})
    assert not holds_pii(["gift", "sale"], "tags")
    assert holds_pii({f"k{i}": i for i in range(5000)})  # too large to scan: assume personal


def test_a_batch_continues_past_bad_records() -> None:
    mapping = compiled(
        {"id": {"from": "id", "as": "string", "required": True}, "qty": {"from": "q", "as": "int"}}
    )
    batch = [{"id": 1, "q": "1"}, {"q": "2"}, {"id": 3, "q": "x"}, [], {"id": 5, "q": 5}]
    ok, failed = [], []
    for i, payload in enumerate(batch):
        try:
            ok.append(mapping.apply(payload, record_id=f"rec-{i}"))
        except MappingError as exc:
            failed.append((exc.diagnostics[0].record_id, exc.code))
    assert ok == [{"id": "1", "qty": 1}, {"id": "5", "qty": 5}]
    assert failed == [("rec-1", "MAP201"), ("rec-2", "MAP203"), ("rec-3", "MAP200")]


def test_warnings_are_collected_only_when_asked() -> None:
    mapping = compiled(
        {"status": {"from": "s", "map": {"paid": "paid"}, "unknown": "warn", "default": "open"}}
    )
    assert mapping.apply({"s": "void"}) == {"status": "open"}
    warnings: list[Diagnostic] = []
    assert mapping.apply({"s": "void"}, record_id="o-9", warnings=warnings) == {"status": "open"}
    (warning,) = warnings
    assert warning.code == "MAP250"
    assert warning.severity == "warning"
    assert warning.record_id == "o-9"
    assert warning.data_path == "s"
    assert "'void' is not in the map" in warning.message


def test_float_money_warning_names_no_field_but_is_recorded() -> None:
    mapping = compiled({"t": {"from": "t", "as": "money", "currency": "USD"}})
    warnings: list[Diagnostic] = []
    record = mapping.apply(json.loads('{"t": 0.1}'), warnings=warnings)
    assert record == {"t": {"amount": Decimal("0.1"), "currency": "USD"}}
    assert [w.code for w in warnings] == ["MAP251"]


def test_the_hot_path_is_plain_code() -> None:
    """The compiled source reads plain paths by subscript and calls no interpreter."""
    mapping = compiled(
        {
            "email": {"from": "customer.email"},
            "id": {"from": "id", "as": "string"},
            "total": {"from": "total_price", "as": "money", "currency": {"from": "currency"}},
        }
    )
    source = mapping.source
    assert "R['customer']['email']" in source
    assert "R.get('id')" in source
    assert "jmespath" not in source
    assert "_search" not in source
    assert "TRANSFORMS" not in source


def test_jmespath_is_compiled_once() -> None:
    mapping = compiled({"n": {"from": "length(items)"}})
    assert "_search(_J" in mapping.source
    assert mapping.apply({"items": [1, 2]}) == {"n": 2}


def test_consumed_paths() -> None:
    mapping = compiled(
        {
            "id": "id",
            "email": {"from": ["customer.email", "email"]},
            "ship": {"from": "shipping_address", "fields": {"city": "city"}},
            "lines": {
                "each": "line_items",
                "fields": {"sku": "sku", "cur": {"from": "$root.currency"}},
            },
            "gift": {"from": "note_attributes[?name=='gift'].value | [0]"},
            "tracking": {"each": "tracking_numbers"},
            "name": {"from": "billing", "transform": [{"template": "{first} {last}"}]},
        },
        extra=["source_name"],
    )
    assert mapping.consumed_paths == {
        "id",
        "customer.email",
        "email",
        "shipping_address.city",
        "line_items[].sku",
        "currency",
        "note_attributes",
        "tracking_numbers[]",
        "billing",
        "billing.first",
        "billing.last",
        "source_name",
    }


def test_apply_is_reentrant_and_does_not_mutate_input() -> None:
    mapping = compiled(
        {"lines": {"each": "items", "fields": {"sku": {"from": "sku", "transform": ["upper"]}}}}
    )
    payload = {"items": [{"sku": "a"}]}
    before = json.dumps(payload)
    first = mapping.apply(payload)
    second = mapping.apply(payload)
    assert first == second == {"lines": [{"sku": "A"}]}
    assert first is not second
    assert first["lines"] is not second["lines"]
    assert json.dumps(payload) == before


def test_repr_and_identity() -> None:
    mapping = compiled({"id": "id"})
    assert mapping.id == "test.order.inbound"
    assert mapping.version == 4
    assert repr(mapping) == "<CompiledMapping test.order.inbound v4>"
    assert mapping({"id": 1}) == {"id": 1}


def test_dict_subclasses_are_payloads() -> None:
    class Payload(dict[str, Any]):
        pass

    mapping = compiled({"email": "customer.email"})
    assert mapping.apply(Payload(customer=Payload(email="x"))) == {"email": "x"}


def test_deep_payloads_do_not_crash(tmp_path: Path) -> None:
    deep: Any = "x"
    for _ in range(5000):
        deep = {"a": deep}
    mapping = compiled({"all": {"from": "@"}, "a": {"from": "a.a.a"}})
    record = mapping.apply(deep)
    assert record["all"] is deep


def test_outbound_timestamps_become_iso_text() -> None:
    from datetime import UTC, date, datetime, timedelta, timezone

    mapping = compiled(
        {
            "at": {"from": "placed_at", "as": "string"},
            "day": {"from": "due", "as": "string"},
            "stamp": {"from": "placed_at", "transform": [{"format_datetime": "%Y%m%d%H"}]},
        }
    )
    paris = timezone(timedelta(hours=2))
    record = mapping.apply(
        {"placed_at": datetime(2024, 3, 1, 10, tzinfo=paris), "due": date(2024, 3, 9)}
    )
    assert record == {"at": "2024-03-01T08:00:00Z", "day": "2024-03-09", "stamp": "2024030108"}
    naive = mapping.apply({"placed_at": datetime(2024, 3, 1, 10)})
    assert naive["at"] == "2024-03-01T10:00:00Z"
    assert mapping.apply({"placed_at": datetime(2024, 3, 1, tzinfo=UTC)})["stamp"] == "2024030100"


def test_a_spec_nested_too_deeply_is_a_spec_error() -> None:
    from accord.errors import SpecError

    fields: dict[str, Any] = {"x": {"from": "x", "when": "x"}}
    for _ in range(12):
        fields = {"l": {"each": "l", "when": "l", "fields": {"o": {"from": "o", "fields": fields}}}}
    with pytest.raises(SpecError) as caught:
        compiled(fields)
    assert caught.value.code == "MAP009"
    assert "too deeply" in str(caught.value)


def test_realistic_nesting_compiles() -> None:
    fields: dict[str, Any] = {"x": {"from": "x", "when": "x"}}
    for _ in range(4):
        fields = {"l": {"each": "l", "when": "l", "fields": {"o": {"from": "o", "fields": fields}}}}
    payload: Any = {"x": 1}
    for _ in range(4):
        payload = {"l": [{"o": payload}]}
    record = compiled(fields).apply(payload)
    for _ in range(4):
        record = record["l"][0]["o"]
    assert record == {"x": 1}


@pytest.mark.parametrize(
    ("payload", "target", "data_path"),
    [
        ({"a": "1", "ship": {"zip": "x"}, "lines": [{"q": "2"}], "z": "x"}, "ship.zip", "ship.zip"),
        ({"a": "x", "ship": {"zip": "1"}, "lines": [{"q": "2"}], "z": "1"}, "a", "a"),
        ({"a": "1", "ship": {"zip": "1"}, "lines": [{"q": "2"}, {"q": "?"}], "z": "1"},
         "lines[].quantity", "lines[1].q"),
        ({"a": "1", "ship": {"zip": "1"}, "lines": [], "z": "no"}, "last", "z"),
        ({"a": "1", "ship": "flat", "lines": [], "z": "1"}, "ship", "ship"),
    ],
)  # fmt: skip
def test_a_failure_names_the_field_whose_code_raised(
    payload: dict[str, Any], target: str, data_path: str
) -> None:
    """Failures are located from the generated line that raised, at every nesting level."""
    mapping = compiled(
        {
            "first": {"from": "a", "as": "int"},
            "ship": {"from": "ship", "fields": {"zip": {"from": "zip", "as": "int"}}},
            "lines": {"each": "lines", "fields": {"quantity": {"from": "q", "as": "int"}}},
            "last": {"from": "z", "as": "int"},
        }
    )
    with pytest.raises(MappingError) as caught:
        mapping.apply(payload, record_id="r9")
    (diag,) = caught.value.diagnostics
    assert diag.code != "MAP209"
    want = "first" if target == "a" else target
    assert dict(diag.details)["target"] == want
    assert diag.data_path == data_path
    assert diag.record_id == "r9"
