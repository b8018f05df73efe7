"""Drift: payload fields that no mapping consumed and no ``ignore:`` covers.

A compiled mapping knows, from its spec, which source paths it reads
(:attr:`~accord.engine.mapping.CompiledMapping.consumed_paths`; a path covers everything below
it). :class:`DriftRecorder` walks the payloads it is shown, and :meth:`DriftRecorder.report`
lists every leaf path that carried a value but was neither consumed nor ignored, with how many
records had it and the id of one of them. Lists are written ``line_items[].sku``; nulls,
empty lists and empty objects carry nothing and are not reported.

>>> from accord.engine.mapping import MappingSpec, compile_mapping
>>> spec = MappingSpec.from_dict({
...     "mapping": "demo", "channel": "demo", "direction": "inbound", "source": "demo.order",
...     "target": "order", "ignore": ["token"], "fields": {
...         "id": {"from": "id", "as": "string"},
...         "lines": {"each": "line_items", "fields": {"sku": {"from": "sku"}}}}})
>>> drift = DriftRecorder(compile_mapping(spec))
>>> drift.observe({"id": 1, "token": "x", "gift": True,
...                "line_items": [{"sku": "A", "grams": 200}]})
>>> print(drift.report().render())
demo: 2 unmapped path(s) in 1 record(s)
  gift  1 record(s), e.g. 1
  line_items[].grams  1 record(s), e.g. 1
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from accord.engine.mapping.runtime import CompiledMapping

__all__ = ["DriftRecorder", "DriftReport", "UnmappedPath"]


@dataclass(frozen=True, slots=True)
class UnmappedPath:
    """One payload path no spec consumed: in how many records, and one example record id."""

    path: str
    count: int
    example_record_id: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "count": self.count, "example_record_id": self.example_record_id}


@dataclass(frozen=True, slots=True)
class DriftReport:
    """The unmapped-field report: most frequent paths first."""

    mapping: str
    records: int
    unmapped: tuple[UnmappedPath, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        return {
            "mapping": self.mapping,
            "records": self.records,
            "unmapped": [u.to_dict() for u in self.unmapped],
        }

    def render(self) -> str:
        lines = [
            f"{self.mapping}: {len(self.unmapped)} unmapped path(s) in {self.records} record(s)"
        ]
        for u in self.unmapped:
            example = f", e.g. {u.example_record_id}" if u.example_record_id is not None else ""
            lines.append(f"  {u.path}  {u.count} record(s){example}")
        return "\n".join(lines)


def _flat(path: str) -> str:
    """Compare paths without list markers: `line_items.sku` covers `line_items[].sku`."""
    return path.replace("[]", "")


def _normalise(path: str) -> str:
    out = []
    depth = 0
    for ch in path:
        if ch == "[":
            depth += 1
            out.append("[")
        elif ch == "]":
            depth -= 1
            out.append("]")
        elif depth == 0:
            out.append(ch)
    text = "".join(out)
    for prefix in ("$root.", "$parent."):
        if text.startswith(prefix):
            text = text[len(prefix) :]
    return text


def leaf_paths(value: Any, prefix: str = "") -> Iterator[str]:
    """Every path in ``value`` that ends at a non-null scalar (iterative: any depth)."""
    stack: list[tuple[Any, str]] = [(value, prefix)]
    while stack:
        node, path = stack.pop()
        if isinstance(node, dict):
            stack.extend(
                (item, f"{path}.{key}" if path else str(key)) for key, item in node.items()
            )
        elif isinstance(node, list):
            stack.extend((item, path + "[]") for item in node)
        elif node is not None:
            yield path


class DriftRecorder:
    """Records, over many payloads, which paths the mapping(s) did not consume."""

    def __init__(self, mappings: CompiledMapping | Iterable[CompiledMapping]) -> None:
        self.mappings = (mappings,) if isinstance(mappings, CompiledMapping) else tuple(mappings)
        if not self.mappings:
            raise ValueError("DriftRecorder needs at least one compiled mapping")
        covers: set[str] = set()
        for mapping in self.mappings:
            covers.update(_flat(p) for p in mapping.consumed_paths)
            covers.update(_flat(_normalise(p)) for p in mapping.spec.ignore)
        covers.discard("")
        self._covers = frozenset(covers)
        self._decided: dict[str, bool] = {}
        self._counts: dict[str, int] = {}
        self._examples: dict[str, str | None] = {}
        self.records = 0

    def covered(self, path: str) -> bool:
        """Whether a payload path (``a[].b``) is consumed or ignored."""
        known = self._decided.get(path)
        if known is None:
            flat = _flat(path)
            known = any(flat == c or flat.startswith(c + ".") for c in self._covers)
            self._decided[path] = known
        return known

    def observe(self, payload: Any, *, record_id: str | None = None) -> None:
        """Count the unmapped paths of one payload (as the mapping sees it, after unwrap)."""
        payload = self.mappings[0].unwrap(payload)
        if record_id is None and isinstance(payload, dict):
            found = payload.get("id")
            if isinstance(found, str | int) and not isinstance(found, bool):
                record_id = str(found)
        self.records += 1
        for path in set(leaf_paths(payload)):
            if not self.covered(path):
                self._counts[path] = self._counts.get(path, 0) + 1
                self._examples.setdefault(path, record_id)

    def report(self) -> DriftReport:
        """Unmapped paths, most frequent first, then alphabetically."""
        items = sorted(self._counts.items(), key=lambda kv: (-kv[1], kv[0]))
        return DriftReport(
            mapping=", ".join(m.id for m in self.mappings),
            records=self.records,
            unmapped=tuple(UnmappedPath(p, n, self._examples[p]) for p, n in items),
        )
