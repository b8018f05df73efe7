"""YAML loading: plain data, Decimal numbers, positions for keys and values, located errors."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from accord.diagnostics import Severity
from accord.engine import yamlsource
from accord.engine.yamlsource import (
    LoadedYaml,
    Span,
    join_pointer,
    load_yaml,
    load_yaml_file,
    split_pointer,
)
from accord.errors import SpecError

SPEC = """\
mapping: shopify.order.inbound   # a comment
fields:
  id: {from: id, as: string}
  external_ids.shopify:
    from: id
  tags:
    - a
    - "b/c"
  when: |
    a == `1`
    && bad(
  folded: >-
    first
    second
"""


def test_plain_data_and_types() -> None:
    doc = load_yaml(
        "a: 19.99\nb: 123456789012345678\nc: true\nd: ~\ne: yes\nf: 2024-04-01\n"
        "g: 0x1F\nh: 1_000\ni: .inf\nj: 012\nk: '19.99'\n"
    )
    assert doc.data == {
        "a": Decimal("19.99"),
        "b": 123456789012345678,
        "c": True,
        "d": None,
        "e": "yes",  # YAML 1.2: not a boolean
        "f": "2024-04-01",  # timestamps stay text
        "g": 31,
        "h": 1000,
        "i": Decimal("Infinity"),
        "j": 12,
        "k": "19.99",
    }
    assert isinstance(doc.data["a"], Decimal)
    assert doc.file is None
    assert doc.diagnostics == []


def test_floats_never_become_float_anywhere() -> None:
    doc = load_yaml('{"lines": [{"price": 0.1}, {"price": 1e2}], "x": -3.50}')

    def walk(value: object) -> None:
        assert not isinstance(value, float)
        if isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    walk(doc.data)
    assert doc.data["lines"][0]["price"] == Decimal("0.1")
    assert doc.data["lines"][1]["price"] == Decimal("100")
    assert str(doc.data["x"]) == "-3.50"


def test_value_and_key_positions() -> None:
    doc = load_yaml(SPEC, filename="o.yaml")
    assert doc.position("/mapping") == Span(1, 10, 1, 31)
    assert doc.position("/mapping", key=True) == Span(1, 1, 1, 8)
    assert doc.position("/fields/id/as") == Span(3, 22, 3, 28)
    assert doc.position(["fields", "id", "as"]) == Span(3, 22, 3, 28)
    assert doc.position("/fields/external_ids.shopify", key=True) == Span(4, 3, 4, 23)
    assert doc.position("/fields/external_ids.shopify/from") == Span(5, 11, 5, 13)
    assert doc.position("/fields/tags/1") == Span(8, 7, 8, 12)
    # a block collection ends at the end of its last line, not at the next key's line
    assert doc.position("/fields/tags") == Span(7, 5, 8, 12)
    assert doc.position("/fields/nope") is None
    assert doc.position("") == Span(1, 1, 14, 11)


def test_nearest_falls_back_to_the_enclosing_value() -> None:
    doc = load_yaml(SPEC)
    assert doc.nearest("/fields/id/missing") == doc.position("/fields/id")
    assert doc.nearest("/fields/id/missing", key=True) == doc.position("/fields/id", key=True)


def test_positions_inside_multiline_strings() -> None:
    doc = load_yaml(SPEC)
    when = doc.data["fields"]["when"]
    assert when == "a == `1`\n&& bad(\n"
    assert doc.locate("/fields/when", when.index("bad")) == (11, 8)
    assert doc.locate("/fields/when", 0) == (10, 5)
    folded = doc.data["fields"]["folded"]
    assert folded == "first second"
    assert doc.locate("/fields/folded", folded.index("second")) == (14, 5)
    assert doc.locate("/mapping", 8) == (1, 18)
    assert doc.locate("/fields/tags/1", 2) == (8, 10)  # inside quotes
    assert doc.locate("/fields/id", 0) is None  # not a string


def test_pointer_escaping_round_trips() -> None:
    doc = load_yaml("'a/b': {'c~d': 1}\n")
    assert doc.position("/a~1b/c~0d") == Span(1, 16, 1, 17)
    assert doc.position(["a/b", "c~d"]) == Span(1, 16, 1, 17)


@given(st.lists(st.one_of(st.text(max_size=5), st.integers(0, 99)), max_size=5))
def test_pointer_split_join(parts: list[str | int]) -> None:
    assert split_pointer(join_pointer(parts)) == [str(p) for p in parts]


def test_duplicate_keys_are_diagnostics_and_later_value_wins() -> None:
    doc = load_yaml("fields:\n  id: {from: a, as: int}\n  id: {from: b}\n", filename="d.yaml")
    assert doc.data == {"fields": {"id": {"from": "b"}}}
    [diag] = doc.diagnostics
    assert (diag.code, diag.line, diag.column, diag.file) == ("YAML002", 3, 3, "d.yaml")
    assert "first at line 2" in diag.message
    # spans of the replaced value are gone; the kept value's spans are right
    assert doc.position("/fields/id/as") is None
    assert doc.position("/fields/id/from") == Span(3, 14, 3, 15)
    with pytest.raises(SpecError) as err:
        doc.raise_for_errors()
    assert err.value.code == "YAML002"


def test_merge_keys_and_aliases() -> None:
    doc = load_yaml("base: &b {x: 1, y: 2}\nm:\n  <<: *b\n  y: 3\nn: *b\n")
    assert doc.data["m"] == {"x": 1, "y": 3}
    assert doc.data["n"] == {"x": 1, "y": 2}
    assert doc.diagnostics == []
    assert doc.position("/m/y") == Span(4, 6, 4, 7)
    assert doc.position("/m/x") == Span(1, 14, 1, 15)  # points at the anchor's definition


def test_recursive_alias_is_reported_not_infinite() -> None:
    doc = load_yaml("r: &r [1, *r]\n")
    assert doc.data == {"r": [1, None]}
    assert [d.code for d in doc.diagnostics] == ["YAML005"]


def test_unsupported_tags_and_complex_keys() -> None:
    doc = load_yaml("a: !custom x\nb: !!binary aGk=\n? [k]\n: v\n")
    assert doc.data == {"a": "x", "b": "aGk="}
    assert [(d.code, d.line) for d in doc.diagnostics] == [
        ("YAML004", 1),
        ("YAML004", 2),
        ("YAML004", 3),
    ]


@pytest.mark.parametrize(
    ("text", "code", "line", "column"),
    [
        ("a: [1, 2\n", "YAML001", 2, 1),
        ("a: b: c\n", "YAML001", 1, 5),
        ("fields:\n\tid: x\n", "YAML001", 2, 1),
        ("a: 1\n---\nb: 2\n", "YAML003", 2, 1),
        ("a: \x01\n", "YAML006", 1, 4),
        ("a: *nope\n", "YAML001", 1, 4),
        ('a: "unterminated\n', "YAML001", 2, 1),
        ("a:\n  - x\n  y: 1\n", "YAML001", 3, 3),
    ],
)
def test_syntax_errors_are_located_spec_errors(
    text: str, code: str, line: int, column: int
) -> None:
    with pytest.raises(SpecError) as err:
        load_yaml(text, filename="bad.yaml")
    [diag] = err.value.diagnostics
    assert (diag.code, diag.file, diag.line, diag.column) == (code, "bad.yaml", line, column)
    assert err.value.code == code
    assert err.value.__cause__ is not None  # mapped from the ruamel error, not leaked


def test_syntax_error_rendering_golden() -> None:
    text = "fields:\n  id: {from: id as: string}\n"
    with pytest.raises(SpecError) as err:
        load_yaml(text, filename="order.yaml")
    rendered = err.value.diagnostics[0].render(text)
    assert rendered.splitlines()[0].startswith("order.yaml:2:")
    assert " error YAML001: " in rendered.splitlines()[0]
    assert rendered.splitlines()[1] == "  id: {from: id as: string}"


def test_tab_indentation_gets_a_hint() -> None:
    with pytest.raises(SpecError) as err:
        load_yaml("fields:\n\tid: x\n")
    assert err.value.diagnostics[0].hint == "YAML indentation uses spaces, never tabs"


def test_files_bom_and_read_errors(tmp_path: Path) -> None:
    f = tmp_path / "spec.yaml"
    f.write_text("\ufeffa: 1\n", encoding="utf-8")
    doc = load_yaml(f)
    assert doc.data == {"a": 1}
    assert doc.file == str(f)
    assert load_yaml_file(str(f), filename="spec.yaml").file == "spec.yaml"
    with pytest.raises(SpecError) as err:
        load_yaml(tmp_path / "missing.yaml", filename="missing.yaml")
    assert (err.value.code, err.value.diagnostics[0].file) == ("YAML007", "missing.yaml")
    latin = tmp_path / "latin.yaml"
    latin.write_bytes(b"a: 1\nb: caf\xe9\n")
    with pytest.raises(SpecError) as err:
        load_yaml(latin)
    assert (err.value.code, err.value.diagnostics[0].line, err.value.diagnostics[0].column) == (
        "YAML006",
        2,
        7,
    )


def test_lone_surrogates_are_a_located_error() -> None:
    # libyaml cannot encode them; the loader falls back to the pure parser, which refuses them
    with pytest.raises(SpecError) as err:
        load_yaml("a: \ud800\n")
    assert (err.value.code, err.value.diagnostics[0].line) == ("YAML006", 1)


def test_empty_document_and_scalar_document() -> None:
    assert load_yaml("").data is None
    assert load_yaml("# only a comment\n").data is None
    assert load_yaml("just text").data == "just text"


def _load(text: str) -> LoadedYaml | SpecError:
    """The loaded document, or the SpecError it raised (never any other exception)."""
    try:
        return load_yaml(text)
    except SpecError as err:
        return err


def test_deep_nesting_is_a_diagnostic_or_spec_error() -> None:
    result = _load("[" * 300 + "]" * 300)
    if isinstance(result, SpecError):
        assert result.code.startswith("YAML")
    else:
        assert any(d.code == "YAML008" for d in result.diagnostics)


def test_diagnostic_helper_locates_missing_keys() -> None:
    doc = load_yaml("fields:\n  id: {as: string}\n", filename="x.yaml")
    diag = doc.diagnostic("SPEC001", "missing 'from'", "/fields/id/from")
    assert (diag.file, diag.line, diag.column) == ("x.yaml", 2, 7)
    assert Severity(diag.severity) is Severity.ERROR


_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.decimals(allow_nan=False, allow_infinity=False, places=4),
    st.text(max_size=20),
)
_json = st.recursive(
    _scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


@given(_json)
def test_json_text_round_trips_through_the_loader(value: object) -> None:
    import json

    text = json.dumps(value, default=str, indent=1)
    expected = json.loads(text, parse_float=Decimal)
    doc = _load(text)
    if isinstance(doc, SpecError):  # some unicode is not allowed by YAML: still classified
        assert doc.code.startswith("YAML")
        return
    assert doc.data == expected
    # every value has a position inside the text
    lines = text.count("\n") + 1
    for span in doc.positions.values():
        assert 1 <= span.line <= span.end_line <= lines


@given(st.text(max_size=80))
def test_arbitrary_text_never_leaks_a_ruamel_error(text: str) -> None:
    result = _load(text)
    if isinstance(result, SpecError):
        assert result.diagnostics
        assert result.code.startswith("YAML")
        assert result.diagnostics[0].file is None


@pytest.mark.parametrize(
    "text",
    [
        SPEC,
        '{"a": [1, 2.50, "x\\u00e9"], "b": {"c": null}}',
        "a: &x {b: 1}\nc:\n  <<: *x\n  d: >-\n    folded\n    text\n",
        "k: 'it''s'\nl: \"tab\\there\"\n",
        "expect: [MAP109 2:34, at 10:30]\n",  # libyaml refuses this YAML 1.2 flow scalar
    ],
)
def test_the_c_and_pure_parsers_agree(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    fast = load_yaml(text)
    monkeypatch.setattr(yamlsource, "_PURE", True)
    pure = load_yaml(text)
    assert (fast.data, fast.positions, fast.key_positions) == (
        pure.data,
        pure.positions,
        pure.key_positions,
    )


@pytest.mark.parametrize(
    "text", ["a: [1, 2\n", "a: b: c\n", "fields:\n\tid: x\n", "a: 1\n---\nb: 2\n", "a: \x01\n"]
)
def test_the_c_and_pure_parsers_report_errors_alike(
    text: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(SpecError) as fast:
        load_yaml(text)
    monkeypatch.setattr(yamlsource, "_PURE", True)
    with pytest.raises(SpecError) as pure:
        load_yaml(text)
    f, p = fast.value.diagnostics[0], pure.value.diagnostics[0]
    assert (f.code, f.line, f.column, f.hint) == (p.code, p.line, p.column, p.hint)


_plain_words = st.sampled_from(["a", "b c", "x:y", "10:30", "-1", "1.50", "yes", "~", "a#b", "@x"])


def _block(value: object, indent: int = 0) -> str:
    """Block-style YAML as people write it: plain scalars where YAML allows, else quoted."""
    import json

    pad = " " * indent
    if isinstance(value, dict) and value:
        return "\n".join(
            f"{pad}{k}:\n{_block(v, indent + 2)}"
            if isinstance(v, (dict, list)) and v
            else f"{pad}{k}: {_block(v)}"
            for k, v in value.items()
        )
    if isinstance(value, list) and value:
        return "\n".join(
            f"{pad}- {_block(v, indent + 2).lstrip()}"
            if isinstance(v, dict) and v
            else f"{pad}- {_block(v)}"
            for v in value
        )
    if isinstance(value, str) and not value.startswith(("@", "-")) and "#" not in value:
        return value
    return json.dumps(value)


_docs = st.recursive(
    st.one_of(_plain_words, st.integers(), st.booleans()),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.sampled_from(["k", "from", "a.b", "x_1"]), inner, max_size=3),
        st.lists(_plain_words, max_size=3).map(lambda xs: "[" + ", ".join(xs) + "]"),
    ),
    max_leaves=12,
)


@given(_docs)
def test_the_fast_parser_reads_specs_as_the_yaml_1_2_one_does(value: object) -> None:
    # libyaml and the pure YAML 1.2 parser differ only on degenerate input (a lone "!" tag,
    # "|#", the span of an empty "? key" value); on documents written like specs, whatever
    # libyaml accepts must read exactly as the YAML 1.2 parser reads it.
    text = _block({"doc": value}) + "\n"
    fast = _load(text)
    saved = yamlsource._PURE
    yamlsource._PURE = True
    try:
        pure = _load(text)
    finally:
        yamlsource._PURE = saved
    assert type(fast) is type(pure)
    if isinstance(fast, LoadedYaml) and isinstance(pure, LoadedYaml):
        assert (fast.data, fast.positions, fast.key_positions) == (
            pure.data,
            pure.positions,
            pure.key_positions,
        )
