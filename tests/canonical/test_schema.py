"""The committed JSON Schemas match the models, are valid schemas, and the CLI serves them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from jsonschema import Draft7Validator, Draft202012Validator

from accord.canonical import ENTITIES, to_json, validate_record
from accord.canonical.schema import (
    DRAFTS,
    bundle_schema,
    entity_schema,
    expected_files,
    schema_filename,
    write_schemas,
)
from accord.cli import main

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "docs" / "schemas" / "canonical"
REGENERATE = "accord schema canonical --write docs/schemas/canonical"


def test_committed_schemas_match_the_models() -> None:
    expected = expected_files()
    on_disk = {p.name for p in COMMITTED.glob("*.json")}
    assert on_disk == set(expected), f"schema files differ; run: {REGENERATE}"
    for name, text in expected.items():
        assert (COMMITTED / name).read_text(encoding="utf-8") == text, (
            f"{name} drifted from the model; run: {REGENERATE}"
        )


def test_drift_is_detected(tmp_path: Path) -> None:
    write_schemas(tmp_path)
    path = tmp_path / schema_filename("order", "2020-12")
    assert main(["schema", "canonical", "--check", str(tmp_path)]) == 0
    path.write_text(path.read_text().replace('"total"', '"grand_total"'))
    assert main(["schema", "canonical", "--check", str(tmp_path)]) == 1
    assert write_schemas(tmp_path) == [path]
    assert main(["schema", "canonical", "--check", str(tmp_path)]) == 0


@pytest.mark.parametrize("entity", list(ENTITIES))
def test_schemas_are_valid_against_their_metaschemas(entity: str) -> None:
    Draft202012Validator.check_schema(entity_schema(entity, "2020-12"))
    draft7 = entity_schema(entity, "07")
    Draft7Validator.check_schema(draft7)
    text = json.dumps(draft7)
    assert "$defs" not in text
    assert draft7["$schema"] == "http://json-schema.org/draft-07/schema#"


def test_bundle_is_valid_and_accepts_any_entity() -> None:
    order = to_json(validate_record("order", {"id": "o1"}))
    for draft, cls in zip(DRAFTS, (Draft202012Validator, Draft7Validator), strict=True):
        bundle = bundle_schema(draft)
        cls.check_schema(bundle)
        validator = cls(bundle)
        assert validator.is_valid(order)
        assert not validator.is_valid({"id": 1, "quantity": -1})


def test_schema_refuses_what_the_model_refuses() -> None:
    validator = Draft202012Validator(entity_schema("order_line"))
    good = {"quantity": 1, "unit_price": {"amount": "9.50", "currency": "USD"}}
    assert validator.is_valid(good)
    for bad in (
        {"quantity": -1},
        {"quantity": 1, "unit_price": {"amount": 9.5, "currency": "USD"}},
        {"quantity": 1, "unit_price": {"amount": "9.50", "currency": "XYZ"}},
        {"quantity": 1, "colour": "red"},
        {"quantity": 1, "external_ids": {"shopify": 123}},
    ):
        assert not validator.is_valid(bad), bad


def test_draft07_wraps_refs_that_have_siblings() -> None:
    def walk(node: object) -> None:
        if isinstance(node, dict):
            if "$ref" in node:
                assert set(node) == {"$ref"}, node
                assert node["$ref"].startswith("#/definitions/")
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for entity in ENTITIES:
        walk(entity_schema(entity, "07"))


def test_unknown_draft_is_refused() -> None:
    with pytest.raises(ValueError, match="draft"):
        entity_schema("order", "04")


# -- CLI ----------------------------------------------------------------------------------------


def test_cli_prints_one_entity(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema", "canonical", "refund"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == entity_schema("refund")


def test_cli_prints_draft_07(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema", "canonical", "order", "--draft", "07"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["$schema"] == "http://json-schema.org/draft-07/schema#"
    assert "definitions" in printed


def test_cli_prints_the_bundle_without_an_entity(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema", "canonical"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert set(printed["$defs"]) >= {"Order", "Refund", "Money", "InventoryLevel"}


def test_cli_unknown_entity_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema", "canonical", "ordr"]) == 2
    assert "did you mean order" in capsys.readouterr().err


def test_cli_bad_draft_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["schema", "canonical", "order", "--draft", "04"])
    assert info.value.code == 2


def test_cli_schema_without_kind_shows_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 2
    assert "canonical" in capsys.readouterr().err


def test_cli_write_one_entity_one_draft(tmp_path: Path) -> None:
    assert main(["schema", "canonical", "order", "--draft", "07", "--write", str(tmp_path)]) == 0
    assert [p.name for p in tmp_path.iterdir()] == ["order.draft-07.schema.json"]
    text = (tmp_path / "order.draft-07.schema.json").read_text()
    assert json.loads(text) == entity_schema("order", "07")
