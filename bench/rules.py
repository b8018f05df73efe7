"""Rules section: refund governance plus buffer stock on one record.

The baseline is the hand-written Python with Decimal in ``bench/rules_quick.py``
(``hand_refund_governance`` and ``hand_buffer_stock``). accord must match it exactly,
rendered reasons included. Peer engines have no reason templates, so they are checked on the
decisions themselves (outcome kinds, their arguments, the fields set, in order); each peer
evaluates every condition and every computed quantity with its own compiled expressions, and a
shared piece of Python (``_refund_glue``, ``_buffer_glue``) turns the answers into outcomes.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from accord.engine.rules import Decision
from bench.harness import Row, Tool, compare_section
from bench.rules_quick import (
    BUFFER_FACTS,
    NOW,
    REFUND_FACTS,
    REFUND_RECORD,
    hand_buffer_stock,
    hand_refund_governance,
    load_packs,
)

Case = tuple[dict[str, Any], dict[str, Any], dict[str, Any], datetime]
Outcomes = list[tuple[Any, ...]]

COMMON = ["damaged", "defective", "not_as_described", "wrong_item", "late_delivery"]
_USD_DEFAULTS = {"auto_approve_limit": Decimal(50), "escalate_above": Decimal(500)}


def _usd(text: str) -> dict[str, Any]:
    return {"amount": Decimal(text), "currency": "USD"}


def variants() -> dict[str, Case]:
    """The inputs every engine must decide exactly as the baseline does."""
    base: Case = (REFUND_RECORD, REFUND_FACTS, BUFFER_FACTS, NOW)
    out: dict[str, Case] = {"bench record": base}

    def make(
        name: str,
        rec: dict[str, Any] | None = None,
        facts: dict[str, Any] | None = None,
        buf: dict[str, Any] | None = None,
    ) -> None:
        r, f, b = copy.deepcopy(REFUND_RECORD), copy.deepcopy(REFUND_FACTS), dict(BUFFER_FACTS)
        r.update(rec or {})
        f.update(facts or {})
        b.update(buf or {})
        out[name] = (r, f, b, NOW)

    # 0.20 <= 0.30 - 0.10 holds in decimal, not in binary floating point.
    make(
        "boundary money 0.20 <= 0.30 - 0.10",
        {"amount": _usd("0.20"), "captured": _usd("0.30")},
        {"captured": _usd("0.30"), "already_refunded": _usd("0.10"), "previous_refunds": []},
        {"available": Decimal(100), "share": Decimal("0.29"), "buffer": Decimal(0)},
    )
    make("over the remaining amount", {"amount": _usd("160.01")})
    make(
        "above the escalation limit",
        {"amount": _usd("600.00"), "reason": "changed_mind"},
        {
            "captured": _usd("1000.00"),
            "already_refunded": _usd("0.00"),
            "item_condition": "unopened",
        },
    )
    make(
        "18-digit idempotency keys differ in the last digit",
        {"order_id": "123456789012345678", "idempotency_key": "123456789012345678"},
        {
            "previous_refunds": [
                {
                    "key": "123456789012345679",
                    "amount": _usd("20.00"),
                    "at": NOW - timedelta(days=3),
                }
            ]
        },
    )
    make(
        "same key already refunded",
        {"idempotency_key": "rk-12"},
    )
    make(
        "same amount within 24 hours",
        facts={
            "previous_refunds": [
                {"key": "rk-13", "amount": _usd("42.50"), "at": NOW - timedelta(hours=2)}
            ]
        },
    )
    make(
        "low stock hides the listing",
        {"reason": "damaged"},
        {"item_condition": "damaged"},
        {"available": Decimal(3), "sku_minimum": Decimal(5), "cap": None},
    )
    make(
        "fixed quantity above a pool below the SKU minimum",
        facts={"item_condition": "unopened"},
        buf={"available": Decimal(3), "fixed_quantity": Decimal(10), "sku_minimum": Decimal(5)},
    )
    make(
        "fixed quantity above the pool",
        buf={"available": Decimal(4), "fixed_quantity": Decimal(10), "cap": None},
    )
    make(
        "fixed quantity, no cap, no key",
        {"idempotency_key": None, "reason": "wrong_size"},
        {"item_condition": "opened", "previous_refunds": []},
        {"fixed_quantity": Decimal(7), "cap": None, "share": Decimal(1)},
    )
    return out


def hand(case: Case) -> dict[str, Any]:
    """The baseline: both packs written by hand."""
    rec, facts, buf, now = case
    return {"refund": hand_refund_governance(rec, facts, now), "buffer": hand_buffer_stock(buf)}


def build_accord() -> Callable[[Case], Any]:
    """accord's shipped packs, loaded and checked once."""
    refunds, buffer = load_packs()

    def run(case: Case) -> tuple[Decision, Decision]:
        rec, facts, buf, now = case
        return refunds.evaluate(rec, facts=facts, now=now), buffer.evaluate({}, facts=buf, now=now)

    return run


def accord_output(decisions: tuple[Decision, Decision]) -> dict[str, Any]:
    """accord's two Decisions in the hand-written output's shape (checked, not timed)."""
    a, b = decisions
    return {
        "refund": ([(o.kind, o.args, o.reason) for o in a.outcomes], a.fields_set),
        "buffer": ([(o.kind, o.args, o.reason) for o in b.outcomes], b.fields_set),
    }


def decisions(output: dict[str, Any]) -> dict[str, Any]:
    """An output without its rendered reasons (what peers are checked on)."""
    return {
        name: ([(kind, args) for kind, args, *_ in outcomes], fields)
        for name, (outcomes, fields) in output.items()
    }


def _num(value: Any) -> Decimal:
    # Engines that hand back floats: read the shortest repr, as a careful caller would.
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)


def _refund_glue(ev: Callable[[str], Any]) -> tuple[Outcomes, dict[str, Any]]:
    if ev("exceeds") or ev("duplicate") or ev("repeat"):
        return [("reject", {})], {}
    out: Outcomes = []
    if ev("above"):
        out.append(("escalate", {"queue": "finance"}))
    if ev("auto"):
        out.append(("approve", {}))
    if ev("support"):
        out.append(("escalate", {"queue": "support"}))
    restock = bool(ev("restock"))
    out.append(("set", {"field": "restock", "value": restock}))
    return out, {"restock": restock}


def _buffer_glue(ev: Callable[[str], Any]) -> tuple[Outcomes, dict[str, Any]]:
    publishable = _num(ev("publishable"))
    out: Outcomes
    if ev("listed"):
        fields = {"publish_quantity": publishable, "listed": True}
        out = [
            ("set", {"field": "publish_quantity", "value": publishable}),
            ("set", {"field": "listed", "value": True}),
        ]
    else:
        fields = {"publish_quantity": Decimal(0), "listed": False}
        out = [
            ("set", {"field": "publish_quantity", "value": Decimal(0)}),
            ("set", {"field": "listed", "value": False}),
            ("tag", {"value": "hidden_low_stock"}),
        ]
    if ev("low"):
        out.append(("alert", {"value": "low_stock"}))
    return out, fields


def _flat(case: Case, money: Callable[[Decimal], Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The refund and buffer inputs as flat contexts, amounts through ``money``."""
    rec, facts, buf, now = case
    captured = facts.get("captured") or rec["captured"]
    amount = rec["amount"]
    stamp = int(now.timestamp())
    refund = {
        "amount": money(amount["amount"]),
        "currency": amount["currency"],
        "captured": money(captured["amount"]),
        "already": money(facts["already_refunded"]["amount"]),
        "limit": money(_USD_DEFAULTS["auto_approve_limit"]),
        "above": money(_USD_DEFAULTS["escalate_above"]),
        "reason": rec["reason"],
        "condition": facts.get("item_condition", "unknown"),
        "key": rec.get("idempotency_key"),
        "now": stamp,
        "previous": [
            {
                "key": p.get("key"),
                "amount": money(p["amount"]["amount"]),
                "currency": p["amount"]["currency"],
                "at": int(p["at"].timestamp()),
            }
            for p in facts.get("previous_refunds", [])
        ],
    }
    stock = {
        "available": money(buf["available"]),
        "share": money(buf.get("share", Decimal(1))),
        "buffer": money(buf.get("buffer", Decimal(0))),
        "hide_below": money(buf.get("hide_below", Decimal(1))),
        "sku_minimum": money(buf.get("sku_minimum", Decimal(0))),
        "low_share": money(buf.get("low_stock_share", Decimal("0.5"))),
        "fixed": None if buf.get("fixed_quantity") is None else money(buf["fixed_quantity"]),
        "cap": None if buf.get("cap") is None else money(buf["cap"]),
    }
    return refund, stock


def _restock_text(is_in: Callable[[str, list[str]], str]) -> str:
    return (
        f"{is_in('reason', ['damaged', 'defective'])} ? false : "
        "(condition == 'damaged' ? false : (condition == 'unopened' ? true : "
        f"({is_in('reason', ['changed_mind', 'wrong_size'])} and condition == 'opened')))"
    )


def build_zen() -> Callable[[Case], Any]:
    """zen-engine compiled expressions; amounts passed as strings and read with number(),
    which zen evaluates in decimal arithmetic."""
    import zen

    common = "[" + ", ".join(f"'{c}'" for c in COMMON) + "]"
    n = "number"
    refund = {
        "exceeds": f"{n}(amount) > {n}(captured) - {n}(already)",
        "duplicate": "key != null and some(previous, #.key == key)",
        "repeat": (
            f"some(previous, #.currency == currency and {n}(#.amount) == {n}(amount) "
            "and now - #.at < 86400)"
        ),
        "above": f"{n}(amount) > {n}(above)",
        "auto": f"{n}(amount) <= {n}(limit) and reason in {common}",
        "support": (
            f"{n}(amount) <= {n}(above) and ({n}(amount) > {n}(limit) or not (reason in {common}))"
        ),
        "restock": _restock_text(lambda v, xs: f"{v} in [{', '.join(repr(x) for x in xs)}]"),
    }
    usual = (
        "(fixed != null ? min([number(fixed), number(available)]) : "
        "floor(number(available) * number(share)))"
    )
    allotted = (
        "(number(available) < number(sku_minimum) ? "
        f"min([{usual}, floor(number(available) * number(low_share))]) : {usual})"
    )
    after = f"max([{allotted} - number(buffer), 0])"
    stock = {
        "publishable": f"cap != null ? min([{after}, number(cap)]) : {after}",
        "low": "number(available) < number(sku_minimum)",
        "listed": "number(publishable) >= number(hide_below)",
    }
    rx = {k: zen.compile_expression(v) for k, v in refund.items()}
    sx = {k: zen.compile_expression(v) for k, v in stock.items()}

    def run(case: Case) -> dict[str, Any]:
        r, s = _flat(case, str)

        def ev_stock(name: str) -> Any:
            value = sx[name].evaluate(s)
            if name == "publishable":
                s["publishable"] = str(value)
            return value

        return {
            "refund": _refund_glue(lambda k: rx[k].evaluate(r)),
            "buffer": _buffer_glue(ev_stock),
        }

    return run


def build_rule_engine() -> Callable[[Case], Any]:
    """rule-engine rules (its numbers are Decimal), parsed once."""
    import rule_engine

    common = "[" + ", ".join(f"'{c}'" for c in COMMON) + "]"
    refund = {
        "exceeds": "amount > captured - already",
        "duplicate": "key != null and $any([p['key'] == key for p in previous])",
        "repeat": (
            "$any([p['currency'] == currency and p['amount'] == amount "
            "and now - p['at'] < 86400 for p in previous])"
        ),
        "above": "amount > above",
        "auto": f"amount <= limit and reason in {common}",
        "support": f"amount <= above and (amount > limit or not reason in {common})",
        "restock": _restock_text(lambda v, xs: f"{v} in [{', '.join(repr(x) for x in xs)}]"),
    }
    usual = "(fixed != null ? $min([fixed, available]) : (available * share).floor)"
    allotted = (
        f"(available < sku_minimum ? $min([{usual}, (available * low_share).floor]) : {usual})"
    )
    after = f"$max([{allotted} - buffer, 0.0])"
    stock = {
        "publishable": f"cap != null ? $min([{after}, cap]) : {after}",
        "low": "available < sku_minimum",
        "listed": "publishable >= hide_below",
    }
    rx = {k: rule_engine.Rule(v) for k, v in refund.items()}
    sx = {k: rule_engine.Rule(v) for k, v in stock.items()}

    def run(case: Case) -> dict[str, Any]:
        r, s = _flat(case, Decimal)

        def ev_stock(name: str) -> Any:
            value = sx[name].evaluate(s)
            if name == "publishable":
                s["publishable"] = value
            return value

        return {
            "refund": _refund_glue(lambda k: rx[k].evaluate(r)),
            "buffer": _buffer_glue(ev_stock),
        }

    return run


def build_jsonlogic() -> Callable[[Case], Any]:
    """panzi-json-logic rules; amounts passed as Decimal. JsonLogic's array operators see only
    the item, so the keys of earlier refunds and the request's amount, currency and time are
    copied into the context for them."""
    from json_logic import jsonLogic

    def v(name: str) -> dict[str, Any]:
        return {"var": name}

    def is_in(name: str, values: list[str]) -> dict[str, Any]:
        return {"in": [v(name), values]}

    def floor(x: Any) -> dict[str, Any]:
        return {"-": [x, {"%": [x, 1]}]}

    refund = {
        "exceeds": {">": [v("amount"), {"-": [v("captured"), v("already")]}]},
        "duplicate": {"and": [{"!=": [v("key"), None]}, {"in": [v("key"), v("previous_keys")]}]},
        "repeat": {
            "some": [
                v("previous"),
                {
                    "and": [
                        {"==": [v("currency"), v("req_currency")]},
                        {"==": [v("amount"), v("req_amount")]},
                        {"<": [{"-": [v("now"), v("at")]}, 86400]},
                    ]
                },
            ]
        },
        "above": {">": [v("amount"), v("above")]},
        "auto": {"and": [{"<=": [v("amount"), v("limit")]}, is_in("reason", COMMON)]},
        "support": {
            "and": [
                {"<=": [v("amount"), v("above")]},
                {"or": [{">": [v("amount"), v("limit")]}, {"!": is_in("reason", COMMON)}]},
            ]
        },
        "restock": {
            "if": [
                is_in("reason", ["damaged", "defective"]),
                False,
                {"==": [v("condition"), "damaged"]},
                False,
                {"==": [v("condition"), "unopened"]},
                True,
                {
                    "and": [
                        is_in("reason", ["changed_mind", "wrong_size"]),
                        {"==": [v("condition"), "opened"]},
                    ]
                },
            ]
        },
    }
    low = {"<": [v("available"), v("sku_minimum")]}
    usual = {
        "if": [
            {"!=": [v("fixed"), None]},
            {"min": [v("fixed"), v("available")]},
            floor({"*": [v("available"), v("share")]}),
        ]
    }
    allotted = {
        "if": [low, {"min": [usual, floor({"*": [v("available"), v("low_share")]})]}, usual]
    }
    after = {"max": [{"-": [allotted, v("buffer")]}, 0]}
    stock = {
        "publishable": {"if": [{"!=": [v("cap"), None]}, {"min": [after, v("cap")]}, after]},
        "low": low,
        "listed": {">=": [v("publishable"), v("hide_below")]},
    }

    def run(case: Case) -> dict[str, Any]:
        r, s = _flat(case, Decimal)
        r["previous_keys"] = [p["key"] for p in r["previous"]]
        for p in r["previous"]:
            p["req_amount"], p["req_currency"], p["now"] = r["amount"], r["currency"], r["now"]

        def ev_stock(name: str) -> Any:
            value = jsonLogic(stock[name], s)
            if name == "publishable":
                s["publishable"] = value
            return value

        return {
            "refund": _refund_glue(lambda k: jsonLogic(refund[k], r)),
            "buffer": _buffer_glue(ev_stock),
        }

    return run


def run_section(rounds: int, seconds: float) -> list[Row]:
    """accord (reasons included) and the peers (decisions) against the hand-written packs."""
    inputs = variants()
    fixture = inputs["bench record"]
    section = "rules (refund governance + buffer stock)"
    rows = compare_section(
        section,
        "hand-written Python + Decimal",
        hand,
        [Tool("accord (with reasons)", (), build_accord, held_to_target=True, adapt=accord_output)],
        inputs,
        fixture,
        rounds=rounds,
        seconds=seconds,
        target=0.7,
    )
    peers = [
        Tool("zen-engine (compiled expressions)", ("zen",), build_zen),
        Tool("rule-engine", ("rule_engine",), build_rule_engine),
        Tool("JsonLogic (panzi-json-logic)", ("json_logic",), build_jsonlogic),
    ]
    peer_rows = compare_section(
        section,
        "hand-written Python + Decimal",
        hand,
        peers,
        inputs,
        fixture,
        rounds=rounds,
        seconds=seconds,
        target=None,
        project=decisions,
    )
    return rows + peer_rows[1:]
