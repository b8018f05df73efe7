"""``accord explain``: why every field of a mapped record, and every rule decision, is what it is.

Per output field: the spec line, the source path read, the value read and the branch taken
(which fallback, the literal, the default, or why the field is absent). Per rule (with
``--rules``): whether it matched, and the values that made it match or not.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from accord.cli import EXIT_INTERNAL, EXIT_OK, EXIT_PROBLEMS
from accord.cli._common import (
    add_mapping_arguments,
    dumps,
    error_diagnostics,
    guarded,
    load_facts,
    parse_now,
    print_diagnostics,
    resolve_mapping,
)
from accord.cli.payloads import iter_payloads
from accord.diagnostics import Diagnostic
from accord.errors import AccordError

__all__ = ["explanation_dict", "json_text", "register", "render_decision", "render_explanation"]

EXAMPLES = """\
examples:
  accord explain --channel shopify --entity order samples/payloads/shopify/order/order-1040.json
  accord explain --channel shopify --entity refund --rules rules/refund_governance.rules \\
      --facts '{"captured": "100.00 USD", "already_refunded": "0.00 USD"}' \\
      --now 2026-03-02T10:00:00Z samples/payloads/shopify/refund/refund-932811315.json
  accord explain --spec mappings/shopify/order.inbound.yaml --format json \\
      samples/payloads/shopify/order/order-1041.json
"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "explain",
        help="show, per field and per rule, why a payload maps and decides as it does",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_mapping_arguments(parser)
    parser.add_argument("files", nargs="+", type=Path, help="payload files or - for stdin")
    parser.add_argument(
        "--rules", type=Path, action="append", default=[], metavar="FILE", help="rule pack"
    )
    parser.add_argument("--facts", help="facts for the rules: JSON object or @file.json")
    parser.add_argument("--now", help="frozen time for the rules, ISO-8601 with a zone")
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.set_defaults(func=guarded(run))


def run(args: argparse.Namespace) -> int:
    try:
        compiled = resolve_mapping(args)
        facts = load_facts(args.facts)
        now = parse_now(args.now)
        from accord.engine.rules import load_ruleset

        packs = [(path, load_ruleset(path)) for path in args.rules]
    except AccordError as exc:
        print_diagnostics(error_diagnostics(exc))
        return EXIT_INTERNAL if exc.code.startswith(("YAML", "CLI")) else EXIT_PROBLEMS
    failed = unreadable = False
    documents: list[dict[str, Any]] = []
    for item in iter_payloads(args.files):
        if item.error is not None:
            print_diagnostics([item.error])
            unreadable = True
            continue
        payload = item.data
        if args.direction == "outbound":
            from accord.testing.subjects import revive

            payload = revive(payload)
        warnings: list[Diagnostic] = []
        try:
            record, why = compiled.explain(payload, warnings=warnings)
        except AccordError as exc:
            failed = True
            partial = getattr(exc, "explanation", None)
            if args.format == "text":
                print(f"== {item.source}: mapping failed")
                if partial is not None:
                    print(render_explanation(partial))
            print_diagnostics(error_diagnostics(exc), label=item.source)
            continue
        decisions: dict[str, Any] = {}
        rule_errors: list[Diagnostic] = []
        for path, ruleset in packs:
            try:
                decisions[str(path)] = ruleset.evaluate(record, facts=facts, now=now)
            except AccordError as exc:
                failed = True
                rule_errors.extend(error_diagnostics(exc))
        if args.format == "json":
            documents.append(
                {
                    "source": item.source,
                    "record": record,
                    "fields": explanation_dict(why),
                    "decisions": {k: _to_dict(v) for k, v in decisions.items()},
                }
            )
        else:
            print(f"== {item.source} ({compiled.id} v{compiled.version})")
            print(render_explanation(why))
            for name, decision in decisions.items():
                print(f"-- rules {name}")
                print(render_decision(decision))
        if warnings:
            print_diagnostics(warnings, label=item.source)
        if rule_errors:
            print_diagnostics(rule_errors, label=item.source)
    if args.format == "json":
        print(dumps(documents[0] if len(documents) == 1 else documents))
    if unreadable:
        return EXIT_INTERNAL
    return EXIT_PROBLEMS if failed else EXIT_OK


def json_text(value: Any, *, sort_keys: bool = False) -> str:
    """One value in its JSON form on one line: amounts and ids as strings, timestamps
    ISO-8601 UTC (never ``Decimal(...)`` or ``datetime.datetime(...)`` reprs).

    >>> from datetime import datetime, timedelta, timezone
    >>> from decimal import Decimal
    >>> json_text({"amount": Decimal("2.40"), "currency": "USD"})
    '{"amount": "2.40", "currency": "USD"}'
    >>> json_text(datetime(2026, 2, 10, 9, tzinfo=timezone(timedelta(hours=-5))))
    '"2026-02-10T14:00:00Z"'
    >>> json_text([True, None, "ünï"])
    '[true, null, "ünï"]'
    """
    from accord.testing.match import to_json_form

    return json.dumps(to_json_form(value), ensure_ascii=False, sort_keys=sort_keys)


def _traced(value: Any) -> Any:
    from accord.engine.mapping.explain import MISSING

    return None if value is MISSING else value


def render_explanation(why: Any) -> str:
    """Text for one mapping trace: ``target = value  file:line branch read value; note``
    per output field, values in their JSON form, then any warnings.

    >>> from accord.engine.mapping import MappingSpec, compile_mapping
    >>> spec = MappingSpec.from_dict({
    ...     "mapping": "demo", "channel": "demo", "direction": "inbound",
    ...     "source": "demo.order", "target": "order", "fields": {
    ...         "number": {"from": ["name", "order_number"], "as": "string"},
    ...         "placed_at": {"from": "created", "as": "datetime"},
    ...         "total": {"from": "total", "as": "money", "currency": "USD"}}})
    >>> payload = {"order_number": 1001, "created": "2026-02-10T09:00:00-05:00",
    ...            "total": "2.40"}
    >>> print(render_explanation(compile_mapping(spec).explain(payload)[1]))
    number = "1001"  <spec>:? from[1] order_number read 1001
    placed_at = "2026-02-10T14:00:00Z"  <spec>:? from[0] created read "2026-02-10T09:00:00-05:00"
    total = {"amount": "2.40", "currency": "USD"}  <spec>:? from[0] total read "2.40"
    """
    lines = []
    for trace in why.fields:
        shown = json_text(trace.value) if trace.produced else "(absent)"
        read = _traced(trace.read)
        said = "" if read is None else f" read {json_text(read)}"
        note = f"; {trace.note}" if trace.note else ""
        lines.append(f"{trace.target} = {shown}  {trace.rule} {trace.branch}{said}{note}")
    lines += [w.render() for w in why.warnings]
    return "\n".join(lines)


def explanation_dict(why: Any) -> dict[str, Any]:
    """The JSON form of one mapping trace (``--format json``'s ``fields``)."""
    from accord.testing.match import to_json_form

    doc: dict[str, Any] = why.to_dict()
    for entry, trace in zip(doc["fields"], why.fields, strict=True):
        entry["read"] = to_json_form(_traced(trace.read))
        entry["value"] = to_json_form(trace.value)
    return doc


def _to_dict(decision: Any) -> Any:
    to_dict = getattr(decision, "to_dict", None)
    return to_dict() if callable(to_dict) else decision


def render_decision(decision: Any) -> str:
    """Text for one Decision: the outcomes with their reasons, then each rule or decision
    table considered, whether (and which rows) matched, and the values it read.

    >>> print(render_decision({"outcomes": [{"kind": "escalate", "queue": "finance",
    ...     "rule": "big", "reason": "refund of 250.00 USD"}],
    ...     "trace": [{"rule": "big", "line": 3, "matched": True,
    ...                "values": {"amount": {"amount": "250.00", "currency": "USD"}}},
    ...               {"table": "routing", "line": 5, "hit": "first", "matched_rows": [],
    ...                "values": {}},
    ...               {"rule": "late", "considered": False}]}))
    outcome escalate(queue="finance") by big: refund of 250.00 USD
      line 3  rule big: matched; read amount={"amount": "250.00", "currency": "USD"}
      line 5  table routing (hit first): no row matched
      rule late: not considered (an earlier rule stopped evaluation)
    """
    data = _to_dict(decision)
    if not isinstance(data, dict):
        return json_text(data)
    outcomes = data.get("outcomes") or []
    lines = [_outcome(o) for o in (outcomes if isinstance(outcomes, list) else [])]
    if not outcomes:
        lines.append("no outcome")
    for entry in data.get("trace") or []:
        if not isinstance(entry, dict):
            lines.append(f"  {entry}")
            continue
        kind = "table" if "table" in entry else "rule"
        name = entry.get(kind, "?")
        if entry.get("considered") is False:
            lines.append(f"  {kind} {name}: not considered (an earlier rule stopped evaluation)")
            continue
        where = f"line {entry['line']}  " if entry.get("line") else ""
        if kind == "table":
            rows = entry.get("matched_rows") or []
            state = f"rows {', '.join(map(str, rows))} matched" if rows else "no row matched"
            head = f"table {name} (hit {entry.get('hit')})"
        else:
            state = "matched" if entry.get("matched") else "not matched"
            head = f"rule {name}"
        values = entry.get("values") or {}
        read = ", ".join(f"{k}={json_text(v, sort_keys=True)}" for k, v in values.items())
        lines.append(f"  {where}{head}: {state}" + (f"; read {read}" if read else ""))
    return "\n".join(lines)


def _outcome(outcome: Any) -> str:
    if not isinstance(outcome, dict) or "kind" not in outcome:
        return f"outcome {json_text(outcome)}"
    skip = {"kind", "rule", "row", "reason"}
    args = ", ".join(f"{k}={json_text(v)}" for k, v in outcome.items() if k not in skip)
    by = outcome.get("rule") or "?"
    if outcome.get("row"):
        by = f"{by} row {outcome['row']}"
    reason = f": {outcome['reason']}" if outcome.get("reason") else ""
    return f"outcome {outcome['kind']}({args}) by {by}{reason}"
