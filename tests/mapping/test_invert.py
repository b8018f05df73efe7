"""Inverting inbound specs: what is derived, why the rest is not, and the round-trip property
``inbound(outbound(record)) == record`` on the invertible fields, for small specs written here
and for every inbound spec shipped under ``mappings/``."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from accord.engine.mapping import compile_mapping
from accord.engine.mapping.invert import (
    IDEMPOTENT_TRANSFORMS,
    Inversion,
    invert_spec,
    invert_spec_file,
)
from accord.engine.mapping.spec import FieldRule, MappingSpec, load_spec
from accord.engine.mapping.transforms import TRANSFORMS, parse_call
from accord.engine.yamlsource import load_yaml
from accord.errors import MappingError

ROOT = Path(__file__).resolve().parents[2]
SHIPPED_INBOUND = sorted((ROOT / "mappings").rglob("*.inbound.yaml"))

HEADER = {
    "mapping": "shop.order.inbound",
    "channel": "shop",
    "api_version": "2024-04",
    "direction": "inbound",
    "source": "shop.order",
    "target": "order",
    "version": 2,
}

ORDER = MappingSpec.from_dict(
    {
        **HEADER,
        "definitions": {
            "address": {
                "fields": {
                    "line1": {"from": "address1", "transform": ["strip"]},
                    "country_code": {"from": "country", "transform": ["upper"]},
                }
            }
        },
        "fields": {
            "id": {"from": "id", "as": "string", "required": True},
            "external_ids.shop": {"from": "id", "as": "string"},
            "number": {"from": ["name", "order_number"], "as": "string"},
            "currency": {"from": "currency", "transform": ["upper"]},
            "placed_at": {"from": "created_at", "as": "datetime", "tz": "Europe/Paris"},
            "financial_status": {
                "from": "status",
                "map": {"PAID": "paid", "SETTLED": "paid", "OPEN": "pending"},
                "unknown": "warn",
                "default": "pending",
            },
            "taxes_included": {"from": "taxes_included", "as": "bool"},
            "tags": {"from": "tags", "transform": [{"split": ","}, "strip"], "empty": "missing"},
            "customer.email": {"from": "email", "transform": ["normalize_email"]},
            "shipping_address": {"from": "ship_to", "use": "address"},
            "total": {"from": "total", "as": "money", "currency": {"from": "currency"}},
            "tax_total": {"from": "tax_set", "as": "money", "money": "shop"},
            "discount_total": {"from": "discount", "as": "money", "currency": "EUR"},
            "shipping_total": {
                "from": "shipping[].price",
                "transform": ["sum"],
                "as": "money",
                "currency": {"field": "currency"},
            },
            "channel": {"value": "shop"},
            "note": {"from": "note", "when": "note_visible"},
            "cancel_reason": {"from": "reason", "transform": [{"truncate": 20}]},
            "lines": {
                "each": "items",
                "wrap": True,
                "fields": {
                    "sku": {"from": "sku", "transform": ["normalize_sku"]},
                    "quantity": {"from": "qty", "as": "int"},
                    "unit_price": {
                        "from": "price",
                        "as": "money",
                        "currency": {"from": "$root.currency"},
                    },
                    "title": {"from": "$parent.name"},
                },
            },
        },
    }
)


def test_what_the_order_spec_inverts_to() -> None:
    inv = invert_spec(ORDER)
    fields = inv.spec["fields"]
    assert inv.spec["direction"] == "outbound"
    assert (inv.spec["source"], inv.spec["target"]) == ("order", "shop.order")
    assert inv.spec["mapping"] == "shop.order.outbound"
    assert fields["id"] == {"from": "id", "as": "string"}
    assert fields["name"] == {"from": "number", "as": "string"}  # first of the fallbacks
    assert fields["created_at"] == {"from": "placed_at", "as": "datetime"}
    # many-to-one map: the first source value wins; the default is written as nothing
    assert fields["status"] == {
        "from": "financial_status",
        "map": {"paid": "PAID", "pending": "OPEN"},
        "unknown": "warn",
        "default": None,
    }
    assert fields["tags"] == {"from": "tags", "transform": [{"join": ","}]}
    assert fields["email"] == {"from": "customer.email"}  # idempotent: nothing to undo
    assert fields["ship_to"] == {
        "from": "shipping_address",
        "fields": {"address1": {"from": "line1"}, "country": {"from": "country_code"}},
    }
    assert fields["total"] == {"from": "total.amount", "as": "string"}
    assert fields["tax_set.shop_money.amount"] == {"from": "tax_total.amount", "as": "string"}
    assert fields["tax_set.shop_money.currency_code"] == {"from": "tax_total.currency"}
    assert fields["discount"] == {"from": "discount_total.amount", "as": "string"}
    # the currency path is written by the `currency` field, not again by `total`
    assert fields["currency"] == {"from": "currency"}
    assert fields["items"]["each"] == "lines"
    assert set(fields["items"]["fields"]) == {"sku", "qty", "price"}


def test_every_other_field_says_why() -> None:
    inv = invert_spec(ORDER)
    reasons = dict(inv.not_invertible)
    assert reasons == {
        "external_ids.shop": "reads `id` like 'id', which writes it back",
        "shipping_total": "reads a computed JMESPath expression `shipping[].price`",
        "channel": "a constant (value: 'shop'): no payload field carries it",
        "note": "produced only when `note_visible` holds on the payload",
        "cancel_reason": "transform 'truncate' loses information",
        "lines[].title": "reads `$parent.name` outside the current element",
    }
    assert set(inv.invertible).isdisjoint(reasons)
    assert "lines[].sku" in inv.invertible
    assert "shipping_address.line1" in inv.invertible


def test_only_inbound_specs_invert() -> None:
    outbound = MappingSpec.from_dict(
        {
            **HEADER,
            "direction": "outbound",
            "source": "order",
            "target": "shop.order",
            "fields": {"id": {"from": "id"}},
        }
    )
    with pytest.raises(ValueError, match="only inbound"):
        invert_spec(outbound)


def test_more_reasons() -> None:
    spec = MappingSpec.from_dict(
        {
            **HEADER,
            "fields": {
                "id": {"from": "ids[0]"},
                "number": {"from": '"a.b"'},
                "total": {"from": "total", "as": "money"},
                "subtotal": {"from": "sub", "as": "money", "currency": {"from": "x[0].c"}},
                "tax_total": {"from": "t", "as": "money", "currency": "USD", "transform": ["sum"]},
                "note": {"default": "none"},
                "lines": {"each": "items[?qty > `0`]", "fields": {"sku": {"from": "sku"}}},
            },
        }
    )
    reasons = dict(invert_spec(spec).not_invertible)
    assert reasons == {
        "id": "reads one element of a list (`ids[0]`)",
        "number": 'a key of `"a.b"` holds a dot, which a target path cannot',
        "total": "money whose currency comes inside the value: the shape of the amount object "
        "is not stated in the spec",
        "subtotal": "its currency reads one element of a list (`x[0].c`)",
        "tax_total": "transform 'sum' loses information",
        "note": "only a default: nothing is read from the payload",
        "lines": "'each' reads a computed JMESPath expression `items[?qty > `0`]`",
    }


def test_to_yaml_round_trips_and_lists_the_reasons() -> None:
    inv = invert_spec(ORDER)
    text = inv.to_yaml()
    assert "# not inverted: channel: a constant" in text
    assert 'api_version: "2024-04"' in text
    reloaded = load_yaml(text).data
    assert reloaded["fields"]["status"]["map"] == {"paid": "PAID", "pending": "OPEN"}
    assert MappingSpec.from_dict(reloaded).direction == "outbound"


@pytest.mark.parametrize("name", sorted(IDEMPOTENT_TRANSFORMS))
def test_idempotent_transforms_really_are(name: str) -> None:
    transform = TRANSFORMS[name]
    for example in transform.examples:
        call_name, args, kwargs = parse_call(example.call)
        assert call_name == name
        apply = transform.bind(args, kwargs)
        once = apply(example.given)
        assert apply(once) == once, f"{name} is not idempotent on {example.given!r}"


# -- the round-trip property -----------------------------------------------------------------

_CURRENCIES = st.sampled_from(["USD", "EUR", "CAD", "JPY"])
_WORDS = st.sampled_from(["ava", "mateo", "li", "noor", "kim", "zoe"])
# Text every idempotent normaliser accepts (an e-mail address is also a fine SKU or name).
_TEXT = st.builds("{}{}@example.com".format, _WORDS, st.integers(0, 999))
_TOKENS = st.lists(st.builds("{}{}".format, _WORDS, st.integers(0, 99)), min_size=1, max_size=3)


def _amounts() -> st.SearchStrategy[str]:
    return st.decimals(
        min_value=Decimal("-99999"), max_value=Decimal("99999"), places=2, allow_nan=False
    ).map(str)


def _value(rule: dict[str, Any], target: str) -> st.SearchStrategy[Any]:
    """A payload value the inbound rule accepts, chosen from what the outbound rule writes."""
    leaf = target.rsplit(".", 1)[-1]
    if "map" in rule:
        return st.sampled_from(sorted(rule["map"].values(), key=str))
    transforms = [t for t in rule.get("transform", []) if isinstance(t, dict) and "join" in t]
    if transforms:
        sep = transforms[0]["join"]
        return _TOKENS.map(lambda tokens: sep.join(tokens))
    kind = rule.get("as")
    if "currency" in leaf.lower():
        return _CURRENCIES
    if str(rule.get("from", "")).endswith(".amount") or kind == "decimal":
        return _amounts()
    if kind == "int":
        return st.integers(-(10**18), 10**18)
    if kind == "bool":
        return st.booleans()
    if kind == "datetime":
        return st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2090, 1, 1)).map(
            lambda d: d.replace(microsecond=0).isoformat() + "Z"
        )
    if kind == "date":
        return st.dates().map(lambda d: d.isoformat())
    return _TEXT


def _payload(fields: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    """Payloads shaped by an outbound spec's targets (what the inbound spec reads)."""
    parts: dict[str, st.SearchStrategy[Any]] = {}
    for target, rule in fields.items():
        if "each" in rule:
            parts[target] = st.lists(_payload(rule["fields"]), max_size=2)
        elif "fields" in rule:
            parts[target] = _payload(rule["fields"])
        else:
            parts[target] = _value(rule, target)
    return st.fixed_dictionaries(parts).map(_nest)


def _nest(flat: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for dotted, value in flat.items():
        *parents, last = dotted.split(".")
        node = out
        for key in parents:
            node = node.setdefault(key, {})
        node[last] = value
    return out


def _pick(record: Any, path: str) -> Any:
    """The values at a canonical path with ``[]`` steps (``lines[].sku``)."""
    head, sep, rest = path.partition("[]")
    node = record
    for key in [k for k in head.split(".") if k]:
        node = node.get(key) if isinstance(node, dict) else None
    if not sep:
        return node
    rest = rest.lstrip(".")
    return [_pick(item, rest) for item in node] if isinstance(node, list) else None


def _round_trip(
    spec: MappingSpec, inv: Inversion, mappings: tuple[Any, Any], data: st.DataObject
) -> None:
    inbound, outbound = mappings
    payload = data.draw(_payload(inv.spec["fields"]))
    for name in spec.inputs:  # a multi-input spec takes one payload per input
        payload.setdefault(name, {})
    try:
        record = inbound.apply(payload)
    except MappingError:  # a payload the inbound spec refuses is no record: draw again
        assume(False)
        raise
    written = outbound.apply(record)
    for name in spec.inputs:
        written.setdefault(name, {})
    again = inbound.apply(written)
    for target in inv.invertible:
        assert _pick(again, target) == _pick(record, target), target


def _restrict(
    spec: MappingSpec, rules: tuple[FieldRule, ...], keep: set[str], prefix: str
) -> tuple[FieldRule, ...]:
    """The rules that produce invertible fields (definitions inlined), none required."""
    out = []
    for rule in rules:
        name = prefix + rule.target
        nested = rule.fields
        if nested is None and rule.use is not None:
            nested = spec.definitions[rule.use].fields
        if nested is not None:
            inner = f"{name}[]." if rule.each is not None else f"{name}."
            kept = _restrict(spec, nested, keep, inner)
            if kept:
                out.append(replace(rule, required=False, use=None, fields=kept))
        elif name in keep:
            out.append(replace(rule, required=False))
    return tuple(out)


def _invertible_part(spec: MappingSpec, inv: Inversion) -> MappingSpec:
    """The inbound spec cut down to its invertible fields, without `required:`. The property
    speaks of those fields only; whether a payload carries every required value is another
    question (Inversion.blocking lists the required fields that cannot be written back)."""
    return replace(spec, fields=_restrict(spec, spec.fields, set(inv.invertible), ""))


def test_blocking_lists_required_fields_that_cannot_be_written_back() -> None:
    spec = MappingSpec.from_dict(
        {
            **HEADER,
            "fields": {
                "id": {"from": "id", "required": True},
                "number": {"from": "names[0]", "required": True},
                "lines": {
                    "each": "items",
                    "fields": {"quantity": {"from": "abs(q)", "as": "int", "required": True}},
                },
            },
        }
    )
    inv = invert_spec(spec)
    assert inv.blocking == ("number", "lines[].quantity")
    assert invert_spec(ORDER).blocking == ()


@settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(data=st.data())
def test_round_trip_on_the_order_spec(data: st.DataObject) -> None:
    _round_trip(ORDER, _ORDER_INV, _ORDER_MAPPINGS, data)


_ORDER_INV = invert_spec(ORDER)
_ORDER_MAPPINGS = (
    compile_mapping(_invertible_part(ORDER, _ORDER_INV)),
    compile_mapping(_ORDER_INV.build()),
)


@pytest.mark.parametrize("path", SHIPPED_INBOUND, ids=lambda p: str(p.relative_to(ROOT)))
def test_round_trip_on_shipped_specs(path: Path) -> None:
    spec = load_spec(path)
    inv = invert_spec_file(path)
    assert inv.invertible, "a shipped inbound spec with nothing invertible"
    targets = set(inv.invertible) | {t for t, _ in inv.not_invertible}
    assert all(t for t in targets)

    @settings(
        max_examples=10,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        _round_trip(spec, inv, mappings, data)

    mappings = (compile_mapping(_invertible_part(spec, inv)), compile_mapping(inv.build()))

    run()
