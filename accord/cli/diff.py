"""``accord diff``: what would this change do to last month's orders?

Evaluates two versions of a rule pack or a mapping spec over the same payloads and reports
every record whose output or decision changes, grouped by rule (rule packs) or by output field
(mappings), with counts. The two versions are two paths, or one path at two git revisions
(``--rev OLD`` compares that revision with the working tree; ``--rev OLD --rev NEW`` two
revisions).

Rule packs are evaluated on canonical records (JSON form, or the ``records.ndjson`` that
``accord replay --out`` writes), or on channel payloads mapped first when
``--channel``/``--entity`` name the inbound mapping. Inbound specs map channel payloads;
outbound specs map canonical records. A decision changes when a rule or table row matches
differently, or the outcomes' kinds or arguments differ; reworded reasons alone do not count.
Exit code 1 when anything changed, 0 when nothing did.
"""

from __future__ import annotations

import argparse
import io
import re
import subprocess
import tarfile
import tempfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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
from accord.cli.payloads import iter_payloads
from accord.cli.progress import Progress
from accord.diagnostics import Diagnostic
from accord.errors import AccordError, SpecError

__all__ = ["DiffReport", "register"]

EXAMPLES = """\
examples:
  accord diff rules/refund_governance.rules --rev HEAD~1 --payloads exports/refunds \\
      --facts @facts.json --now 2026-03-02T10:00:00Z
  accord diff old/order.inbound.yaml mappings/shopify/order.inbound.yaml --payloads exports/
  accord diff rules/buffer_stock.rules --rev v1.2 --rev main --payloads records/
  accord diff rules/refunds.rules --rev HEAD --payloads exports/shopify/order \\
      --channel shopify --entity order          # map payloads first, then decide
"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "diff",
        help="compare two versions of a rule pack or mapping over the same payloads",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("old", type=Path, help="the old version (or the file, with --rev)")
    parser.add_argument("new", type=Path, nargs="?", help="the new version")
    parser.add_argument(
        "--rev",
        action="append",
        default=[],
        metavar="REV",
        help="git revision of OLD (once: against the working tree; twice: old and new)",
    )
    parser.add_argument(
        "--payloads",
        type=Path,
        action="append",
        required=True,
        metavar="DIR",
        help="payloads or records to evaluate (folders, JSON, NDJSON, gzip; repeatable)",
    )
    parser.add_argument("--channel", help="map payloads with this channel's inbound mapping")
    parser.add_argument("--entity", help="canonical entity of the records / mapping")
    parser.add_argument("--mappings", type=Path, action="append", metavar="DIR")
    parser.add_argument("--facts", help="facts for the rules: JSON object or @file.json")
    parser.add_argument("--now", help="frozen time for the rules, ISO-8601 with a zone")
    parser.add_argument("--show", type=int, default=20, metavar="N", help="records listed")
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.set_defaults(func=guarded(run))


@dataclass(slots=True)
class DiffReport:
    """Counts and the changed records (only the first ``show`` are kept in full)."""

    kind: str
    old: str
    new: str
    records: int = 0
    changed: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    groups: Counter[str] = field(default_factory=Counter)
    examples: list[dict[str, Any]] = field(default_factory=list)
    show: int = 20

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "old": self.old,
            "new": self.new,
            "records": self.records,
            "changed": self.changed,
            "unchanged": self.records - self.changed,
            "errors_by_code": dict(self.errors.most_common()),
            "changes": [{"change": k, "records": n} for k, n in _ordered(self.groups)],
            "changed_records": self.examples,
        }


def _ordered(counter: Counter[str]) -> list[tuple[str, int]]:
    return sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))


def run(args: argparse.Namespace) -> int:
    try:
        facts = load_facts(args.facts)
        now = parse_now(args.now)
        with tempfile.TemporaryDirectory(prefix="accord-diff-") as tmp:
            old_path, new_path, old_label, new_label = _versions(args, Path(tmp))
            kind = "rules" if old_path.suffix == ".rules" else "mapping"
            evaluate_old = _evaluator(kind, old_path, args, facts, now)
            evaluate_new = _evaluator(kind, new_path, args, facts, now)
            prepare = _preparer(kind, args)
            report = DiffReport(kind=kind, old=old_label, new=new_label, show=args.show)
            _compare_all(report, args.payloads, prepare, evaluate_old, evaluate_new)
    except AccordError as exc:
        print_diagnostics(error_diagnostics(exc))
        return EXIT_INTERNAL if exc.code.startswith(("CLI", "YAML")) else EXIT_PROBLEMS
    if args.format == "json":
        print(dumps(report.to_dict()))
    else:
        print(_render(report))
    if report.errors.get("CLI010"):
        return EXIT_INTERNAL
    return EXIT_PROBLEMS if report.changed else EXIT_OK


def _cli_error(code: str, message: str, file: str | None = None) -> SpecError:
    return SpecError(diagnostics=[Diagnostic(code=code, message=message, file=file)])


def _versions(args: argparse.Namespace, tmp: Path) -> tuple[Path, Path, str, str]:
    revs: list[str] = args.rev
    if len(revs) > 2:
        raise _cli_error("CLI040", "give --rev at most twice")
    if revs:
        if args.new is not None:
            raise _cli_error("CLI040", "with --rev give one path, not two")
        old = _at_revision(args.old, revs[0], tmp / "old")
        if len(revs) == 2:
            new = _at_revision(args.old, revs[1], tmp / "new")
            return old, new, f"{args.old}@{revs[0]}", f"{args.old}@{revs[1]}"
        if not args.old.is_file():
            raise _cli_error("CLI041", "no such file in the working tree", str(args.old))
        return old, args.old, f"{args.old}@{revs[0]}", f"{args.old} (working tree)"
    if args.new is None:
        raise _cli_error("CLI040", "give two paths (OLD NEW), or one path with --rev")
    for path in (args.old, args.new):
        if not path.is_file():
            raise _cli_error("CLI041", "no such file", str(path))
    return args.old, args.new, str(args.old), str(args.new)


_SAFE_REV = re.compile(r"^[A-Za-z0-9_./~^@{}-]+$")


def _git(args: list[str], cwd: Path) -> bytes:
    try:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, check=False)
    except OSError as exc:
        raise _cli_error("CLI042", f"cannot run git: {exc}") from exc
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise _cli_error("CLI042", f"git {args[0]}: {message[-1] if message else 'failed'}")
    return done.stdout


def _at_revision(path: Path, rev: str, into: Path) -> Path:
    """Extract the top-level folder holding ``path`` at ``rev`` (so that includes and lookup
    tables next to a spec come from the same revision) and return the file's copy."""
    if not _SAFE_REV.match(rev) or rev.startswith("-"):
        raise _cli_error("CLI042", f"not a git revision: {rev!r}")
    here = path.resolve().parent
    while not here.exists():
        here = here.parent
    top = Path(_git(["rev-parse", "--show-toplevel"], here).decode().strip())
    try:
        rel = path.resolve().relative_to(top)
    except ValueError as exc:
        raise _cli_error("CLI042", "the file is not inside a git repository", str(path)) from exc
    data = _git(["archive", "--format=tar", rev, "--", rel.parts[0]], top)
    into.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        tar.extractall(into, filter="data")
    copy = into / rel
    if not copy.is_file():
        raise _cli_error("CLI041", f"{rel} does not exist at {rev}", str(path))
    return copy


Evaluator = Callable[[Any], Any]


def _evaluator(
    kind: str, path: Path, args: argparse.Namespace, facts: dict[str, Any], now: Any
) -> Evaluator:
    if kind == "rules":
        from accord.engine.rules import load_ruleset

        ruleset = load_ruleset(path)

        def decide(record: Any) -> Any:
            return ruleset.evaluate(record, facts=facts, now=now).to_dict()

        return decide
    from accord.engine.mapping import compile_mapping, load_spec

    compiled = compile_mapping(load_spec(path))
    if compiled.spec.direction == "outbound":
        from accord.testing.subjects import revive

        return lambda record: compiled.apply(revive(record))
    return lambda payload: compiled.apply(payload)


def _preparer(kind: str, args: argparse.Namespace) -> Evaluator:
    """What turns one input into what both versions see: rule packs given payloads and a
    channel get the records the inbound mapping makes; everything else is used as is."""
    if kind == "rules" and args.channel:
        from accord.engine.mapping import MappingCatalog

        if not args.entity:
            raise _cli_error("CLI040", "--channel needs --entity")
        mapping = MappingCatalog(default_mapping_roots(args.mappings)).find(
            args.channel, args.entity, "inbound"
        )
        return lambda payload: mapping.apply(payload)
    if kind == "rules":
        from accord.testing.subjects import revive

        return lambda value: revive(_unwrap_replay(value))
    return lambda payload: payload


def _unwrap_replay(value: Any) -> Any:
    """A line of ``accord replay``'s ``records.ndjson`` is ``{"source", ..., "record"}``: take
    the record, so last month's replay output can be decided again by a new pack."""
    if isinstance(value, dict) and "record" in value and "source" in value:
        return value["record"]
    return value


def _run_one(fn: Evaluator, value: Any) -> tuple[Any, str | None]:
    try:
        return fn(value), None
    except AccordError as exc:
        return None, exc.code


def _compare_all(
    report: DiffReport,
    roots: list[Path],
    prepare: Evaluator,
    old: Evaluator,
    new: Evaluator,
) -> None:
    from accord.testing.match import to_json_form

    with Progress(total=None, label="diff") as bar:
        for item in iter_payloads(roots):
            bar.advance()
            report.records += 1
            if item.error is not None:
                report.errors[item.error.code] += 1
                continue
            value, code = _run_one(prepare, item.data)
            if code is not None:
                report.errors[code] += 1
                continue
            before, old_code = _run_one(old, value)
            after, new_code = _run_one(new, value)
            if old_code and old_code == new_code:
                report.errors[old_code] += 1
                continue
            changes = _changes(
                report.kind,
                to_json_form(before),
                to_json_form(after),
                old_code,
                new_code,
            )
            if not changes:
                continue
            report.changed += 1
            for change in set(changes):
                report.groups[change] += 1
            if len(report.examples) < report.show:
                rid = _record_id(value)
                report.examples.append(
                    {"source": item.source, "record_id": rid, "changes": changes}
                )


def _record_id(value: Any) -> str | None:
    if isinstance(value, dict):
        rid = value.get("id")
        return None if rid is None else str(rid)
    return None


def _changes(
    kind: str, before: Any, after: Any, old_code: str | None, new_code: str | None
) -> list[str]:
    if old_code or new_code:
        return [f"error: {old_code or 'ok'} -> {new_code or 'ok'}"]
    if kind == "rules":
        return _decision_changes(before, after)
    from accord.testing.match import compare

    out = []
    for m in compare(before, after, exact=True):
        path = re.sub(r"\[\d+\]", "[]", m.where)
        if m.kind == "missing":
            out.append(f"{path}: removed")
        elif m.kind == "unexpected":
            out.append(f"{path}: added")
        else:
            out.append(f"{path}: changed")
    return sorted(set(out))


def _decision_changes(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    out: list[str] = []
    old_trace = {_unit(e): e for e in before.get("trace") or [] if isinstance(e, dict)}
    new_trace = {_unit(e): e for e in after.get("trace") or [] if isinstance(e, dict)}
    for unit in sorted(set(old_trace) | set(new_trace)):
        a, b = old_trace.get(unit), new_trace.get(unit)
        if a is None or b is None:
            out.append(f"{unit}: {'added' if a is None else 'removed'}")
            continue
        was, now_ = _state(a), _state(b)
        if was != now_:
            out.append(f"{unit}: {was} -> {now_}")
    old_kinds = [_kind(o) for o in before.get("outcomes") or []]
    new_kinds = [_kind(o) for o in after.get("outcomes") or []]
    if old_kinds != new_kinds:
        out.append(
            f"outcomes: {', '.join(old_kinds) or 'none'} -> {', '.join(new_kinds) or 'none'}"
        )
    elif _without_reasons(before) != _without_reasons(after):
        out.append("outcomes: same kinds, different arguments")
    if before.get("fields") != after.get("fields"):
        out.append("fields set: changed")
    return out


def _without_reasons(decision: dict[str, Any]) -> list[Any]:
    # A reason is rendered text: a reworded reason (or one quoting a changed threshold) is not
    # a changed decision; the outcome kinds and arguments are.
    return [
        {k: v for k, v in o.items() if k != "reason"} if isinstance(o, dict) else o
        for o in decision.get("outcomes") or []
    ]


def _unit(entry: dict[str, Any]) -> str:
    if "table" in entry:
        return f"table {entry['table']}"
    return f"rule {entry.get('rule', '?')}"


def _state(entry: dict[str, Any]) -> str:
    if entry.get("considered") is False:
        return "not considered"
    if "table" in entry:
        rows = entry.get("matched_rows") or []
        return f"rows {','.join(map(str, rows))}" if rows else "no row"
    return "matched" if entry.get("matched") else "not matched"


def _kind(outcome: Any) -> str:
    if isinstance(outcome, dict):
        return str(outcome.get("kind"))
    return str(outcome)


def _render(report: DiffReport) -> str:
    lines = [
        f"{report.kind} diff: {report.old} -> {report.new}",
        f"{report.records} record{'' if report.records == 1 else 's'}: {report.changed} changed, "
        f"{report.records - report.changed - sum(report.errors.values())} unchanged, "
        f"{sum(report.errors.values())} failed in both or unreadable",
    ]
    if report.groups:
        label = "by rule" if report.kind == "rules" else "by field"
        lines.append(f"changes {label}:")
        lines.extend(f"  {n:6}  {change}" for change, n in _ordered(report.groups))
    if report.errors:
        lines.append("errors by code:")
        lines.extend(f"  {n:6}  {code}" for code, n in report.errors.most_common())
    if report.examples:
        lines.append("changed records:")
        for ex in report.examples:
            rid = f" ({ex['record_id']})" if ex.get("record_id") else ""
            lines.append(f"  {ex['source']}{rid}")
            lines.extend(f"      {c}" for c in ex["changes"])
        if report.changed > len(report.examples):
            lines.append(f"  ... and {report.changed - len(report.examples)} more (--show N)")
    if not report.changed:
        lines.append("no record changes")
    return "\n".join(lines)
