"""The rules language as data (compliance.yaml), its builtins' examples, and its messages."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from ruamel.yaml import YAML

from accord.diagnostics import Severity
from accord.engine.rules import check_rules_text, parse_ruleset
from accord.engine.rules.builtins import BUILTINS
from accord.errors import RuleError, SpecError
from accord.testing.subjects import revive

HERE = Path(__file__).parent
NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
COMPLIANCE: list[dict[str, Any]] = YAML(typ="safe").load(
    (HERE / "compliance.yaml").read_text(encoding="utf-8")
)["cases"]


def _now(case: dict[str, Any]) -> datetime:
    if "now" in case:
        return datetime.fromisoformat(str(case["now"]).replace("Z", "+00:00"))
    return NOW


@pytest.mark.parametrize("case", COMPLIANCE, ids=[c["name"] for c in COMPLIANCE])
def test_compliance(case: dict[str, Any]) -> None:
    if "error" in case:
        with pytest.raises(SpecError) as info:
            parse_ruleset(case["rule"])
        assert case["error"] in {d.code for d in info.value.diagnostics}
        return
    rs = parse_ruleset(case["rule"])
    record = revive(case.get("record", {}))
    facts = case.get("facts", {})
    if "runtime_error" in case:
        with pytest.raises(RuleError) as rinfo:
            rs.evaluate(record, facts=facts, now=_now(case))
        assert rinfo.value.code == case["runtime_error"]
        return
    d = rs.evaluate(record, facts=facts, now=_now(case)).to_dict()
    if "kinds" in case:
        assert [o["kind"] for o in d["outcomes"]] == case["kinds"]
    if "fields" in case:
        assert d["fields"] == case["fields"]
    if "reasons" in case:
        assert d["reasons"] == case["reasons"]
    if "effective" in case:
        assert d["effective"] is case["effective"]


def test_compliance_cases_say_something() -> None:
    keys = {"error", "runtime_error", "kinds", "fields", "reasons"}
    assert all(keys & set(c) for c in COMPLIANCE)


_CAL = 'calendar weekdays_utc weekdays mon, tue, wed, thu, fri zone "UTC" end\n'


@pytest.mark.parametrize("name", sorted(BUILTINS))
def test_builtin_example_holds(name: str) -> None:
    example = BUILTINS[name].example
    rs = parse_ruleset(_CAL + f'rule r when {example} then approve because "holds"')
    assert rs.evaluate({}, now=NOW).kinds() == ["approve"]
    # and the negation does not: the example really tests something
    rs = parse_ruleset(_CAL + f'rule r when not ({example}) then approve because "holds"')
    assert rs.evaluate({}, now=NOW).kinds() == []


def test_every_builtin_is_documented() -> None:
    doc = (HERE.parent.parent / "docs" / "rules-language.md").read_text(encoding="utf-8")
    for name, b in BUILTINS.items():
        assert f"| `{name}` |" in doc
        assert b.example in doc


def _render(text: str, filename: str = "refund.rules") -> list[str]:
    return [d.render(source=text) for d in check_rules_text(text, filename=filename)]


def test_check_message_golden_unknown_name() -> None:
    text = 'fact amount: money\nrule r when amont > 5 USD then approve because "x"\n'
    assert _render(text) == [
        "refund.rules:1:1: warning RULE119: fact 'amount' is declared but no rule reads it\n"
        "fact amount: money\n"
        "^^^^^^^^^^^^^^^^^^",
        "refund.rules:2:13: error RULE101: unknown name 'amont'; did you mean 'amount'?\n"
        'rule r when amont > 5 USD then approve because "x"\n'
        "            ^^^^^",
    ]


def test_check_message_golden_money_and_number() -> None:
    text = 'fact amount: money\nrule r when amount > 100 then approve because "x"\n'
    assert _render(text) == [
        "refund.rules:2:13: error RULE111: money is compared with a bare number; write the "
        "currency: '100 USD'\n"
        'rule r when amount > 100 then approve because "x"\n'
        "            ^^^^^^^^^^^^"
    ]


def test_check_message_golden_missing_reason_and_two_sets() -> None:
    text = "rule r when true then set x = 1, set x = 2\n"
    assert _render(text) == [
        "refund.rules:1:1: error RULE120: rule 'r' has no reason; add: because \"...\"\n"
        "rule r when true then set x = 1, set x = 2\n"
        "^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^",
        "refund.rules:1:34: error RULE121: rule 'r' sets 'x' twice\n"
        "rule r when true then set x = 1, set x = 2\n"
        "                                 ^^^^^^^^^",
    ]


def test_check_message_golden_enum() -> None:
    text = 'over order\nrule r when fulfillment_status == "fulfiled" then approve because "x"\n'
    diags = check_rules_text(text, filename="o.rules")
    assert [d.render() for d in diags] == [
        "o.rules:2:35: error RULE126: 'fulfiled' is not one of the allowed values; did you "
        "mean 'fulfilled'?\n"
        "    hint: allowed: unfulfilled, scheduled, on_hold, in_progress, partially_fulfilled, "
        "fulfilled, restocked, unfulfillable"
    ]


def test_all_check_errors_reported_together_sorted() -> None:
    text = (
        "fact a: money\n"
        "rule r when a > 1 then approve\n"
        'rule r when b then approve because "x"\n'
        'rule s when a + 1 > 2 USD then approve because "{c}"\n'
    )
    diags = check_rules_text(text)
    assert [(d.code, d.line) for d in diags] == [
        ("RULE120", 2),
        ("RULE111", 2),
        ("RULE122", 3),
        ("RULE101", 3),
        ("RULE110", 4),
        ("RULE101", 4),
    ]
    assert all(Severity(d.severity) is Severity.ERROR for d in diags)


def test_runtime_error_points_at_rule_and_data_golden() -> None:
    rs = parse_ruleset(
        'over order\nrule r\n  when customer.email == "x"\n  then approve because "x"\n',
        filename="o.rules",
    )
    with pytest.raises(RuleError) as info:
        rs.evaluate({"id": "1", "customer": {}}, now=NOW)
    assert info.value.diagnostics[0].render() == (
        "o.rules:2:1: error RULE201: rule 'r' needs 'customer.email', which is missing\n"
        "    at customer.email\n"
        "    hint: handle it in the rule with exists(...) or '?? default'"
    )


def test_warnings_unused_fact_and_unreachable_rule() -> None:
    text = (
        "fact n: number\n"
        'rule a priority 5 when true then reject, stop because "always"\n'
        'rule b when true then approve because "never"\n'
    )
    diags = check_rules_text(text)
    assert [(d.code, d.line, d.severity) for d in diags] == [
        ("RULE119", 1, "warning"),
        ("RULE135", 3, "warning"),
    ]
    parse_ruleset(text)  # warnings do not stop a ruleset from loading


def test_set_of_a_record_field_must_match_its_type() -> None:
    text = 'over refund\nrule r when true then set restock = 1 because "x"\n'
    diags = check_rules_text(text, filename="r.rules")
    assert [d.render() for d in diags] == [
        "r.rules:2:23: error RULE114: 'restock' is a bool field of refund record, not a number"
    ]


def test_runtime_error_in_a_let_names_the_let() -> None:
    rs = parse_ruleset('fact n: number\nlet q = 1 / n\nrule r when q > 0 then approve because "x"')
    with pytest.raises(RuleError) as info:
        rs.evaluate({}, facts={"n": 0}, now=NOW)
    d = info.value.diagnostics[0]
    assert (d.code, d.line, d.message) == ("RULE203", 2, "let 'q': division by zero")


def test_every_diagnostic_code_is_documented() -> None:
    package = HERE.parent.parent / "accord" / "engine" / "rules"
    used = set()
    for path in package.glob("*.py"):
        used.update(re.findall(r"\"(RULE\d{3})\"", path.read_text(encoding="utf-8")))
    doc = (HERE.parent.parent / "docs" / "rules-language.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^\| (RULE\d{3}) \|", doc, re.M))
    assert used - documented == set()
    assert len(used) > 40


@pytest.mark.parametrize(
    ("text", "outcome"),
    [
        ('rule r when true then tag __import__("os") because "x"', "RULE103"),
        ('fact f: any\nrule r when true then tag f.__class__ because "x"', "RULE201"),
        ('rule r when true then approve because "{__builtins__}"', "RULE101"),
        (
            'rule r when true then approve because "x\\" + __import__(\\"os\\").name + \\""',
            'x" + __import__("os").name + "',
        ),
        (
            'fact s: string\nrule r when true then approve because "{s} \\\\N\\{BULLET\\}"',
            "v \\N{BULLET}",
        ),
    ],
)
def test_rule_text_cannot_reach_python(text: str, outcome: str) -> None:
    """Names become dictionary keys and text stays text: nothing reaches Python objects."""
    if outcome in ("RULE101", "RULE103"):
        with pytest.raises(SpecError) as check:
            parse_ruleset(text)
        assert check.value.code == outcome
        return
    rs = parse_ruleset(text)
    facts = {"f": {"x": 1}, "s": "v"}
    if outcome == "RULE201":
        with pytest.raises(RuleError) as run:
            rs.evaluate({}, facts=facts, now=NOW)
        assert run.value.code == outcome
        return
    assert rs.evaluate({}, facts=facts, now=NOW).reasons == [outcome]


_MONEY_RULES = parse_ruleset(
    """
    fact x: money
    fact y: money
    fact n: number
    rule arithmetic when true
      then set sum = x + y, set diff = x - y, set scaled = x * n, set less = x < y,
           set same = x + y - y == x
      because "{x} and {y}"
    """
)
_amounts = st.decimals(min_value=-(10**9), max_value=10**9, places=2)


@given(_amounts, _amounts, st.decimals(min_value=-1000, max_value=1000, places=3))
def test_money_arithmetic_is_exact(x: Decimal, y: Decimal, n: Decimal) -> None:
    facts = {"x": f"{x} USD", "y": {"amount": y, "currency": "USD"}, "n": n}
    fields = _MONEY_RULES.evaluate({}, facts=facts, now=NOW).fields_set
    assert fields["sum"] == {"amount": x + y, "currency": "USD"}
    assert fields["diff"] == {"amount": x - y, "currency": "USD"}
    assert fields["scaled"] == {"amount": x * n, "currency": "USD"}
    assert fields["less"] is (x < y)
    assert fields["same"] is True
