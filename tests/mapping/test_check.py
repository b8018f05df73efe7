"""The spec checker: data-driven cases, golden messages, shipped specs and generated specs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accord.diagnostics import Diagnostic, Severity
from accord.engine.mapping.check import check_lookup_file, check_spec_file, check_spec_text
from accord.engine.yamlsource import load_yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
CASE_FILES = sorted((HERE / "check_cases").glob("*.yaml"))

#: Put in front of a case's `spec` unless the case says `header: false`.
HEADER = """\
mapping: shop.order.inbound
channel: shop
api_version: "2024-04"
direction: inbound
source: shop.order
target: order
version: 1
"""
HEADER_LINES = HEADER.count("\n")


def _cases() -> list[Any]:
    return [
        pytest.param(case, id=f"{path.stem}: {case['name']}")
        for path in CASE_FILES
        for case in load_yaml(path).data["cases"]
    ]


def _expectation(text: str) -> tuple[str, str | None, int, int, str]:
    """``"MAP101 3:5"`` / ``"MAP101 defs.yaml:3:5 warning"`` -> (code, file, line, col, sev)."""
    parts = text.split()
    code, where = parts[0], parts[1]
    severity = parts[2] if len(parts) > 2 else "error"
    *file, line, col = where.split(":")
    return code, ":".join(file) or None, int(line), int(col), severity


def _run_case(case: dict[str, Any], tmp_path: Path) -> list[Diagnostic]:
    project = tmp_path / "project"
    project.mkdir()
    for name, text in (case.get("files") or {}).items():
        target = project / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    prefix = HEADER if case.get("header", True) else ""
    spec = project / "spec.yaml"
    spec.write_text(prefix + case["spec"], encoding="utf-8")
    return check_spec_file(spec, project_root=project)


@pytest.mark.parametrize("case", _cases())
def test_check_case(case: dict[str, Any], tmp_path: Path) -> None:
    diagnostics = _run_case(case, tmp_path)
    offset = HEADER_LINES if case.get("header", True) else 0
    project = tmp_path / "project"
    got = []
    for d in diagnostics:
        file = None
        if d.file is not None and Path(d.file).resolve() != (project / "spec.yaml").resolve():
            file = str(Path(d.file).resolve().relative_to(project.resolve()))
        line = (d.line or 0) - (offset if file is None else 0)
        got.append((d.code, file, line, d.column or 0, Severity(d.severity).value))
    expected = [_expectation(e) for e in case["expect"]]
    assert sorted(got, key=str) == sorted(expected, key=str), "\n".join(
        d.render() for d in diagnostics
    )


def test_every_code_is_covered_by_a_case() -> None:
    codes = {
        _expectation(e)[0]
        for path in CASE_FILES
        for case in load_yaml(path).data["cases"]
        for e in case["expect"]
    }
    semantic = {f"MAP{n}" for n in range(101, 122)}  # MAP100 is a bug report, not a check
    assert semantic <= codes, f"no case for {sorted(semantic - codes)}"


# -- golden messages -------------------------------------------------------------------------


def _render(text: str) -> str:
    diagnostics = check_spec_text(HEADER + text, "order.inbound.yaml")
    return "\n".join(d.render(HEADER + text) for d in diagnostics)


def test_golden_unknown_target() -> None:
    assert _render(
        "fields:\n  id: {from: id}\n  lines:\n    each: items\n    fields:\n"
        "      unit_prise: {from: price, as: money, currency: USD}\n"
        "      quantity: {from: qty, as: int}\n"
    ) == (
        "order.inbound.yaml:13:7: error MAP101: unknown target field 'unit_prise' on order "
        "in 'lines[]' (did you mean 'unit_price'?)\n"
        "      unit_prise: {from: price, as: money, currency: USD}\n"
        "      ^^^^^^^^^^"
    )


def test_golden_bad_jmespath_points_inside_the_expression() -> None:
    assert _render('fields:\n  id: {from: "items[?sku==]"}\n') == (
        "order.inbound.yaml:9:27: error MAP109: bad JMESPath expression 'items[?sku==]': "
        "unexpected ']'\n"
        '  id: {from: "items[?sku==]"}\n'
        "                          ^"
    )


def test_golden_bad_transform_arguments_show_the_signature() -> None:
    rendered = _render("fields:\n  id: {from: id, transform: [{truncate: ten}]}\n")
    assert rendered.splitlines()[0] == (
        "order.inbound.yaml:9:30: error MAP108: truncate: length must be int, got string "
        "(signature: truncate(value: str, length: int) -> str)"
    )


def test_golden_enum_value() -> None:
    rendered = _render(
        "fields:\n  id: {from: id}\n  financial_status: {from: s, map: {p: payed}}\n"
    )
    assert rendered.splitlines()[0] == (
        "order.inbound.yaml:10:40: error MAP116: 'payed' is not a financial_status value "
        "(pending, authorized, partially_paid, paid, partially_refunded, refunded, voided, "
        "expired); did you mean 'paid'?"
    )


# -- entry points and shipped content --------------------------------------------------------


def test_check_spec_file_never_raises_for_unreadable_files(tmp_path: Path) -> None:
    [diag] = check_spec_file(tmp_path / "missing.yaml")
    assert diag.code == "YAML007"
    bad = tmp_path / "bad.yaml"
    bad.write_bytes(b"fields: \xff\n")
    assert [d.code for d in check_spec_file(bad)] == ["YAML006"]


def test_check_lookup_file(tmp_path: Path) -> None:
    good = tmp_path / "good.yaml"
    good.write_text("table: {a: b}\ndefault: c\n")
    assert check_lookup_file(good) == []
    bad = tmp_path / "bad.yaml"
    bad.write_text("table: {a: [1]}\ntable: {}\n")
    assert [(d.code, d.line) for d in check_lookup_file(bad)] == [
        ("YAML002", 2),
        ("SPEC008", 2),
    ]
    assert [d.code for d in check_lookup_file(tmp_path / "none.yaml")] == ["YAML007"]


def test_results_are_sorted_and_deduplicated() -> None:
    text = HEADER + "fields:\n  b: {from: x}\n  a: {from: y}\n  id: {from: id, as: int}\n"
    diagnostics = check_spec_text(text, "o.yaml")
    keys = [d.sort_key for d in diagnostics]
    assert keys == sorted(keys)
    assert len(set(diagnostics)) == len(diagnostics)
    assert [d.code for d in diagnostics] == ["MAP101", "MAP101", "MAP103"]


def test_the_spec_model_is_the_safety_net(tmp_path: Path) -> None:
    # Something only the spec model refuses still comes out (as its own diagnostics):
    # a default that cannot be coerced.
    text = (
        HEADER
        + "fields:\n  id: {from: id}\n  taxes_included: {from: t, as: bool, default: maybe}\n"
    )
    codes = [d.code for d in check_spec_text(text, str(tmp_path / "o.yaml"))]
    assert codes == ["MAP009"]


SHIPPED = sorted(
    p
    for p in (ROOT / "mappings").rglob("*.yaml")
    if not p.name.endswith(".cases.yaml")
    and p.parent.name != "lookups"
    and p.name != "definitions.yaml"
)


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: str(p.relative_to(ROOT)))
def test_shipped_specs_check_without_crashing(path: Path) -> None:
    diagnostics = check_spec_file(path)
    for d in diagnostics:
        assert d.line is not None, d.render()
        assert d.code[:3] in ("YAM", "SPE", "MAP")


@pytest.mark.parametrize(
    "path", sorted((ROOT / "mappings").rglob("lookups/*.yaml")), ids=lambda p: p.name
)
def test_shipped_lookup_files_are_clean(path: Path) -> None:
    assert check_lookup_file(path) == []


# -- generated specs -------------------------------------------------------------------------

_names = st.sampled_from(
    [
        "id",
        "number",
        "total",
        "lines",
        "currency",
        "customer.email",
        "totl",
        "tags",
        "x.y",
        "financial_status",
        "placed_at",
        "external_ids.shop",
        "shipping_address",
        "",
    ]
)
_paths = st.sampled_from(
    ["id", "a.b", "items[0].sku", "$root.currency", "a[?b=='c']", "a[", "@", "x..y", "`1`"]
)
_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 5), st.sampled_from(["", "USD", "paid", "ms"])
)
_transform = st.one_of(
    st.sampled_from(["strip", "upper", "sum", "nope", "normalize_sku"]),
    st.fixed_dictionaries({"split": st.one_of(st.just(","), st.integers())}),
    st.fixed_dictionaries({"truncate": _scalars}),
)


def _rule(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    keys = {
        "from": st.one_of(_paths, st.lists(_paths, max_size=3), _scalars),
        "value": _scalars,
        "default": _scalars,
        "required": st.one_of(st.booleans(), _scalars),
        "as": st.sampled_from(["string", "int", "money", "datetime", "bool", "nope", 3]),
        "currency": st.one_of(
            st.sampled_from(["USD", "usd", 5]),
            st.fixed_dictionaries({"from": _paths}),
            st.fixed_dictionaries({"field": _names}),
        ),
        "money": st.sampled_from(["shop", "presentment", "other"]),
        "tz": st.sampled_from(["UTC", "Europe/Paris", "Nowhere/Land", ""]),
        "map": st.dictionaries(st.sampled_from(["a", "b", "paid"]), _scalars, max_size=3),
        "unknown": st.sampled_from(["warn", "error", "maybe"]),
        "lookup": st.one_of(
            st.sampled_from(["t", "nope"]), st.fixed_dictionaries({"table": _names})
        ),
        "transform": st.one_of(_transform, st.lists(_transform, max_size=3)),
        "when": _paths,
        "each": st.one_of(_paths, _scalars),
        "wrap": st.one_of(st.booleans(), _scalars),
        "use": st.sampled_from(["address", "nope", ""]),
        "fields": children,
        "empty": st.sampled_from(["missing", "null", "other"]),
        "bogus": _scalars,
    }
    return st.one_of(
        _paths,
        _scalars,
        st.fixed_dictionaries({}, optional=keys),
    )


_field_maps = st.recursive(
    st.dictionaries(_names, _rule(st.nothing()), max_size=4),
    lambda inner: st.dictionaries(_names, _rule(inner), max_size=4),
    max_leaves=12,
)
_specs = st.fixed_dictionaries(
    {"fields": st.one_of(_field_maps, _scalars)},
    optional={
        "mapping": st.sampled_from(["shop.order.inbound", ""]),
        "channel": st.sampled_from(["shop", 5]),
        "api_version": st.sampled_from(["1", 2024]),
        "direction": st.sampled_from(["inbound", "outbound", "sideways"]),
        "source": st.sampled_from(["shop.order", "order", "nope"]),
        "target": st.sampled_from(["order", "customer", "ordr", "shop.order"]),
        "version": st.one_of(st.integers(-1, 3), _scalars),
        "definitions": st.dictionaries(
            st.sampled_from(["address", "x"]),
            st.fixed_dictionaries({"fields": _field_maps}),
            max_size=2,
        ),
        "lookups": st.dictionaries(
            st.sampled_from(["t", "u"]), st.sampled_from(["missing.yaml", "../x.yaml"]), max_size=2
        ),
        "include": st.lists(st.sampled_from(["missing.yaml", "../../etc.yaml"]), max_size=2),
        "inputs": st.lists(st.sampled_from(["order", "items"]), max_size=2),
        "extra": st.lists(_paths, max_size=2),
        "bogus": _scalars,
    },
)


def _to_yaml(value: Any, indent: int = 0) -> str:
    """Block-style YAML, so positions are spread over many lines."""
    import json

    pad = " " * indent
    if isinstance(value, dict) and value:
        lines = []
        for k, v in value.items():
            key = json.dumps(str(k))
            if isinstance(v, (dict, list)) and v:
                lines.append(f"{pad}{key}:\n{_to_yaml(v, indent + 2)}")
            else:
                lines.append(f"{pad}{key}: {_to_yaml(v)}")
        return "\n".join(lines)
    if isinstance(value, list) and value:
        return "\n".join(
            f"{pad}- {_to_yaml(v, indent + 2).lstrip()}"
            if isinstance(v, (dict, list)) and v
            else f"{pad}- {_to_yaml(v)}"
            for v in value
        )
    return json.dumps(value)


@settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(spec=_specs)
def test_generated_specs_validate_or_give_located_diagnostics(
    spec: dict[str, Any], tmp_path: Path
) -> None:
    text = _to_yaml(spec) + "\n"
    diagnostics = check_spec_text(
        text, str(tmp_path / "project" / "spec.yaml"), project_root=tmp_path / "project"
    )
    for d in diagnostics:
        assert isinstance(d, Diagnostic)
        assert d.code[:3] in ("YAM", "SPE", "MAP"), d.render()
        assert d.code != "MAP100", d.render(text)  # the spec model crashed: a bug
        if d.code.startswith(("YAML", "SPEC", "MAP")):
            assert d.line is not None, d.render(text)
            assert d.column is not None, d.render(text)
