"""Explain traces, the drift report and the mapping catalog."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from accord.engine.mapping import (
    DriftRecorder,
    MappingCatalog,
    MappingSpec,
    compile_mapping,
)
from accord.errors import MappingError, SpecError

HEADER = {
    "mapping": "shop.order.inbound",
    "channel": "shop",
    "direction": "inbound",
    "source": "shop.order",
    "target": "order",
    "version": 1,
}

ORDER_FIELDS: dict[str, Any] = {
    "id": {"from": "id", "as": "string", "required": True},
    "number": {"from": ["name", "order_number"], "as": "string"},
    "status": {
        "from": "financial_status",
        "map": {"paid": "paid"},
        "unknown": "warn",
        "default": "pending",
    },
    "note": {"from": "note", "empty": "missing", "default": "-"},
    "gift": {"value": True, "when": "gift_wrap"},
    "total": {"from": "total_price", "as": "money", "currency": {"from": "currency"}},
    "lines": {
        "each": "line_items",
        "fields": {"sku": {"from": "sku", "transform": ["normalize_sku"]}},
    },
}


def order_mapping(**header: Any) -> Any:
    return compile_mapping(MappingSpec.from_dict({**HEADER, **header, "fields": ORDER_FIELDS}))


PAYLOAD = {
    "id": 1001,
    "order_number": 1001,
    "financial_status": "voided",
    "note": "",
    "gift_wrap": False,
    "total_price": "10.00",
    "currency": "USD",
    "line_items": [{"sku": "ab 1"}, {"sku": "cd 2"}],
}


def test_explain_traces_every_field() -> None:
    mapping = order_mapping()
    record, why = mapping.explain(PAYLOAD, record_id="o-1")
    assert record == mapping.apply(PAYLOAD)
    by_target = {t.target: t for t in why.fields}
    assert by_target["number"].branch == "from[1] order_number"
    assert by_target["number"].read == 1001
    assert by_target["number"].value == "1001"
    assert by_target["status"].note == "map 'voided' unknown -> 'pending'"
    assert by_target["note"].branch == "default"
    assert by_target["gift"].read is False
    assert by_target["note"].value == "-"
    assert by_target["gift"].branch == "when false"
    assert by_target["gift"].produced is False
    assert by_target["total"].value == {"amount": Decimal("10.00"), "currency": "USD"}
    assert by_target["lines[1].sku"].read == "cd 2"
    assert by_target["lines[1].sku"].value == "CD2"
    assert by_target["lines"].branch == "each line_items"
    assert by_target["id"].rule == "<spec>:?"
    assert [w.code for w in why.warnings] == ["MAP250"]
    assert why.record_id == "o-1"
    assert why.field("lines[0].sku").value == "AB1"
    with pytest.raises(KeyError):
        why.field("nope")


def test_explain_renders_text_and_json() -> None:
    _, why = order_mapping().explain(PAYLOAD)
    text = why.render()
    assert "number = '1001'  <spec>:? from[1] order_number read 1001" in text
    assert "gift = (absent)  <spec>:? when false read False" in text
    assert "total = {'amount': '10.00', 'currency': 'USD'}  <spec>:? from[0] total_price" in text
    assert str(why) == text
    data = json.loads(json.dumps(why.to_dict()))
    assert data["mapping"] == "shop.order.inbound"
    total = next(f for f in data["fields"] if f["target"] == "total")
    assert total["value"] == {"amount": "10.00", "currency": "USD"}
    assert total["sources"] == ["total_price"]


def test_explain_of_a_failing_record_keeps_the_partial_trace() -> None:
    mapping = order_mapping()
    with pytest.raises(MappingError) as caught:
        mapping.explain({**PAYLOAD, "total_price": "ten"})
    partial = caught.value.explanation  # type: ignore[attr-defined]
    assert [t.target for t in partial.fields][:2] == ["id", "number"]


def test_explain_is_built_lazily_and_apply_does_not_pay_for_it() -> None:
    mapping = order_mapping()
    assert mapping.explain_source is None
    assert "X.rec" not in mapping.source
    mapping.explain(PAYLOAD)
    assert mapping.explain_source is not None
    assert "X.rec" in mapping.explain_source
    eager = compile_mapping(MappingSpec.from_dict({**HEADER, "fields": ORDER_FIELDS}), explain=True)
    assert eager.explain_source is not None


def test_drift_reports_unmapped_paths_with_counts_and_examples() -> None:
    mapping = order_mapping(ignore=["token", "line_items[].grams"], extra=["source_name"])
    drift = DriftRecorder(mapping)
    drift.observe({**PAYLOAD, "token": "t", "source_name": "web", "landing_site": "/x"})
    drift.observe({**PAYLOAD, "id": 1002, "landing_site": "/y", "cart_token": "c"})
    drift.observe(
        {"id": 1003, "line_items": [{"sku": "x", "grams": 1, "vendor": "v"}], "browser_ip": None}
    )
    report = drift.report()
    assert report.records == 3
    assert [(u.path, u.count, u.example_record_id) for u in report.unmapped] == [
        ("landing_site", 2, "1001"),
        ("cart_token", 1, "1002"),
        ("line_items[].vendor", 1, "1003"),
    ]
    assert report.to_dict()["unmapped"][0] == {
        "path": "landing_site",
        "count": 2,
        "example_record_id": "1001",
    }
    assert "landing_site  2 record(s), e.g. 1001" in report.render()


def test_drift_sees_through_unwrap_and_uses_given_record_ids() -> None:
    drift = DriftRecorder(order_mapping(unwrap=["order"]))
    drift.observe({"order": {"id": 5, "weird": 1}}, record_id="r-5")
    assert [(u.path, u.example_record_id) for u in drift.report().unmapped] == [("weird", "r-5")]


def test_drift_over_several_mappings_and_objects_read_through_definitions() -> None:
    spec = MappingSpec.from_dict(
        {
            **HEADER,
            "definitions": {"addr": {"fields": {"city": {"from": "city"}}}},
            "fields": {"ship": {"from": "shipping_address", "use": "addr"}},
        }
    )
    other = MappingSpec.from_dict({**HEADER, "mapping": "other", "fields": {"id": "id"}})
    drift = DriftRecorder([compile_mapping(spec), compile_mapping(other)])
    drift.observe({"id": 1, "shipping_address": {"city": "Lyon", "zip": "69001"}})
    assert [u.path for u in drift.report().unmapped] == ["shipping_address.zip"]
    assert drift.report().mapping == "shop.order.inbound, other"
    with pytest.raises(ValueError, match="at least one"):
        DriftRecorder([])


SPEC_YAML = """\
mapping: {id}
channel: {channel}
direction: {direction}
source: {source}
target: {target}
fields:
  id: {{from: id, as: string}}
"""


def _write(path: Path, **values: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(SPEC_YAML.format(**values))


def test_catalog_finds_by_channel_entity_direction(tmp_path: Path) -> None:
    _write(tmp_path / "shop" / "order.inbound.yaml", id="shop.order.inbound", channel="shop",
           direction="inbound", source="shop.order", target="order")  # fmt: skip
    _write(tmp_path / "shop" / "order.outbound.yaml", id="shop.order.outbound", channel="shop",
           direction="outbound", source="order", target="shop.order")  # fmt: skip
    (tmp_path / "shop" / "order.inbound.cases.yaml").write_text("cases: []\n")
    (tmp_path / "lookups").mkdir()
    (tmp_path / "lookups" / "t.yaml").write_text("table: {a: b}\n")
    catalog = MappingCatalog([tmp_path])
    inbound = catalog.find("shop", "order", "inbound")
    assert inbound.id == "shop.order.inbound"
    assert inbound is catalog.find("shop", "order", "inbound")  # compiled once
    assert catalog.find("shop", "order", "outbound").id == "shop.order.outbound"
    assert [m.id for m in catalog.all()] == ["shop.order.inbound", "shop.order.outbound"]
    assert catalog.keys() == [("shop", "order", "inbound"), ("shop", "order", "outbound")]
    with pytest.raises(SpecError) as caught:
        catalog.find("shop", "refund", "inbound")
    assert caught.value.code == "MAP010"


def test_catalog_tells_two_specs_for_one_file_name_apart_by_id(tmp_path: Path) -> None:
    for folder in ("a", "b"):
        _write(tmp_path / folder / "order.inbound.yaml", id=f"x.{folder}", channel="shop",
               direction="inbound", source=f"shop.order_{folder}", target="order")  # fmt: skip
    catalog = MappingCatalog([tmp_path])
    with pytest.raises(SpecError) as caught:
        catalog.find("shop", "order", "inbound")
    assert caught.value.code == "MAP011"
    assert "x.a, x.b" in caught.value.diagnostics[0].message
    assert catalog.find("shop", "order", "inbound", mapping="x.b").id == "x.b"
    assert catalog.find("shop", "order", "inbound", mapping="shop.order_a").id == "x.a"
    assert catalog.get("x.a").id == "x.a"
    assert catalog.ids() == ["x.a", "x.b"]
    assert catalog.keys() == []  # neither is found without mapping=
    assert [m.id for m in catalog.all()] == ["x.a", "x.b"]
    with pytest.raises(SpecError) as caught:
        catalog.find("shop", "order", "inbound", mapping="x.c")
    assert caught.value.code == "MAP010"
    with pytest.raises(SpecError) as caught:
        catalog.get("x.c")
    assert caught.value.code == "MAP010"


def test_catalog_refuses_two_specs_with_one_mapping_id(tmp_path: Path) -> None:
    for folder in ("a", "b"):
        _write(tmp_path / folder / "order.inbound.yaml", id="x.same", channel="shop",
               direction="inbound", source="shop.order", target="order")  # fmt: skip
    with pytest.raises(SpecError) as caught:
        MappingCatalog([tmp_path])
    assert caught.value.code == "MAP011"
    assert "x.same" in caught.value.diagnostics[0].message


def test_catalog_picks_among_specs_of_one_canonical_entity(tmp_path: Path) -> None:
    _write(tmp_path / "fulfillment.inbound.yaml", id="s.fulfillment", channel="s",
           direction="inbound", source="s.fulfillment", target="fulfillment")  # fmt: skip
    _write(tmp_path / "fulfillment_order.inbound.yaml", id="s.fo", channel="s",
           direction="inbound", source="s.fulfillment_order", target="fulfillment")  # fmt: skip
    catalog = MappingCatalog([tmp_path])
    assert catalog.find("s", "fulfillment", "inbound").id == "s.fulfillment"  # the file name
    assert catalog.find("s", "fulfillment_order", "inbound").id == "s.fo"
    picked = catalog.find("s", "fulfillment", "inbound", mapping="s.fulfillment_order")
    assert picked.id == "s.fo"


def test_catalog_with_two_specs_for_one_canonical_entity(tmp_path: Path) -> None:
    _write(tmp_path / "order.inbound.yaml", id="amz.order", channel="amz", direction="inbound",
           source="amz.order", target="order")  # fmt: skip
    _write(tmp_path / "order_change.inbound.yaml", id="amz.change", channel="amz",
           direction="inbound", source="amz.order_change", target="order")  # fmt: skip
    catalog = MappingCatalog([tmp_path])
    assert catalog.find("amz", "order", "inbound").id == "amz.order"
    assert catalog.find("amz", "order_change", "inbound").id == "amz.change"
    _write(tmp_path / "sales.inbound.yaml", id="amz.sales", channel="amz", direction="inbound",
           source="amz.sales", target="sale")  # fmt: skip
    catalog = MappingCatalog([tmp_path])
    assert catalog.find("amz", "sale", "inbound").id == "amz.sales"  # the canonical name
    _write(tmp_path / "sales2.inbound.yaml", id="amz.sales2", channel="amz", direction="inbound",
           source="amz.sales2", target="sale")  # fmt: skip
    with pytest.raises(SpecError) as caught:
        MappingCatalog([tmp_path]).find("amz", "sale", "inbound")
    assert caught.value.code == "MAP011"


def test_catalog_reports_a_broken_spec_when_it_is_asked_for(tmp_path: Path) -> None:
    path = tmp_path / "order.inbound.yaml"
    text = SPEC_YAML.format(
        id="s", channel="shop", direction="inbound", source="shop.order", target="order"
    )
    path.write_text(text + "  x: {as: nope}\n")
    catalog = MappingCatalog([tmp_path])
    with pytest.raises(SpecError) as caught:
        catalog.find("shop", "order", "inbound")
    assert caught.value.code == "MAP002"
    with pytest.raises(SpecError):
        catalog.all()


def test_catalog_over_the_shipped_mappings() -> None:
    root = Path(__file__).resolve().parents[2] / "mappings"
    if not (root / "shopify" / "order.inbound.yaml").is_file():
        pytest.skip("the shipped Shopify order spec is not in this checkout")
    catalog = MappingCatalog([root])
    mapping = catalog.find("shopify", "order", "inbound")
    bench = Path(__file__).resolve().parents[3] / "shared" / "bench" / "shopify_order.json"
    if bench.is_file():
        record = mapping.apply(json.loads(bench.read_text(), parse_float=Decimal))
        assert record["id"] == "450789469"
        assert len(record["lines"]) == 3


def test_drift_handles_deep_payloads() -> None:
    deep: Any = {"leaf": 1}
    for _ in range(3000):
        deep = {"a": deep}
    drift = DriftRecorder(order_mapping())
    drift.observe({"id": 1, "deep": deep})
    (unmapped,) = drift.report().unmapped
    assert unmapped.path.startswith("deep.a.a.")
    assert unmapped.path.endswith(".leaf")


def test_drift_counts_fields_read_under_a_fallback_source_as_consumed() -> None:
    spec = MappingSpec.from_dict(
        {
            **HEADER,
            "inputs": ["order", "address"],
            "fields": {
                "ship": {
                    "from": ["address.ShippingAddress", "order.ShippingAddress"],
                    "fields": {"city": {"from": "City"}},
                }
            },
        }
    )
    mapping = compile_mapping(spec)
    assert {"address.ShippingAddress.City", "order.ShippingAddress.City"} <= mapping.consumed_paths
    drift = DriftRecorder(mapping)
    drift.observe({"order": {"ShippingAddress": {"City": "Seattle", "Line9": "x"}}})
    assert [u.path for u in drift.report().unmapped] == ["order.ShippingAddress.Line9"]


def test_drift_counts_fields_of_each_over_either_list_name_as_consumed() -> None:
    spec = MappingSpec.from_dict(
        {
            **HEADER,
            "fields": {
                "lines": {
                    "each": "line_items || legacy_items",
                    "fields": {"sku": {"from": "sku"}, "qty": {"from": "n.value"}},
                }
            },
        }
    )
    mapping = compile_mapping(spec)
    assert {
        "line_items[].sku",
        "legacy_items[].sku",
        "line_items[].n.value",
        "legacy_items[].n.value",
    } <= mapping.consumed_paths
    drift = DriftRecorder(mapping)
    drift.observe({"legacy_items": [{"sku": "A", "n": {"value": 1}, "grams": 5}]})
    assert [u.path for u in drift.report().unmapped] == ["legacy_items[].grams"]


def test_drift_counts_root_and_parent_paths_read_inside_an_expression_as_consumed() -> None:
    spec = MappingSpec.from_dict(
        {
            **HEADER,
            "fields": {
                "lines": {
                    "each": "line_items",
                    "fields": {
                        "sku": {"from": "sku"},
                        "code": {"from": "$root.warehouses[?region == $parent.region].code"},
                    },
                }
            },
        }
    )
    mapping = compile_mapping(spec)
    assert {"warehouses", "region", "line_items[].sku"} <= mapping.consumed_paths
    assert not any("_rt" in p or "_prnt" in p for p in mapping.consumed_paths)
