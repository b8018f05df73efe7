"""``accord schema``: every kind printed, written and checked by a subprocess, as editors and
CI use it; the draft-07 project schema decides like the runtime's draft 2020-12 original."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import (  # type: ignore[import-untyped, unused-ignore]
    Draft7Validator,
    Draft202012Validator,
)

from accord.cli.schema import expected_files, project_schema, to_draft07
from accord.engine.mapping.schema import LOOKUP_TABLE_SCHEMA, MAPPING_SPEC_SCHEMA
from accord.engine.runtime.config import project_schema as runtime_project_schema
from accord.engine.yamlsource import load_yaml
from tests.cli.conftest import run_accord

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ROOT / "docs" / "schemas"
DRAFT_07 = "http://json-schema.org/draft-07/schema#"


def _keys(node: Any) -> set[str]:
    if isinstance(node, dict):
        return set(node) | {k for v in node.values() for k in _keys(v)}
    if isinstance(node, list):
        return {k for v in node for k in _keys(v)}
    return set()


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["spec"], MAPPING_SPEC_SCHEMA),
        (["spec", "mapping"], MAPPING_SPEC_SCHEMA),
        (["spec", "lookup"], LOOKUP_TABLE_SCHEMA),
    ],
)
def test_schema_spec_prints_the_spec_schemas(argv: list[str], expected: dict[str, Any]) -> None:
    done = run_accord("schema", *argv, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    printed = json.loads(done.stdout)
    assert printed == expected
    assert printed["$schema"] == DRAFT_07


def test_schema_project_prints_a_draft07_schema_derived_from_the_runtimes() -> None:
    done = run_accord("schema", "project", cwd=ROOT)
    assert done.returncode == 0, done.stderr
    printed = json.loads(done.stdout)
    Draft7Validator.check_schema(printed)
    assert printed["$schema"] == DRAFT_07
    assert printed["$id"] == "https://accord.dev/schemas/project.draft-07.schema.json"
    assert "$defs" not in _keys(printed)
    assert set(printed["definitions"]) == set(runtime_project_schema()["$defs"])
    assert printed["properties"].keys() == runtime_project_schema()["properties"].keys()
    refs = {v for k, v in _walk(printed) if k == "$ref"}
    assert refs
    assert all(r.startswith("#/definitions/") for r in refs)

    original = run_accord("schema", "project", "--draft", "2020-12", cwd=ROOT)
    assert original.returncode == 0, original.stderr
    assert json.loads(original.stdout) == runtime_project_schema()


def _walk(node: Any) -> list[tuple[str, Any]]:
    if isinstance(node, dict):
        return [(k, v) for k, v in node.items()] + [p for v in node.values() for p in _walk(v)]
    if isinstance(node, list):
        return [p for v in node for p in _walk(v)]
    return []


def _example_project() -> dict[str, Any]:
    data: dict[str, Any] = copy.deepcopy(load_yaml(ROOT / "accord.yaml").data)
    return data


def _broken_projects() -> list[tuple[str, dict[str, Any]]]:
    base = _example_project()
    out = []
    for label, change in [
        ("no flows", lambda d: d.pop("flows")),
        ("unknown top-level key", lambda d: d.update(stores="sqlite:///x.db")),
        ("store that is no URL", lambda d: d.update(store="accord.db")),
        ("empty channel list", lambda d: d.update(channels=[])),
        ("channel without a name", lambda d: d["channels"][0].pop("name")),
        ("unknown channel key", lambda d: d["channels"][0].update(knd="shopify")),
        ("flow with an unknown key", lambda d: d["flows"][0].update(too="x")),
        ("project name not a string", lambda d: d.update(project=7)),
    ]:
        doc = copy.deepcopy(base)
        change(doc)
        out.append((label, doc))
    return out


def _errors(validator: Any, doc: dict[str, Any]) -> set[tuple[str, str]]:
    return {("/".join(map(str, e.absolute_path)), e.validator) for e in validator.iter_errors(doc)}


def test_the_draft07_project_schema_decides_like_the_runtimes() -> None:
    runtime = Draft202012Validator(runtime_project_schema())
    editor = Draft7Validator(project_schema("07"))
    example = _example_project()
    assert _errors(editor, example) == _errors(runtime, example) == set()
    for label, doc in _broken_projects():
        found = _errors(editor, doc)
        assert found, label
        assert found == _errors(runtime, doc), label


def test_to_draft07_refuses_what_draft07_cannot_say() -> None:
    with pytest.raises(ValueError, match=r"#/properties/a: 'unevaluatedProperties'"):
        to_draft07({"properties": {"a": {"unevaluatedProperties": False}}})
    with pytest.raises(ValueError, match="'items' has no draft-07 equivalent"):
        to_draft07({"items": [{"type": "string"}]})
    # A property named like a keyword is a name, not a keyword.
    assert to_draft07({"properties": {"$defs": {"type": "string"}}}) == {
        "properties": {"$defs": {"type": "string"}}
    }


@pytest.mark.parametrize(
    ("kind", "names"),
    [
        ("spec", ["lookup-table.schema.json", "mapping-spec.schema.json"]),
        ("project", ["project.draft-07.schema.json", "project.schema.json"]),
    ],
)
def test_write_then_check_and_a_stale_file_exits_1(
    kind: str, names: list[str], tmp_path: Path
) -> None:
    target = tmp_path / "schemas"
    missing = run_accord("schema", kind, "--check", str(target), cwd=ROOT)
    assert missing.returncode == 1
    assert f"run: accord schema {kind} --write {target}" in missing.stderr

    written = run_accord("schema", kind, "--write", str(target), cwd=ROOT)
    assert written.returncode == 0, written.stderr
    assert sorted(p.name for p in target.iterdir()) == names
    assert f"{len(names)} schema file(s) changed in {target}" in written.stderr
    for name in names:  # what the command writes is what the repository publishes
        assert (target / name).read_text() == (SCHEMAS / name).read_text(), name
    assert run_accord("schema", kind, "--check", str(target), cwd=ROOT).returncode == 0

    again = run_accord("schema", kind, "--write", str(target), cwd=ROOT)
    assert "0 schema file(s) changed" in again.stderr

    stale = target / names[0]
    stale.write_text(stale.read_text().replace('"type"', '"typ"', 1))
    checked = run_accord("schema", kind, "--check", str(target), cwd=ROOT)
    assert checked.returncode == 1
    assert checked.stderr.splitlines() == [
        f"{stale}: out of date with "
        + ("the mapping spec language" if kind == "spec" else "the project config"),
        f"run: accord schema {kind} --write {target}",
    ]


def test_schema_all_writes_the_docs_layout_and_the_committed_files_are_current(
    tmp_path: Path,
) -> None:
    written = run_accord("schema", "all", "--write", str(tmp_path), cwd=ROOT)
    assert written.returncode == 0, written.stderr
    files = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file())
    assert files == sorted(expected_files())
    assert {"cases.schema.json", "canonical/order.draft-07.schema.json"} <= set(files)
    for name in files:
        assert (tmp_path / name).read_text() == (SCHEMAS / name).read_text(), name

    committed = run_accord("schema", "all", "--check", "docs/schemas", cwd=ROOT)
    assert committed.returncode == 0, committed.stderr
    assert committed.stderr == ""


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["schema", "rules"], "invalid choice: 'rules'"),
        (["schema", "spec", "table"], "invalid choice: 'table'"),
        (["schema", "canonical", "ordr"], "unknown entity 'ordr' (did you mean order"),
        (["schema", "project", "--draft", "04"], "invalid choice: '04'"),
        (["schema", "all"], "one of the arguments --write --check is required"),
        (["schema"], "usage: accord schema"),
    ],
)
def test_unknown_kinds_and_entities_are_usage_errors(argv: list[str], message: str) -> None:
    done = run_accord(*argv, cwd=ROOT)
    assert done.returncode == 2
    assert message in done.stderr
    assert done.stdout == ""
