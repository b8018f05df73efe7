"""Load/compile times, explain overhead, replay memory and end-to-end ingest."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from decimal import Decimal
from pathlib import Path

from bench.harness import Row, paired

ROOT = Path(__file__).resolve().parent.parent


def shipped_specs() -> list[Path]:
    """Every shipped mapping spec (not case files, lookups or shared definitions)."""
    return sorted(
        p
        for p in (ROOT / "mappings").rglob("*.yaml")
        if not p.name.endswith(".cases.yaml")
        and "lookups" not in p.parts
        and p.name != "definitions.yaml"
    )


_SPECS_COLD = """
import sys, time
from accord.engine.mapping import compile_mapping, load_spec
import accord.canonical
paths = sys.argv[1:]
start = time.perf_counter()
specs = [load_spec(p) for p in paths]
loaded = time.perf_counter()
for s in specs:
    compile_mapping(s)
done = time.perf_counter()
print((loaded - start) * 1000, (done - loaded) * 1000)
"""


def spec_rows(repeat: int) -> list[Row]:
    """Load + validate + compile shipped specs, each run in a fresh interpreter (so nothing
    is cached), imports excluded; best of ``repeat``."""
    specs = shipped_specs()
    rows = []
    for label, files, target in (
        (f"first 20 of {len(specs)} shipped specs", specs[:20], 300.0),
        (f"all {len(specs)} shipped specs", specs, None),
    ):
        runs = []
        for _ in range(repeat):
            out = subprocess.run(
                [sys.executable, "-c", _SPECS_COLD, *map(str, files)],
                capture_output=True,
                text=True,
                check=True,
                cwd=ROOT,
            )
            load_ms, compile_ms = map(float, out.stdout.split())
            runs.append((load_ms + compile_ms, load_ms, compile_ms))
        total, load_ms, compile_ms = min(runs)
        rows.append(
            Row(
                "load + validate + compile",
                label,
                value=total,
                unit="ms",
                target=target,
                lower_is_better=True,
                note=f"load+validate {load_ms:.0f} ms, compile {compile_ms:.0f} ms; fresh process",
            )
        )
    return rows


def pack_rows(repeat: int) -> list[Row]:
    """Parse + check every shipped rule pack: warm (best of ``repeat``) and in a fresh process."""
    from accord.engine.rules import load_ruleset
    from bench.rules_quick import _cold_load_ms

    packs = sorted((ROOT / "rules").glob("*.rules"))
    for p in packs:
        load_ruleset(p)
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        for p in packs:
            load_ruleset(p)
        runs.append((time.perf_counter() - start) * 1000)
    cold = min(_cold_load_ms() for _ in range(max(1, repeat // 2)))
    names = ", ".join(p.stem for p in packs)
    return [
        Row("rule packs parse + check", f"all {len(packs)} packs, warm", value=min(runs),
            unit="ms", target=200.0, lower_is_better=True, note=names),
        Row("rule packs parse + check", f"all {len(packs)} packs, fresh process", value=cold,
            unit="ms", target=200.0, lower_is_better=True,
            note="parser tables from the user cache when present"),
    ]  # fmt: skip


def validate_rows(repeat: int) -> list[Row]:
    """``accord validate`` as CI runs it: a fresh process over the shipped project (every spec,
    case file, lookup table, rule pack and the project config) plus a copy of the rule packs
    and their cases, to reach 100 files; one job, wall clock including start-up; best of
    ``repeat``."""
    import re
    import shutil

    with tempfile.TemporaryDirectory() as tmp:
        extra = Path(tmp) / "team_rules"
        shutil.copytree(ROOT / "rules", extra)
        cmd = [sys.executable, "-m", "accord", "validate", "--jobs", "1",
               "mappings", "rules", "accord.yaml", str(extra)]  # fmt: skip
        runs = []
        out = ""
        for _ in range(repeat):
            start = time.perf_counter()
            done = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=ROOT)
            runs.append((time.perf_counter() - start) * 1000)
            out = done.stdout
            if done.returncode != 0:
                return [Row("accord validate", "shipped project", status=f"error: {out[-200:]}")]
    found = re.search(r"in (\d+) files", out)
    files = int(found.group(1)) if found else 0
    return [
        Row("accord validate", f"{files} files, 1 job, fresh process", value=min(runs),
            unit="ms", target=2000.0, lower_is_better=True,
            note="the shipped project and a second copy of its rule packs; wall clock"),
    ]  # fmt: skip


def explain_rows(rounds: int, seconds: float) -> list[Row]:
    """Explain build versus plain build on the bench payload (paired)."""
    from accord.engine.mapping import MappingSpec, compile_mapping
    from accord.engine.yamlsource import load_yaml
    from bench.mapping import load_payload
    from bench.mapping_quick import SPEC

    spec = MappingSpec.from_dict(load_yaml(SPEC).data)
    plain = compile_mapping(spec)
    traced = compile_mapping(spec, explain=True)
    payload = load_payload()
    rate, base, ratio = paired(plain.apply, traced.explain, payload, rounds=rounds, seconds=seconds)
    return [
        Row("explain-mode overhead", "explain(payload) vs apply(payload)", rate=rate,
            value=1 / ratio, unit="x slower",
            note=f"plain {base:,.0f}/s, explain {rate:,.0f}/s (paired)"),
    ]  # fmt: skip


def write_payloads(path: Path, count: int) -> None:
    """``count`` distinct Shopify order webhooks as NDJSON, written as a stream."""
    from bench.mapping import PAYLOAD

    order = json.loads(PAYLOAD.read_text(), parse_float=Decimal)["order"]
    order["id"], order["name"] = "@ID@", "@NAME@"
    template = json.dumps({"order": order}, default=str, separators=(",", ":"))
    # Decimal fields came back as strings; the tax rates must stay JSON numbers.
    for tax in order.get("tax_lines") or ():
        template = template.replace(f'"rate":"{tax["rate"]}"', f'"rate":{tax["rate"]}')
    head, rest = template.split('"@ID@"')
    mid, tail = rest.split("@NAME@")
    with path.open("w") as out:
        for i in range(count):
            out.write(f"{head}{10**12 + i}{mid}#{100000 + i}{tail}\n")


def _child_peak_rss(cmd: list[str]) -> tuple[int, float, str]:
    """(peak RSS in bytes of the child alone, wall seconds, stderr tail)."""
    start = time.perf_counter()
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, cwd=ROOT)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        elapsed = time.perf_counter() - start
        err.seek(0)
        tail = err.read().decode(errors="replace")[-300:]
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"{' '.join(cmd[:4])} exited {proc.returncode}: {tail}")
    return usage.ru_maxrss * 1024, elapsed, tail


def replay_rows(counts: tuple[int, ...]) -> list[Row]:
    """Peak RSS of ``accord replay`` over generated payloads, for growing counts (flat memory
    means it streams)."""
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for count in counts:
            path = Path(tmp) / f"orders-{count}.ndjson"
            write_payloads(path, count)
            cmd = [sys.executable, "-m", "accord", "replay", str(path), "--channel", "shopify",
                   "--entity", "order", "--slowest", "0"]  # fmt: skip
            rss, seconds, _ = _child_peak_rss(cmd)
            rows.append(
                Row("accord replay", f"{count:,} payloads", rate=count / seconds,
                    value=rss / 2**20, unit="MiB peak RSS",
                    note=f"{seconds:.1f} s wall, map + validate, shipped shopify order spec"),
            )  # fmt: skip
    return rows


def ingest_rows(orders: int, postgres: str | None) -> list[Row]:
    """End-to-end Engine ingest (map + validate + rules + ledger + audit, batched commits)."""
    from bench import runtime_quick as rq

    bodies = rq.payloads(orders + 1)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        # Three runs of each, each into a fresh database; the median counts. On a shared
        # machine one run can land on a slow minute: the spread is reported beside it. The
        # target row covers map, validate, rules, ledger and audit; the second adds what a
        # stock-synced channel costs: available-to-sell of every SKU an order moves, mapped
        # through Shopify's inventory_level spec and kept in the outbox.
        for synced, label, target in (
            (False, "SQLite, 1 process, batch 500", 2000.0),
            (True, "SQLite, + stock published to Shopify", None),
        ):
            runs = []
            for n in range(3):
                folder = Path(tmp) / f"sqlite-{synced}-{n}"
                project = rq.make_project(folder, f"sqlite:///{folder}.db", synced=synced)
                runs.append(rq.bench_ingest(project, bodies, 500))
            wall, cpu = sorted(runs, key=lambda r: r[1])[1]
            low, high = min(r[1] for r in runs), max(r[1] for r in runs)
            rows.append(
                Row("end-to-end ingest", label, rate=wall, value=cpu, unit="orders/CPU s",
                    target=target,
                    note=f"median of 3 runs of {orders:,} orders ({low:,.0f}-{high:,.0f});"
                    f" {wall:,.0f} orders/s wall clock"),
            )  # fmt: skip
        if postgres:
            import psycopg

            # A batch commits once, holding the ledger rows of every SKU it touched until then:
            # big batches make workers queue behind each other, small ones let them interleave.
            for batch in (500, 50):
                for workers in (1, 2):
                    schema = f"accord_bench_{uuid.uuid4().hex[:8]}"
                    sep = "&" if "?" in postgres else "?"
                    project = rq.make_project(
                        Path(tmp) / f"pg{workers}-{batch}", f"{postgres}{sep}schema={schema}"
                    )
                    label = f"PostgreSQL, {workers} worker(s), batch {batch}"
                    try:
                        rate = rq.bench_workers(project, bodies[:-1], workers, batch)
                        rows.append(
                            Row("end-to-end ingest", label, rate=rate, note="queue drained")
                        )
                    except Exception as exc:
                        rows.append(Row("end-to-end ingest", label,
                                        status=f"error: {type(exc).__name__}: {exc}"))  # fmt: skip
                    finally:
                        with psycopg.connect(postgres, autocommit=True) as conn:
                            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    return rows


__all__: list[str] = [
    "explain_rows",
    "ingest_rows",
    "pack_rows",
    "replay_rows",
    "spec_rows",
    "validate_rows",
    "write_payloads",
]
