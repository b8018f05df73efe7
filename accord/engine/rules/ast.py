"""The syntax tree of a rule file: plain frozen dataclasses, every node located.

The parser builds these from lark's tree; the checker reads them and the compiler turns them
into Python source. Nothing here evaluates anything.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, time
from decimal import Decimal

__all__ = [
    "Action",
    "Attr",
    "Bin",
    "Calendar",
    "Call",
    "Cell",
    "Comp",
    "Cond",
    "Expr",
    "Fact",
    "Index",
    "Let",
    "ListLit",
    "Lit",
    "Name",
    "Owns",
    "Pos",
    "Row",
    "Rule",
    "RuleFile",
    "Table",
    "Template",
    "TypeExpr",
    "UTest",
    "Unary",
]


@dataclass(frozen=True, slots=True)
class Pos:
    """A 1-based source span."""

    line: int
    column: int
    end_line: int
    end_column: int


NOWHERE = Pos(1, 1, 1, 1)


@dataclass(frozen=True, slots=True)
class Lit:
    """A literal. ``kind`` is number, money, string, bool, date, datetime or duration; money
    values are ``(Decimal, currency)``, durations ``timedelta``."""

    kind: str
    value: object
    pos: Pos
    text: str = ""


@dataclass(frozen=True, slots=True)
class Name:
    name: str
    pos: Pos


@dataclass(frozen=True, slots=True)
class Attr:
    obj: Expr
    name: str
    pos: Pos


@dataclass(frozen=True, slots=True)
class Index:
    obj: Expr
    key: Expr
    pos: Pos


@dataclass(frozen=True, slots=True)
class Unary:
    op: str  # "neg" | "not"
    operand: Expr
    pos: Pos


@dataclass(frozen=True, slots=True)
class Bin:
    """A binary operation: ``+ - * /``, comparisons, ``and``/``or``, ``in``/``not in``, ``??``."""

    op: str
    left: Expr
    right: Expr
    pos: Pos


@dataclass(frozen=True, slots=True)
class Call:
    name: str
    args: tuple[Expr, ...]
    pos: Pos


@dataclass(frozen=True, slots=True)
class Comp:
    """A collection operator with a bound variable: ``sum(lines as l: l.quantity)``.
    ``extra`` holds further key expressions (``sort(ws as w: w.cost, w.distance)``)."""

    name: str
    coll: Expr
    var: str
    body: Expr
    extra: tuple[Expr, ...]
    pos: Pos


@dataclass(frozen=True, slots=True)
class ListLit:
    items: tuple[Expr, ...]
    pos: Pos


@dataclass(frozen=True, slots=True)
class Cond:
    test: Expr
    then: Expr
    other: Expr
    pos: Pos


Expr = Lit | Name | Attr | Index | Unary | Bin | Call | Comp | ListLit | Cond


@dataclass(frozen=True, slots=True)
class Template:
    """A ``because`` string: literal text and ``{expression}`` parts."""

    parts: tuple[str | Expr, ...]
    text: str
    pos: Pos


@dataclass(frozen=True, slots=True)
class TypeExpr:
    """A declared type: ``name`` is a base type, ``list``, ``map`` or ``record``."""

    name: str
    pos: Pos
    item: TypeExpr | None = None
    fields: tuple[tuple[str, TypeExpr, bool], ...] = ()


@dataclass(frozen=True, slots=True)
class Fact:
    name: str
    type: TypeExpr
    optional: bool
    default: Expr | None
    pos: Pos


@dataclass(frozen=True, slots=True)
class Let:
    name: str
    expr: Expr
    pos: Pos


@dataclass(frozen=True, slots=True)
class Calendar:
    name: str
    weekdays: tuple[tuple[str, Pos], ...] | None
    holidays: tuple[date, ...]
    zone: tuple[str, Pos] | None
    cutoff: time | None
    pos: Pos


@dataclass(frozen=True, slots=True)
class Action:
    """One outcome. ``kind``: set, approve, reject, quarantine, unroutable, stop, escalate,
    route, tag, alert. ``field`` is the target of ``set``; ``queue`` of ``escalate``;
    ``split`` of ``route``; ``value`` the expression of set/route/tag/alert."""

    kind: str
    pos: Pos
    field: str | None = None
    value: Expr | None = None
    queue: str | None = None
    split: str | None = None


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    priority: Decimal
    when: Expr
    actions: tuple[Action, ...]
    reason: Template | None
    pos: Pos
    index: int = 0


@dataclass(frozen=True, slots=True)
class UTest:
    """One unary test of a table cell. ``kind``: cmp (``op`` + ``value``), range (``value`` ..
    ``high`` with closed ends), eq (``value``), not (``children``)."""

    kind: str
    pos: Pos
    op: str = "=="
    value: Expr | None = None
    high: Expr | None = None
    low_closed: bool = True
    high_closed: bool = True
    children: tuple[UTest, ...] = ()


@dataclass(frozen=True, slots=True)
class Cell:
    """A table input cell: ``tests is None`` means blank (matches anything)."""

    tests: tuple[UTest, ...] | None
    pos: Pos


@dataclass(frozen=True, slots=True)
class Row:
    cells: tuple[Cell, ...]
    outputs: tuple[Expr | None, ...]
    reason: Template | None
    pos: Pos
    number: int


@dataclass(frozen=True, slots=True)
class Table:
    name: str
    priority: Decimal
    hit: str
    hit_pos: Pos
    inputs: tuple[Expr, ...]
    outputs: tuple[tuple[str, Pos], ...]
    rows: tuple[Row, ...]
    pos: Pos
    index: int = 0


@dataclass(frozen=True, slots=True)
class Owns:
    system: str
    patterns: tuple[tuple[str, Pos], ...]
    when: Expr | None
    reason: Template | None
    pos: Pos


@dataclass(slots=True)
class RuleFile:
    """Everything one rule file declares, in file order."""

    filename: str
    source: str
    name: str | None = None
    name_pos: Pos | None = None
    version: str | None = None
    entity: str | None = None
    entity_pos: Pos | None = None
    inputs: list[tuple[str, str, Pos]] = field(default_factory=list)
    effective: tuple[date | None, date | None] | None = None
    effective_pos: Pos | None = None
    facts: list[Fact] = field(default_factory=list)
    lets: list[Let] = field(default_factory=list)
    calendars: list[Calendar] = field(default_factory=list)
    rules: list[Rule] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    owns: list[Owns] = field(default_factory=list)
    consumers: list[tuple[str, Pos]] = field(default_factory=list)
    duplicates: list[tuple[str, str, Pos]] = field(default_factory=list)
