"""Quick check of the rules performance targets (issue 4).

1. Evaluating refund governance plus buffer stock on one record, with the shipped packs, versus
   hand-written Python with Decimal making the same decisions (same outcomes, same rendered
   reasons, the same currency checks), in one process; prints the throughput ratio
   (target: >= 0.7).
2. Parsing and checking all shipped packs (target: < 200 ms).

    .venv/bin/python bench/rules_quick.py

The inputs (``REFUND_RECORD``, ``REFUND_FACTS``, ``BUFFER_FACTS``) and the hand-written
equivalents (``hand_refund_governance``, ``hand_buffer_stock``) are importable, so the full
benchmark suite can reuse them; ``check_equivalent()`` asserts both sides agree.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import ROUND_FLOOR, Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from accord.engine.rules import RuleSet, load_ruleset  # noqa: E402 - after the path tweak

RULES = ROOT / "rules"
PACKS = ("refund_governance", "buffer_stock", "sla_routing", "ownership")
NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def _usd(text: str) -> dict[str, Any]:
    return {"amount": Decimal(text), "currency": "USD"}


#: A canonical refund record as a compiled mapping produces it.
REFUND_RECORD: dict[str, Any] = {
    "id": "rf-1001-2",
    "order_id": "1001",
    "amount": _usd("42.50"),
    "captured": _usd("180.00"),
    "reason": "wrong_item",
    "idempotency_key": "rk-77",
    "created_at": NOW,
}
#: The facts the runtime passes from its refund ledger.
REFUND_FACTS: dict[str, Any] = {
    "captured": _usd("180.00"),
    "already_refunded": _usd("20.00"),
    "previous_refunds": [{"key": "rk-12", "amount": _usd("20.00"), "at": NOW - timedelta(days=3)}],
    "item_condition": "opened",
}
BUFFER_FACTS: dict[str, Any] = {
    "sku": "TEE-M",
    "channel": "amazon",
    "available": Decimal(57),
    "share": Decimal("0.6"),
    "buffer": Decimal(2),
    "cap": Decimal(40),
}

_COMMON = frozenset({"damaged", "defective", "not_as_described", "wrong_item", "late_delivery"})
_AUTO = _usd("50")
_ABOVE = _usd("500")
_DAY = timedelta(hours=24)


def _m(v: dict[str, Any]) -> str:
    return f"{v['amount']} {v['currency']}"


def _same(a: dict[str, Any], b: dict[str, Any]) -> None:
    if a["currency"] != b["currency"]:
        raise ValueError("currencies differ")


def hand_refund_governance(
    rec: dict[str, Any], facts: dict[str, Any], now: datetime
) -> tuple[list[tuple[str, dict[str, Any], str]], dict[str, Any]]:
    """refund_governance.rules written by hand: outcomes (kind, args, reason) and fields."""
    out: list[tuple[str, dict[str, Any], str]] = []
    fields: dict[str, Any] = {}
    captured = facts.get("captured") or rec["captured"]
    already = facts["already_refunded"]
    previous = facts.get("previous_refunds", [])
    limit = facts.get("auto_approve_limit", _AUTO)
    above = facts.get("escalate_above", _ABOVE)
    condition = facts.get("item_condition", "unknown")
    amount = rec["amount"]
    _same(captured, already)
    remaining = {"amount": captured["amount"] - already["amount"], "currency": captured["currency"]}
    _same(amount, remaining)
    if amount["amount"] > remaining["amount"]:
        reason = (
            f"refund of {_m(amount)} exceeds the {_m(remaining)} left of {_m(captured)} captured"
        )
        out.append(("reject", {}, reason))
        return out, fields
    key = rec.get("idempotency_key")
    if key is not None and any(p.get("key") is not None and p["key"] == key for p in previous):
        out.append(("reject", {}, f"refund {key} was already made"))
        return out, fields
    for p in previous:
        pa = p["amount"]
        same = pa["currency"] == amount["currency"] and pa["amount"] == amount["amount"]
        if same and now - p["at"] < _DAY:
            reason = (
                f"a refund of {_m(amount)} was already made on order {rec['order_id']} "
                "in the last 24 hours"
            )
            out.append(("reject", {}, reason))
            return out, fields
    _same(amount, above)
    _same(amount, limit)
    reason_code = rec["reason"]
    if amount["amount"] > above["amount"]:
        out.append(
            ("escalate", {"queue": "finance"}, f"refund of {_m(amount)} is above {_m(above)}")
        )
    common = reason_code in _COMMON
    if amount["amount"] <= limit["amount"] and common:
        reason = (
            f"refund of {_m(amount)} for '{reason_code}' is within the {_m(limit)} "
            "auto-approve limit"
        )
        out.append(("approve", {}, reason))
    if amount["amount"] <= above["amount"] and (amount["amount"] > limit["amount"] or not common):
        reason = f"refund of {_m(amount)} for '{reason_code}' needs a person to look at it"
        out.append(("escalate", {"queue": "support"}, reason))
    if reason_code in ("damaged", "defective"):
        restock, why = False, "damaged or defective goods are written off"
    elif condition == "damaged":
        restock, why = False, "the item came back damaged"
    elif condition == "unopened":
        restock, why = True, "unopened items go back into stock"
    elif reason_code in ("changed_mind", "wrong_size") and condition == "opened":
        restock, why = True, "opened but resellable returns are restocked"
    else:
        restock, why = False, "anything else waits for inspection"
    fields["restock"] = restock
    out.append(("set", {"field": "restock", "value": restock}, why))
    return out, fields


def hand_buffer_stock(
    facts: dict[str, Any],
) -> tuple[list[tuple[str, dict[str, Any], str]], dict[str, Any]]:
    """buffer_stock.rules written by hand."""
    out: list[tuple[str, dict[str, Any], str]] = []
    fields: dict[str, Any] = {}
    sku, channel, available = facts["sku"], facts["channel"], facts["available"]
    share = facts.get("share", Decimal(1))
    buffer = facts.get("buffer", Decimal(0))
    hide_below = facts.get("hide_below", Decimal(1))
    minimum = facts.get("sku_minimum", Decimal(0))
    low_share = facts.get("low_stock_share", Decimal("0.5"))
    low = available < minimum
    fixed = facts.get("fixed_quantity")
    if fixed is not None:
        usual = min(fixed, available)
    else:
        usual = (available * share).quantize(Decimal(1), rounding=ROUND_FLOOR)
    limit = (available * low_share).quantize(Decimal(1), rounding=ROUND_FLOOR) if low else None
    allotted = min(usual, limit) if limit is not None else usual
    if low and allotted < usual:
        basis = "the low-stock share"
    elif fixed is None:
        basis = "the channel's share"
    elif fixed > available:
        basis = "the fixed quantity, limited to the pool"
    else:
        basis = "the fixed quantity"
    after = max(allotted - buffer, Decimal(0))
    cap = facts.get("cap")
    publishable = min(after, cap) if cap is not None else after
    if publishable >= hide_below:
        reason = (
            f"{channel} may publish {publishable} of {available} for {sku} "
            f"(allotted {allotted} by {basis}, buffer {buffer})"
        )
        fields["publish_quantity"] = publishable
        fields["listed"] = True
        out.append(("set", {"field": "publish_quantity", "value": publishable}, reason))
        out.append(("set", {"field": "listed", "value": True}, reason))
    else:
        reason = (
            f"{sku} is hidden on {channel}: {publishable} is below the threshold {hide_below} "
            f"(allotted {allotted} by {basis}, buffer {buffer})"
        )
        fields["publish_quantity"] = Decimal(0)
        fields["listed"] = False
        out.append(("set", {"field": "publish_quantity", "value": Decimal(0)}, reason))
        out.append(("set", {"field": "listed", "value": False}, reason))
        out.append(("tag", {"value": "hidden_low_stock"}, reason))
    if low:
        reason = (
            f"{sku} has {available} left, below its minimum of {minimum}; "
            f"{channel} is allotted at most {limit} of it"
        )
        out.append(("alert", {"value": "low_stock"}, reason))
    return out, fields


def load_packs() -> tuple[RuleSet, RuleSet]:
    return load_ruleset(RULES / "refund_governance.rules"), load_ruleset(
        RULES / "buffer_stock.rules"
    )


def check_equivalent(refunds: RuleSet, buffer: RuleSet) -> None:
    """Both sides make the same decisions with the same reasons on the bench inputs."""
    for rs, (hand_out, hand_fields), rec, facts in (
        (
            refunds,
            hand_refund_governance(REFUND_RECORD, REFUND_FACTS, NOW),
            REFUND_RECORD,
            REFUND_FACTS,
        ),
        (buffer, hand_buffer_stock(BUFFER_FACTS), {}, BUFFER_FACTS),
    ):
        d = rs.evaluate(rec, facts=facts, now=NOW)
        engine = [(o.kind, dict(o.args), o.reason) for o in d.outcomes]
        assert engine == hand_out, (engine, hand_out)
        assert d.fields_set == hand_fields, (d.fields_set, hand_fields)


def engine_once(refunds: RuleSet, buffer: RuleSet) -> None:
    refunds.evaluate(REFUND_RECORD, facts=REFUND_FACTS, now=NOW)
    buffer.evaluate({}, facts=BUFFER_FACTS, now=NOW)


def hand_once() -> None:
    hand_refund_governance(REFUND_RECORD, REFUND_FACTS, NOW)
    hand_buffer_stock(BUFFER_FACTS)


def _seconds(fn: Any, batch: int) -> float:
    start = time.perf_counter()
    for _ in range(batch):
        fn()
    return time.perf_counter() - start


def measure(
    refunds: RuleSet, buffer: RuleSet, rounds: int = 21, batch: int = 2000
) -> dict[str, float]:
    """Alternate short batches of both sides and keep the median of the per-round ratios, so
    a neighbour's load hits both sides alike."""
    ratios, engine_rates, hand_rates = [], [], []
    for _ in range(rounds):
        te = _seconds(lambda: engine_once(refunds, buffer), batch)
        th = _seconds(hand_once, batch)
        ratios.append(th / te)
        engine_rates.append(batch / te)
        hand_rates.append(batch / th)
    return {
        "ratio": statistics.median(ratios),
        "engine": statistics.median(engine_rates),
        "hand": statistics.median(hand_rates),
    }


_COLD = """
import time
from accord.engine.rules import load_ruleset
import accord.canonical.introspect
start = time.perf_counter()
for pack in {packs!r}:
    load_ruleset({rules!r} + "/" + pack + ".rules")
print((time.perf_counter() - start) * 1000)
"""


def _cold_load_ms() -> float:
    """Parse and check every pack in a new interpreter (imports excluded; the parser's
    tables come from the user's cache, or are built when it is cold)."""
    code = _COLD.format(packs=PACKS, rules=str(RULES))
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    return float(out.stdout.strip().splitlines()[-1])


def main() -> int:
    refunds, buffer = load_packs()
    check_equivalent(refunds, buffer)
    for _ in range(2000):  # warm up both sides
        engine_once(refunds, buffer)
        hand_once()
    m = measure(refunds, buffer)
    ratio = m["ratio"]
    print(f"engine       {m['engine']:9.0f} records/s (refund governance + buffer stock)")
    print(f"hand-written {m['hand']:9.0f} records/s")
    print(f"ratio        {ratio:9.2f}x  (median of 21 alternating rounds; target >= 0.70)")

    for pack in PACKS:  # warm: imports, the grammar, the canonical model
        load_ruleset(RULES / f"{pack}.rules")
    runs = []
    for _ in range(5):
        start = time.perf_counter()
        for pack in PACKS:
            load_ruleset(RULES / f"{pack}.rules")
        runs.append((time.perf_counter() - start) * 1000)
    ms = min(runs)
    print(f"parse+check all {len(PACKS)} packs: {ms:.0f} ms (best of 5; target < 200 ms)")
    cold = _cold_load_ms()
    print(f"parse+check all {len(PACKS)} packs in a fresh process: {cold:.0f} ms")
    return 0 if ratio >= 0.7 and ms < 200 else 1


if __name__ == "__main__":
    raise SystemExit(main())
