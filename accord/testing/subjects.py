"""What a case file tests: a mapping spec or a rule pack, behind one small interface.

A :class:`Subject` is built once per case file (the spec is compiled, the pack parsed) and then
runs every case. It also knows its *coverage universe*: the spec's target fields, or the pack's
rules and decision-table rows, so the runner can say which of them no case exercised.

Records given to outbound specs and rule packs are written in JSON form in the case file; before
the run they are *revived* to the canonical Python form (:func:`revive`): money bags get a
``Decimal`` amount and ISO-8601 timestamps with a time and a zone become aware datetimes.
"""

from __future__ import annotations

import ast
import contextlib
import re
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Protocol

from accord.testing.cases import Case

__all__ = ["MappingSubject", "RulesSubject", "Subject", "load_subject", "revive"]

_TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\d[T ]\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:?\d\d)$")


def revive(value: Any) -> Any:
    """Turn a record's JSON form into the canonical Python form the engine works on.

    >>> revive({"total": {"amount": "12.30", "currency": "USD"}, "at": "2026-03-02T10:00:00Z",
    ...         "id": "123", "day": "2026-03-02"})  # doctest: +NORMALIZE_WHITESPACE
    {'total': {'amount': Decimal('12.30'), 'currency': 'USD'},
     'at': datetime.datetime(2026, 3, 2, 10, 0, tzinfo=datetime.timezone.utc),
     'id': '123', 'day': '2026-03-02'}
    """
    if isinstance(value, Mapping):
        out = {str(k): revive(v) for k, v in value.items()}
        amount = out.get("amount")
        if set(out) == {"amount", "currency"} and isinstance(amount, str | int):
            # a bad amount is left as written: the engine reports it itself
            with contextlib.suppress(InvalidOperation):
                out["amount"] = Decimal(str(amount))
        return out
    if isinstance(value, list):
        return [revive(v) for v in value]
    if isinstance(value, str) and _TIMESTAMP.match(value):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
    return value


class Subject(Protocol):
    """A compiled spec or rule pack that cases run against."""

    path: Path
    kind: str  # "mapping" | "rules"

    def run(self, case: Case) -> Any:
        """The output for one case (a record dict or a Decision); raises AccordError."""
        ...

    def universe(self) -> set[str]:
        """Every coverage item: ``field:<target path>``, ``rule:<name>``, ``row:<table>#<n>``."""
        ...

    def covered(self, output: Any) -> set[str]:
        """The coverage items one output exercised."""
        ...


def load_subject(path: Path) -> Subject:
    """Load and compile the subject at ``path``; ``SpecError`` when it is invalid."""
    if path.suffix == ".rules":
        return RulesSubject(path)
    return MappingSubject(path)


class MappingSubject:
    """A mapping spec: cases give a payload (inbound) or a canonical record (outbound)."""

    kind = "mapping"

    def __init__(self, path: Path) -> None:
        from accord.engine.mapping import compile_mapping, load_spec
        from accord.engine.yamlsource import load_yaml

        self.path = path
        self.compiled = compile_mapping(load_spec(path))
        raw = load_yaml(path).data
        raw = raw if isinstance(raw, dict) else {}
        self.direction = str(raw.get("direction", "inbound"))
        self._fields = _target_paths(raw.get("fields"), "")
        self._branches = _branch_items(raw.get("fields"), "")
        self._last: tuple[Any, Any] | None = None

    def run(self, case: Case) -> Any:
        payload = case.payload
        if self.direction == "outbound":
            payload = revive(payload)
        record = self.compiled.apply(payload)
        self._last = (record, payload)  # covered() replays it through the explain build
        return record

    def universe(self) -> set[str]:
        return {f"field:{p}" for p in self._fields} | self._branches

    def covered(self, output: Any) -> set[str]:
        hit = {f"field:{p}" for p in self._fields if _present(output, p)}
        if self._branches and self._last is not None and self._last[0] is output:
            # The verdict came from the ordinary build; the explain build of the same spec
            # says which fallback branch and which map entry produced each field.
            _, why = self.compiled.explain(self._last[1])
            hit |= _trace_items(why) & self._branches
        return hit


def _branch_items(fields: Any, prefix: str) -> set[str]:
    """Coverage items for the choices inside field rules: each branch of a ``from:`` chain
    with fallbacks (and its ``default``), and each ``map:`` entry.

    >>> sorted(_branch_items({"n": {"from": ["a", "b"], "default": "x"},
    ...                       "s": {"from": "st", "map": {"P": "paid", "R": "refunded"}},
    ...                       "lines": {"each": "items", "fields": {"q": {"from": "qty"}}}}, ""))
    ['branch:n default', 'branch:n from[0]', 'branch:n from[1]', 'map:s P', 'map:s R']
    """
    if not isinstance(fields, dict):
        return set()
    out: set[str] = set()
    for target, rule in fields.items():
        path = f"{prefix}{target}"
        if not isinstance(rule, dict):
            continue
        sources = rule.get("from")
        if isinstance(sources, list) and len(sources) > 1:
            out.update(f"branch:{path} from[{i}]" for i in range(len(sources)))
        if sources is not None and "default" in rule:
            out.add(f"branch:{path} default")
        table = rule.get("map")
        if isinstance(table, dict):
            out.update(f"map:{path} {key}" for key in table)
        if "each" in rule:
            out |= _branch_items(rule.get("fields"), f"{path}[].")
    return out


_INDEX = re.compile(r"\[\d+\]")
_FROM = re.compile(r"^from\[\d+\]")


def _trace_items(why: Any) -> set[str]:
    """The branch and map items one explain trace shows as taken."""
    from accord.engine.mapping.spec import map_key

    out: set[str] = set()
    for trace in why.fields:
        if not trace.produced:
            continue
        path = _INDEX.sub("[]", trace.target)
        taken = _FROM.match(trace.branch)
        if taken:
            out.add(f"branch:{path} {taken.group()}")
        elif trace.branch == "default":
            out.add(f"branch:{path} default")
        note = trace.note or ""
        if note.startswith("map "):
            # the explain build writes "map <repr of the key read> -> <repr of the value>"
            head = note[4:].rsplit(" -> ", 1)[0]
            if head.endswith(" unknown"):
                continue
            try:
                key = map_key(ast.literal_eval(head))
            except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
                continue
            if key is not None:
                out.add(f"map:{path} {key}")
    return out


def _target_paths(fields: Any, prefix: str) -> list[str]:
    """Target paths a spec's ``fields:`` produce; ``each`` fields nest as ``lines[].sku``."""
    if not isinstance(fields, dict):
        return []
    out: list[str] = []
    for target, rule in fields.items():
        path = f"{prefix}{target}"
        out.append(path)
        if isinstance(rule, dict) and "each" in rule and isinstance(rule.get("fields"), dict):
            out.extend(_target_paths(rule["fields"], f"{path}[]."))
    return out


def _present(output: Any, path: str) -> bool:
    head, sep, rest = path.partition("[].")
    nodes = [output]
    for part in head.split("."):
        nodes = [n[part] for n in nodes if isinstance(n, Mapping) and n.get(part) is not None]
    if not sep:
        return bool(nodes)
    return any(_present(item, rest) for n in nodes if isinstance(n, list | tuple) for item in n)


class RulesSubject:
    """A rule pack: cases give a canonical record, facts (``context``) and a frozen ``now``."""

    kind = "rules"

    def __init__(self, path: Path) -> None:
        from accord.engine.rules import load_ruleset

        self.path = path
        self.ruleset = load_ruleset(path)

    def run(self, case: Case) -> Any:
        return self.ruleset.evaluate(revive(case.given), facts=case.context, now=case.now)

    def universe(self) -> set[str]:
        return set(_rule_items(self.ruleset))

    def covered(self, output: Any) -> set[str]:
        to_dict = getattr(output, "to_dict", None)
        data = to_dict() if callable(to_dict) else output
        return _matched_items(data)


def _rule_items(ruleset: Any) -> list[str]:
    """``rule:<name>`` for each rule, ``row:<table>#<n>`` for each decision-table row."""
    items: list[str] = []
    for unit in getattr(ruleset, "units", ()) or ():
        if unit.kind == "table":
            items.extend(f"row:{unit.name}#{n}" for n in range(1, unit.rows + 1))
        else:
            items.append(f"rule:{unit.name}")
    return items


def _matched_items(decision: Any) -> set[str]:
    """Rules and table rows a Decision's trace reports as matched."""
    out: set[str] = set()
    trace = decision.get("trace") if isinstance(decision, Mapping) else None
    for entry in trace if isinstance(trace, list) else []:
        if not isinstance(entry, Mapping):
            continue
        if "table" in entry:
            out.update(f"row:{entry['table']}#{n}" for n in entry.get("matched_rows") or ())
        elif entry.get("matched") and "rule" in entry:
            out.add(f"rule:{entry['rule']}")
    return out
