"""Reading the corpus manifest: which payloads each shipped spec is proven on.

Shared by the conformance and drift tests. A manifest entry names a spec and either one corpus
file (``file:``) or several named inputs (``inputs:``); ``records:`` says where the records are
inside the file(s) and ``join:`` pairs the records of list inputs on a key.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import jmespath

from accord.engine.mapping import CompiledMapping, compile_mapping, load_spec
from accord.engine.yamlsource import load_yaml

ROOT = Path(__file__).resolve().parents[2]
MAPPINGS = ROOT / "mappings"
MANIFEST = Path(__file__).with_name("corpus_manifest.yaml")


@dataclass(frozen=True)
class Entry:
    """One manifest entry: a corpus file (or named input files) and the spec that maps it."""

    spec: str
    file: str | None = None
    inputs: tuple[tuple[str, str], ...] = ()
    records: Any = "@"
    join: tuple[tuple[str, str], ...] = ()
    flags: frozenset[str] = field(default_factory=frozenset)

    @property
    def label(self) -> str:
        return self.file or "+".join(f for _, f in self.inputs)

    @property
    def files(self) -> list[str]:
        return [self.file] if self.file else [f for _, f in self.inputs]


def manifest() -> dict[str, Any]:
    data = load_yaml(MANIFEST).data
    assert isinstance(data, dict), "corpus_manifest.yaml must be a mapping"
    return data


def entries() -> list[Entry]:
    out = []
    for raw in manifest()["entries"]:
        records = raw.get("records", "@")
        out.append(
            Entry(
                spec=raw["spec"],
                file=raw.get("file"),
                inputs=tuple((raw.get("inputs") or {}).items()),
                records=records if isinstance(records, str) else tuple(records.items()),
                join=tuple((raw.get("join") or {}).items()),
                flags=frozenset(raw.get("flags", ())),
            )
        )
    return out


def read_json(path: Path) -> Any:
    # Amounts that arrive as JSON numbers stay exact: a float never touches them.
    return json.loads(path.read_text(encoding="utf-8"), parse_float=Decimal)


@cache
def compiled(spec: str) -> CompiledMapping:
    return compile_mapping(load_spec(MAPPINGS / spec))


@cache
def target_entity(spec: str) -> str:
    data = load_yaml(MAPPINGS / spec).data
    return str(data["target"])


def _select(data: Any, where: str) -> list[Any]:
    found = data if where == "@" else jmespath.search(where, data)
    if found is None:
        return []
    return found if isinstance(found, list) else [found]


def payloads(entry: Entry, corpus: Path) -> Iterator[tuple[str, Any]]:
    """``(record_id, payload)`` for every record the entry stands for."""
    if not entry.inputs:
        assert entry.file is not None
        assert isinstance(entry.records, str)
        for i, record in enumerate(_select(read_json(corpus / entry.file), entry.records)):
            yield f"{entry.file}#{i}", record
        return
    where = dict(entry.records) if not isinstance(entry.records, str) else {}
    data = {name: read_json(corpus / f) for name, f in entry.inputs}
    if not where:
        yield entry.label, data
        return
    # The first input drives: one payload per record it holds. The others are paired with it
    # on the `join:` keys, or passed whole when the entry has no join.
    keys = dict(entry.join)
    (driver, _), *others = entry.inputs
    for i, record in enumerate(_select(data[driver], where.get(driver, "@"))):
        payload = {driver: record}
        for name, _ in others:
            if name not in keys:
                # Without a join key, the input's `records:` expression picks what it gets.
                sel = where.get(name, "@")
                payload[name] = data[name] if sel == "@" else jmespath.search(sel, data[name])
                continue
            key = record.get(keys[driver]) if isinstance(record, dict) else None
            candidates = _select(data[name], where.get(name, "@"))
            match = [r for r in candidates if isinstance(r, dict) and r.get(keys[name]) == key]
            payload[name] = match[0] if match else {}
        yield f"{entry.label}#{i}", payload
