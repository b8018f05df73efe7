"""Paired timing, output comparison and result rows shared by every section of the suite."""

from __future__ import annotations

import importlib
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Row:
    """One line of the results table."""

    section: str
    tool: str
    #: Operations per second (median over rounds), or None when not timed.
    rate: float | None = None
    #: Median of per-round ratios tool rate / baseline rate, or None for the baseline itself.
    ratio: float | None = None
    #: The ratio (or, with ``unit``, the value) the issues ask for; None when there is none.
    target: float | None = None
    #: "ok", "WRONG: ...", "not installed: ...", "error: ..." or "baseline".
    status: str = "ok"
    #: For non-rate measurements: the value and its unit (ms, MiB, x).
    value: float | None = None
    unit: str = ""
    #: Lower is better for ``value`` (times, memory): the target is an upper bound.
    lower_is_better: bool = False
    note: str = ""

    def verdict(self) -> str:
        """PASS or MISS against the target, or an empty string when there is no target."""
        if self.target is None:
            return ""
        got = self.value if self.value is not None else self.ratio
        if got is None:
            return "MISS"
        ok = got < self.target if self.lower_is_better else got >= self.target
        return "PASS" if ok else "MISS"


@dataclass
class Tool:
    """A contender: a zero-argument factory returning (prepare, run) or raising ImportError."""

    name: str
    #: Importable module names the tool needs (reported "not installed" when missing).
    needs: Sequence[str] = ()
    #: Builds the callable mapping one input to the output compared with the baseline.
    build: Callable[[], Callable[[Any], Any]] = field(default=lambda: lambda x: x)
    #: Whether the section's target applies (accord's rows; peers are shown for reference).
    held_to_target: bool = False
    #: Turns the tool's own result (e.g. accord's Decision objects) into the baseline's shape
    #: for the correctness check only; the timed loop returns the tool's result as it is.
    adapt: Callable[[Any], Any] = field(default=lambda out: out)


def missing_modules(names: Sequence[str]) -> list[str]:
    """The names among ``names`` that cannot be imported here."""
    out = []
    for name in names:
        try:
            importlib.import_module(name)
        except ImportError:
            out.append(name)
    return out


def first_difference(got: Any, want: Any, path: str = "$") -> str | None:
    """A readable description of the first place two outputs differ, or None when equal.

    Types count: ``Decimal("1")`` and ``1.0`` compare equal in Python, but a float where the
    baseline has a Decimal is a wrong answer for money, so numbers must have the same kind.
    >>> first_difference({"a": [1, 2]}, {"a": [1, 3]})
    '$.a[1]: got 2, want 3'
    >>> first_difference({"a": 1}, {"a": 1}) is None
    True
    """
    if isinstance(want, dict):
        if not isinstance(got, dict):
            return f"{path}: got {got!r}, want a mapping"
        for key in list(want) + [k for k in got if k not in want]:
            if key not in got:
                return f"{path}.{key}: missing, want {want[key]!r}"
            if key not in want:
                return f"{path}.{key}: unexpected {got[key]!r}"
            diff = first_difference(got[key], want[key], f"{path}.{key}")
            if diff:
                return diff
        return None
    if isinstance(want, list | tuple):
        if not isinstance(got, list | tuple):
            return f"{path}: got {got!r}, want a list"
        for i, (g, w) in enumerate(zip(got, want, strict=False)):
            diff = first_difference(g, w, f"{path}[{i}]")
            if diff:
                return diff
        if len(got) != len(want):
            return f"{path}: {len(got)} items, want {len(want)}"
        return None
    if got != want or _kind(got) != _kind(want):
        return f"{path}: got {got!r}, want {want!r}"
    return None


def _kind(value: Any) -> str:
    # bool is an int subclass; an int equal to a Decimal integer is fine (counts, quantities),
    # a float is not.
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, float):
        return "float"
    return "other"


def check(
    run: Callable[[Any], Any],
    baseline: Callable[[Any], Any],
    inputs: dict[str, Any],
    project: Callable[[Any], Any] = lambda x: x,
) -> str:
    """'ok', or 'WRONG: <variant>: <first difference>' on the first mismatch.

    ``project`` picks what is compared (both sides), e.g. decisions without their reasons.
    """
    for name, value in inputs.items():
        want = project(baseline(value))
        try:
            got = project(run(value))
        except Exception as exc:  # a peer that raises on a variant gets that answer wrong
            return f"WRONG: {name}: raised {type(exc).__name__}: {str(exc).splitlines()[0][:80]}"
        diff = first_difference(got, want)
        if diff:
            return f"WRONG: {name}: {diff}"
    return "ok"


def _batch_seconds(fn: Callable[[Any], Any], arg: Any, batch: int) -> float:
    start = time.perf_counter()
    for _ in range(batch):
        fn(arg)
    return time.perf_counter() - start


def calibrate(fn: Callable[[Any], Any], arg: Any, seconds: float) -> int:
    """How many calls take about ``seconds``."""
    fn(arg)
    n = 1
    while True:
        took = _batch_seconds(fn, arg, n)
        if took >= 0.005 or n >= 1 << 20:
            return max(1, int(n * seconds / max(took, 1e-9)))
        n *= 4


def paired(
    baseline: Callable[[Any], Any],
    tool: Callable[[Any], Any],
    arg: Any,
    *,
    rounds: int,
    seconds: float,
) -> tuple[float, float, float]:
    """(tool rate, baseline rate, median per-round ratio), the two run alternately.

    Each round times one batch of the baseline then one batch of the tool, so load from
    other processes falls on both sides of the same round; the median of the per-round
    ratios is what we report.
    """
    nb = calibrate(baseline, arg, seconds)
    nt = calibrate(tool, arg, seconds)
    ratios, rates, base_rates = [], [], []
    for _ in range(rounds):
        tb = _batch_seconds(baseline, arg, nb)
        tt = _batch_seconds(tool, arg, nt)
        rb, rt = nb / tb, nt / tt
        ratios.append(rt / rb)
        rates.append(rt)
        base_rates.append(rb)
    return statistics.median(rates), statistics.median(base_rates), statistics.median(ratios)


def compare_section(
    section: str,
    baseline_name: str,
    baseline: Callable[[Any], Any],
    tools: Sequence[Tool],
    inputs: dict[str, Any],
    timed_input: Any,
    *,
    rounds: int,
    seconds: float,
    target: float | None,
    time_it: bool = True,
    project: Callable[[Any], Any] = lambda x: x,
) -> list[Row]:
    """Check every tool on every variant, then time the correct ones against the baseline."""
    rows: list[Row] = []
    base_rates: list[float] = []
    for tool in tools:
        absent = missing_modules(tool.needs)
        if absent:
            rows.append(Row(section, tool.name, status=f"not installed: {', '.join(absent)}"))
            continue
        try:
            run = tool.build()
        except Exception as exc:
            rows.append(Row(section, tool.name, status=f"error: {type(exc).__name__}: {exc}"))
            continue
        status = check(
            lambda value, run=run, tool=tool: tool.adapt(run(value)), baseline, inputs, project
        )
        row = Row(section, tool.name, target=target if tool.held_to_target else None, status=status)
        if status == "ok" and time_it:
            rate, base_rate, ratio = paired(
                baseline, run, timed_input, rounds=rounds, seconds=seconds
            )
            row.rate, row.ratio = rate, ratio
            base_rates.append(base_rate)
        rows.append(row)
    base = Row(section, baseline_name, status="baseline")
    if base_rates:
        base.rate = statistics.median(base_rates)
    return [base, *rows]
