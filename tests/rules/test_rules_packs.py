"""The shipped rule packs: their sidecar cases, inputs they accept, and robustness."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from accord.canonical import Money, Refund
from accord.engine.mapping import compile_mapping, load_spec
from accord.engine.rules import RuleSet, check_rules_file, load_ruleset, parse_ruleset
from accord.errors import RuleError
from accord.resources import mappings_dir, rules_dir
from accord.testing.runner import run_case_file

PACKS = ("refund_governance", "buffer_stock", "sla_routing", "ownership")
NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
_LOADED: dict[str, RuleSet] = {}


def pack(name: str) -> RuleSet:
    if name not in _LOADED:
        _LOADED[name] = load_ruleset(rules_dir() / f"{name}.rules")
    return _LOADED[name]


def usd(text: str) -> dict[str, Any]:
    return {"amount": Decimal(text), "currency": "USD"}


REFUND: dict[str, Any] = {
    "id": "r-1",
    "order_id": "1001",
    "amount": usd("20.00"),
    "captured": usd("100.00"),
    "reason": "damaged",
    "idempotency_key": "k-1",
}


@pytest.mark.parametrize("name", PACKS)
def test_pack_checks_clean(name: str) -> None:
    assert check_rules_file(rules_dir() / f"{name}.rules") == []


@pytest.mark.parametrize("name", PACKS)
def test_pack_sidecar_cases_pass(name: str) -> None:
    result = run_case_file(rules_dir() / f"{name}.cases.yaml")
    assert result.cases
    assert [(c.name, c.message) for c in result.cases if c.status != "passed"] == []


def test_sidecar_cases_cover_every_rule_and_row() -> None:
    for name in ("refund_governance", "buffer_stock", "sla_routing"):
        result = run_case_file(rules_dir() / f"{name}.cases.yaml")
        assert result.coverage.items - result.coverage.hit == set(), name


def test_refund_accepts_a_canonical_model_and_money_objects() -> None:
    record = Refund(
        id="r1",
        order_id="1",
        amount=Money("20.00", "USD"),
        captured=Money("100.00", "USD"),
        reason="damaged",
        idempotency_key="k",
    )
    d = pack("refund_governance").evaluate(
        record, facts={"already_refunded": Money("0.00", "USD")}, now=NOW
    )
    assert d.kinds() == ["approve", "set"]


@pytest.mark.parametrize(
    "already",
    [usd("0.00"), "0.00 USD", {"amount": "0.00", "currency": "USD"}, Money("0.00", "USD")],
)
def test_money_fact_forms(already: Any) -> None:
    d = pack("refund_governance").evaluate(REFUND, facts={"already_refunded": already}, now=NOW)
    assert d.kinds() == ["approve", "set"]


@pytest.mark.parametrize(
    "bad", [0.0, "zero", {"amount": 0.5, "currency": "USD"}, {"amount": "x", "currency": "USD"}]
)
def test_bad_money_fact_is_rule205(bad: Any) -> None:
    with pytest.raises(RuleError) as info:
        pack("refund_governance").evaluate(REFUND, facts={"already_refunded": bad}, now=NOW)
    assert info.value.code == "RULE205"


def test_missing_fact_is_rule204() -> None:
    with pytest.raises(RuleError) as info:
        pack("refund_governance").evaluate(REFUND, facts={}, now=NOW)
    d = info.value.diagnostics[0]
    assert (d.code, d.data_path) == ("RULE204", "already_refunded")


def test_captured_fact_from_the_ledger_wins_over_the_record() -> None:
    facts = {"already_refunded": usd("0.00"), "captured": usd("10.00")}
    d = pack("refund_governance").evaluate(REFUND, facts=facts, now=NOW)
    assert d.kinds() == ["reject"]
    assert d.reasons == ["refund of 20.00 USD exceeds the 10.00 USD left of 10.00 USD captured"]


def test_previous_refund_without_a_key_is_not_a_duplicate() -> None:
    previous = [{"key": None, "amount": usd("5.00"), "at": NOW - timedelta(days=2)}]
    facts = {"already_refunded": usd("5.00"), "previous_refunds": previous}
    d = pack("refund_governance").evaluate(REFUND, facts=facts, now=NOW)
    assert d.kinds() == ["approve", "set"]


def test_trace_lists_each_rule_with_values_and_stop() -> None:
    previous = [{"key": "k-1", "amount": usd("5.00"), "at": NOW - timedelta(days=2)}]
    facts = {"already_refunded": usd("5.00"), "previous_refunds": previous}
    trace = pack("refund_governance").evaluate(REFUND, facts=facts, now=NOW).trace
    assert trace[0]["rule"] == "exceeds_captured"
    assert trace[0]["matched"] is False
    assert trace[0]["values"]["remaining"] == {"amount": "95.00", "currency": "USD"}
    assert trace[1]["rule"] == "duplicate_idempotency_key"
    assert trace[1]["matched"] is True
    assert trace[1]["values"]["idempotency_key"] == "k-1"
    assert [entry["considered"] for entry in trace[2:]] == [False] * (len(trace) - 2)


def test_a_mapped_tiktok_order_gets_the_business_day_ship_by() -> None:
    # The record comes from the shipped TikTok spec, so the channel name the rules compare
    # with is the one real TikTok orders carry.
    spec = compile_mapping(load_spec(mappings_dir() / "tiktok" / "order.inbound.yaml"))
    fixture = Path(__file__).parents[1] / "channels/fixtures/tiktok/order"
    payload = json.loads(
        (fixture / "order-576486316948490001.json").read_text(encoding="utf-8"),
        parse_float=Decimal,
    )
    order = spec.apply(payload, record_id="576486316948490001")
    assert order["placed_at"] == datetime(2026, 2, 16, 9, 36, 7, tzinfo=UTC)  # Mon 01:36 in LA
    facts = {
        "ship_region": "US-CA",
        "warehouses": [
            {
                "id": "la",
                "regions": ["US-CA"],
                "stock": {"TEE-ORG-BLK-M": 5, "MUG-STONE-12": 3},
                "cost": "5.20 USD",
                "distance_km": 20,
                "handling_days": 1,
            }
        ],
    }
    d = pack("sla_routing").evaluate(order, facts=facts, now=datetime(2026, 2, 16, 10, tzinfo=UTC))
    assert [(o.kind, o.args["to"]) for o in d.outcomes] == [("route", "la")]
    # Before the 14:00 cut-off Monday is day 0: the end of Wednesday in Los Angeles, not the
    # 72 hours after placement (2026-02-19T09:36:07Z) other channels get.
    assert d.trace[0]["values"]["ship_by"] == "2026-02-19T07:59:59Z"
    assert d.reasons == [
        "la stocks every line and ships before 2026-02-19T07:59:59Z; cheapest of 1"
    ]


def test_buffer_stock_pipeline() -> None:
    facts = {"sku": "S", "channel": "ebay", "available": 100, "share": "0.25", "buffer": 5}
    d = pack("buffer_stock").evaluate({}, facts=facts, now=NOW)
    assert d.fields_set == {"publish_quantity": Decimal(20), "listed": True}


@given(
    available=st.integers(0, 500),
    share=st.decimals(min_value=0, max_value=1, places=2),
    fixed=st.none() | st.integers(0, 600),
    buffer=st.integers(0, 20),
    cap=st.none() | st.integers(0, 100),
    minimum=st.integers(0, 50),
    low_share=st.decimals(min_value=0, max_value=1, places=2),
)
def test_buffer_stock_never_publishes_more_than_allowed(
    available: int,
    share: Decimal,
    fixed: int | None,
    buffer: int,
    cap: int | None,
    minimum: int,
    low_share: Decimal,
) -> None:
    facts: dict[str, Any] = {
        "sku": "S",
        "channel": "c",
        "available": available,
        "share": share,
        "buffer": buffer,
        "sku_minimum": minimum,
        "low_stock_share": low_share,
    }
    if cap is not None:
        facts["cap"] = cap
    if fixed is not None:
        facts["fixed_quantity"] = fixed
    d = pack("buffer_stock").evaluate({}, facts=facts, now=NOW)
    published = d.fields_set["publish_quantity"]
    assert 0 <= published <= available
    if cap is not None:
        assert published <= cap
    if fixed is not None:
        assert published <= max(fixed - buffer, 0)
    else:
        assert published <= max(int(available * share) - buffer, 0)
    low = available < minimum
    if low:
        assert published <= int(available * low_share)
    assert d.fields_set["listed"] is (published >= 1)
    assert ("alert" in d.kinds()) is low
    # what the reasons report is what was applied
    reason = d.reasons[0]
    assert f"buffer {buffer})" in reason
    if fixed is not None and not (low and "low-stock share" in reason):
        assert ("by the fixed quantity, limited to the pool" in reason) is (fixed > available)


_scalar = st.one_of(
    st.none(),
    st.booleans(),
    st.text(max_size=4),
    st.integers(-3, 3),
    st.decimals(allow_nan=False, allow_infinity=False, places=2, min_value=-100, max_value=100),
    st.datetimes(timezones=st.just(UTC)),
    st.floats(allow_nan=True),
    st.fixed_dictionaries(
        {
            "amount": st.decimals(places=2, min_value=0, max_value=999),
            "currency": st.sampled_from(["USD", "EUR"]),
        }
    ),
)
_value = st.recursive(
    _scalar,
    lambda c: st.one_of(
        st.lists(c, max_size=3),
        st.dictionaries(st.sampled_from(["sku", "quantity", "id", "stock", "key", "at"]), c),
    ),
    max_leaves=6,
)
_keys = st.sampled_from(
    [
        "id", "order_id", "amount", "captured", "reason", "idempotency_key", "placed_at",
        "lines", "channel", "already_refunded", "previous_refunds", "available", "share",
        "cap", "ship_region", "warehouses", "prime", "sku",
    ]
)  # fmt: skip


@given(
    st.sampled_from(PACKS),
    st.dictionaries(_keys, _value, max_size=8),
    st.dictionaries(_keys, _value, max_size=8),
)
def test_any_record_yields_a_decision_or_a_classified_rule_error(
    name: str, record: dict[str, Any], facts: dict[str, Any]
) -> None:
    codes: list[str] = []
    try:
        d = pack(name).evaluate(record, facts=facts, now=NOW)
        d.to_dict()
    except RuleError as exc:  # a classified error is a valid answer; anything else fails
        codes.append(exc.code)
    assert all(c.startswith("RULE2") for c in codes)


def test_case_files_sit_beside_every_pack() -> None:
    for name in PACKS:
        assert Path(rules_dir() / f"{name}.cases.yaml").is_file()


@pytest.mark.parametrize(
    ("record", "facts", "now", "code"),
    [
        ([1, 2], {}, NOW, "RULE202"),
        ("refund", {}, NOW, "RULE202"),
        (REFUND, [("already_refunded", "0 USD")], NOW, "RULE205"),
        (REFUND, {"already_refunded": "0 USD"}, "2026-03-02", "RULE202"),
        (REFUND, {"already_refunded": "0 USD"}, datetime(2026, 3, 2), "RULE202"),
    ],
)
def test_bad_call_arguments_are_classified(record: Any, facts: Any, now: Any, code: str) -> None:
    with pytest.raises(RuleError) as info:
        pack("refund_governance").evaluate(record, facts=facts, now=now)
    assert info.value.code == code


def test_decision_reads_as_its_json_mapping() -> None:
    d = pack("refund_governance").evaluate(REFUND, facts={"already_refunded": usd("0.00")}, now=NOW)
    assert list(d) == ["ruleset", "version", "effective", "outcomes", "fields", "reasons", "trace"]
    assert dict(d) == d.to_dict()
    assert d["fields"] == {"restock": False}
    assert "trace" in d
    assert d.get("nope", 1) == 1
    assert d.explain().splitlines()[0] == "refund_governance: approve, set"


def test_outside_the_effective_dates_nothing_is_considered() -> None:
    rs = parse_ruleset(
        "effective 2026-01-01..2026-01-31\n"
        "fact n: number\n"
        'rule r when n > 1 then approve because "x"'
    )
    d = rs.evaluate({}, facts={"n": 5}, now=NOW)
    assert d.to_dict()["effective"] is False
    assert d.outcomes == []
    assert d.trace == [{"rule": "r", "considered": False}]
    with pytest.raises(RuleError) as info:  # bad facts are reported even then
        rs.evaluate({}, facts={"n": 1.5}, now=NOW)
    assert info.value.code == "RULE205"
    d = rs.evaluate({}, facts={"n": 5}, now=datetime(2026, 1, 31, 23, 59, tzinfo=UTC))
    assert d.kinds() == ["approve"]
