"""The spec and lookup JSON Schemas: published copies, metaschemas, shipped files, messages."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from jsonschema import Draft7Validator, Draft202012Validator

from accord.engine.mapping.schema import (
    LOOKUP_TABLE_SCHEMA,
    MAPPING_SPEC_SCHEMA,
    SCHEMA_FILES,
    schema_text,
    validate_lookup,
    validate_spec,
    write_schemas,
)
from accord.engine.yamlsource import load_yaml

ROOT = Path(__file__).resolve().parents[2]
SHIPPED_SPECS = sorted(
    p
    for p in (ROOT / "mappings").rglob("*.yaml")
    if not p.name.endswith(".cases.yaml") and p.parent.name != "lookups"
)
SHIPPED_LOOKUPS = sorted((ROOT / "mappings").rglob("lookups/*.yaml"))

HEADER = """\
mapping: shop.order.inbound
channel: shop
api_version: "2024-04"
direction: inbound
source: shop.order
target: order
version: 1
"""


def _codes(text: str) -> list[tuple[str, int | None, int | None]]:
    return [(d.code, d.line, d.column) for d in validate_spec(load_yaml(text, filename="t.yaml"))]


@pytest.mark.parametrize("name", sorted(SCHEMA_FILES))
def test_published_schema_matches_the_code(name: str) -> None:
    published = ROOT / "docs" / "schemas" / name
    assert published.read_text(encoding="utf-8") == schema_text(SCHEMA_FILES[name]), (
        f"docs/schemas/{name} is stale: regenerate it with "
        'python -c "from accord.engine.mapping.schema import write_schemas; '
        "write_schemas('docs/schemas')\""
    )


def test_write_schemas(tmp_path: Path) -> None:
    written = write_schemas(tmp_path / "out")
    assert sorted(p.name for p in written) == sorted(SCHEMA_FILES)
    assert json.loads(written[0].read_text()) == SCHEMA_FILES[written[0].name]


@pytest.mark.parametrize("schema", [MAPPING_SPEC_SCHEMA, LOOKUP_TABLE_SCHEMA])
def test_schemas_are_valid_draft7_and_2020_12(schema: dict[str, Any]) -> None:
    Draft7Validator.check_schema(schema)
    as_2020 = copy.deepcopy(schema)
    as_2020["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(as_2020)


@pytest.mark.parametrize("path", SHIPPED_SPECS, ids=lambda p: str(p.relative_to(ROOT)))
def test_shipped_specs_validate_under_both_drafts(path: Path) -> None:
    doc = load_yaml(path)
    assert [d.render() for d in validate_spec(doc)] == []
    as_2020 = copy.deepcopy(MAPPING_SPEC_SCHEMA)
    as_2020["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    assert list(Draft202012Validator(as_2020).iter_errors(doc.data)) == []


@pytest.mark.parametrize("path", SHIPPED_LOOKUPS, ids=lambda p: p.name)
def test_shipped_lookup_tables_validate(path: Path) -> None:
    assert validate_lookup(load_yaml(path)) == []


def test_a_definitions_only_file_is_valid() -> None:
    text = "definitions:\n  address:\n    fields:\n      line1: {from: address1}\n"
    assert _codes(text) == []


def test_the_two_drafts_agree_on_bad_specs() -> None:
    bad = {"fields": {"t": {"from": 5, "currency": "usd", "wrap": True}}, "bogus": 1}
    as_2020 = copy.deepcopy(MAPPING_SPEC_SCHEMA)
    as_2020["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    seven = sorted(e.message for e in Draft7Validator(MAPPING_SPEC_SCHEMA).iter_errors(bad))
    twenty = sorted(e.message for e in Draft202012Validator(as_2020).iter_errors(bad))
    assert seven == twenty
    assert seven


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("fields:\n  id: {form: id}\n", [("SPEC003", 9, 8)]),
        ("fields:\n  id: {from: id, as: strng}\n", [("SPEC004", 9, 22)]),
        ("fields:\n  id: {from: 5}\n", [("SPEC005", 9, 14)]),
        ("fields:\n  id: {from: id, value: 1}\n", [("SPEC006", 9, 3)]),
        ("fields:\n  t: {from: t, as: money, currency: usd}\n", [("SPEC007", 9, 37)]),
        ("fields:\n  t: {from: []}\n", [("SPEC008", 9, 13)]),
        ("fields:\n  a..b: {from: a}\n", [("SPEC007", 9, 3)]),
        ("fields:\n  t: {from: t, currency: USD}\n", [("SPEC006", 9, 3)]),
        ("fields:\n  t: {from: t, wrap: true}\n", [("SPEC006", 9, 3)]),
        ("fields:\n  t: {}\n", [("SPEC006", 9, 3)]),
        ("fields:\n  t: {from: t, unknown: warn}\n", [("SPEC006", 9, 3)]),
        ("fields:\n  t: {from: t, transform: [{split: ',', x: 1}]}\n", [("SPEC008", 9, 28)]),
        ("fields: {}\n", [("SPEC008", 8, 9)]),
        ("lookups: {c: 5}\nfields:\n  t: {from: t}\n", [("SPEC005", 8, 14)]),
        ("bogus: 1\nfields:\n  t: {from: t}\n", [("SPEC003", 8, 1)]),
    ],
)
def test_structural_errors_have_codes_and_positions(
    body: str, expected: list[tuple[str, int, int]]
) -> None:
    assert _codes(HEADER + body) == expected


def test_missing_header_keys_are_each_reported() -> None:
    diags = validate_spec(load_yaml("mapping: m\nfields:\n  t: {from: t}\n"))
    missing = sorted(d.message.split("'")[1] for d in diags)
    assert missing == ["api_version", "channel", "direction", "source", "target", "version"]
    assert {d.code for d in diags} == {"SPEC006"}


def test_not_a_mapping_and_empty_files() -> None:
    assert [d.code for d in validate_spec(load_yaml(""))] == ["SPEC001"]
    assert [d.code for d in validate_spec(load_yaml("- a\n- b\n"))] == ["SPEC001"]
    assert [d.code for d in validate_spec(load_yaml("channel: x\n"))] == ["SPEC002"]


def test_decimal_and_integer_values_are_typed_like_json() -> None:
    # floats load as Decimal: still a number to the schema, and never an integer
    assert [
        d.code
        for d in validate_spec(
            load_yaml(
                HEADER.replace("version: 1", "version: 1.5")
                + "fields:\n  t: {from: t, default: 1.5, map: {a: 2.5}}\n"
            )
        )
    ] == ["SPEC005"]


def test_every_problem_in_a_file_is_reported_sorted() -> None:
    text = HEADER.replace("direction: inbound", "direction: inbund") + (
        "fields:\n  a: {form: x}\n  b: {from: b, as: monie}\n  c: {from: [], required: yes}\n"
    )
    codes = _codes(text)
    assert codes == sorted(codes, key=lambda c: (c[1] or 0, c[2] or 0))
    assert [c[0] for c in codes] == ["SPEC004", "SPEC003", "SPEC004", "SPEC008", "SPEC005"]


def test_lookup_table_errors() -> None:
    doc = load_yaml("table: {a: [1]}\ndefualt: x\n", filename="l.yaml")
    assert [(d.code, d.line) for d in validate_lookup(doc)] == [("SPEC005", 1), ("SPEC003", 2)]
    assert "did you mean 'default'" in validate_lookup(doc)[1].message
    assert [d.code for d in validate_lookup(load_yaml("default: x\n"))] == ["SPEC002"]


# -- golden messages -------------------------------------------------------------------------


def _render(text: str) -> str:
    doc = load_yaml(text, filename="order.inbound.yaml")
    return "\n".join(d.render(doc.source) for d in validate_spec(doc))


def test_golden_unknown_key_with_did_you_mean() -> None:
    assert _render(HEADER + "fields:\n  total: {form: total_price, as: money}\n") == (
        "order.inbound.yaml:9:11: error SPEC003: unknown key 'form' in field rule 'total' "
        "(did you mean 'from'?)\n"
        "  total: {form: total_price, as: money}\n"
        "          ^^^^"
    )


def test_golden_bad_enum_in_nested_each() -> None:
    text = (
        HEADER
        + "fields:\n  lines:\n    each: line_items\n    fields:\n"
        + "      qty: {from: q, as: integer}\n"
    )
    assert _render(text) == (
        "order.inbound.yaml:12:26: error SPEC004: 'integer' is not one of string, int, decimal, "
        "bool, money, datetime, date in field rule 'lines.qty', key 'as' (did you mean 'int'?)\n"
        "      qty: {from: q, as: integer}\n"
        "                         ^^^^^^^"
    )


def test_golden_unquoted_version_hint() -> None:
    text = HEADER.replace('"2024-04"', "2024") + "fields:\n  id: {from: id}\n"
    assert _render(text) == (
        "order.inbound.yaml:3:14: error SPEC005: expected a string, got a whole number (2024) "
        "in 'api_version'\n"
        "api_version: 2024\n"
        "             ^^^^\n"
        '    hint: quote the value: "..."'
    )


@pytest.mark.parametrize(
    "body",
    [
        "fields:\n  email: customer.email\n",  # a bare string is short for {from: ...}
        "lookups:\n  s: {table: {a: b}, default: c}\nfields:\n  t: {from: t, lookup: s}\n",
        "include: defs.yaml\nunwrap: order\nfields:\n  t: {from: t, empty: missing}\n",
        "fields:\n  t: {from: t, as: datetime, format: '%d/%m/%Y', tz: Europe/Paris}\n",
        "fields:\n  t: {from: t, as: datetime, epoch: ms}\n",
        "fields:\n  a: {from: a, use: address}\n  b: {each: items, wrap: true, use: line}\n",
        "fields:\n  t: {default: 0}\n",
        "fields:\n  t: {from: t, empty: 'null'}\n",
        # a list of values: each element goes through transform/map/as, no nested fields
        "fields:\n  t: {each: items}\n",
        "fields:\n  t: {each: tracking_number, wrap: true, as: string}\n",
    ],
)
def test_valid_spellings_the_spec_model_accepts(body: str) -> None:
    assert _codes(HEADER + body) == []


def test_closest_prefers_transpositions_and_prefixes() -> None:
    from accord.engine.mapping.schema import closest

    assert closest("form", ["format", "from"]) == "from"
    assert closest("integer", ["string", "int", "decimal"]) == "int"
    assert closest("defualt", ["table", "default"]) == "default"
    assert closest("zzz", ["from", "value"]) is None


_RULE_KEYS = ["from", "value", "default", "each", "use", "fields", "wrap", "map", "lookup"]
_RULE_KEYS += ["unknown", "currency", "money", "tz", "format", "epoch", "as", "transform"]


@given(
    st.dictionaries(
        st.sampled_from(_RULE_KEYS),
        st.sampled_from(["x", "money", "datetime", "date", "int"]),
        max_size=6,
    )
)
def test_the_checker_evaluates_combinations_like_the_published_schema(rule: dict[str, Any]) -> None:
    # accord checks the field-rule combinations itself (faster); the published schema has the
    # same rules as if/then: both must find the same broken ones.
    from accord.engine.mapping.schema import _combination_failures

    full = {"allOf": MAPPING_SPEC_SCHEMA["definitions"]["fieldRule"]["then"]["allOf"]}
    broken = set()
    for error in Draft7Validator(full).iter_errors(rule):
        path = list(error.absolute_schema_path)
        if path[:1] == ["allOf"]:
            broken.add(full["allOf"][path[1]]["$comment"])
    assert set(_combination_failures(rule)) == broken
