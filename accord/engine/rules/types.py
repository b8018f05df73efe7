"""Static types of the rules language and the bridge to the canonical model.

A :class:`T` is immutable and cheap to compare. Base kinds: ``number`` (Decimal; ints are
numbers too), ``money``, ``string``, ``bool``, ``date``, ``datetime``, ``duration``,
``calendar`` and ``any``; composite kinds: ``list`` (``item``), ``map`` (``item`` is the value
type) and ``record`` (``fields``; ``open`` records accept unknown fields as ``any``).

>>> str(T.list_of(NUMBER))
'list of number'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "ANY",
    "BASE_TYPES",
    "BOOL",
    "CALENDAR",
    "DATE",
    "DATETIME",
    "DURATION",
    "MONEY",
    "NUMBER",
    "STRING",
    "T",
    "entity_names",
    "entity_type",
]


@dataclass(frozen=True, slots=True)
class T:
    kind: str
    item: T | None = None
    fields: tuple[tuple[str, T], ...] = ()
    enum: tuple[str, ...] = ()
    open: bool = False
    entity: str | None = None
    currency: str | None = None  # known statically (a money literal), else None

    @staticmethod
    def list_of(item: T) -> T:
        return T("list", item=item)

    @staticmethod
    def map_of(item: T) -> T:
        return T("map", item=item)

    @staticmethod
    def record(fields: Mapping[str, T], *, entity: str | None = None, open: bool = False) -> T:
        return T("record", fields=tuple(fields.items()), entity=entity, open=open)

    def field(self, name: str) -> T | None:
        for key, value in self.fields:
            if key == name:
                return value
        return None

    @property
    def field_names(self) -> list[str]:
        return [k for k, _ in self.fields]

    def plain(self) -> T:
        """The type without literal-only detail (statically known currency, enum values)."""
        if self.currency is not None or self.enum:
            return T(self.kind, self.item, self.fields, (), self.open, self.entity)
        return self

    def __str__(self) -> str:
        if self.kind == "list":
            return f"list of {self.item}"
        if self.kind == "map":
            return f"map of {self.item}"
        if self.kind == "record":
            return f"{self.entity} record" if self.entity else "record"
        if self.kind == "money" and self.currency:
            return f"money ({self.currency})"
        return self.kind


NUMBER = T("number")
MONEY = T("money")
STRING = T("string")
BOOL = T("bool")
DATE = T("date")
DATETIME = T("datetime")
DURATION = T("duration")
CALENDAR = T("calendar")
ANY = T("any")

#: Names usable in ``fact name: TYPE`` (``int`` and ``decimal`` are both ``number``).
BASE_TYPES: dict[str, T] = {
    "number": NUMBER,
    "decimal": NUMBER,
    "int": NUMBER,
    "money": MONEY,
    "string": STRING,
    "bool": BOOL,
    "date": DATE,
    "datetime": DATETIME,
    "duration": DURATION,
    "any": ANY,
}

_KIND_MAP = {
    "string": STRING,
    "int": NUMBER,
    "decimal": NUMBER,
    "bool": BOOL,
    "money": MONEY,
    "datetime": DATETIME,
    "date": DATE,
    "any": ANY,
}


def _spec_children(spec: Any) -> list[Any]:
    children = getattr(spec, "children", None) or ()
    if isinstance(children, Mapping):
        return list(children.values())
    return list(children)


def _from_spec(spec: Any, entity: str | None = None) -> T:
    """Convert an ``accord.canonical.introspect.FieldSpec`` tree into a :class:`T`."""
    kind = str(getattr(spec, "kind", "any"))
    if kind in _KIND_MAP:
        return _KIND_MAP[kind]
    if kind == "enum":
        values = tuple(str(v) for v in (getattr(spec, "enum_values", None) or ()))
        return T("string", enum=values)
    if kind == "list":
        item = getattr(spec, "item", None)
        return T.list_of(_from_spec(item) if item is not None else ANY)
    if kind == "dict":
        item = getattr(spec, "item", None)
        return T.map_of(_from_spec(item) if item is not None else ANY)
    if kind == "object":
        fields = {str(c.name): _from_spec(c) for c in _spec_children(spec)}
        return T.record(fields, entity=entity)
    return ANY


def entity_type(entity: str) -> T | None:
    """The record type of a canonical entity, or None when the entity is unknown.

    When the canonical model cannot be introspected at all (an incomplete installation), the
    entity is an open record whose fields are ``any``: nothing can be checked, but nothing is
    wrongly refused either.
    """
    try:
        from accord.canonical import introspect
    except ImportError:
        return T.record({}, entity=entity, open=True)
    try:
        spec = introspect.describe(entity)
    except (KeyError, ValueError, LookupError):
        return None
    except Exception:  # pragma: no cover - a broken model must not break rule checking
        return T.record({}, entity=entity, open=True)
    t = _from_spec(spec, entity)
    if t.kind != "record":
        return T.record({}, entity=entity, open=True)
    return t


def entity_names() -> list[str]:
    """Known canonical entity names (empty when the model cannot be introspected)."""
    try:
        from accord.canonical import ENTITIES
    except ImportError:
        return []
    if isinstance(ENTITIES, Mapping):
        return sorted(str(k) for k in ENTITIES)
    return sorted(str(e) for e in ENTITIES)
