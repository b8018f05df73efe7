"""The transform registry: every example runs, the docs are generated from it, and bad
arguments are refused when a spec is compiled, never when a record runs."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from accord.engine.mapping import TRANSFORMS
from accord.engine.mapping.coerce import FieldFailure
from accord.engine.mapping.transforms import (
    Transform,
    TransformArgumentError,
    bind_call,
    parse_call,
    register,
    render_markdown,
)

DOCS = Path(__file__).resolve().parents[2] / "docs" / "transforms.md"

EXAMPLES = [
    pytest.param(t, ex, id=f"{name}[{i}]")
    for name, t in sorted(TRANSFORMS.items())
    for i, ex in enumerate(t.examples)
]


@pytest.mark.parametrize(("transform", "example"), EXAMPLES)
def test_example_holds(transform: Transform, example: Any) -> None:
    name, _, _ = parse_call(example.call)
    assert name == transform.name
    result = bind_call(example.call)(example.given)
    assert type(result) is type(example.expect)
    assert result == example.expect
    if isinstance(result, Decimal):
        assert str(result) == str(example.expect)


@pytest.mark.parametrize("name", sorted(TRANSFORMS))
def test_every_transform_is_documented(name: str) -> None:
    t = TRANSFORMS[name]
    assert t.signature.startswith(f"{name}(")
    assert "\n" not in t.summary
    assert t.summary.endswith(".")
    assert t.examples


@pytest.mark.parametrize("name", sorted(n for n, t in TRANSFORMS.items() if t.inline))
def test_inline_form_matches_the_function(name: str) -> None:
    """The compiler inlines `inline` for text values: it must do exactly what `fn` does."""
    t = TRANSFORMS[name]
    assert t.inline is not None
    fn = t.bind()
    for text in ["  Blue  shirt\t", "ÉCOLE straße", "", "a\u00a0b", "ipod 2008 green "]:
        assert eval(t.inline.format(v="x"), {"x": text}) == fn(text), text


def test_docs_are_generated_from_the_registry() -> None:
    assert DOCS.read_text() == render_markdown(), (
        "docs/transforms.md is stale: regenerate it with "
        "accord.engine.mapping.transforms.render_markdown()"
    )


def test_the_issue_list_is_registered() -> None:
    wanted = {
        "strip", "lower", "upper", "title", "replace", "split", "join", "regex_extract",
        "html_unescape", "normalize_sku", "normalize_email", "convert_weight",
        "convert_length", "template",
    }  # fmt: skip
    assert wanted <= set(TRANSFORMS)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        ("nope", "unknown transform 'nope'"),
        ({"replace": ["a"]}, "replace needs the argument 'new'"),
        ({"replace": ["a", "b", "c"]}, "at most 2"),
        ({"truncate": "5"}, "length must be int"),
        ({"truncate": True}, "length must be int"),
        ({"split": {"separator": ","}}, "has no argument separator"),
        ({"regex_extract": "(a"}, "regex_extract:"),
        ({"regex_extract": ["(a)", 2]}, "1 group(s)"),
        ({"regex_extract": ["(?P<n>a)", "m"]}, "no group named 'm'"),
        ({"template": "no fields"}, "names no {field}"),
        ({"template": "{a} {"}, "brace"),
        ({"convert_weight": {"from": "stone", "to": "kg"}}, "must be one of"),
        ({"convert_length": {"from": "in"}}, "needs the argument 'to'"),
        ({"upper": None, "lower": None}, "one-key mapping"),
        (3, "one-key mapping"),
    ],
)
def test_bad_arguments_are_refused_at_bind_time(call: Any, message: str) -> None:
    with pytest.raises(TransformArgumentError) as caught:
        bind_call(call)
    assert message in str(caught.value)


@pytest.mark.parametrize(
    ("call", "value"),
    [
        ("upper", {"a": 1}),
        ("strip", True),
        ("strip", Decimal("1.5").as_tuple()),
        ({"template": "{a}"}, "text"),
        ({"convert_weight": {"from": "g", "to": "kg"}}, "1_0"),
        ({"convert_weight": {"from": "g", "to": "kg"}}, "NaN"),
        ("sum", ["1", "x"]),
        ({"join": ","}, [{"a": 1}]),
    ],
)
def test_bad_values_fail_classified(call: Any, value: Any) -> None:
    with pytest.raises(FieldFailure) as caught:
        bind_call(call)(value)
    assert caught.value.code == "MAP206"
    assert caught.value.classification == "transform"


def test_units_are_exact() -> None:
    to_lb = bind_call({"convert_weight": {"from": "g", "to": "lb", "places": 4}})
    assert to_lb(Decimal("453.59237")) == Decimal("1.0000")
    back = bind_call({"convert_weight": {"from": "lb", "to": "g"}})
    assert back("2") == Decimal("907.18474")
    assert bind_call({"convert_length": {"from": "ft", "to": "in"}})(1) == Decimal(12)


def test_register_refuses_duplicates_and_missing_examples() -> None:
    strip = TRANSFORMS["strip"]
    with pytest.raises(ValueError, match="already registered"):
        register(strip)
    with pytest.raises(ValueError, match="at least one example"):
        register(Transform("brand_new", "brand_new(value) -> any", "New.", (), lambda v: v))
    assert "brand_new" not in TRANSFORMS
