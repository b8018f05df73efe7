"""Explain: why every output field of one record has the value it has.

The explain build of a mapping is the same generated code plus one trace call per field, so
the ordinary build pays nothing. Each :class:`FieldTrace` gives the spec ``file:line``, the
source paths the rule reads, the branch taken (which fallback, the literal, the default, or why
the field is absent), the value read, the map or lookup entry used and the value produced.

>>> from accord.engine.mapping import MappingSpec, compile_mapping
>>> spec = MappingSpec.from_dict({
...     "mapping": "demo", "channel": "demo", "direction": "inbound", "source": "demo.order",
...     "target": "order", "fields": {
...         "number": {"from": ["name", "order_number"], "as": "string"},
...         "status": {"from": "state", "map": {"P": "paid"}}}})
>>> record, why = compile_mapping(spec).explain({"order_number": 1001, "state": "P"})
>>> record
{'number': '1001', 'status': 'paid'}
>>> print(why.render())
number = '1001'  <spec>:? from[1] order_number read 1001
status = 'paid'  <spec>:? from[0] state read 'P'; map 'P' -> 'paid'
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from accord.diagnostics import Diagnostic
from accord.engine.mapping.runtime import FieldMeta

if TYPE_CHECKING:
    from accord.engine.mapping.runtime import CompiledMapping

__all__ = ["Explanation", "FieldTrace", "Tracer"]

# Branch markers the generated explain code passes (>= 0 is the index of the `from` used).
BRANCH_VALUE = -1
BRANCH_DEFAULT = -2
BRANCH_ABSENT = -3
BRANCH_SKIPPED = -4
BRANCH_EACH = -5
BRANCH_OBJECT = -6

_MISSING = object()


@dataclass(frozen=True, slots=True)
class FieldTrace:
    """How one output field was produced (or why it is absent)."""

    target: str
    rule: str  # file:line
    sources: tuple[str, ...]
    branch: str
    read: Any
    value: Any
    produced: bool
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "target": self.target,
            "rule": self.rule,
            "sources": list(self.sources),
            "branch": self.branch,
            "read": _jsonable(self.read),
            "value": _jsonable(self.value),
            "produced": self.produced,
        }
        if self.note:
            out["note"] = self.note
        return out

    def render(self) -> str:
        """``target = value  file:line branch read value; note``."""
        shown = _display(self.value) if self.produced else "(absent)"
        read = "" if self.read is _MISSING or self.read is None else f" read {_display(self.read)}"
        note = f"; {self.note}" if self.note else ""
        return f"{self.target} = {shown}  {self.rule} {self.branch}{read}{note}"


class Tracer:
    """Collects trace events from the explain build (one per field, per element)."""

    __slots__ = ("events", "metas", "notes")

    def __init__(self, metas: Sequence[FieldMeta]) -> None:
        self.metas = metas
        self.events: list[tuple[int, str, int, Any, Any, bool, str | None]] = []

    def rec(
        self,
        index: int,
        target: str,
        branch: int,
        read: Any,
        value: Any,
        note: str | None = None,
    ) -> None:
        self.events.append((index, target, branch, read, value, value is not None, note))


def _branch_text(meta: FieldMeta, branch: int) -> str:
    text = meta.branch_texts.get(branch)
    if text is None:
        text = meta.branch_texts[branch] = _describe_branch(meta, branch)
    return text


def _describe_branch(meta: FieldMeta, branch: int) -> str:
    rule = meta.rule
    if branch >= 0:
        if rule.from_:
            return f"from[{branch}] {rule.from_[branch].text}"
        return "value"
    return {
        BRANCH_VALUE: "value",
        BRANCH_DEFAULT: "default",
        BRANCH_ABSENT: "absent",
        BRANCH_SKIPPED: "when false",
        BRANCH_EACH: f"each {rule.each.text if rule.each else ''}".strip(),
        BRANCH_OBJECT: "object",
    }.get(branch, "?")


@dataclass(slots=True)
class Explanation:
    """The trace of one record: a :class:`FieldTrace` per output field, in order."""

    mapping: str
    version: int
    record_id: str | None
    fields: list[FieldTrace]
    warnings: list[Diagnostic] = field(default_factory=list)

    @classmethod
    def build(
        cls,
        mapping: CompiledMapping,
        tracer: Tracer,
        record_id: str | None,
        warnings: list[Diagnostic],
    ) -> Explanation:
        traces = []
        for index, target, branch, read, value, produced, note in tracer.events:
            meta = tracer.metas[index]
            traces.append(
                FieldTrace(
                    target=target,
                    rule=meta.location,
                    sources=meta.sources,
                    branch=_branch_text(meta, branch),
                    read=read,
                    value=value,
                    produced=produced,
                    note=note,
                )
            )
        return cls(mapping.id, mapping.version, record_id, traces, list(warnings))

    def field(self, target: str) -> FieldTrace:
        """The trace of one target (``lines[0].sku`` inside lists); KeyError if absent."""
        for trace in self.fields:
            if trace.target == target:
                return trace
        raise KeyError(target)

    def to_dict(self) -> dict[str, Any]:
        return {
            "mapping": self.mapping,
            "version": self.version,
            "record_id": self.record_id,
            "fields": [t.to_dict() for t in self.fields],
            "warnings": [w.to_dict() for w in self.warnings],
        }

    def render(self) -> str:
        lines = [t.render() for t in self.fields]
        lines += [w.render() for w in self.warnings]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.render()


def _display(value: Any) -> str:
    # Python literal style (what analysts see in payload dumps), with exact amounts and ISO
    # timestamps as text instead of Decimal(...) and datetime.datetime(...) reprs.
    return repr(_jsonable(value))


def _jsonable(value: Any) -> Any:
    if value is _MISSING:
        return None
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    return value


MISSING = _MISSING
