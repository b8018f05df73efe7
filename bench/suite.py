"""The benchmark suite's command line: run the sections, print one table, optionally JSON.

.venv/bin/python -m bench                      # everything (a few minutes)
.venv/bin/python -m bench --quick              # few rounds, small counts
.venv/bin/python -m bench --only mapping --only rules --json results.json
.venv/bin/python -m bench --postgres postgresql://user@host/db   # also PostgreSQL ingest
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from importlib import metadata
from pathlib import Path
from typing import Any

from bench.harness import Row

SECTIONS = ("mapping", "rules", "load", "explain", "replay", "ingest")
PACKAGES = ("accord", "pydantic", "lark", "jmespath", "orjson", "glom", "jsonata-python",
            "zen-engine", "rule-engine", "panzi-json-logic")  # fmt: skip


def machine() -> dict[str, Any]:
    """CPU model, cores, Python and package versions, load average."""
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average": os.getloadavg(),
        "packages": versions,
    }


def _fmt_rate(value: float | None) -> str:
    return "" if value is None else f"{value:,.0f}/s"


def render(rows: Sequence[Row]) -> str:
    """The results as a plain-text table, one block per section."""
    lines = [
        f"{'tool':44} {'median rate':>13} {'ratio':>7} {'target':>8} {'':4}  notes",
    ]
    section = None
    for r in rows:
        if r.section != section:
            section = r.section
            lines.append(f"-- {section}")
        ratio = "" if r.ratio is None else f"{r.ratio:.3f}x"
        if r.value is not None:
            ratio = f"{r.value:,.1f}" if r.value >= 10 else f"{r.value:.2f}"
            note = f"{r.unit}; {r.note}" if r.note else r.unit
        else:
            note = r.note
        if r.target is None:
            target = ""
        elif r.lower_is_better:
            target = f"<{r.target:g}"
        else:
            target = f">={r.target:g}"
        status = "" if r.status in ("ok", "baseline") else r.status
        if r.status == "baseline":
            note = "baseline (paired with each tool; median)"
        text = "; ".join(x for x in (status, note) if x)
        lines.append(
            f"{r.tool[:44]:44} {_fmt_rate(r.rate):>13} {ratio:>7} {target:>8} "
            f"{r.verdict():4}  {text}"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the chosen sections; exit 0 unless a section could not run at all."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="few rounds and small counts")
    parser.add_argument("--only", action="append", choices=SECTIONS, help="repeatable")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write results here")
    parser.add_argument(
        "--postgres",
        default=os.environ.get("ACCORD_TEST_POSTGRES_URL"),
        help="PostgreSQL URL for ingest with 1 and 2 workers (default: $ACCORD_TEST_POSTGRES_URL)",
    )
    parser.add_argument("--replay-payloads", type=int, default=100_000)
    parser.add_argument("--orders", type=int, default=10_000, help="orders for the ingest run")
    args = parser.parse_args(argv)
    chosen = args.only or list(SECTIONS)
    rounds, seconds = (3, 0.01) if args.quick else (15, 0.05)
    from bench import mapping, rules, system

    replay_counts = (1_000,) if args.quick else (10_000, args.replay_payloads)
    plan: dict[str, Callable[[], list[Row]]] = {
        "mapping": lambda: mapping.run_section(rounds, seconds),
        "rules": lambda: rules.run_section(rounds, seconds),
        "load": lambda: (
            system.spec_rows(1 if args.quick else 3)
            + system.pack_rows(2 if args.quick else 5)
            + system.validate_rows(1 if args.quick else 3)
        ),
        "explain": lambda: system.explain_rows(rounds, seconds),
        "replay": lambda: system.replay_rows(replay_counts),
        "ingest": lambda: system.ingest_rows(300 if args.quick else args.orders, args.postgres),
    }
    info = machine()
    print(f"accord benchmark suite — {info['cpu']}, {info['cores']} cores, "
          f"Python {info['python']}, load average {info['load_average'][0]:.2f}",
          file=sys.stderr)  # fmt: skip
    started = time.perf_counter()
    rows: list[Row] = []
    for name in SECTIONS:
        if name in chosen:
            t0 = time.perf_counter()
            print(f"running {name} ...", file=sys.stderr, flush=True)
            rows += plan[name]()
            print(f"  {name}: {time.perf_counter() - t0:.1f} s", file=sys.stderr, flush=True)
    total = time.perf_counter() - started
    print(render(rows))
    info["load_average_after"] = os.getloadavg()
    print(
        f"\n{'quick' if args.quick else 'full'} run, {total:.0f} s; ratio = tool rate / "
        "hand-written rate, median of per-round ratios, the two alternating in one process"
    )
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "command": " ".join(["python -m bench", *(argv or sys.argv[1:])]),
                    "machine": info,
                    "seconds": total,
                    "rows": [asdict(r) | {"verdict": r.verdict()} for r in rows],
                },
                indent=2,
            )
        )
    return 0
