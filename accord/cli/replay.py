"""``accord replay``: stream a folder of payloads through mapping, validation and rules.

Every payload under DIR (JSON, NDJSON, gzip) goes through the inbound mapping, canonical
validation and the configured rules; canonical records, decisions and outbound payloads are
written to ``--out`` as NDJSON, and a summary is printed: counts, errors by code, decisions by
outcome, the slowest records and the unmapped-field drift report. ``--baseline FILE`` fails the
run when unmapped paths appear that the baseline does not list (``--write-baseline`` records
one).

With ``--project accord.yaml`` every payload goes through the runtime ``Engine`` (idempotency,
ledgers, outbound flows, dead-letter store) on a throw-away store unless ``--store`` is given.
Without it, the mapping is found by ``--channel``/``--entity`` and rules come from ``--rules``.
Channel and entity come from the flags or from the folder layout
``DIR/<channel>/<entity>/*.json``.

Memory stays flat: payloads are read one at a time, results are written as they come, and only
counters, the N slowest records and the drift tallies are kept.
"""

from __future__ import annotations

import argparse
import heapq
import json
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from accord.cli import EXIT_INTERNAL, EXIT_OK, EXIT_PROBLEMS
from accord.cli._common import (
    default_mapping_roots,
    dumps,
    error_diagnostics,
    guarded,
    load_facts,
    parse_now,
    print_diagnostics,
)
from accord.cli.payloads import Payload, iter_payloads
from accord.cli.progress import Progress
from accord.diagnostics import Diagnostic, Severity
from accord.errors import AccordError

__all__ = ["ReplaySummary", "register"]

EXAMPLES = """\
examples:
  accord replay samples/payloads --project accord.yaml --out out
  accord replay exports/refunds --channel shopify --entity refund --rules rules/refunds.rules
  accord replay dump.ndjson.gz --channel amazon --entity order --to netsuite --out out
  accord replay exports --channel shopify --entity order --baseline drift-baseline.json
"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "replay",
        help="stream a folder of payloads through mapping, validation and rules",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("paths", nargs="+", type=Path, metavar="DIR", help="folders or files")
    parser.add_argument("--project", type=Path, help="accord.yaml: run through the Engine")
    parser.add_argument("--store", help="store URL for --project (default: a temporary SQLite)")
    parser.add_argument("--channel", help="channel (default: DIR/<channel>/<entity>/ layout)")
    parser.add_argument("--entity", help="canonical entity (default: from the folder layout)")
    parser.add_argument("--mappings", type=Path, action="append", metavar="DIR")
    parser.add_argument(
        "--rules", type=Path, action="append", default=[], metavar="FILE", help="rule pack"
    )
    parser.add_argument(
        "--to", action="append", default=[], metavar="CHANNEL", help="outbound channel"
    )
    parser.add_argument("--facts", help="facts for the rules: JSON object or @file.json")
    parser.add_argument("--now", help="frozen time for the rules, ISO-8601 with a zone")
    parser.add_argument("--out", type=Path, help="write records, decisions, outbound here")
    parser.add_argument("--baseline", type=Path, help="fail on unmapped paths not in this file")
    parser.add_argument("--write-baseline", type=Path, metavar="FILE", help="record the drift")
    parser.add_argument("--slowest", type=int, default=5, metavar="N", help="default: 5")
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.add_argument("--strict", action="store_true", help="any failed record fails the run")
    parser.set_defaults(func=guarded(run))


@dataclass(slots=True)
class ReplaySummary:
    """Counters only: nothing here grows with the number of payloads."""

    payloads: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    warnings: Counter[str] = field(default_factory=Counter)
    outcomes: Counter[str] = field(default_factory=Counter)
    outbound: Counter[str] = field(default_factory=Counter)
    by_flow: Counter[str] = field(default_factory=Counter)
    slowest: list[tuple[float, str, str]] = field(default_factory=list)
    seconds: float = 0.0
    slowest_n: int = 5

    def timed(self, seconds: float, source: str, record_id: str | None) -> None:
        item = (seconds, source, record_id or "")
        if len(self.slowest) < self.slowest_n:
            heapq.heappush(self.slowest, item)
        elif self.slowest_n and item > self.slowest[0]:
            heapq.heapreplace(self.slowest, item)

    def to_dict(self) -> dict[str, Any]:
        return {
            "payloads": self.payloads,
            "statuses": dict(sorted(self.statuses.items())),
            "flows": dict(sorted(self.by_flow.items())),
            "errors_by_code": dict(self.errors.most_common()),
            "warnings_by_code": dict(self.warnings.most_common()),
            "decisions_by_outcome": dict(self.outcomes.most_common()),
            "outbound": dict(sorted(self.outbound.items())),
            "slowest": [
                {"source": s, "record_id": r or None, "ms": round(t * 1000, 3)}
                for t, s, r in sorted(self.slowest, reverse=True)
            ],
            "seconds": round(self.seconds, 3),
        }


class _Sink:
    """NDJSON files under ``--out``, opened on first use and written line by line."""

    def __init__(self, out: Path | None, stack: ExitStack) -> None:
        self.out = out
        self.stack = stack
        self.files: dict[str, IO[str]] = {}

    def write(self, name: str, doc: Any) -> None:
        if self.out is None:
            return
        stream = self.files.get(name)
        if stream is None:
            path = self.out / name
            path.parent.mkdir(parents=True, exist_ok=True)
            stream = self.stack.enter_context(path.open("w", encoding="utf-8"))
            self.files[name] = stream
        stream.write(dumps(doc, indent=None) + "\n")


def _route(item: Payload, root: Path, args: argparse.Namespace) -> tuple[str, str] | Diagnostic:
    if args.channel and args.entity:
        return args.channel, args.entity
    folders: tuple[str, ...] = ()
    if item.file is not None:
        try:
            folders = item.file.relative_to(root).parts[:-1]
        except ValueError:
            folders = ()
    if args.channel and folders:
        return args.channel, args.entity or folders[-1]
    if len(folders) >= 2:
        return args.channel or folders[-2], args.entity or folders[-1]
    return Diagnostic(
        code="CLI030",
        message="cannot tell the channel and entity: give --channel and --entity or use "
        "the layout DIR/<channel>/<entity>/",
        file=str(item.file or item.source),
    )


def _payloads(paths: list[Path]) -> Iterator[tuple[Path, Payload]]:
    for root in paths:
        for item in iter_payloads([root]):
            yield root, item


def run(args: argparse.Namespace) -> int:
    try:
        facts = load_facts(args.facts)
        now = parse_now(args.now)
        baseline = _read_baseline(args.baseline) if args.baseline else None
    except AccordError as exc:
        print_diagnostics(error_diagnostics(exc))
        return EXIT_INTERNAL
    for path in args.paths:
        if not path.exists():
            print(f"accord replay: {path}: no such file or folder", file=sys.stderr)
            return EXIT_INTERNAL
    summary = ReplaySummary(slowest_n=max(args.slowest, 0))
    drift = _Drift()
    started = time.perf_counter()
    with ExitStack() as stack:
        try:
            if args.project:
                process, warm = _engine_processor(args, stack)
            else:
                process, warm = _direct_processor(args, facts, now)
        except AccordError as exc:
            print_diagnostics(error_diagnostics(exc))
            # a config that does not parse is unreadable input; one that is wrong is a problem
            return EXIT_INTERNAL if exc.code.startswith(("YAML", "CLI")) else EXIT_PROBLEMS
        sink = _Sink(args.out, stack)
        bar = stack.enter_context(Progress(total=None, label="replay"))
        for root, item in _payloads(args.paths):
            summary.payloads += 1
            bar.advance()
            if item.error is not None:
                _failed(summary, sink, item.source, "unreadable", [item.error])
                continue
            route = _route(item, root, args)
            if isinstance(route, Diagnostic):
                _failed(summary, sink, item.source, "unroutable", [route])
                continue
            channel, entity = route
            summary.by_flow[f"{channel}.{entity}"] += 1
            warm(channel, entity)  # compile a flow's specs outside the per-record timing
            t0 = time.perf_counter()
            outcome = process(channel, entity, item)
            summary.timed(time.perf_counter() - t0, item.source, outcome.record_id)
            drift.observe(outcome.compiled, item.data, outcome.record_id or item.source)
            _record(summary, sink, item, channel, entity, outcome)
    summary.seconds = time.perf_counter() - started
    report = drift.report()
    new_paths = _new_drift(report, baseline) if baseline is not None else []
    if args.write_baseline:
        args.write_baseline.write_text(json.dumps(_baseline_doc(report), indent=2) + "\n")
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        doc = {**summary.to_dict(), "drift": report, "new_unmapped_paths": new_paths}
        (args.out / "summary.json").write_text(dumps(doc) + "\n", encoding="utf-8")
    if args.format == "json":
        print(dumps({**summary.to_dict(), "drift": report, "new_unmapped_paths": new_paths}))
    else:
        print(_render(summary, report, new_paths, args))
    if new_paths:
        return EXIT_PROBLEMS
    failed = sum(n for s, n in summary.statuses.items() if s not in _OK_STATUSES)
    if args.strict and failed:
        return EXIT_PROBLEMS
    return EXIT_OK


_OK_STATUSES = {"processed", "duplicate", "stale"}


@dataclass(slots=True)
class _Outcome:
    status: str
    record_id: str | None = None
    record: Any = None
    decisions: dict[str, Any] = field(default_factory=dict)
    outbound: dict[str, Any] = field(default_factory=dict)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    compiled: Any = None


def _failed(
    summary: ReplaySummary, sink: _Sink, source: str, status: str, diags: list[Diagnostic]
) -> None:
    summary.statuses[status] += 1
    for d in diags:
        summary.errors[d.code] += 1
    sink.write(
        "errors.ndjson",
        {"source": source, "status": status, "diagnostics": [d.to_dict() for d in diags]},
    )


def _record(
    summary: ReplaySummary,
    sink: _Sink,
    item: Payload,
    channel: str,
    entity: str,
    outcome: _Outcome,
) -> None:
    summary.statuses[outcome.status] += 1
    for d in outcome.diagnostics:
        is_error = Severity(d.severity) is Severity.ERROR
        (summary.errors if is_error else summary.warnings)[d.code] += 1
    head = {
        "source": item.source,
        "channel": channel,
        "entity": entity,
        "record_id": outcome.record_id,
    }
    if outcome.status not in _OK_STATUSES:
        diags = [d.to_dict() for d in outcome.diagnostics]
        sink.write("errors.ndjson", {**head, "status": outcome.status, "diagnostics": diags})
        return
    if outcome.record is not None:
        sink.write("records.ndjson", {**head, "status": outcome.status, "record": outcome.record})
    if outcome.status != "processed":
        # A duplicate or stale event changed nothing: its decisions and outbound payloads
        # are the first delivery's, already written, and a destination must not get them twice.
        return
    for name, decision in outcome.decisions.items():
        data = decision.to_dict() if callable(getattr(decision, "to_dict", None)) else decision
        for kind in _outcome_kinds(data):
            summary.outcomes[f"{name}: {kind}"] += 1
        sink.write("decisions.ndjson", {**head, "ruleset": name, "decision": data})
    for dest, payload in outcome.outbound.items():
        summary.outbound[dest] += 1
        safe = dest.replace("/", "_")
        sink.write(f"outbound/{safe}.ndjson", {**head, "destination": dest, "payload": payload})
    if outcome.diagnostics:
        sink.write(
            "warnings.ndjson", {**head, "diagnostics": [d.to_dict() for d in outcome.diagnostics]}
        )


def _outcome_kinds(decision: Any) -> list[str]:
    outcomes = decision.get("outcomes") if isinstance(decision, dict) else None
    if not outcomes:
        return ["(no outcome)"]
    kinds = []
    for o in outcomes:
        if isinstance(o, dict):
            kinds.append(str(o.get("kind") or o))
        else:
            kinds.append(str(o))
    return kinds


def _engine_processor(args: argparse.Namespace, stack: ExitStack) -> tuple[Any, Any]:
    from accord.engine.runtime import Engine

    store = args.store
    if store is None:
        tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="accord-replay-"))
        store = f"sqlite:///{Path(tmp) / 'replay.db'}"
    engine = stack.enter_context(Engine.from_project(args.project, store_url=store))
    resolve = getattr(engine, "_resolve", None)

    def process(channel: str, entity: str, item: Payload) -> _Outcome:
        try:
            result = engine.ingest(channel, entity, item.data)
        except AccordError as exc:
            return _Outcome(status="dead_lettered", diagnostics=error_diagnostics(exc))
        compiled = resolve(channel, entity, "inbound") if callable(resolve) else None
        return _Outcome(
            status=result.status,
            record_id=result.record_id,
            record=result.record,
            decisions=dict(result.decisions),
            outbound=dict(result.outbound),
            diagnostics=list(result.diagnostics),
            compiled=None if isinstance(compiled, AccordError) else compiled,
        )

    def warm(channel: str, entity: str) -> None:
        """The Engine compiles every flow's specs when it is built."""

    return process, warm


def _direct_processor(args: argparse.Namespace, facts: dict[str, Any], now: Any) -> tuple[Any, Any]:
    from accord.canonical import check_invariants, validate_record
    from accord.engine.mapping import MappingCatalog
    from accord.engine.rules import load_ruleset

    catalog = MappingCatalog(default_mapping_roots(args.mappings))
    packs = {path.stem: load_ruleset(path) for path in args.rules}
    cache: dict[tuple[str, str, str], Any] = {}

    def find(channel: str, entity: str, direction: str) -> Any:
        key = (channel, entity, direction)
        if key not in cache:
            try:
                cache[key] = catalog.find(channel, entity, direction)
            except AccordError as exc:
                cache[key] = exc
        return cache[key]

    def process(channel: str, entity: str, item: Payload) -> _Outcome:
        compiled = find(channel, entity, "inbound")
        if isinstance(compiled, AccordError):
            return _Outcome(status="dead_lettered", diagnostics=error_diagnostics(compiled))
        warnings: list[Diagnostic] = []
        try:
            record = compiled.apply(item.data, warnings=warnings)
            model = validate_record(entity, record, invariants=False)
            warnings.extend(check_invariants(model))
        except AccordError as exc:
            return _Outcome(
                status="dead_lettered", diagnostics=error_diagnostics(exc), compiled=compiled
            )
        record_id = str(record.get("id")) if record.get("id") is not None else None
        out = _Outcome(
            status="processed",
            record_id=record_id,
            record=record,
            diagnostics=warnings,
            compiled=compiled,
        )
        try:
            for name, pack in packs.items():
                # a pack decides on records of its own entity (`over refund`) only
                if getattr(pack, "entity", None) in (None, entity):
                    out.decisions[name] = pack.evaluate(record, facts=facts, now=now)
            for dest in args.to:
                mapping = find(dest, entity, "outbound")
                if isinstance(mapping, AccordError):
                    raise mapping
                out.outbound[dest] = mapping.apply(record)
        except AccordError as exc:
            out.status = "dead_lettered"
            out.diagnostics.extend(error_diagnostics(exc))
        return out

    def warm(channel: str, entity: str) -> None:
        find(channel, entity, "inbound")
        for dest in args.to:
            find(dest, entity, "outbound")

    return process, warm


class _Drift:
    """Unmapped source paths per mapping, tallied through the mapping engine's DriftRecorder."""

    def __init__(self) -> None:
        self.recorders: dict[str, Any] = {}

    def observe(self, compiled: Any, payload: Any, record_id: str) -> None:
        if compiled is None or payload is None:
            return
        from accord.engine.mapping import DriftRecorder

        key = str(compiled.id)
        recorder = self.recorders.get(key)
        if recorder is None:
            recorder = self.recorders[key] = DriftRecorder(compiled)
        recorder.observe(payload, record_id=record_id)

    def report(self) -> dict[str, list[dict[str, Any]]]:
        out: dict[str, list[dict[str, Any]]] = {}
        for key, recorder in sorted(self.recorders.items()):
            out[key] = [
                {"path": u.path, "count": u.count, "example": u.example_record_id}
                for u in recorder.report().unmapped
            ]
        return out


def _read_baseline(path: Path) -> dict[str, set[str]]:
    from accord.errors import SpecError

    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SpecError(
            diagnostics=[Diagnostic(code="CLI031", message=f"baseline: {exc}", file=str(path))]
        ) from exc
    unmapped = doc.get("unmapped") if isinstance(doc, dict) else None
    if not isinstance(unmapped, dict):
        raise SpecError(
            diagnostics=[
                Diagnostic(
                    code="CLI031",
                    message='baseline must be {"unmapped": {"<mapping id>": ["path", ...]}}',
                    file=str(path),
                )
            ]
        )
    return {str(k): {str(p) for p in v} for k, v in unmapped.items() if isinstance(v, list)}


def _baseline_doc(report: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    return {"unmapped": {k: sorted(r["path"] for r in rows) for k, rows in report.items()}}


def _new_drift(
    report: dict[str, list[dict[str, Any]]], baseline: dict[str, set[str]]
) -> list[dict[str, Any]]:
    new: list[dict[str, Any]] = []
    for key, rows in report.items():
        known = baseline.get(key, set())
        new.extend({"mapping": key, **r} for r in rows if r["path"] not in known)
    return new


def _render(
    summary: ReplaySummary,
    report: dict[str, list[dict[str, Any]]],
    new_paths: list[dict[str, Any]],
    args: argparse.Namespace,
) -> str:
    lines = []
    rate = summary.payloads / summary.seconds if summary.seconds > 0 else 0.0
    lines.append(
        f"replayed {summary.payloads} payload{'s' if summary.payloads != 1 else ''} "
        f"in {summary.seconds:.2f} s ({rate:,.0f}/s)"
    )
    for flow, n in sorted(summary.by_flow.items()):
        lines.append(f"  {flow:40} {n}")
    lines.append("status:")
    for status, n in sorted(summary.statuses.items()):
        lines.append(f"  {status:40} {n}")
    if summary.errors:
        lines.append("errors by code:")
        lines.extend(f"  {code:40} {n}" for code, n in summary.errors.most_common())
    if summary.warnings:
        lines.append("warnings by code:")
        lines.extend(f"  {code:40} {n}" for code, n in summary.warnings.most_common())
    if summary.outcomes:
        lines.append("decisions by outcome:")
        lines.extend(f"  {kind:40} {n}" for kind, n in summary.outcomes.most_common())
    if summary.outbound:
        lines.append("outbound payloads:")
        lines.extend(f"  {dest:40} {n}" for dest, n in sorted(summary.outbound.items()))
    if summary.slowest:
        lines.append("slowest records:")
        for t, source, rid in sorted(summary.slowest, reverse=True):
            lines.append(f"  {t * 1000:9.2f} ms  {source}" + (f"  ({rid})" if rid else ""))
    lines.append("unmapped fields (drift):")
    if not any(report.values()):
        lines.append("  none: every payload field is mapped, kept in extra, or ignored")
    for key, rows in report.items():
        if rows:
            lines.append(f"  {key}:")
            for r in rows[:20]:
                example = f"  e.g. {r['example']}" if r.get("example") else ""
                lines.append(f"    {r['path']:40} {r['count']:>6}{example}")
            if len(rows) > 20:
                lines.append(f"    ... and {len(rows) - 20} more (see summary.json)")
    if args.baseline is not None:
        if new_paths:
            lines.append(f"NEW unmapped paths not in {args.baseline}:")
            lines.extend(f"  {r['mapping']}: {r['path']} ({r['count']})" for r in new_paths)
        else:
            lines.append(f"no unmapped paths beyond the baseline {args.baseline}")
    if args.out is not None:
        lines.append(f"wrote {args.out}/ (records, decisions, outbound, errors, summary.json)")
    return "\n".join(lines)
