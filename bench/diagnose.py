"""Where accord's time goes when it misses a target (run by hand, not by the suite).

    .venv/bin/python -m bench.diagnose rules    # evaluate vs reading outcomes, per ruleset
    .venv/bin/python -m bench.diagnose ingest   # cProfile of Engine.ingest_many, top entries

The rules breakdown also times a variant with ``Outcome`` swapped, in this process only, for a
NamedTuple of the same fields, to size what a cheaper outcome object would save.
"""

from __future__ import annotations

import cProfile
import pstats
import sys
import tempfile
import timeit
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import runtime_quick as rq
from bench.rules_quick import (
    BUFFER_FACTS,
    NOW,
    REFUND_FACTS,
    REFUND_RECORD,
    hand_buffer_stock,
    hand_refund_governance,
    load_packs,
)


def _us(fn: Callable[[], Any], number: int = 20000) -> float:
    return min(timeit.repeat(fn, number=number, repeat=7)) / number * 1e6


def rules() -> None:
    import accord.engine.rules.decision as decision

    refunds, buffer = load_packs()

    def hand() -> Any:
        return hand_refund_governance(REFUND_RECORD, REFUND_FACTS, NOW), hand_buffer_stock(
            BUFFER_FACTS
        )

    def evaluate_only() -> Any:
        return (
            refunds.evaluate(REFUND_RECORD, facts=REFUND_FACTS, now=NOW),
            buffer.evaluate({}, facts=BUFFER_FACTS, now=NOW),
        )

    def with_outcomes() -> Any:
        a, b = evaluate_only()
        return (
            [(o.kind, o.args, o.reason) for o in a.outcomes],
            [(o.kind, o.args, o.reason) for o in b.outcomes],
        )

    h = _us(hand)
    print(f"hand-written, both packs:           {h:6.1f} us")
    e = _us(evaluate_only)
    print(f"accord evaluate(), outcomes unread: {e:6.1f} us  ({h / e:.2f}x)")
    o = _us(with_outcomes)
    print(f"accord evaluate() + read outcomes:  {o:6.1f} us  ({h / o:.2f}x)")

    class Outcome(typing.NamedTuple):
        kind: str
        args: Any
        rule: str
        reason: str
        row: int = 0

    decision.Outcome = Outcome  # type: ignore[misc,assignment]
    n = _us(with_outcomes)
    print(f"  ... with a NamedTuple Outcome:    {n:6.1f} us  ({h / n:.2f}x)")


def ingest(orders: int = 3000) -> None:
    from accord.engine.runtime import Engine, Event

    bodies = rq.payloads(orders + 1)
    with tempfile.TemporaryDirectory() as tmp:
        project = rq.make_project(Path(tmp) / "s", f"sqlite:///{tmp}/b.db")
        with Engine.from_project(project, batch_size=500) as engine:
            rq.seed(engine)
            list(engine.ingest_many([Event("shopify", "order", bodies[0], "warm")]))
            events = [Event("shopify", "order", b, f"w{i}") for i, b in enumerate(bodies[1:])]
            profile = cProfile.Profile()
            profile.enable()
            for _ in engine.ingest_many(events):
                pass
            profile.disable()
    pstats.Stats(profile).sort_stats("cumulative").print_stats(30)


if __name__ == "__main__":
    {"rules": rules, "ingest": ingest}[sys.argv[1] if len(sys.argv) > 1 else "rules"]()
