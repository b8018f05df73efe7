"""System of record: which system owns which entity field, and whether a write may land.

Declared in a rule file's ``ownership ... end`` block::

    ownership
      erp owns inventory_level.* because "the ERP counts stock"
      storefront owns order.* when fulfillment_status != "fulfilled"
      erp owns order.* when fulfillment_status == "fulfilled"
      consumers amazon, ebay
    end

The most specific pattern wins (``order.total`` before ``order.*``); among equally specific
ones, the first whose condition holds. A write by anyone else than the owner is quarantined.
List indexes in a changed path are ignored (``variants[0].price`` is ``variants.price``), and
a changed path that contains owned fields (``variants``, when ``product.variants.price`` is
claimed) writes each of them, so every one of their owners must be the writer.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from accord.engine.rules import ast as A

if TYPE_CHECKING:
    from accord.engine.rules.ruleset import RuleSet

__all__ = ["OwnershipPolicy", "WriteVerdict", "check_write", "lint"]


def lint(owns: Iterable[A.Owns]) -> list[tuple[str, A.Pos]]:
    """Fields with two owners: the same pattern claimed by two systems under the same
    condition (both unconditional, or textually the same condition), or a conditional claim
    after another system's unconditional one (which always wins)."""
    problems: list[tuple[str, A.Pos]] = []
    seen: dict[tuple[str, str], tuple[str, A.Pos]] = {}
    for own in owns:
        cond = _cond_key(own.when)
        for pattern, pos in own.patterns:
            key = (pattern, cond)
            always = seen.get((pattern, ""))
            if cond and always is not None and always[0] != own.system:
                # Claims are tried in file order, so an earlier unconditional one always wins.
                problems.append(
                    (
                        f"{pattern} has two owners: {always[0]} owns it unconditionally "
                        f"before {own.system}'s conditional claim",
                        pos,
                    )
                )
            elif key in seen and seen[key][0] != own.system:
                problems.append(
                    (
                        f"{pattern} has two owners: {seen[key][0]} and {own.system}"
                        + (" under the same condition" if cond else ""),
                        pos,
                    )
                )
            else:
                seen.setdefault(key, (own.system, pos))
    return problems


def _cond_key(e: A.Expr | None) -> str:
    """A position-free rendering of a condition, to compare two conditions textually."""
    if e is None:
        return ""
    if isinstance(e, A.Lit):
        return f"{e.kind}:{e.value!r}"
    if isinstance(e, A.Name):
        return e.name
    if isinstance(e, A.Attr):
        return f"{_cond_key(e.obj)}.{e.name}"
    if isinstance(e, A.Bin):
        return f"({_cond_key(e.left)} {e.op} {_cond_key(e.right)})"
    if isinstance(e, A.Unary):
        return f"({e.op} {_cond_key(e.operand)})"
    return f"<{type(e).__name__} at {id(e)}>"  # other forms never compare equal: no false alarm


@dataclass(frozen=True, slots=True)
class _Entry:
    system: str
    entity: str
    pattern: tuple[str, ...]  # field segments after the entity; may end in "*"
    condition: Callable[[Mapping[str, Any], datetime], bool] | None
    condition_text: str
    reason: str
    line: int

    @property
    def specificity(self) -> int:
        return sum(1 for p in self.pattern if p != "*")

    def matches(self, path: tuple[str, ...]) -> bool:
        if self.pattern and self.pattern[-1] == "*":
            prefix = self.pattern[:-1]
            return path[: len(prefix)] == prefix and len(path) > len(prefix)
        return path == self.pattern or path[: len(self.pattern)] == self.pattern

    def nested_in(self, path: tuple[str, ...]) -> bool:
        """Whether this claim covers fields strictly inside ``path`` (which it does not match
        itself): writing ``path`` writes them."""
        return len(self.pattern) > len(path) and self.pattern[: len(path)] == path


_INDEX = re.compile(r"\[[^\]]*\]")


def _split(field_path: str) -> tuple[str, ...]:
    """``variants[0].price`` -> ``("variants", "price")``: ownership is per field, not per item."""
    return tuple(p for p in _INDEX.sub("", field_path).split(".") if p)


class _Undecided(Exception):
    """An ownership condition could not be evaluated on the record."""

    def __init__(self, entry: _Entry) -> None:
        super().__init__(entry.condition_text)
        self.entry = entry


@dataclass(frozen=True, slots=True)
class WriteVerdict:
    """The answer of :func:`check_write`. ``allowed`` is False when any changed field belongs
    to another system; ``refused`` maps each such field to its owner; ``owner`` and
    ``reason`` describe the first refusal."""

    allowed: bool
    source_system: str
    entity: str
    refused: dict[str, str] = field(default_factory=dict)
    owner: str | None = None
    reason: str | None = None

    @property
    def quarantined(self) -> bool:
        return not self.allowed

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "allowed": self.allowed,
            "source_system": self.source_system,
            "entity": self.entity,
        }
        if not self.allowed:
            out.update(refused=dict(self.refused), owner=self.owner, reason=self.reason)
        return out


class OwnershipPolicy:
    """The ownership block of a rule set, compiled."""

    def __init__(self, ruleset: RuleSet) -> None:
        self.name = ruleset.name
        self.consumers = [c for c, _ in ruleset.syntax.consumers]
        self.entries: list[_Entry] = []
        ns = ruleset._ns
        for own, cond_src in ruleset.compiled.owns:
            cond: Callable[[Mapping[str, Any], datetime], bool] | None = None
            if cond_src is not None:
                code = compile(f"lambda rec, now: {cond_src}", "<ownership>", "eval")
                cond = eval(code, ns)
            reason = (
                "".join(p for p in own.reason.parts if isinstance(p, str)) if own.reason else ""
            )
            text = ruleset.source
            cond_text = ""
            if own.when is not None:
                cond_text = _slice(text, own.when.pos)
            for pattern, _ in own.patterns:
                parts = tuple(pattern.split("."))
                self.entries.append(
                    _Entry(own.system, parts[0], parts[1:], cond, cond_text, reason, own.pos.line)
                )

    @classmethod
    def from_file(cls, path: str | Path) -> OwnershipPolicy:
        from accord.engine.rules.ruleset import load_ruleset

        return cls(load_ruleset(path))

    def owner_of(
        self, entity: str, field_path: str, record: Mapping[str, Any], now: datetime | None = None
    ) -> _Entry | None:
        """The entry that owns ``entity.field_path`` for this record, or None when no one does.

        List indexes are ignored (``variants[0].price`` is ``variants.price``). Fields nested
        inside the path may have other owners: :meth:`owners_within` lists them.

        Raises :class:`_Undecided` when a condition that decides it cannot be evaluated on this
        record (a value it reads is missing): ownership is never guessed.
        """
        return self._owner(entity, _split(field_path), record, now or datetime.now(UTC))

    def owners_within(
        self, entity: str, field_path: str, record: Mapping[str, Any], now: datetime | None = None
    ) -> list[tuple[str, _Entry]]:
        """The owners of the claimed fields nested inside ``entity.field_path``, each with the
        nested field (``variants.price``; ``variants.*`` for a wildcard claim), in file order.

        Raises :class:`_Undecided` like :meth:`owner_of`.
        """
        path = _split(field_path)
        now = now or datetime.now(UTC)
        out: list[tuple[str, _Entry]] = []
        seen: set[tuple[str, ...]] = set()
        for e in self.entries:
            if e.entity != entity or e.pattern in seen or not e.nested_in(path):
                continue
            seen.add(e.pattern)
            # A nested field's owner is decided like any field's: the most specific claim that
            # holds, which may be a wider one when this claim's condition does not hold.
            owner = self._owner(entity, e.pattern, record, now)
            if owner is not None:
                out.append((".".join(e.pattern), owner))
        return out

    def _owner(
        self, entity: str, path: tuple[str, ...], record: Mapping[str, Any], now: datetime
    ) -> _Entry | None:
        candidates = [e for e in self.entries if e.entity == entity and e.matches(path)]
        candidates.sort(key=lambda e: -e.specificity)
        for e in candidates:
            if e.condition is None:
                return e
            try:
                holds = e.condition(record, now)
            except Exception as exc:  # a value the condition reads is missing or malformed
                raise _Undecided(e) from exc
            if holds:
                return e
        return None

    def check_write(
        self,
        source_system: str,
        entity: str,
        changed_fields: Iterable[str],
        record: Mapping[str, Any] | Any,
        *,
        now: datetime | None = None,
    ) -> WriteVerdict:
        """Whether ``source_system`` may write ``changed_fields`` of this ``entity`` record.

        A field whose owner depends on a condition this record cannot answer is refused too:
        the verdict says which condition could not be decided.
        """
        dump = getattr(record, "model_dump", None)
        rec: Mapping[str, Any] = dump() if callable(dump) else record
        now = now or datetime.now(UTC)
        refused: dict[str, str] = {}
        first: _Entry | None = None
        first_nested = ""  # the nested field behind the first refusal, when it is one
        undecided: _Entry | None = None
        for fname in changed_fields:
            try:
                owner = self.owner_of(entity, fname, rec, now)
                nested = self.owners_within(entity, fname, rec, now)
            except _Undecided as exc:
                refused[fname] = "undecided"
                undecided = undecided or exc.entry
                continue
            if owner is not None and owner.system != source_system:
                refused[fname] = owner.system
                first = first or owner
                continue
            for inner, entry in nested:
                if entry.system != source_system:
                    refused[fname] = entry.system
                    if first is None:
                        first, first_nested = entry, inner
                    break
        fields_text = ", ".join(refused)
        if first is not None:
            why = first.reason or f"{first.system} is the system of record"
            if first.condition_text:
                why += f" (while {first.condition_text})"
            owned = (
                f"it contains {entity}.{first_nested}, owned by {first.system}"
                if first_nested
                else f"owned by {first.system}"
            )
            reason = f"{source_system} may not write {entity}.{fields_text}: {owned}; {why}"
            return WriteVerdict(False, source_system, entity, refused, first.system, reason)
        if undecided is not None:
            reason = (
                f"{source_system} may not write {entity}.{fields_text}: who owns it depends on "
                f"'{undecided.condition_text}', which this record cannot answer"
            )
            return WriteVerdict(False, source_system, entity, refused, None, reason)
        return WriteVerdict(True, source_system, entity)

    def to_markdown(self) -> str:
        """The system-of-record table as Markdown."""
        lines = [
            "| entity | fields | owner | when | why |",
            "| --- | --- | --- | --- | --- |",
        ]
        for e in self.entries:
            fields = ".".join(e.pattern) or "*"
            lines.append(
                f"| {e.entity} | `{fields}` | {e.system} "
                f"| {e.condition_text or 'always'} | {e.reason} |"
            )
        if self.consumers:
            lines.append("")
            lines.append(
                "Consumers (own nothing, write nothing owned): " + ", ".join(self.consumers) + "."
            )
        return "\n".join(lines) + "\n"


def _slice(text: str, pos: A.Pos) -> str:
    lines = text.splitlines()
    if pos.line != pos.end_line or pos.line > len(lines):
        return " ".join(ln.strip() for ln in lines[pos.line - 1 : pos.end_line])
    return lines[pos.line - 1][pos.column - 1 : pos.end_column - 1]


@cache
def _shipped_policy() -> OwnershipPolicy:
    from accord.resources import rules_dir

    return OwnershipPolicy.from_file(rules_dir() / "ownership.rules")


def check_write(
    source_system: str,
    entity: str,
    changed_fields: Iterable[str],
    record: Mapping[str, Any] | Any,
    *,
    policy: OwnershipPolicy | None = None,
    now: datetime | None = None,
) -> WriteVerdict:
    """Check a write against ``policy`` (default: the shipped ``rules/ownership.rules``)."""
    pol = policy or _shipped_policy()
    return pol.check_write(source_system, entity, changed_fields, record, now=now)
