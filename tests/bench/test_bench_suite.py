"""The benchmark suite's equality checks: every tool must produce the hand-written output on
every variant before it is timed, and a tool that gets an answer wrong is caught.

Runs without the ``bench`` extra: peers that cannot be imported are skipped with that reason;
accord and the hand-written baselines are always checked.
"""

from __future__ import annotations

import json
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # the suite is a folder of the checkout, not an installed package
    sys.path.insert(0, str(ROOT))

from bench import harness, mapping, rules, system  # noqa: E402
from bench.mapping_quick import hand_written  # noqa: E402

pytestmark = pytest.mark.skipif(
    not mapping.PAYLOAD.is_file(), reason="../shared/bench/shopify_order.json is absent"
)


@pytest.fixture(scope="module")
def order_variants() -> dict[str, Any]:
    return mapping.variants(mapping.load_payload())


def _skip_if_missing(tool: harness.Tool) -> None:
    absent = harness.missing_modules(tool.needs)
    if absent:
        pytest.skip(f"{tool.name}: not installed ({', '.join(absent)})")


@pytest.mark.parametrize("tool", mapping.mapping_tools(), ids=lambda t: t.name)
def test_mapping_tools_match_the_hand_written_mapping(
    tool: harness.Tool, order_variants: dict[str, Any]
) -> None:
    _skip_if_missing(tool)
    assert harness.check(tool.build(), hand_written, order_variants) == "ok"


def test_accord_mapping_output_on_variants(order_variants: dict[str, Any]) -> None:
    run = mapping.build_accord()
    ids = run(order_variants["18-digit ids"])
    assert ids["id"] == "123456789012345678"
    assert ids["customer"]["id"] == "987654321098765432"
    money = run(order_variants["boundary money"])
    assert money["total"] == {"amount": Decimal("0.20"), "currency": "USD"}
    assert money["tax_lines"][0]["rate"] == Decimal("0.1")
    nulls = run(order_variants["null sections"])
    assert "lines" not in nulls
    assert "shipping_address" not in nulls
    assert nulls["customer"] == {"email": "bob.norman@hostmail.com"}


def test_a_tool_with_float_money_is_reported_wrong(order_variants: dict[str, Any]) -> None:
    def float_money(payload: Any) -> Any:
        out = hand_written(payload)
        out["total"] = {"amount": float(out["total"]["amount"]), "currency": "USD"}
        return out

    status = harness.check(float_money, hand_written, order_variants)
    assert status == "WRONG: fixture: $.total.amount: got 409.94, want Decimal('409.94')"


def test_a_tool_that_loses_id_digits_is_reported_wrong(order_variants: dict[str, Any]) -> None:
    def float_ids(payload: Any) -> Any:
        out = hand_written(payload)
        out["id"] = str(int(float(out["id"])))
        return out

    status = harness.check(float_ids, hand_written, order_variants)
    assert status.startswith("WRONG: 18-digit ids: $.id: got '123456789012345680'")


def test_a_tool_that_raises_is_reported_wrong(order_variants: dict[str, Any]) -> None:
    def fragile(payload: Any) -> Any:
        return hand_written(payload) if payload["order"].get("customer") else {}["customer"]

    status = harness.check(fragile, hand_written, order_variants)
    assert status == "WRONG: null sections: raised KeyError: 'customer'"


def test_wrong_tools_are_not_timed_and_missing_ones_are_named(
    order_variants: dict[str, Any],
) -> None:
    tools = [
        harness.Tool("absent", ("no_such_module_for_accord_bench",), mapping.build_accord),
        harness.Tool("wrong", (), lambda: lambda p: {**hand_written(p), "currency": "EUR"}),
        harness.Tool("right", (), lambda: hand_written, held_to_target=True),
    ]
    rows = harness.compare_section(
        "s", "base", hand_written, tools, order_variants, order_variants["fixture"],
        rounds=2, seconds=0.002, target=0.8,
    )  # fmt: skip
    by_name = {r.tool: r for r in rows}
    assert by_name["absent"].status == "not installed: no_such_module_for_accord_bench"
    assert by_name["wrong"].status == "WRONG: fixture: $.currency: got 'EUR', want 'USD'"
    assert by_name["wrong"].rate is None
    assert by_name["right"].status == "ok"
    assert by_name["right"].rate is not None
    assert by_name["right"].ratio is not None
    assert by_name["right"].verdict() in ("PASS", "MISS")
    assert by_name["base"].status == "baseline"


@pytest.fixture(scope="module")
def rule_variants() -> dict[str, Any]:
    return rules.variants()


def test_accord_rules_match_the_hand_written_packs_with_reasons(
    rule_variants: dict[str, Any],
) -> None:
    run = rules.build_accord()
    assert harness.check(lambda c: rules.accord_output(run(c)), rules.hand, rule_variants) == "ok"


def test_a_tool_is_checked_through_its_adapter_but_timed_without_it() -> None:
    seen: list[str] = []

    def adapt(out: int) -> int:
        seen.append("adapt")
        return out * 2

    tool = harness.Tool("doubled", (), lambda: lambda x: x, held_to_target=True, adapt=adapt)
    rows = harness.compare_section(
        "s", "base", lambda x: x * 2, [tool], {"one": 1, "two": 2}, 3,
        rounds=1, seconds=0.001, target=0.5,
    )  # fmt: skip
    assert rows[1].status == "ok"
    assert seen == ["adapt", "adapt"]  # once per checked variant, never in the timed loop
    wrong = harness.Tool("raw", (), lambda: lambda x: x)
    rows = harness.compare_section(
        "s", "base", lambda x: x * 2, [wrong], {"two": 2}, 3, rounds=1, seconds=0.001, target=None
    )
    assert rows[1].status.startswith("WRONG: two")


def test_rules_boundary_variant_is_decided_exactly(rule_variants: dict[str, Any]) -> None:
    out = rules.hand(rule_variants["boundary money 0.20 <= 0.30 - 0.10"])
    kinds = [o[0] for o in out["refund"][0]]
    assert kinds == ["approve", "set"]
    assert out["buffer"][1] == {"publish_quantity": Decimal(29), "listed": True}


@pytest.mark.parametrize(
    ("name", "needs", "build"),
    [
        ("zen-engine", ("zen",), rules.build_zen),
        ("rule-engine", ("rule_engine",), rules.build_rule_engine),
    ],
)
def test_rule_peers_match_the_hand_written_decisions(
    name: str, needs: tuple[str, ...], build: Any, rule_variants: dict[str, Any]
) -> None:
    _skip_if_missing(harness.Tool(name, needs))
    assert harness.check(build(), rules.hand, rule_variants, rules.decisions) == "ok"


def test_jsonlogic_floats_are_caught_on_the_money_boundary(rule_variants: dict[str, Any]) -> None:
    _skip_if_missing(harness.Tool("JsonLogic", ("json_logic",)))
    status = harness.check(rules.build_jsonlogic(), rules.hand, rule_variants, rules.decisions)
    assert status.startswith("WRONG: boundary money 0.20 <= 0.30 - 0.10: $.refund[0][0][0]")


def test_generated_replay_payloads_are_distinct_orders(tmp_path: Path) -> None:
    path = tmp_path / "orders.ndjson"
    system.write_payloads(path, 3)
    lines = path.read_text().splitlines()
    orders = [json.loads(line, parse_float=Decimal)["order"] for line in lines]
    assert [o["id"] for o in orders] == [10**12, 10**12 + 1, 10**12 + 2]
    assert [o["name"] for o in orders] == ["#100000", "#100001", "#100002"]
    assert orders[0]["tax_lines"][0]["rate"] == Decimal("0.06")
    assert orders[0]["subtotal_price"] == "398.00"


def test_quick_run_writes_a_json_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from bench.suite import main

    out = tmp_path / "r.json"
    assert main(["--quick", "--only", "rules", "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    rows = {r["tool"]: r for r in report["rows"]}
    accord_row = rows["accord (with reasons)"]
    assert accord_row["status"] == "ok"
    assert accord_row["target"] == 0.7
    assert accord_row["verdict"] in ("PASS", "MISS")
    assert report["machine"]["cores"] >= 1
    assert "accord (with reasons)" in capsys.readouterr().out


def test_first_difference_names_the_path() -> None:
    assert harness.first_difference([1, {"a": 2}], [1, {"a": 2}]) is None
    assert harness.first_difference([1], [1, 2]) == "$: 1 items, want 2"
    assert harness.first_difference({"a": 1}, {}) == "$.a: unexpected 1"
    assert harness.first_difference(Decimal("1.5"), 1.5) == "$: got Decimal('1.5'), want 1.5"


def test_without_the_peer_extras_peers_are_not_installed_and_accord_is_still_checked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("zen", "rule_engine", "json_logic", "orjson", "glom", "jsonata"):
        monkeypatch.setitem(sys.modules, name, None)  # import now raises ImportError
    rows = rules.run_section(rounds=1, seconds=0.002)
    status = {r.tool: r.status for r in rows}
    assert status["accord (with reasons)"] == "ok"
    assert status["hand-written Python + Decimal"] == "baseline"
    assert status["zen-engine (compiled expressions)"] == "not installed: zen"
    assert status["rule-engine"] == "not installed: rule_engine"
    assert status["JsonLogic (panzi-json-logic)"] == "not installed: json_logic"
