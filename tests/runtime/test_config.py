"""The project config: schema, meaning checks, located PRJ diagnostics."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from accord.engine.runtime import check_project_file, load_project, project_schema
from accord.errors import SpecError

ROOT = Path(__file__).resolve().parents[2]

VALID = """\
project: shop
store: postgresql://app@db/accord?schema=shop
mappings: [mappings, shipped]
rules: [shipped]
channels:
  - name: shopify
    kind: shopify
    api_version: "2024-04"
    inventory_sync: true
    buffer_stock: 3
  - {name: erp, kind: netsuite, system: erp}
flows:
  - name: orders
    from: {channel: shopify, entity: order}
    rules: [refund_governance]
rule_packs:
  refund_governance:
    facts: {auto_approve_limit: "25.00 USD"}
inventory:
  locations: [east, west]
  aliases: {"123": east}
  source: erp
  buffer_rules: buffer_stock
"""


def write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "mappings" / "shopify").mkdir(parents=True, exist_ok=True)
    (tmp_path / "mappings" / "shopify" / "order.inbound.yaml").write_text("mapping: x\n")
    path = tmp_path / "accord.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_example_project_is_valid() -> None:
    assert check_project_file(ROOT / "accord.yaml") == []
    project = load_project(ROOT / "accord.yaml")
    assert project.store_url == "sqlite:///accord.db"
    assert project.flow_for("shopify", "order") is not None
    assert "refund_governance" in project.rule_packs


def test_published_schema_matches_the_packaged_one() -> None:
    published = json.loads((ROOT / "docs" / "schemas" / "project.schema.json").read_text())
    assert published == project_schema()


def test_a_valid_project_loads_with_resolved_paths(tmp_path: Path) -> None:
    project = load_project(write(tmp_path, VALID))
    assert project.name == "shop"
    assert project.mapping_roots[0] == (tmp_path / "mappings").resolve()
    assert project.channels["shopify"].buffer_stock == 3
    assert project.channels["erp"].owner_name == "erp"
    assert project.channels["shopify"].owner_name == "shopify"
    assert project.inventory.locations == ("east", "west")
    assert project.inventory.location("123") == "east"
    assert project.inventory.location(None) == "east"
    assert project.rule_packs["refund_governance"].facts == {"auto_approve_limit": "25.00 USD"}
    assert project.rule_packs["buffer_stock"].path.name == "buffer_stock.rules"
    assert project.roots_for("shopify")[0] == project.mapping_roots[0]


@pytest.mark.parametrize(
    ("old", "new", "code", "line", "column"),
    [
        ("channel: shopify, entity: order", "channel: shopfy, entity: order", "PRJ101", 14, 21),
        ("    buffer_stock: 3\n", "    buffer_stok: 3\n", "PRJ002", 10, 5),
        ("  buffer_rules: buffer_stock", "  buffer_rules: buffer_stok", "PRJ106", 23, 17),
        ("mappings: [mappings, shipped]", "mappings: [mapings, shipped]", "PRJ103", 3, 12),
        ("store: postgresql://", "store: mysql://", "PRJ002", 2, 8),
        ("    from: {channel: shopify, entity: order}",
         "    from: {channel: shopify, entity: return}", "PRJ105", 14, 11),
        ("  source: erp", "  source: wms", "PRJ101", 22, 11),
    ],
)  # fmt: skip
def test_problems_are_located(
    tmp_path: Path, old: str, new: str, code: str, line: int, column: int
) -> None:
    assert old in VALID
    diags = check_project_file(write(tmp_path, VALID.replace(old, new)))
    assert [(d.code, d.line, d.column) for d in diags] == [(code, line, column)]
    assert diags[0].file == str(tmp_path / "accord.yaml")
    with pytest.raises(SpecError) as info:
        load_project(tmp_path / "accord.yaml")
    assert info.value.code == code


def test_did_you_mean(tmp_path: Path) -> None:
    diags = check_project_file(
        write(tmp_path, VALID.replace("channel: shopify,", "channel: shopfy,"))
    )
    assert diags[0].hint == "did you mean 'shopify'?"


def test_every_problem_is_reported_sorted(tmp_path: Path) -> None:
    text = VALID.replace("source: erp", "source: wms").replace("channel: shopify,", "channel: x,")
    diags = check_project_file(write(tmp_path, text))
    assert [d.code for d in diags] == ["PRJ101", "PRJ101"]
    assert [d.line for d in diags] == sorted(d.line or 0 for d in diags)


def test_duplicates_and_missing_rule_files(tmp_path: Path) -> None:
    text = VALID.replace(
        "  - {name: erp, kind: netsuite, system: erp}",
        "  - {name: erp, kind: netsuite}\n  - {name: erp, kind: shipbob}",
    )
    extra_pack = "rule_packs:\n  nope:\n    facts: {}\n  refund_governance:"
    text = text.replace("rule_packs:\n  refund_governance:", extra_pack)
    codes = sorted(d.code for d in check_project_file(write(tmp_path, text)))
    assert codes == ["PRJ102", "PRJ104"]


NEW_CHANNEL = """\
project: shop
mappings: [mappings]
channels:
  - {name: bol-nl, kind: bol}
flows:
  - name: bol-orders
    from: {channel: bol-nl, entity: order}
"""


def test_a_new_channel_kind_finds_its_specs_in_its_own_folder(tmp_path: Path) -> None:
    (tmp_path / "mappings" / "bol").mkdir(parents=True)
    (tmp_path / "mappings" / "bol" / "order.inbound.yaml").write_text("mapping: x\n")
    path = tmp_path / "accord.yaml"
    path.write_text(NEW_CHANNEL)
    assert check_project_file(path) == []
    project = load_project(path)
    assert project.channels["bol-nl"].kind == "bol"


def test_a_new_kind_without_its_folder_yet_is_a_warning(tmp_path: Path) -> None:
    (tmp_path / "mappings").mkdir()
    path = tmp_path / "accord.yaml"
    path.write_text(
        NEW_CHANNEL.replace(
            "flows:\n  - name: bol-orders\n    from: {channel: bol-nl, entity: order}\n",
            "flows: []\n",
        )
    )
    diags = check_project_file(path)
    assert [(d.code, d.severity.value, d.line, d.column) for d in diags] == [
        ("PRJ107", "warning", 4, 26)
    ]
    assert diags[0].hint == "a new channel's specs go in bol/ under a mapping folder"
    assert load_project(path).channels["bol-nl"].kind == "bol"  # warnings do not stop a load


@pytest.mark.parametrize(
    ("kind", "code", "hint"),
    [
        ("shopfy", "PRJ107", "did you mean 'shopify'?"),
        ("woocomerce", "PRJ107", "did you mean 'woocommerce'?"),
        ("Bol", "PRJ002", None),  # a folder name: a lowercase identifier
        ("bol.com", "PRJ002", None),
    ],
)
def test_a_kind_that_is_a_typo_or_no_identifier_is_refused(
    tmp_path: Path, kind: str, code: str, hint: str | None
) -> None:
    text = VALID.replace("kind: netsuite", f"kind: {kind!r}")
    diags = check_project_file(write(tmp_path, text))
    assert [(d.code, d.severity.value, d.line, d.hint) for d in diags] == [
        (code, "error", 11, hint)
    ]


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("project: [unclosed\n", "YAML001"),
        ("- a list\n", "PRJ002"),
        ("project: x\n", "PRJ002"),  # channels and flows are required
    ],
)
def test_unreadable_or_shapeless_files(tmp_path: Path, text: str, code: str) -> None:
    path = tmp_path / "accord.yaml"
    path.write_text(text)
    diags = check_project_file(path)
    assert diags
    assert {d.code for d in diags} == {code}


def test_missing_file(tmp_path: Path) -> None:
    diags = check_project_file(tmp_path / "nope.yaml")
    assert [d.code for d in diags] == ["PRJ001"]
