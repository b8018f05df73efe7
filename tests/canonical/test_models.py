"""Validation of canonical records: both input forms, bad input, invariants (hard and flagged)."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from accord.canonical import (
    CODES,
    ENTITIES,
    SCHEMA_VERSION,
    CanonicalModel,
    FinancialStatus,
    Money,
    Order,
    Refund,
    check_invariants,
    from_json,
    to_json,
    validate_record,
)
from accord.errors import ValidationError


def money(amount: str, currency: str = "USD") -> dict[str, Any]:
    return {"amount": Decimal(amount), "currency": currency}


def shopify_order() -> dict[str, Any]:
    """A Shopify REST order as a compiled mapping would emit it (python form)."""
    return {
        "id": "shopify:5412345678901234567",
        "external_ids": {"shopify": "5412345678901234567"},
        "channel": "shopify",
        "number": "#1001",
        "placed_at": datetime(2024, 4, 10, 11, 0, tzinfo=timezone(timedelta(hours=-5))),
        "currency": "USD",
        "financial_status": "partially_refunded",
        "customer": {
            "external_ids": {"shopify": "207119551"},
            "email": "  Bob.Norman@HostMail.com ",
            "first_name": "Bob",
            "accepts_marketing": False,
        },
        "shipping_address": {"line1": "123 Amoebobacterium St", "country_code": "us"},
        "lines": [
            {
                "external_ids": {"shopify": "466157049"},
                "sku": "IPOD2008GREEN",
                "title": "IPod Nano - 8gb",
                "variant_title": "green",
                "quantity": 1,
                "unit_price": money("199.00"),
                "requires_shipping": True,
                "tax_lines": [
                    {"title": "State Tax", "rate": Decimal("0.06"), "amount": money("3.98")}
                ],
            },
            {
                "external_ids": {"shopify": "518995019"},
                "sku": "IPOD2008RED",
                "quantity": 2,
                "unit_price": money("199.00"),
                "discount_total": money("10.00"),
            },
        ],
        "tax_lines": [{"title": "State Tax", "rate": Decimal("0.06"), "amount": money("11.94")}],
        "discounts": [{"code": "TENOFF", "kind": "fixed_amount", "amount": money("10.00")}],
        "subtotal": money("597.00"),
        "discount_total": money("10.00"),
        "shipping_total": money("0.00"),
        "tax_total": money("11.94"),
        "total": money("598.94"),
        "captured_total": money("598.94"),
        "refunded_total": money("399.29"),
        "taxes_included": False,
        "tags": ["vip"],
        "extra": {"source_name": "web"},
    }


def codes_and_paths(exc: ValidationError) -> list[tuple[str, str | None]]:
    return [(d.code, d.data_path) for d in exc.diagnostics]


# -- entities and the happy path ---------------------------------------------------------------


def test_entities_are_keyed_by_snake_case_name() -> None:
    for name in (
        "order",
        "order_line",
        "customer",
        "address",
        "product",
        "variant",
        "inventory_level",
        "inventory_adjustment",
        "fulfillment",
        "return",
        "refund",
    ):
        assert name in ENTITIES
        assert ENTITIES[name].entity == name
        assert issubclass(ENTITIES[name], CanonicalModel)
        fields = ENTITIES[name].model_fields
        assert {"external_ids", "extra", "schema_version"} <= set(fields)


def test_issue_field_names_exist() -> None:
    wanted = {
        "order": "id external_ids channel number placed_at updated_at currency financial_status "
        "fulfillment_status cancelled_at customer billing_address shipping_address lines "
        "shipping_lines tax_lines discounts subtotal shipping_total tax_total discount_total "
        "total taxes_included tags extra",
        "order_line": "external_ids sku title variant_title quantity unit_price discount_total "
        "tax_lines total requires_shipping extra",
        "customer": "external_ids email phone first_name last_name accepts_marketing",
        "tax_line": "title rate amount",
        "variant": "sku title options barcode price compare_at_price weight status",
        "product": "media status variants",
        "inventory_level": "sku location on_hand reserved incoming available updated_at",
        "inventory_adjustment": "delta reason idempotency_key",
        "fulfillment": "lines carrier tracking_numbers tracking_urls status shipped_at",
        "return": "rma_id lines reason_code condition resolution",
        "refund": "order_external_ids amount lines restock reason transactions "
        "idempotency_key created_at",
    }
    for entity, names in wanted.items():
        missing = set(names.split()) - set(ENTITIES[entity].model_fields)
        assert not missing, (entity, missing)
    assert "variant_skus" in ENTITIES["media"].model_fields


def test_a_real_shaped_order_validates_and_normalises() -> None:
    order = validate_record("order", shopify_order())
    assert isinstance(order, Order)
    assert order.schema_version == SCHEMA_VERSION == 1
    assert order.placed_at == datetime(2024, 4, 10, 16, 0, tzinfo=UTC)
    assert order.placed_at is not None
    assert order.placed_at.tzinfo is UTC
    assert order.customer is not None
    assert order.customer.email == "bob.norman@hostmail.com"
    assert order.shipping_address is not None
    assert order.shipping_address.country_code == "US"
    assert order.financial_status is FinancialStatus.PARTIALLY_REFUNDED
    assert order.lines[1].unit_price == Money("199.00", "USD")
    assert order.lines[0].tax_lines[0].rate == Decimal("0.06")
    assert order.extra == {"source_name": "web"}


def test_python_form_and_json_form_give_the_same_record() -> None:
    from_python = validate_record("order", shopify_order())
    json_form = to_json(from_python)
    assert json_form["placed_at"] == "2024-04-10T16:00:00Z"
    assert json_form["total"] == {"amount": "598.94", "currency": "USD"}
    assert json_form["lines"][0]["tax_lines"][0]["rate"] == "0.06"
    assert json_form["id"] == "shopify:5412345678901234567"
    from_json_form = from_json("order", json_form)
    assert from_json_form == from_python
    assert to_json(from_json_form) == json_form


def test_to_json_can_drop_nulls() -> None:
    order = validate_record("order", {"id": "o1"})
    assert to_json(order, exclude_none=True) == {
        "external_ids": {},
        "extra": {},
        "schema_version": 1,
        "id": "o1",
        "lines": [],
        "shipping_lines": [],
        "tax_lines": [],
        "discounts": [],
        "taxes_included": False,
        "tags": [],
    }


def test_validate_record_accepts_an_existing_model() -> None:
    order = validate_record("order", shopify_order())
    assert validate_record("order", order) is order  # type: ignore[arg-type]


# -- bad input: each names the field path -------------------------------------------------------


def _fails(entity: str, data: Any, **kwargs: Any) -> ValidationError:
    with pytest.raises(ValidationError) as info:
        validate_record(entity, data, **kwargs)
    return info.value


def test_float_amount_names_the_path() -> None:
    data = shopify_order()
    data["lines"][0]["unit_price"]["amount"] = 199.0
    exc = _fails("order", data)
    assert codes_and_paths(exc) == [("CAN010", "lines[0].unit_price.amount")]
    assert exc.code == "CAN010"
    assert exc.diagnostics[0].record_id == "shopify:5412345678901234567"


def test_float_amount_is_refused_in_json_form_too() -> None:
    data = to_json(validate_record("order", shopify_order()))
    data["total"]["amount"] = 598.94
    exc = _fails("order", data)
    assert codes_and_paths(exc) == [("CAN010", "total.amount")]


def test_float_rate_is_refused() -> None:
    data = shopify_order()
    data["tax_lines"][0]["rate"] = 0.06
    assert codes_and_paths(_fails("order", data)) == [("CAN010", "tax_lines[0].rate")]


def test_naive_datetime_names_the_path() -> None:
    data = shopify_order()
    data["placed_at"] = datetime(2024, 4, 10, 11, 0)
    assert codes_and_paths(_fails("order", data)) == [("CAN006", "placed_at")]
    data["placed_at"] = "2024-04-10T11:00:00"
    assert codes_and_paths(_fails("order", data)) == [("CAN006", "placed_at")]


@pytest.mark.parametrize("bad", ["yesterday", "2024-13-01T00:00:00Z", 1712745600, 1712745600.0])
def test_non_timestamps_are_refused(bad: object) -> None:
    data = shopify_order()
    data["updated_at"] = bad
    assert codes_and_paths(_fails("order", data)) == [("CAN007", "updated_at")]


def test_unknown_currency_names_the_path() -> None:
    data = shopify_order()
    data["lines"][1]["discount_total"]["currency"] = "XYZ"
    assert codes_and_paths(_fails("order", data)) == [
        ("CAN012", "lines[1].discount_total.currency")
    ]


@pytest.mark.parametrize(("bad", "code"), [(-1, "CAN005"), (1.0, "CAN004"), ("1", "CAN004")])
def test_bad_quantity_names_the_path(bad: object, code: str) -> None:
    data = shopify_order()
    data["lines"][1]["quantity"] = bad
    assert codes_and_paths(_fails("order", data)) == [(code, "lines[1].quantity")]


def test_bool_quantity_is_refused() -> None:
    exc = _fails("refund_line", {"quantity": True})
    assert codes_and_paths(exc) == [("CAN004", "quantity")]


def test_int_ids_are_refused_everywhere() -> None:
    data = shopify_order()
    data["id"] = 5412345678901234567
    data["lines"][0]["external_ids"]["shopify"] = 466157049
    exc = _fails("order", data)
    assert codes_and_paths(exc) == [
        ("CAN003", "id"),
        ("CAN003", "lines[0].external_ids.shopify"),
    ]
    assert "never numbers" in exc.diagnostics[0].message
    assert exc.diagnostics[0].hint is not None


def test_bad_dict_keys_point_at_the_dict() -> None:
    for external_ids in ({"": "1"}, {7: "1"}):
        exc = _fails("order", {"id": "o1", "external_ids": external_ids})
        assert {d.data_path for d in exc.diagnostics} == {"external_ids"}
    exc = _fails("order", {"id": "o1", "external_ids": {"shop.ify": 1}})
    assert codes_and_paths(exc) == [("CAN003", "external_ids")]


def test_every_problem_is_reported_not_just_the_first() -> None:
    exc = _fails(
        "order",
        {
            "id": "o1",
            "totl": money("1.00"),
            "customer": {"email": "not-an-email"},
            "lines": [{"sku": "A"}],
            "tags": "a,b",
            "financial_status": "settled",
        },
    )
    assert sorted(codes_and_paths(exc)) == [
        ("CAN001", "lines[0].quantity"),
        ("CAN002", "totl"),
        ("CAN008", "financial_status"),
        ("CAN013", "customer.email"),
        ("CAN015", "tags"),
    ]
    assert all(code in CODES for code, _ in codes_and_paths(exc))


def test_missing_required_field_and_wrong_schema_version() -> None:
    assert codes_and_paths(_fails("order", {})) == [("CAN001", "id")]
    exc = _fails("order", {"id": "o1", "schema_version": 2})
    assert codes_and_paths(exc) == [("CAN008", "schema_version")]


def test_not_a_mapping() -> None:
    exc = _fails("order", ["not", "a", "record"])
    assert exc.code == "CAN015"
    assert exc.diagnostics[0].data_path is None


def test_unknown_entity_is_a_classified_error_with_a_suggestion() -> None:
    exc = _fails("ordr", {})
    assert exc.code == "CAN000"
    assert exc.diagnostics[0].hint == "did you mean order?"
    assert _fails(["unhashable"], {}).code == "CAN000"  # type: ignore[arg-type]


def test_record_id_is_attached() -> None:
    exc = _fails("order_line", {"quantity": -2}, record_id="shopify:1/line:2")
    assert exc.diagnostics[0].record_id == "shopify:1/line:2"
    assert "record shopify:1/line:2" in str(exc)


def test_from_json_text_refuses_bad_json_and_float_amounts() -> None:
    assert from_json("order", '{"id": "o1", "total": {"amount": "1.50", "currency": "EUR"}}')
    with pytest.raises(ValidationError) as info:
        from_json("order", '{"id": "o1", "total": {"amount": 1.50, "currency": "EUR"}}')
    assert codes_and_paths(info.value) == [("CAN010", "total.amount")]
    with pytest.raises(ValidationError) as info:
        from_json("order", "{not json")
    assert info.value.code == "CAN015"


def test_strings_are_strict_and_country_codes_checked() -> None:
    exc = _fails("address", {"city": 12, "country_code": "USA"})
    assert codes_and_paths(exc) == [("CAN003", "city"), ("CAN016", "country_code")]


def test_empty_email_means_no_email() -> None:
    order = validate_record("order", {"id": "o1", "customer": {"email": "  "}})
    assert order.customer is not None  # type: ignore[attr-defined]
    assert order.customer.email is None  # type: ignore[attr-defined]
    exc = _fails("customer", {"email": "bob at example.com"})
    assert codes_and_paths(exc) == [("CAN013", "email")]


def test_empty_id_is_refused() -> None:
    assert codes_and_paths(_fails("order", {"id": ""})) == [("CAN016", "id")]


def test_inventory_can_go_negative_but_reserved_cannot() -> None:
    level = validate_record("inventory_level", {"sku": "A", "on_hand": -3, "available": -5})
    assert level.available == -5  # type: ignore[attr-defined]
    exc = _fails("inventory_level", {"sku": "A", "reserved": -1})
    assert codes_and_paths(exc) == [("CAN005", "reserved")]


def test_inventory_adjustment_needs_reason_and_idempotency_key() -> None:
    exc = _fails("inventory_adjustment", {"sku": "A", "delta": -2})
    assert sorted(codes_and_paths(exc)) == [
        ("CAN001", "idempotency_key"),
        ("CAN001", "reason"),
    ]
    adj = validate_record(
        "inventory_adjustment",
        {"sku": "A", "delta": -2, "reason": "damaged", "idempotency_key": "adj-1"},
    )
    assert adj.delta == -2  # type: ignore[attr-defined]


# -- invariants: totals -------------------------------------------------------------------------


def test_totals_reconcile_with_taxes_excluded() -> None:
    assert validate_record("order", shopify_order())


def test_totals_that_do_not_reconcile_are_an_error_at_total() -> None:
    data = shopify_order()
    data["total"] = money("598.95")
    exc = _fails("order", data)
    assert codes_and_paths(exc) == [("CAN020", "total")]
    assert "off by 0.01 USD" in exc.diagnostics[0].message


def test_sub_minor_unit_differences_are_tolerated() -> None:
    data = shopify_order()
    data["tax_total"] = money("11.944")  # a channel that keeps tax at a finer precision
    assert validate_record("order", data)
    data["tax_total"] = money("11.9351")
    assert validate_record("order", data)
    data["tax_total"] = money("11.93")
    assert codes_and_paths(_fails("order", data)) == [("CAN020", "total")]


def test_minor_unit_tolerance_follows_the_currency() -> None:
    jpy = {
        "id": "o1",
        "currency": "JPY",
        "subtotal": money("1000", "JPY"),
        "tax_total": money("100", "JPY"),
        "total": money("1100.5", "JPY"),
    }
    assert validate_record("order", jpy)
    jpy["total"] = money("1101", "JPY")
    assert codes_and_paths(_fails("order", jpy)) == [("CAN020", "total")]


def test_taxes_included_convention() -> None:
    eu = {
        "id": "o1",
        "currency": "EUR",
        "taxes_included": True,
        "subtotal": money("119.00", "EUR"),
        "shipping_total": money("5.95", "EUR"),
        "tax_total": money("19.95", "EUR"),
        "total": money("124.95", "EUR"),
    }
    assert validate_record("order", eu)
    eu["taxes_included"] = False
    assert codes_and_paths(_fails("order", eu)) == [("CAN020", "total")]


def test_totals_check_applies_only_when_its_totals_are_present() -> None:
    # Amazon: a pending order has no totals until it ships.
    pending = {"id": "amazon:902-3159896-1390916", "channel": "amazon", "lines": [{"quantity": 1}]}
    assert validate_record("order", pending)
    only_total = {"id": "o1", "total": money("10.00")}
    assert validate_record("order", only_total)


def test_cancelled_order_keeps_its_totals_and_validates() -> None:
    data = shopify_order()
    data["cancelled_at"] = "2024-04-11T09:00:00+02:00"
    data["cancel_reason"] = "customer"
    data["financial_status"] = "refunded"
    data["refunded_total"] = money("598.94")
    order = validate_record("order", data)
    assert order.cancelled_at == datetime(2024, 4, 11, 7, 0, tzinfo=UTC)  # type: ignore[attr-defined]


def test_mixed_currencies_in_an_order_are_reported_per_amount() -> None:
    data = shopify_order()
    data["lines"][0]["unit_price"] = money("199.00", "CAD")
    data["shipping_total"] = money("0.00", "CAD")
    exc = _fails("order", data)
    assert codes_and_paths(exc) == [
        ("CAN022", "shipping_total.currency"),
        ("CAN022", "lines[0].unit_price.currency"),
    ]


def test_refunded_more_than_captured_on_an_order() -> None:
    data = shopify_order()
    data["refunded_total"] = money("600.00")
    assert codes_and_paths(_fails("order", data)) == [("CAN021", "refunded_total")]


# -- invariants: refunds ------------------------------------------------------------------------


def refund(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "order_external_ids": {"shopify": "450789469"},
        "amount": money("41.94"),
        "captured": money("409.94"),
        "restock": True,
        "lines": [{"sku": "IPOD2008GREEN", "quantity": 1, "restock": True}],
        "transactions": [
            {
                "kind": "refund",
                "status": "success",
                "gateway": "bogus",
                "amount": money("41.94"),
                "processed_at": "2024-04-12T10:00:00Z",
            }
        ],
        "idempotency_key": "refund-450789469-1",
        "created_at": "2024-04-12T10:00:00Z",
    }
    data.update(overrides)
    return data


def test_refund_within_captured_validates() -> None:
    r = validate_record("refund", refund())
    assert isinstance(r, Refund)
    assert r.refunded() == Money("41.94", "USD")


def test_refund_above_captured_is_an_error() -> None:
    exc = _fails("refund", refund(amount=money("500.00")))
    assert codes_and_paths(exc) == [("CAN021", "amount")]


def test_refund_without_amount_sums_successful_transactions() -> None:
    txs = [
        {"kind": "refund", "status": "success", "amount": money("300.00")},
        {"kind": "refund", "status": "failure", "amount": money("300.00")},
        {"kind": "refund", "status": "success", "amount": money("200.00")},
    ]
    exc = _fails("refund", refund(amount=None, transactions=txs))
    assert codes_and_paths(exc) == [("CAN021", "transactions")]
    txs[2]["amount"] = money("100.00")
    assert validate_record("refund", refund(amount=None, transactions=txs))


def test_refund_check_applies_only_when_both_are_known() -> None:
    assert validate_record("refund", refund(captured=None, amount=money("9999.00")))


def test_negative_refund_amount_is_reported() -> None:
    exc = _fails("refund", refund(amount=money("-5.00"), transactions=[]))
    assert codes_and_paths(exc) == [("CAN023", "amount")]


# -- flagging mode ------------------------------------------------------------------------------


def test_invariants_can_be_flagged_instead_of_raised() -> None:
    data = shopify_order()
    data["total"] = money("600.00")
    data["refunded_total"] = money("700.00")
    order = validate_record("order", data, invariants=False)
    found = check_invariants(order)
    assert [(d.code, d.data_path) for d in found] == [
        ("CAN020", "total"),
        ("CAN021", "refunded_total"),
    ]
    assert all(d.record_id == "shopify:5412345678901234567" for d in found)
    assert check_invariants(order, record_id="r-9")[0].record_id == "r-9"


def test_flagging_still_enforces_types() -> None:
    data = shopify_order()
    data["total"] = {"amount": 1.5, "currency": "USD"}
    exc = _fails("order", data, invariants=False)
    assert codes_and_paths(exc) == [("CAN010", "total.amount")]


def test_check_invariants_is_empty_for_a_good_record_and_entities_without_invariants() -> None:
    assert check_invariants(validate_record("order", shopify_order())) == []
    assert check_invariants(validate_record("address", {"city": "Ottawa"})) == []


def test_direct_construction_enforces_invariants_as_a_hard_validator() -> None:
    data = copy.deepcopy(shopify_order())
    data["total"] = money("1.00")
    with pytest.raises(Exception, match="does not reconcile"):
        Order.model_validate(data)
