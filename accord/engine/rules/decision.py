"""The result of one evaluation: outcomes, fields set, reasons and a trace.

The evaluation itself records only which rules and table rows matched (cheap enough to keep for
every record); the trace's "values read" are looked up from the same record and facts when
:meth:`Decision.trace` is first asked for, because evaluation is deterministic.
"""

from __future__ import annotations

from collections.abc import ItemsView, Iterator, KeysView, Mapping, ValuesView
from typing import TYPE_CHECKING, Any, NamedTuple

from accord.engine.rules.runtime import MISSING, to_json

if TYPE_CHECKING:
    from accord.engine.rules.ruleset import RuleSet

__all__ = ["Decision", "Outcome"]


class Outcome(NamedTuple):
    """One action returned to the host: ``kind`` (set, approve, reject, quarantine, unroutable,
    escalate, route, tag, alert), its ``args``, the rule or table that produced it (``row``
    is the table row number, 0 for a rule) and the rendered reason.

    An immutable named tuple: the generated rule code builds these directly, so reading a
    decision's outcomes costs nothing beyond the evaluation itself.

    >>> Outcome("escalate", {"queue": "finance"}, "large_refund", "refund is large").to_dict()
    {'kind': 'escalate', 'queue': 'finance', 'rule': 'large_refund', 'reason': 'refund is large'}
    """

    kind: str
    args: Mapping[str, Any]
    rule: str
    reason: str
    row: int = 0

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind}
        out.update({k: to_json(v) for k, v in self.args.items()})
        out["rule"] = self.rule
        if self.row:
            out["row"] = self.row
        out["reason"] = self.reason
        return out


def _lookup(root: Any, keys: tuple[str, ...]) -> Any:
    cur = root
    for k in keys:
        if not isinstance(cur, Mapping) or k not in cur or cur[k] is None:
            return MISSING
        cur = cur[k]
    return cur


_KEYS = ("ruleset", "version", "effective", "outcomes", "fields", "reasons", "trace")


class Decision:
    """Outcomes of one evaluation plus what explains them.

    ``outcomes`` in evaluation order; ``fields_set`` maps each ``set`` field to its value;
    ``reasons`` lists the rendered reasons of the matched rules and rows; ``trace`` lists each
    rule or table considered, whether (and which rows) matched and the values it read.
    The generated code appends the outcomes as it goes and the trace is built on first access,
    so a Decision is cheap enough to keep for every record.
    """

    # Four slots set per evaluation; the trace is cached in its own slot on first access.
    __slots__ = ("_ctx", "_raw", "_ruleset", "_trace", "fields_set")

    def __init__(
        self,
        ruleset: RuleSet,
        raw: list[Outcome],
        fields_set: dict[str, Any],
        ctx: tuple[bool, int, Any, Any, list[Any]] = (True, -1, None, None, []),
    ) -> None:
        # ctx: (effective, index of the unit that stopped or -1, record, facts, let values),
        # kept as the evaluation passed them so building a Decision is four slot stores.
        self._ruleset = ruleset
        self._raw = raw
        self.fields_set = fields_set
        self._ctx = ctx

    def __repr__(self) -> str:
        return f"Decision({self.ruleset!r}, outcomes={self.kinds()!r}, fields={self.fields_set!r})"

    @property
    def ruleset(self) -> str:
        return self._ruleset.name

    @property
    def version(self) -> str | None:
        return self._ruleset.version

    @property
    def effective(self) -> bool:
        """False when ``now`` was outside the ruleset's effective dates."""
        return bool(self._ctx[0])

    @property
    def outcomes(self) -> list[Outcome]:
        """The outcomes in evaluation order (the decision's own list: read, do not modify)."""
        return self._raw

    @property
    def reasons(self) -> list[str]:
        seen: list[str] = []
        for o in self.outcomes:
            if o.reason and o.reason not in seen:
                seen.append(o.reason)
        return seen

    def kinds(self) -> list[str]:
        """The outcome kinds in order, e.g. ``["approve", "set"]``."""
        return [o[0] for o in self._raw]

    @property
    def trace(self) -> list[dict[str, Any]]:
        try:
            return self._trace
        except AttributeError:
            self._trace: list[dict[str, Any]] = self._build_trace()
            return self._trace

    def _build_trace(self) -> list[dict[str, Any]]:
        # Every matched rule or row produced at least one outcome, so the raw outcomes say
        # what matched (the hot path keeps no separate list).
        matched: dict[int, list[int]] = {}
        index = self._ruleset.unit_index
        for o in self._raw:
            row = o[4]
            rows = matched.setdefault(index[o[2]], [])
            if row not in rows:
                rows.append(row)
        effective, stopped, record, raw_facts, let_values = self._ctx
        if not effective:  # outside the effective dates nothing was considered
            return [{u.kind: u.name, "considered": False} for u in self._ruleset.units]
        lets = dict(zip(self._ruleset.let_names, let_values, strict=False))
        # The host's facts, checked and converted again (evaluation is deterministic); the
        # hot path keeps them only as passed.
        facts = self._ruleset.prepare_facts(raw_facts) if raw_facts is not None else {}
        entries: list[dict[str, Any]] = []
        for n, info in enumerate(self._ruleset.units):
            if stopped >= 0 and n > stopped:
                entries.append({info.kind: info.name, "considered": False})
                continue
            entry: dict[str, Any] = {info.kind: info.name, "line": info.line}
            if info.kind == "rule":
                entry["matched"] = n in matched
            else:
                entry["hit"] = info.hit
                rows = matched.get(n, [])
                # A 'first' table stops looking at its first match; the others test every row.
                last = rows[0] if info.hit == "first" and rows else info.rows
                entry["considered_rows"] = last
                entry["matched_rows"] = rows
            values: dict[str, Any] = {}
            for label, path in info.reads:
                root = record if path[0] == "rec" else facts
                values[label] = to_json(_lookup(root, path[1:]))
            for name in info.lets:
                if name in lets:
                    values[name] = to_json(lets[name])
            entry["values"] = values
            entries.append(entry)
        return entries

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: strings for Decimals and ids, ISO-8601 ``Z`` datetimes."""
        return {
            "ruleset": self.ruleset,
            "version": self.version,
            "effective": self.effective,
            "outcomes": [o.to_dict() for o in self.outcomes],
            "fields": {k: to_json(v) for k, v in self.fields_set.items()},
            "reasons": self.reasons,
            "trace": self.trace,
        }

    # A Decision reads like its JSON form, so generic tooling (the case runner's structural
    # match, ``dict(decision)``) can treat it as the mapping it stands for.
    def __getitem__(self, key: str) -> Any:
        return self.to_dict()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(_KEYS)

    def __len__(self) -> int:
        return len(_KEYS)

    def keys(self) -> KeysView[str]:
        return self.to_dict().keys()

    def items(self) -> ItemsView[str, Any]:
        return self.to_dict().items()

    def get(self, key: str, default: Any = None) -> Any:
        return self.to_dict().get(key, default)

    def values(self) -> ValuesView[Any]:
        return self.to_dict().values()

    def __contains__(self, key: object) -> bool:
        return key in _KEYS

    def explain(self) -> str:
        """A short human-readable account of the decision."""
        lines = [f"{self.ruleset}: " + (", ".join(self.kinds()) or "no outcome")]
        for entry in self.trace:
            if entry.get("considered") is False:
                continue
            name = entry.get("rule") or entry.get("table")
            hit = entry.get("matched") if "matched" in entry else entry.get("matched_rows")
            lines.append(f"  {name}: {hit}")
        lines.extend(f"  because {r}" for r in self.reasons)
        return "\n".join(lines)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Decision):
            return self.to_dict() == other.to_dict()
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]


Mapping.register(Decision)
