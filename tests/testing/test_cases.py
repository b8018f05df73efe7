from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import jsonschema
import pytest

from accord.errors import SpecError
from accord.testing import case_file_schema, check_case_file, load_case_file

ROOT = Path(__file__).resolve().parents[2]

GOOD = """\
# a comment that --update must keep
cases:
  - name: paid order
    given: {id: 1, price: 12.30, currency: USD}
    now: "2026-03-02T10:00:00Z"
    context: {captured: "100.00 USD"}
    expect: {id: "1"}
    ignore: [updated_at, "lines[].id"]
  - name: from a file
    given_file: payload.json
    expect_error: MAP201
"""


def test_load_good_file_with_positions_and_decimal_floats(case_dir: Path) -> None:
    (case_dir / "payload.json").write_text('{"price": 1.10}')
    path = case_dir / "order.inbound.cases.yaml"
    path.write_text(GOOD)
    loaded = load_case_file(path)
    assert loaded.subject == case_dir / "order.inbound.yaml"
    first, second = loaded.cases
    assert (first.name, first.line, first.index) == ("paid order", 3, 0)
    assert first.given == {"id": 1, "price": Decimal("12.30"), "currency": "USD"}
    assert first.now is not None
    assert first.now.isoformat() == "2026-03-02T10:00:00+00:00"
    assert first.ignore == ("updated_at", "lines[].id")
    assert first.has_expect
    assert first.expect == {"id": "1"}
    assert second.given == {"price": Decimal("1.10")}
    assert second.expect_error == "MAP201"
    assert not second.has_expect


def test_every_problem_is_reported_with_its_location(case_dir: Path) -> None:
    path = case_dir / "order.inbound.cases.yaml"
    path.write_text(
        "cases:\n"
        "  - name: a\n"
        "    given: {}\n"
        "    expect: {}\n"
        "    expect_error: MAP201\n"
        "  - name: a\n"
        "    given: {}\n"
        "  - name: b\n"
        "    given: {}\n"
        "    inputs: {}\n"
        "    now: yesterday\n"
        "    colour: red\n"
        "  - name: c\n"
        "    given_file: missing.json\n"
        "    ignore: ['a[x]']\n"
    )
    with pytest.raises(SpecError) as info:
        load_case_file(path)
    found = [(d.code, d.line) for d in info.value.diagnostics]
    assert ("CASE007", 2) in found  # expect and expect_error together
    assert ("CASE002", 6) in found  # duplicate name, at the name
    assert ("CASE007", 8) in found  # given and inputs together
    assert ("CASE001", 12) in found  # unknown key 'colour'
    assert ("CASE005", 11) in found  # now is not a time
    assert ("CASE004", 14) in found
    assert ("CASE006", 15) in found
    assert all(d.file == str(path) for d in info.value.diagnostics)
    assert [d.line for d in info.value.diagnostics] == sorted(
        d.line or 0 for d in info.value.diagnostics
    )
    unknown = next(d for d in info.value.diagnostics if d.line == 12)
    assert "unknown key" in unknown.message
    assert "colour" in unknown.message


def test_yaml_syntax_error_and_missing_subject(tmp_path: Path) -> None:
    bad = tmp_path / "x.cases.yaml"
    bad.write_text("cases:\n  - name: [unclosed\n")
    assert [d.code for d in check_case_file(bad)] == ["YAML001"]
    orphan = tmp_path / "orphan.cases.yaml"
    orphan.write_text("cases: []\n")
    (diag,) = check_case_file(orphan)
    assert diag.code == "CASE003"
    assert "orphan.yaml" in diag.message
    assert diag.hint


def test_explicit_subject_and_duplicate_yaml_keys(tmp_path: Path) -> None:
    (tmp_path / "pack.rules").write_text("ruleset x\n")
    path = tmp_path / "other.cases.yaml"
    path.write_text("subject: pack.rules\ncases:\n  - name: a\n    given: {}\n")
    assert load_case_file(path).subject == (tmp_path / "pack.rules").resolve()
    path.write_text("subject: nope.rules\ncases: []\n")
    assert [d.code for d in check_case_file(path)] == ["CASE003"]
    path.write_text("subject: pack.rules\ncases: []\ncases: []\n")
    assert [d.code for d in check_case_file(path)] == ["YAML002"]


def test_case_file_schema_is_published_and_valid_draft7() -> None:
    schema = case_file_schema()
    jsonschema.Draft7Validator.check_schema(schema)
    published = json.loads((ROOT / "docs" / "schemas" / "cases.schema.json").read_text())
    assert published == schema
    validator = jsonschema.Draft7Validator(schema)
    assert not list(validator.iter_errors({"cases": [{"name": "a", "given": {}, "expect": {}}]}))
    both = {"cases": [{"name": "a", "given": {}, "inputs": {}}]}
    assert list(validator.iter_errors(both))
