"""Properties: any JSON through any valid spec gives a record or a classified MappingError;
any spec data either builds or raises a SpecError with coded diagnostics; money is exact."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accord.engine.mapping import MappingSpec, compile_mapping, load_spec
from accord.engine.mapping.spec import RULE_KEYS
from accord.errors import MappingError, SpecError

HEADER = {
    "mapping": "prop.thing.inbound",
    "channel": "prop",
    "direction": "inbound",
    "source": "prop.thing",
    "target": "thing",
    "version": 1,
}
KEYS = ["a", "b", "id", "price", "items", "currency", "email"]

# -- JSON values --------------------------------------------------------------------------

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=False, allow_infinity=False),
    st.decimals(allow_nan=False, allow_infinity=False, places=2),
    st.text(max_size=8),
    st.sampled_from(["", " ", "0", "1", "true", "T", "USD", "eur", "19.99", "abc",
                     "2024-03-01T10:00:00Z", "2024-03-01", "1704067200", "a,b, c"]),
)  # fmt: skip
json_values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.dictionaries(st.sampled_from([*KEYS, "shop_money", "amount", "Amount"]), children,
                        max_size=4),
    ),
    max_leaves=12,
)  # fmt: skip
payloads = st.one_of(st.dictionaries(st.sampled_from(KEYS), json_values, max_size=6), json_values)

# -- valid specs --------------------------------------------------------------------------

plain_paths = st.lists(st.sampled_from(KEYS), min_size=1, max_size=3).map(".".join)
paths = st.one_of(
    plain_paths,
    plain_paths.map(lambda p: p + "[0]"),
    plain_paths.map(lambda p: "$root." + p),
    plain_paths.map(lambda p: "$parent." + p),
    st.sampled_from(["@", "length(a)", "items[].price", "a || b", "items[?id=='x'] | [0]"]),
)
transforms = st.lists(
    st.sampled_from(
        ["strip", "upper", "normalize_sku", "normalize_email", "sum", "first", "to_list",
         "compact", {"split": ","}, {"join": "/"}, {"regex_extract": "(\\d+)"},
         {"format_datetime": "%Y"}, {"template": "{a} {b}"},
         {"convert_weight": {"from": "g", "to": "kg"}}, "digits"]
    ),
    max_size=3,
)  # fmt: skip


@st.composite
def value_rule(draw: st.DrawFn, depth: int) -> dict[str, Any]:
    rule: dict[str, Any] = {}
    if draw(st.booleans()):
        rule["from"] = draw(st.lists(paths, min_size=1, max_size=3))
    else:
        rule["from"] = draw(paths)
    as_ = draw(st.sampled_from([None, "string", "int", "decimal", "bool", "money", "datetime",
                                "date"]))  # fmt: skip
    if as_:
        rule["as"] = as_
    if as_ == "money":
        rule["currency"] = draw(
            st.sampled_from(["USD", {"from": "currency"}, {"from": "$root.currency"}])
        )
        if draw(st.booleans()):
            rule["money"] = draw(st.sampled_from(["shop", "presentment"]))
    if as_ in ("datetime", "date") and draw(st.booleans()):
        rule["tz"] = "America/New_York"
    if draw(st.booleans()):
        rule["transform"] = draw(transforms)
    if draw(st.integers(0, 4)) == 0:
        rule["map"] = {"x": "y", "1": "one", "true": None}
        rule["unknown"] = draw(st.sampled_from(["error", "warn"]))
    if draw(st.booleans()):
        rule["empty"] = draw(st.sampled_from(["null", "missing"]))
    if draw(st.integers(0, 3)) == 0:
        rule["missing_values"] = ["0", 0]
    if draw(st.integers(0, 3)) == 0:
        rule["required"] = True
    if draw(st.integers(0, 3)) == 0 and as_ in (None, "string"):
        rule["default"] = "dflt"
    if draw(st.integers(0, 4)) == 0:
        rule["when"] = draw(paths)
    return rule


@st.composite
def any_rule(draw: st.DrawFn, depth: int = 0) -> dict[str, Any]:
    kind = draw(st.sampled_from(["value", "value", "value", "each", "object", "use"]))
    if depth >= 2 or kind == "value":
        return draw(value_rule(depth))
    if kind == "use":
        return {"from": draw(plain_paths), "use": "sub"}
    nested = draw(st.dictionaries(st.sampled_from(["x", "y.z", "w"]), any_rule(depth + 1),
                                  min_size=1, max_size=3))  # fmt: skip
    if kind == "each":
        rule: dict[str, Any] = {"each": draw(paths), "fields": nested}
        if draw(st.booleans()):
            rule["wrap"] = True
        return rule
    return {"from": draw(plain_paths), "fields": nested}


specs = st.dictionaries(
    st.sampled_from(["id", "total", "lines", "customer.email", "a.b", "extra.k"]),
    any_rule(),
    min_size=1,
    max_size=5,
)


def build(fields: dict[str, Any], extra: list[str]) -> MappingSpec:
    return MappingSpec.from_dict(
        {
            **HEADER,
            "extra": extra,
            "definitions": {"sub": {"fields": {"p": {"from": "price", "as": "decimal"}}}},
            "fields": fields,
        }
    )


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(fields=specs, extra=st.lists(plain_paths, max_size=2), payload=payloads)
def test_any_json_through_any_valid_spec(
    fields: dict[str, Any], extra: list[str], payload: Any
) -> None:
    mapping = compile_mapping(build(fields, extra))
    record, error = run(mapping.apply, payload)
    if error is not None:
        (diag,) = error.diagnostics
        assert diag.code.startswith("MAP2"), diag
        assert diag.code != "MAP209", diag  # MAP209 means a bug in accord, not in the data
        assert dict(diag.details)["classification"]
        assert diag.message
    else:
        assert isinstance(record, dict)
        json.dumps(record, default=str)  # plain data all the way down
    # The explain build agrees with the plain build, record or error.
    explained, explain_error = run(mapping.explain, payload)
    if error is None:
        assert explain_error is None
        assert explained[0] == record
    else:
        assert explain_error is not None
        assert explain_error.code == error.code


def run(fn: Any, payload: Any) -> tuple[Any, MappingError | None]:
    try:
        return fn(payload), None
    except MappingError as exc:
        return None, exc


junk = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.text(max_size=5),
              st.sampled_from(list(RULE_KEYS))),
    lambda c: st.one_of(st.lists(c, max_size=3),
                        st.dictionaries(st.one_of(st.sampled_from(sorted(RULE_KEYS)),
                                                  st.text(max_size=4)), c, max_size=4)),
    max_leaves=10,
)  # fmt: skip


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(fields=st.dictionaries(st.text(max_size=6), junk, max_size=4), header=junk)
def test_any_spec_data_builds_or_raises_coded_diagnostics(fields: Any, header: Any) -> None:
    data = {**HEADER, "fields": fields}
    if isinstance(header, dict):
        data.update({str(k): v for k, v in header.items() if k != "fields"})
    problems = spec_problems(lambda: compile_mapping(MappingSpec.from_dict(data)))
    assert all(d.code.startswith(("MAP0", "YAML")) for d in problems), problems


def spec_problems(build: Any) -> list[Any]:
    """The diagnostics of the SpecError ``build()`` raises (never empty), or ``[]``."""
    try:
        build()
    except SpecError as exc:
        return list(exc.diagnostics) or [None]
    return []


@settings(max_examples=50, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(fields=st.dictionaries(st.sampled_from(["a", "b.c"]), junk, min_size=1, max_size=3))
def test_spec_files_report_located_diagnostics(fields: Any, tmp_path_factory: Any) -> None:
    folder: Path = tmp_path_factory.mktemp("spec")
    path = folder / "thing.inbound.yaml"
    path.write_text(json.dumps({**HEADER, "fields": fields}, indent=1))
    for diag in spec_problems(lambda: compile_mapping(load_spec(path))):
        assert diag.file == str(path)
        assert diag.line is not None, diag


amounts = st.decimals(
    min_value=Decimal("-1e12"), max_value=Decimal("1e12"), allow_nan=False, places=4
)
money = compile_mapping(
    MappingSpec.from_dict(
        {
            **HEADER,
            "fields": {
                "text": {"from": "t", "as": "money", "currency": {"from": "c"}},
                "number": {"from": "n", "as": "money", "currency": "EUR"},
                "bag": {"from": "bag", "as": "money", "money": "presentment"},
                "amazon": {"from": "amz", "as": "money"},
            },
        }
    )
)


@given(amount=amounts)
def test_money_never_loses_a_cent(amount: Decimal) -> None:
    payload = {
        "t": str(amount),
        "c": "usd",
        "n": amount,
        "bag": {"presentment_money": {"amount": str(amount), "currency_code": "GBP"}},
        "amz": {"Amount": str(amount), "CurrencyCode": "JPY"},
    }
    record = money.apply(payload)
    for key, currency in (("text", "USD"), ("number", "EUR"), ("bag", "GBP"), ("amazon", "JPY")):
        assert record[key]["currency"] == currency
        assert isinstance(record[key]["amount"], Decimal)
        assert str(record[key]["amount"]) == str(amount)


@given(amount=amounts)
def test_money_through_json_with_parse_float_decimal(amount: Decimal) -> None:
    text = json.dumps({"n": float(amount)})
    exact = json.loads(text, parse_float=Decimal)["n"]
    assert money.apply({"n": exact})["number"]["amount"] == exact
