from __future__ import annotations

import pytest

from accord.canonical import ENTITIES
from accord.canonical.introspect import (
    KINDS,
    FieldSpec,
    UnknownPathError,
    all_paths,
    describe,
    resolve_path,
    suggest,
)


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("id", "string"),
        ("total", "money"),
        ("total.amount", "decimal"),
        ("total.currency", "string"),
        ("placed_at", "datetime"),
        ("taxes_included", "bool"),
        ("financial_status", "enum"),
        ("lines", "list"),
        ("lines[]", "object"),
        ("lines[0]", "object"),
        ("lines[].unit_price.amount", "decimal"),
        ("lines[12].sku", "string"),
        ("lines[].quantity", "int"),
        ("lines[].tax_lines[].rate", "decimal"),
        ("lines[0].tax_lines[1].amount", "money"),
        ("external_ids", "dict"),
        ("external_ids.shopify", "string"),
        ("lines[].external_ids.amazon", "string"),
        ("extra", "dict"),
        ("extra.source_name", "any"),
        ("extra.deeply.nested[3].thing", "any"),
        ("customer.email", "string"),
        ("shipping_address.country_code", "string"),
        ("tags[]", "string"),
        ("schema_version", "int"),
    ],
)
def test_resolve_path_kinds(path: str, kind: str) -> None:
    assert resolve_path("order", path).kind == kind


def test_field_spec_details() -> None:
    total = resolve_path("order", "total")
    assert total.required is False
    assert total.nullable is True
    assert total.children is not None
    assert set(total.children) == {"amount", "currency"}
    assert "buyer pays" in total.description
    assert resolve_path("order", "id").required is True
    assert resolve_path("order", "lines[].quantity").required is True
    status = resolve_path("order", "financial_status")
    assert status.enum_values is not None
    assert "partially_refunded" in status.enum_values
    lines = resolve_path("order", "lines")
    assert lines.item is not None
    assert lines.item.kind == "object"
    options = resolve_path("variant", "options")
    assert options.kind == "dict"
    assert options.item == FieldSpec("*", "string", True)


@pytest.mark.parametrize(
    "path",
    [
        "totl",
        "lines[].skew",
        "lines.sku",  # list elements need []
        "total.amount.value",
        "external_ids.shopify.x",
        "sku[]",
        "a..b",
        "lines[x]",
    ],
)
def test_unknown_paths_raise_key_error(path: str) -> None:
    with pytest.raises(KeyError) as info:
        resolve_path("order", path)
    assert isinstance(info.value, UnknownPathError)
    assert info.value.entity == "order"
    assert info.value.path == path


def test_unknown_path_message_has_a_did_you_mean() -> None:
    with pytest.raises(UnknownPathError) as info:
        resolve_path("order", "lines[0].unit_prise.amount")
    assert info.value.suggestions == ["lines[].unit_price.amount"]
    assert "did you mean lines[].unit_price.amount?" in str(info.value)


@pytest.mark.parametrize(
    ("path", "first"),
    [
        ("totl", "total"),
        ("lines[].skew", "lines[].sku"),
        ("lines.sku", "lines[].sku"),
        ("customer.emial", "customer.email"),
        ("shiping_address.city", "shipping_address.city"),
        ("financal_status", "financial_status"),
    ],
)
def test_suggest(path: str, first: str) -> None:
    assert suggest("order", path)[0] == first


def test_suggest_is_empty_for_valid_paths() -> None:
    assert suggest("order", "lines[0].sku") == []


def test_unknown_entity() -> None:
    with pytest.raises(KeyError):
        describe("ordr")
    with pytest.raises(KeyError):
        resolve_path("ordr", "id")


def test_every_entity_is_describable_and_every_path_resolves() -> None:
    for entity in ENTITIES:
        spec = describe(entity)
        assert spec.kind == "object"
        assert spec.children is not None
        assert {"external_ids", "extra", "schema_version"} <= set(spec.children)
        for path in all_paths(entity):
            assert resolve_path(entity, path).kind in KINDS, (entity, path)
    assert "lines[].tax_lines[].amount.currency" in all_paths("order")
    assert "variants[].weight.unit" in all_paths("product")


def test_descriptions_are_cached() -> None:
    assert describe("order") is describe("order")
