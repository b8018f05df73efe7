"""Loading spec files: positions for every rule, includes, lookups, and all problems at once."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from accord.engine.mapping import MappingSpec, compile_mapping, load_spec
from accord.engine.mapping.spec import project_root_for, spec_from_yaml
from accord.errors import MappingError, SpecError

HEADER = """\
mapping: test.order.inbound
channel: test
direction: inbound
source: test.order
target: order
version: 2
"""


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.fixture
def project(tmp_path: Path) -> Path:
    write(tmp_path / "accord.yaml", "# project\n")
    return tmp_path


def test_every_rule_knows_its_line(project: Path) -> None:
    spec_file = write(
        project / "mappings" / "test" / "order.inbound.yaml",
        HEADER
        + """\
fields:
  id: {from: id, as: string}
  lines:
    each: line_items
    fields:
      sku: {from: sku}
      price:
        from: price
        as: decimal
""",
    )
    spec = load_spec(spec_file)
    assert spec.version == 2
    assert spec.entity == "order"
    assert [(f.target, f.line, f.column) for f in spec.fields] == [("id", 8, 3), ("lines", 9, 3)]
    nested = spec.fields[1].fields
    assert nested is not None
    assert [(f.target, f.line, f.column) for f in nested] == [("sku", 12, 7), ("price", 13, 7)]
    assert nested[1].location.endswith("order.inbound.yaml:13")


def test_runtime_errors_name_the_file_and_line(project: Path) -> None:
    spec_file = write(
        project / "order.inbound.yaml",
        HEADER + "fields:\n  id: {from: id}\n  total:\n    from: total_price\n    as: decimal\n",
    )
    mapping = compile_mapping(load_spec(spec_file))
    with pytest.raises(MappingError) as caught:
        mapping.apply({"id": "A-1", "total_price": "abc"})
    diag = caught.value.diagnostics[0]
    assert (diag.code, diag.line, diag.column) == ("MAP203", 9, 3)
    assert diag.file is not None
    assert diag.file.endswith("order.inbound.yaml")
    assert diag.record_id == "A-1"
    assert diag.data_path == "total_price"
    rendered = diag.render(source=spec_file.read_text())
    assert "order.inbound.yaml:9:3: error MAP203: total: cannot read string as decimal" in rendered
    assert "record A-1, at total_price" in rendered
    assert "  total:" in rendered


def test_all_problems_are_reported_together_and_sorted(project: Path) -> None:
    spec_file = write(
        project / "bad.yaml",
        HEADER
        + """\
fields:
  a: {from: a, as: float}
  b: {from: "b[?", transform: [upcase]}
  c: {from: c, use: nowhere}
  d: {from: d, lookup: nope}
""",
    )
    with pytest.raises(SpecError) as caught:
        load_spec(spec_file)
    got = [(d.code, d.line) for d in caught.value.diagnostics]
    assert got == [("MAP002", 8), ("MAP003", 9), ("MAP004", 9), ("MAP005", 10), ("MAP008", 11)]
    assert "unknown transform 'upcase'" in str(caught.value)
    assert "unknown definition 'nowhere'" in str(caught.value)


def test_jmespath_errors_point_inside_the_expression(project: Path) -> None:
    spec_file = write(project / "bad.yaml", HEADER + 'fields:\n  a:\n    from: "items[?x == "\n')
    with pytest.raises(SpecError) as caught:
        load_spec(spec_file)
    diag = caught.value.diagnostics[0]
    assert diag.code == "MAP003"
    assert diag.line == 9
    assert diag.column is not None
    assert diag.column > 11


def test_yaml_syntax_errors_pass_through(project: Path) -> None:
    spec_file = write(project / "broken.yaml", HEADER + "fields: {a: [1, 2\n")
    with pytest.raises(SpecError) as caught:
        load_spec(spec_file)
    assert caught.value.code == "YAML001"


def test_a_missing_file_is_a_spec_error(project: Path) -> None:
    with pytest.raises(SpecError) as caught:
        load_spec(project / "nope.yaml")
    assert caught.value.code == "YAML007"


def test_includes_share_definitions(project: Path) -> None:
    write(
        project / "mappings" / "common" / "definitions.yaml",
        "definitions:\n  address:\n    fields:\n      city: {from: city}\n"
        "      country_code: {from: country_code, transform: [upper]}\n",
    )
    spec_file = write(
        project / "mappings" / "shop" / "order.inbound.yaml",
        HEADER
        + "include: [../common/definitions.yaml]\n"
        + "fields:\n  ship: {from: shipping_address, use: address}\n",
    )
    spec = load_spec(spec_file)
    assert len(spec.includes) == 1
    assert spec.includes[0].endswith("definitions.yaml")
    address = spec.definitions["address"]
    assert address.fields[1].line == 5
    assert address.fields[1].file is not None
    assert address.fields[1].file.endswith("definitions.yaml")
    out = compile_mapping(spec).apply({"shipping_address": {"city": "Lyon", "country_code": "fr"}})
    assert out == {"ship": {"city": "Lyon", "country_code": "FR"}}


def test_an_error_inside_an_included_definition_names_that_file(project: Path) -> None:
    write(
        project / "defs.yaml",
        "definitions:\n  money:\n    fields:\n      amount: {from: amount, as: decimal}\n",
    )
    spec_file = write(
        project / "order.yaml",
        HEADER + "include: [defs.yaml]\nfields:\n  total: {from: total, use: money}\n",
    )
    mapping = compile_mapping(load_spec(spec_file))
    with pytest.raises(MappingError) as caught:
        mapping.apply({"total": {"amount": "x"}})
    diag = caught.value.diagnostics[0]
    assert diag.file is not None
    assert diag.file.endswith("defs.yaml")
    assert diag.line == 4
    assert diag.data_path == "total.amount"


def test_includes_cannot_escape_the_project(tmp_path: Path) -> None:
    project = tmp_path / "project"
    write(project / "accord.yaml", "")
    write(tmp_path / "outside.yaml", "definitions: {}\n")
    spec_file = write(
        project / "order.yaml", HEADER + "include: [../outside.yaml]\nfields:\n  id: id\n"
    )
    with pytest.raises(SpecError) as caught:
        load_spec(spec_file)
    assert caught.value.code == "MAP006"
    assert "outside the project folder" in str(caught.value)


def test_absolute_includes_cannot_escape_either(tmp_path: Path) -> None:
    project = tmp_path / "project"
    write(project / "accord.yaml", "")
    outside = write(tmp_path / "outside.yaml", "definitions: {}\n")
    spec_file = write(project / "order.yaml", HEADER + f"include: [{outside}]\nfields:\n  id: id\n")
    with pytest.raises(SpecError) as caught:
        load_spec(spec_file)
    assert caught.value.code == "MAP006"


def test_include_cycles_are_reported(project: Path) -> None:
    write(project / "a.yaml", "include: [b.yaml]\ndefinitions: {}\n")
    write(project / "b.yaml", "include: [a.yaml]\ndefinitions: {}\n")
    spec_file = write(project / "order.yaml", HEADER + "include: [a.yaml]\nfields:\n  id: id\n")
    with pytest.raises(SpecError) as caught:
        load_spec(spec_file)
    assert caught.value.code == "MAP007"
    assert "a.yaml -> b.yaml -> a.yaml" in str(caught.value)


def test_including_itself_is_a_cycle(project: Path) -> None:
    spec_file = write(project / "order.yaml", HEADER + "include: [order.yaml]\nfields:\n  id: id\n")
    with pytest.raises(SpecError) as caught:
        load_spec(spec_file)
    assert caught.value.code == "MAP007"


def test_a_missing_include_is_reported(project: Path) -> None:
    spec_file = write(project / "order.yaml", HEADER + "include: [nope.yaml]\nfields:\n  id: id\n")
    with pytest.raises(SpecError) as caught:
        load_spec(spec_file)
    assert caught.value.code == "MAP006"
    assert caught.value.diagnostics[0].line == 7


def test_lookup_files(project: Path) -> None:
    write(
        project / "lookups" / "carriers.yaml",
        "table:\n  UPS: ups\n  'FedEx Ground': fedex\ndefault: other\n",
    )
    spec_file = write(
        project / "mappings" / "fulfillment.yaml",
        HEADER
        + "lookups:\n  carriers: ../lookups/carriers.yaml\n"
        + "fields:\n  carrier: {from: company, lookup: {table: carriers}}\n",
    )
    mapping = compile_mapping(load_spec(spec_file))
    assert mapping.apply({"company": "FedEx Ground"}) == {"carrier": "fedex"}
    assert mapping.apply({"company": "Pigeon"}) == {"carrier": "other"}


def test_a_bad_lookup_file_is_reported_in_that_file(project: Path) -> None:
    write(project / "carriers.yaml", "rows: {}\n")
    spec_file = write(
        project / "f.yaml",
        HEADER + "lookups:\n  carriers: carriers.yaml\nfields:\n  c: {from: c, lookup: carriers}\n",
    )
    with pytest.raises(SpecError) as caught:
        load_spec(spec_file)
    files = {d.file for d in caught.value.diagnostics if d.code == "MAP008"}
    assert any(f is not None and f.endswith("carriers.yaml") for f in files)


def test_project_root_is_the_folder_with_accord_yaml(project: Path) -> None:
    spec_file = write(project / "mappings" / "x" / "a.yaml", "")
    assert project_root_for(spec_file) == project.resolve()


def test_without_a_project_file_the_spec_folder_is_the_root(tmp_path: Path) -> None:
    spec_file = write(tmp_path / "solo" / "a.yaml", "")
    assert project_root_for(spec_file) == (tmp_path / "solo").resolve()


def test_shipped_specs_compile() -> None:
    root = Path(__file__).resolve().parents[2] / "mappings"
    specs = [
        p
        for p in sorted(root.rglob("*.yaml"))
        if not p.name.endswith(".cases.yaml")
        and "lookups" not in p.parts
        and p.name != "definitions.yaml"
    ]
    if not specs:
        pytest.skip("no shipped specs in this checkout")
    for path in specs:
        mapping = compile_mapping(load_spec(path))
        assert mapping.spec.file is not None
        assert all(f.line is not None for f in mapping.spec.fields), path


def test_spec_from_yaml_text_keeps_lines() -> None:
    spec = spec_from_yaml(
        HEADER + "extra: [client.agent]\nfields:\n  id: {from: id}\n", file="t.yaml"
    )
    assert spec.fields[0].location == "t.yaml:9"
    mapping = compile_mapping(spec)
    with pytest.raises(MappingError) as caught:
        mapping.apply({"id": 1, "client": ["x"]})
    diag = caught.value.diagnostics[0]
    assert (diag.code, diag.file, diag.line) == ("MAP202", "t.yaml", 7)
    assert dict(diag.details)["target"] == "extra.client.agent"


def test_spec_from_yaml_reports_syntax_errors() -> None:
    with pytest.raises(SpecError) as caught:
        spec_from_yaml("fields: [", file="t.yaml")
    assert caught.value.code == "YAML001"


def test_absurdly_deep_spec_data_is_a_spec_error() -> None:
    fields: dict[str, Any] = {"x": {"from": "x"}}
    for _ in range(3000):
        fields = {"o": {"fields": fields}}
    data = {"mapping": "m", "channel": "c", "direction": "inbound", "source": "s", "target": "t"}
    with pytest.raises(SpecError) as caught:
        MappingSpec.from_dict({**data, "fields": fields})
    assert caught.value.code == "MAP002"


def test_the_nesting_limit_does_not_depend_on_the_recursion_limit() -> None:
    fields: dict[str, Any] = {"x": {"from": "x"}}
    for _ in range(65):
        fields = {"o": {"fields": fields}}
    data = {"mapping": "m", "channel": "c", "direction": "inbound", "source": "s", "target": "t"}
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(100_000)  # as a test runner or a host may have raised it
    try:
        with pytest.raises(SpecError) as caught:
            MappingSpec.from_dict({**data, "fields": fields})
    finally:
        sys.setrecursionlimit(limit)
    assert [(d.code, d.message) for d in caught.value.diagnostics] == [
        ("MAP002", "the spec nests fields: more than 64 levels deep")
    ]
