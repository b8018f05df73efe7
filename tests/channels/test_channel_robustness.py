"""Bad input never crashes a shipped spec: any payload gives a record or a classified error.

Each spec's first case payload is taken as a realistic starting point; hypothesis replaces one
or two of its values (anywhere in the tree) with arbitrary JSON: text where a number was, an
object where a list was, null, huge ids, floats, nested junk. The compiled mapping must return
a record or raise an AccordError carrying a stable MAP code; nothing else may escape.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from channel_corpus import MAPPINGS, compiled
from hypothesis import given
from hypothesis import strategies as st

from accord.errors import AccordError
from accord.testing.cases import load_case_file
from accord.testing.subjects import revive

SPECS = sorted(p for p in MAPPINGS.rglob("*.*bound.yaml") if ".cases." not in p.name)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.decimals(allow_nan=False, allow_infinity=False, places=3)
    | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            out += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            out += _paths(item, (*prefix, i))
    return out


def _replace(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    head, *rest = path
    if isinstance(value, dict):
        return {k: (_replace(v, tuple(rest), new) if k == head else v) for k, v in value.items()}
    return [(_replace(v, tuple(rest), new) if i == head else v) for i, v in enumerate(value)]


def _base_payload(spec: Path) -> Any:
    cases = load_case_file(spec.with_suffix(".cases.yaml")).cases
    payload = cases[0].payload
    if ".outbound." in spec.name:
        payload = revive(payload)
    return payload


BASES = {spec: _base_payload(spec) for spec in SPECS}


@st.composite
def damaged(draw: st.DrawFn) -> tuple[Path, Any]:
    """A shipped spec and its first case payload with one or two values replaced."""
    spec = draw(st.sampled_from(SPECS))
    payload = BASES[spec]
    paths = _paths(payload)
    for _ in range(draw(st.integers(min_value=1, max_value=2))):
        path = draw(st.sampled_from(paths))
        try:
            payload = _replace(payload, path, draw(json_values))
        except (IndexError, TypeError, KeyError):
            continue  # an earlier replacement removed this path
    return spec, payload


@given(damaged())
def test_any_damage_gives_a_record_or_a_classified_error(case: tuple[Path, Any]) -> None:
    spec, payload = case
    mapping = compiled(str(spec.relative_to(MAPPINGS)))
    failure: AccordError | None = None
    try:
        out = mapping.apply(payload)
    except AccordError as exc:
        failure = exc
    if failure is not None:
        assert failure.code.startswith("MAP"), failure.code
        assert failure.diagnostics, "a classified error carries its diagnostics"
        return
    assert isinstance(out, dict)
    floats = [m for m in _money(out) if not isinstance(m["amount"], Decimal)]
    assert floats == [], "an amount that is not a Decimal"


@pytest.mark.parametrize("spec", SPECS, ids=[str(p.relative_to(MAPPINGS)) for p in SPECS])
def test_every_spec_maps_its_undamaged_base_payload_or_refuses_it(spec: Path) -> None:
    # The base payload is a case's: it maps, unless that case expects an error.
    first = load_case_file(spec.with_suffix(".cases.yaml")).cases[0]
    if first.expect_error:
        with pytest.raises(AccordError):
            compiled(str(spec.relative_to(MAPPINGS))).apply(BASES[spec])
    else:
        assert compiled(str(spec.relative_to(MAPPINGS))).apply(BASES[spec])


def _money(value: Any) -> list[dict[str, Any]]:
    """Every money object ({amount, currency}) in a record."""
    if isinstance(value, dict):
        if set(value) == {"amount", "currency"}:
            return [value]
        return [m for v in value.values() for m in _money(v)]
    if isinstance(value, list):
        return [m for v in value for m in _money(v)]
    return []


def test_the_damage_helpers_reach_every_value() -> None:
    base = {"a": [{"b": Decimal("1.0")}], "c": None}
    assert ("a", 0, "b") in _paths(base)
    assert _replace(base, ("a", 0, "b"), "x") == {"a": [{"b": "x"}], "c": None}
    money = {"amount": Decimal("1"), "currency": "USD"}
    assert _money({"t": money, "lines": [{"p": money}], "n": 1.5}) == [money, money]
