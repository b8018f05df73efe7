"""The mapping-language compliance suite: every YAML file under compliance/ is data.

A file holds an optional shared ``spec:`` (header keys and ``fields:``) and ``cases:``. A case
gives ``given`` (or ``given_json``, parsed with plain ``json.loads`` so floats stay floats),
its own ``fields:``/``spec:`` if it needs them, and one outcome:

* ``expect``: the exact record. Decimals compare by their digits (``10.00`` is not ``10.0``),
  text only matches text (an int id does not match ``"123"``), datetimes match ISO-8601 UTC
  text ending in ``Z`` and must be aware UTC.
* ``error``: the MappingError code; optional ``data_path``, ``classification``,
  ``value`` (the rendered offending value) and ``line`` (spec line, 1-based, of the field).
* ``spec_error``: the code of a SpecError raised while building or compiling the spec.

``warnings: [CODE, ...]`` lists the warnings the mapping must report.

A case (or the file, next to its shared ``spec:``) may also give:

* ``direction: outbound``: the header becomes that of an outbound spec, reading the canonical
  ``order`` and writing the channel payload ``compliance.order``;
* ``files:`` relative path -> text, written into a fresh project folder that ``include:``
  and ``lookups:`` resolve in (a path leaving the folder lands just outside it);
* ``unmapped:``: the drift report over ``given`` and the payloads of ``also_observed:``
  (each observed with record id ``r1``, ``r2``, ... in order), as a list of
  ``{path, count, example}``, most frequent first;
* ``explain:`` target -> the expected parts of that field's trace (``branch``, ``read``,
  ``value``, ``note``, ``sources``, ``produced``, ``rule``), values as the trace's JSON form
  (amounts and timestamps as text).
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from accord.diagnostics import Diagnostic
from accord.engine.mapping import CompiledMapping, MappingSpec, compile_mapping
from accord.engine.mapping.drift import DriftRecorder
from accord.engine.mapping.explain import Explanation
from accord.engine.yamlsource import load_yaml
from accord.errors import MappingError, SpecError

HERE = Path(__file__).parent / "compliance"
HEADER = {
    "mapping": "compliance.case.inbound",
    "channel": "compliance",
    "direction": "inbound",
    "source": "compliance.thing",
    "target": "thing",
    "version": 1,
}
OUTBOUND_HEADER = {
    "mapping": "compliance.case.outbound",
    "channel": "compliance",
    "direction": "outbound",
    "source": "order",
    "target": "compliance.order",
    "version": 1,
}
#: Case keys that belong to the file's shared setting when the file gives them.
_SHARED = ("direction", "files")


def _cases() -> list[Any]:
    out = []
    for path in sorted(HERE.glob("*.yaml")):
        doc = load_yaml(path).data
        names = set()
        for case in doc["cases"]:
            assert case["name"] not in names, f"duplicate case name in {path.name}"
            names.add(case["name"])
            setting = {k: doc[k] for k in _SHARED if k in doc}
            case = {**setting, **case}
            if "files" in setting and "files" in case:
                case["files"] = {**setting["files"], **case["files"]}
            out.append(pytest.param(doc.get("spec", {}), case, id=f"{path.stem}: {case['name']}"))
    return out


def _spec(shared: dict[str, Any], case: dict[str, Any]) -> dict[str, Any]:
    direction = case.get("direction", "inbound")
    header = OUTBOUND_HEADER if direction == "outbound" else HEADER
    data = {**header, **shared, **case.get("spec", {})}
    if "fields" in case:
        data["fields"] = case["fields"]
    return data


def _build(data: dict[str, Any], case: dict[str, Any], tmp_path: Path) -> MappingSpec:
    """The spec of a case; with ``files:``, inside a project folder holding those files."""
    if "files" not in case:
        return MappingSpec.from_dict(data)
    project = tmp_path / "project"
    project.mkdir()
    for name, text in case["files"].items():
        target = project / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    return MappingSpec.from_dict(data, base_dir=project, project_root=project)


def _check_unmapped(mapping: CompiledMapping, payload: Any, case: dict[str, Any]) -> None:
    drift = DriftRecorder(mapping)
    for i, observed in enumerate([payload, *case.get("also_observed", [])], 1):
        drift.observe(observed, record_id=f"r{i}")
    got = [
        {"path": u.path, "count": u.count, "example": u.example_record_id}
        for u in drift.report().unmapped
    ]
    assert got == case["unmapped"], got


def _check_explain(explanation: Explanation, expected: dict[str, Any]) -> None:
    for target, parts in expected.items():
        trace = explanation.field(target).to_dict()
        got = {key: trace.get(key) for key in parts}
        if "sources" in got:
            got["sources"] = list(got["sources"])
        assert got == parts, f"{target}: {trace}"


def assert_same(actual: Any, expected: Any, path: str = "$") -> None:
    """Typed structural equality, see the module docstring."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict), f"{path}: expected an object, got {actual!r}"
        assert set(actual) == set(expected), f"{path}: keys {sorted(actual)} != {sorted(expected)}"
        for key in expected:
            assert_same(actual[key], expected[key], f"{path}.{key}")
    elif isinstance(expected, list):
        assert isinstance(actual, list), f"{path}: expected a list, got {actual!r}"
        assert len(actual) == len(expected), f"{path}: {actual!r} != {expected!r}"
        for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
            assert_same(a, e, f"{path}[{i}]")
    elif isinstance(expected, Decimal):
        assert isinstance(actual, Decimal), f"{path}: expected Decimal {expected}, got {actual!r}"
        assert str(actual) == str(expected), f"{path}: {actual} != {expected}"
    elif isinstance(expected, str) and isinstance(actual, datetime):
        assert actual.tzinfo is UTC, f"{path}: {actual!r} is not aware UTC"
        assert actual.isoformat().replace("+00:00", "Z") == expected, f"{path}: {actual}"
    elif isinstance(expected, str) and isinstance(actual, date):
        assert actual.isoformat() == expected, f"{path}: {actual}"
    else:
        assert type(actual) is type(expected), f"{path}: {actual!r} is not {expected!r}"
        assert actual == expected, f"{path}: {actual!r} != {expected!r}"


@pytest.mark.parametrize(("shared", "case"), _cases())
def test_compliance(shared: dict[str, Any], case: dict[str, Any], tmp_path: Path) -> None:
    data = _spec(shared, case)
    if "spec_error" in case:
        with pytest.raises(SpecError) as caught:
            compile_mapping(_build(data, case, tmp_path))
        codes = [d.code for d in caught.value.diagnostics]
        assert case["spec_error"] in codes, caught.value
        return
    mapping = compile_mapping(_build(data, case, tmp_path))
    payload = json.loads(case["given_json"]) if "given_json" in case else case.get("given")
    warnings: list[Diagnostic] = []
    if "error" in case:
        with pytest.raises(MappingError) as caught:
            mapping.apply(payload, record_id=case.get("record_id"), warnings=warnings)
        diag = caught.value.diagnostics[0]
        assert caught.value.code == case["error"], caught.value
        details = dict(diag.details)
        if "data_path" in case:
            assert diag.data_path == case["data_path"], diag
        if "classification" in case:
            assert details["classification"] == case["classification"], diag
        if "value" in case:
            assert details.get("value") == case["value"], diag
        if "target" in case:
            assert details["target"] == case["target"], diag
        if "record_id" in case:
            assert diag.record_id == case["record_id"], diag
        assert diag.file is None or diag.line is not None
    else:
        record = mapping.apply(payload, warnings=warnings)
        assert_same(record, case["expect"])
        # The explain build must produce the very same record.
        explained, explanation = mapping.explain(payload)
        assert_same(explained, case["expect"])
        if "explain" in case:
            _check_explain(explanation, case["explain"])
    if "unmapped" in case:
        _check_unmapped(mapping, payload, case)
    assert [w.code for w in warnings] == case.get("warnings", []), warnings
