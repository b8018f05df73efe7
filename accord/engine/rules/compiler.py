"""Check a parsed rule file and compile it to one Python function.

One walk over the syntax tree does both jobs: every expression is typed against the canonical
model and the declared facts (problems are collected as ``RULE1xx`` Diagnostics, never stopping
at the first), and the same walk emits Python source. Only when no error was found is the source
compiled with ``compile()``; it runs against the helpers of :mod:`~accord.engine.rules.runtime`
and nothing else (no builtins, no attribute access, names mangled, strings via ``repr``).
"""

from __future__ import annotations

import difflib
import itertools
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, cast

from accord.diagnostics import Diagnostic, Severity
from accord.engine.rules import ast as A
from accord.engine.rules.builtins import BUILTINS
from accord.engine.rules.calendars import WEEKDAYS, BusinessCalendar, zone_exists
from accord.engine.rules.types import (
    ANY,
    BASE_TYPES,
    BOOL,
    CALENDAR,
    DATE,
    DATETIME,
    DURATION,
    NUMBER,
    STRING,
    T,
    entity_names,
    entity_type,
)

__all__ = ["Compiled", "compile_rule_file"]

HIT_POLICIES = ("first", "unique", "priority", "collect")
COMPREHENSIONS = ("any", "all", "count", "sum", "min", "max", "filter", "sort", "collect")
ORDERED = {"number", "money", "string", "date", "datetime", "duration"}


@dataclass(slots=True)
class Binding:
    kind: str  # field | fact | let | var | input | entity | now | calendar | cell
    type: T
    src: str
    root: tuple[str, ...] | None = None  # for trace: ("rec", key...) / ("fact", key)


@dataclass(slots=True)
class UnitInfo:
    """What the trace needs about one rule or table, in evaluation order."""

    kind: str  # rule | table
    name: str
    index: int
    line: int
    reads: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)
    lets: list[str] = field(default_factory=list)
    hit: str | None = None
    rows: int = 0


@dataclass(slots=True)
class Compiled:
    source: str
    namespace: dict[str, Any]
    units: list[UnitInfo]
    facts: dict[str, tuple[T, bool, bool]]  # name -> (type, optional, has default)
    fact_defaults: dict[str, str]
    let_names: list[str]
    calendars: dict[str, BusinessCalendar]
    entity_type: T | None
    owns: list[tuple[A.Owns, str | None]] = field(default_factory=list)
    #: ``prepare(facts)``: checks and converts host facts; ``C<i>`` are the slow converters
    #: of the facts in declaration order and ``absent(name)`` reports a missing one.
    prepare_source: str = ""
    #: The unit (rule/table index, or -2 - i for let i, -1 for the preamble) of each line of
    #: ``source``, so a failure is attributed from its traceback.
    line_units: list[int] = field(default_factory=list)


class _Fail(Exception):
    pass


def _suggest(name: str, options: list[str]) -> str | None:
    close = difflib.get_close_matches(name, options, n=1, cutoff=0.6)
    return close[0] if close else None


def _is_path(e: A.Expr) -> bool:
    if isinstance(e, A.Name):
        return True
    if isinstance(e, A.Attr | A.Index):
        return _is_path(e.obj)
    return False


class Compiler:
    def __init__(self, rf: A.RuleFile) -> None:
        self.rf = rf
        self.diags: list[Diagnostic] = []
        self.consts: dict[str, Any] = {}
        self._const_ids: dict[tuple[str, str], str] = {}
        self.counter = itertools.count()
        self.units: list[UnitInfo] = []
        self.unit_name = ""  # the rule or table whose actions are being compiled
        self.reads: list[tuple[str, tuple[str, ...]]] | None = None
        self.let_reads: list[str] | None = None
        self.calendars: dict[str, BusinessCalendar] = {}
        self.scope: dict[str, Binding] = {}
        self.entity_t: T | None = None
        self.hoist: dict[str, str] | None = None
        self.optional_facts = {f.name for f in rf.facts if f.optional}
        self.set_sites: dict[str, int] = {}

    # -- diagnostics ------------------------------------------------------------------------
    def err(
        self,
        code: str,
        message: str,
        pos: A.Pos,
        hint: str | None = None,
        severity: Severity = Severity.ERROR,
    ) -> None:
        self.diags.append(
            Diagnostic(
                code=code,
                message=message,
                severity=severity,
                file=self.rf.filename,
                line=pos.line,
                column=pos.column,
                end_line=pos.end_line,
                end_column=pos.end_column,
                hint=hint,
            )
        )

    def const(self, value: Any) -> str:
        """The name of a compile-time constant in the generated code's namespace."""
        key = (type(value).__name__, repr(value))
        if key in self._const_ids:
            return self._const_ids[key]
        name = f"K{len(self.consts)}"
        self.consts[name] = value
        self._const_ids[key] = name
        return name

    # -- declarations -----------------------------------------------------------------------
    def decl_type(self, t: A.TypeExpr) -> T:
        if t.name == "list" and t.item is not None:
            return T.list_of(self.decl_type(t.item))
        if t.name == "map" and t.item is not None:
            return T.map_of(self.decl_type(t.item))
        if t.name == "record":
            return T.record({n: self.decl_type(sub) for n, sub, _ in t.fields})
        if t.name in BASE_TYPES:
            return BASE_TYPES[t.name]
        et = entity_type(t.name)
        if et is not None and t.name in entity_names():
            return et
        options = [*BASE_TYPES, *entity_names()]
        guess = _suggest(t.name, options)
        self.err(
            "RULE101",
            f"unknown type {t.name!r}" + (f"; did you mean {guess!r}?" if guess else ""),
            t.pos,
            hint="types: " + ", ".join(BASE_TYPES) + ", list of T, map of T, {field: T}",
        )
        return ANY

    def declare(self, name: str, binding: Binding, pos: A.Pos, what: str) -> None:
        # A fact may shadow a record field of the same name (the host's value wins); the field
        # stays reachable through the entity name, e.g. ``refund.captured``.
        shadowable = ("now", "field") if binding.kind == "fact" else ("now",)
        if name in self.scope and self.scope[name].kind not in shadowable:
            self.err("RULE123", f"{what} {name!r} is declared twice (or shadows a field)", pos)
            return
        self.scope[name] = binding

    def setup(self) -> None:
        rf = self.rf
        if rf.entity is not None and rf.entity_pos is not None:
            et = entity_type(rf.entity)
            if et is None:
                guess = _suggest(rf.entity, entity_names())
                self.err(
                    "RULE125",
                    f"unknown canonical entity {rf.entity!r}"
                    + (f"; did you mean {guess!r}?" if guess else ""),
                    rf.entity_pos,
                )
                et = T.record({}, entity=rf.entity, open=True)
            self.entity_t = et
            for fname, ftype in et.fields:
                self.scope[fname] = Binding("field", ftype, f"rec[{fname!r}]", ("rec", fname))
            self.scope[rf.entity] = Binding("entity", et, "rec", ("rec",))
        for name, ent, pos in rf.inputs:
            et = entity_type(ent)
            if et is None:
                self.err("RULE125", f"unknown canonical entity {ent!r}", pos)
                et = T.record({}, entity=ent, open=True)
            self.declare(name, Binding("input", et, f"rec[{name!r}]", ("rec", name)), pos, "input")
        self.scope.setdefault("now", Binding("now", DATETIME, "now"))
        self.scope.setdefault("today", Binding("now", DATE, "date_of(now)"))
        if rf.effective is not None and rf.effective_pos is not None:
            start, end = rf.effective
            if start is not None and end is not None and end < start:
                self.err("RULE127", "the effective range ends before it starts", rf.effective_pos)
        for dup_kind, dup_name, dup_pos in rf.duplicates:
            self.err("RULE123", f"{dup_kind} {dup_name!r} is declared twice", dup_pos)
        for cal in rf.calendars:
            self.calendar(cal)
        for fact in rf.facts:
            ft = self.decl_type(fact.type)
            self.declare(
                fact.name,
                Binding("fact", ft, f"f[{fact.name!r}]", ("fact", fact.name)),
                fact.pos,
                "fact",
            )

    def calendar(self, cal: A.Calendar) -> None:
        weekdays: list[int] = [0, 1, 2, 3, 4]
        ok = True
        if cal.weekdays is not None:
            weekdays = []
            for wd, pos in cal.weekdays:
                if wd.lower()[:3] not in WEEKDAYS:
                    guess = _suggest(wd.lower(), list(WEEKDAYS))
                    self.err(
                        "RULE150",
                        f"unknown weekday {wd!r}" + (f"; did you mean {guess!r}?" if guess else ""),
                        pos,
                    )
                    ok = False
                else:
                    weekdays.append(WEEKDAYS[wd.lower()[:3]])
        zone = "UTC"
        if cal.zone is not None:
            zone = cal.zone[0]
            if not zone_exists(zone):
                self.err("RULE150", f"unknown time zone {zone!r}", cal.zone[1])
                ok = False
        if ok and not weekdays:
            self.err("RULE150", f"calendar {cal.name!r} has no working weekday", cal.pos)
            ok = False
        if ok:
            self.calendars[cal.name] = BusinessCalendar(
                cal.name, weekdays=weekdays, holidays=cal.holidays, zone=zone, cutoff=cal.cutoff
            )
        src = f"CAL{len(self.calendars)}_{len(self.consts)}"
        self.consts[src] = self.calendars.get(cal.name)
        self.declare(cal.name, Binding("calendar", CALENDAR, src), cal.pos, "calendar")

    # -- expressions ---------------------------------------------------------------------
    def note_read(self, b: Binding, keys: tuple[str, ...]) -> None:
        if self.reads is None or b.root is None:
            return
        path = b.root + keys
        label = ".".join(path[1:]) if path[0] in ("rec", "fact") else ".".join(path)
        if b.kind == "entity" and self.rf.entity:
            label = ".".join(keys) or self.rf.entity
        entry = (label, path)
        if entry not in self.reads and len(path) > 1:
            self.reads.append(entry)

    def path_keys(self, e: A.Expr) -> tuple[Binding, tuple[str, ...]] | None:
        """The binding and constant keys of a plain path (``a.b.c``), else None."""
        keys: list[str] = []
        node = e
        while isinstance(node, A.Attr):
            keys.append(node.name)
            node = node.obj
        if isinstance(node, A.Name) and node.name in self.scope:
            return self.scope[node.name], tuple(reversed(keys))
        return None

    def strict(self, e: A.Expr, src: str) -> str:
        """Wrap a direct read so that null fails loudly instead of comparing as unequal."""
        if isinstance(e, A.Name):
            b = self.scope.get(e.name)
            # Facts are never null (absent ones are defaulted or refused before evaluation);
            # lets are checked when they are computed.
            if b is None or b.kind in ("let", "now", "calendar", "cell", "var"):
                return src
            if b.kind == "fact" and e.name not in self.optional_facts:
                return src
        if _is_path(e):
            if _simple(src):
                return f"({src} if {src} is not None else miss())"  # no call when present
            return f"nn({src})"
        return src

    def expr(self, e: A.Expr) -> tuple[str, T]:
        try:
            return self._expr(e)
        except _Fail:
            return "None", ANY

    def _expr(self, e: A.Expr) -> tuple[str, T]:
        if isinstance(e, A.Lit):
            return self.literal(e)
        if isinstance(e, A.Name):
            return self.name(e)
        if isinstance(e, A.Attr):
            return self.attr(e)
        if isinstance(e, A.Index):
            osrc, ot = self.expr(e.obj)
            ksrc, kt = self.expr(e.key)
            if ot.kind == "list":
                if kt.kind not in ("number", "any"):
                    self.err("RULE114", f"a list index must be a number, not {kt}", e.key.pos)
                return f"idx({osrc}, {ksrc})", ot.item or ANY
            if ot.kind == "map":
                return f"idx({osrc}, {ksrc})", ot.item or ANY
            if ot.kind in ("any", "record"):
                return f"idx({osrc}, {ksrc})", ANY
            self.err("RULE114", f"cannot index a {ot}", e.pos)
            raise _Fail
        if isinstance(e, A.Unary):
            src, t = self.expr(e.operand)
            if e.op == "not":
                return f"(not {self.cond_src(e.operand, src, t)})", BOOL
            if t.kind == "number":
                return f"(-{src})", NUMBER
            if t.kind == "money":
                return f"mneg({src})", t
            if t.kind == "duration":
                return f"(-{src})", DURATION
            if t.kind == "any":
                return f"gneg({src})", ANY
            self.err("RULE110", f"cannot negate a {t}", e.pos)
            raise _Fail
        if isinstance(e, A.Bin):
            return self.binary(e)
        if isinstance(e, A.Call):
            return self.call(e)
        if isinstance(e, A.Comp):
            return self.comprehension(e)
        if isinstance(e, A.ListLit):
            items = [self.expr(i) for i in e.items]
            item_t = self.unify([t for _, t in items], e.pos, "list items")
            if all(isinstance(i, A.Lit) for i in e.items):
                # Literal lists are shared constants, so they are tuples (immutable).
                value = tuple(_lit_value(i) for i in e.items if isinstance(i, A.Lit))
                return self.const(value), T.list_of(item_t)
            return "[" + ", ".join(s for s, _ in items) + "]", T.list_of(item_t)
        if isinstance(e, A.Cond):
            tsrc, tt = self.expr(e.test)
            a, at = self.expr(e.then)
            b, bt = self.expr(e.other)
            rt = self.unify([at, bt], e.pos, "'if' branches")
            return f"({a} if {self.cond_src(e.test, tsrc, tt)} else {b})", rt
        raise AssertionError(type(e))  # pragma: no cover

    def literal(self, e: A.Lit) -> tuple[str, T]:
        if e.kind == "number":
            return self.const(e.value), NUMBER
        if e.kind == "money":
            amount, currency = cast("tuple[Decimal, str]", e.value)
            from accord.canonical.currencies import is_currency

            if not is_currency(currency):
                self.err("RULE115", f"unknown currency {currency!r}", e.pos)
            return self.const({"amount": amount, "currency": currency}), T(
                "money", currency=currency
            )
        if e.kind == "string":
            return repr(e.value), STRING
        if e.kind == "bool":
            return ("True" if e.value else "False"), BOOL
        if e.kind == "date":
            return self.const(e.value), DATE
        if e.kind == "datetime":
            return self.const(e.value), DATETIME
        if e.kind == "duration":
            return self.const(e.value), DURATION
        raise AssertionError(e.kind)  # pragma: no cover

    def name(self, e: A.Name) -> tuple[str, T]:
        b = self.scope.get(e.name)
        if b is None:
            options = [n for n in self.scope if not n.startswith("%")]
            guess = _suggest(e.name, options)
            self.err(
                "RULE101",
                f"unknown name {e.name!r}" + (f"; did you mean {guess!r}?" if guess else ""),
                e.pos,
                hint=None if guess else "declare it with 'fact NAME: TYPE' or 'let NAME = ...'",
            )
            raise _Fail
        if b.kind == "let" and self.let_reads is not None and e.name not in self.let_reads:
            self.let_reads.append(e.name)
        if b.kind in ("field", "fact", "input"):
            self.note_read(b, ())
            if self.hoist is not None:
                # Read each top-level field or fact once per evaluation, with .get(): a
                # missing one is None and fails where it is used, exactly as before.
                return self.hoist.setdefault(b.src, f"h{len(self.hoist)}"), b.type
        return b.src, b.type

    def attr(self, e: A.Attr) -> tuple[str, T]:
        osrc, ot = self.expr(e.obj)
        pk = self.path_keys(e)
        if pk is not None and pk[0].kind in ("field", "fact", "input", "entity"):
            self.note_read(pk[0], pk[1])
        if ot.kind == "record":
            ft = ot.field(e.name)
            if ft is None:
                if ot.open:
                    return f"{osrc}[{e.name!r}]", ANY
                guess = _suggest(e.name, ot.field_names)
                what = f"{ot.entity} " if ot.entity else ""
                self.err(
                    "RULE102",
                    f"{what}record has no field {e.name!r}"
                    + (f"; did you mean {guess!r}?" if guess else ""),
                    e.pos,
                    hint=None if guess else "fields: " + ", ".join(ot.field_names[:12]),
                )
                raise _Fail
            return f"{osrc}[{e.name!r}]", ft
        if ot.kind == "money":
            if e.name == "amount":
                return f"{osrc}['amount']", NUMBER
            if e.name == "currency":
                return f"{osrc}['currency']", STRING
            self.err("RULE102", f"money has only 'amount' and 'currency', not {e.name!r}", e.pos)
            raise _Fail
        if ot.kind == "map":
            return f"idx({osrc}, {e.name!r})", ot.item or ANY
        if ot.kind == "any":
            return f"{osrc}[{e.name!r}]", ANY
        self.err("RULE102", f"a {ot} has no field {e.name!r}", e.pos)
        raise _Fail

    def unify(self, types: list[T], pos: A.Pos, what: str) -> T:
        known = [t for t in types if t.kind != "any"]
        if not known:
            return ANY
        first = known[0].plain()
        for t in known[1:]:
            if t.kind != first.kind:
                self.err("RULE110", f"{what} mix {first} and {t}", pos)
                return ANY
            if (
                t.kind == "money"
                and known[0].currency
                and t.currency
                and known[0].currency != t.currency
            ):
                self.err(
                    "RULE112",
                    f"{what} mix money in {known[0].currency} and {t.currency}",
                    pos,
                )
        return known[0] if all(t == known[0] for t in known) else first

    def cond_src(self, e: A.Expr, src: str, t: T) -> str:
        if t.kind == "bool":
            return self.strict(e, src)
        if t.kind == "any":
            return f"truth({src})"
        self.err("RULE113", f"a condition must be true or false, but this is a {t}", e.pos)
        return "False"

    def binary(self, e: A.Bin) -> tuple[str, T]:
        op = e.op
        if op in ("and", "or"):
            a, at = self.expr(e.left)
            b, bt = self.expr(e.right)
            return (
                f"({self.cond_src(e.left, a, at)} {op} {self.cond_src(e.right, b, bt)})",
                BOOL,
            )
        if op == "??":
            b, bt = self.expr(e.right)
            a, at, sentinel = self.guarded(e.left)
            rt = self.unify([at, bt], e.pos, "the two sides of '??'")
            if a.startswith("attempt(lambda: "):
                return f"otherwise(lambda: {a[len('attempt(lambda: ') : -1]}, lambda: {b})", rt
            # A guarded path is cheap and pure, so reading it twice beats a temporary (an
            # assignment expression is not allowed inside a comprehension's iterable).
            return f"({b} if {a} is {sentinel} else {a})", rt
        a, at = self.expr(e.left)
        b, bt = self.expr(e.right)
        if op in ("in", "not in"):
            return self.membership(e, a, at, b, bt)
        if op in ("==", "!=", "<", "<=", ">", ">="):
            return self.compare(e, op, a, at, b, bt)
        return self.arith(e, op, a, at, b, bt)

    def guarded(self, e: A.Expr) -> tuple[str, T, str]:
        """Source that yields a sentinel instead of failing when the value is absent, and the
        sentinel (``None`` for hoisted reads and bound variables, else ``MISSING``)."""
        if isinstance(e, A.Name):
            src, t = self.expr(e)
            b = self.scope.get(e.name)
            if b is not None and b.kind in ("field", "fact", "input"):
                if self.hoist is not None:
                    return src, t, "None"  # a hoisted .get(): None when absent or null
                if b.kind == "fact":
                    return f"f.get({e.name!r}, MISSING)", t, "MISSING"
                return f"sg(rec, {e.name!r})", t, "MISSING"
            return src, t, "None"
        if isinstance(e, A.Attr) and _is_path(e):
            osrc, _, osent = self.guarded(e.obj)
            _, t = self.expr(e)
            _, ot = self.expr(e.obj)
            if osent == "None" and _simple(osrc) and ot.kind == "record" and not ot.open:
                # A record (a dict, or null): read it inline instead of calling sg().
                return f"(None if {osrc} is None else {osrc}.get({e.name!r}))", t, "None"
            return f"sg({osrc}, {e.name!r})", t, "MISSING"
        if isinstance(e, A.Index) and _is_path(e):
            osrc, _, _ = self.guarded(e.obj)
            ksrc, _ = self.expr(e.key)
            _, t = self.expr(e)
            return f"sg({osrc}, {ksrc})", t, "MISSING"
        src, t = self.expr(e)
        return f"attempt(lambda: {src})", t, "MISSING"

    def membership(self, e: A.Bin, a: str, at: T, b: str, bt: T) -> tuple[str, T]:
        neg = "not " if e.op == "not in" else ""
        a = self.strict(e.left, a)
        if bt.kind == "list":
            item = bt.item or ANY
            if item.kind != "any" and at.kind != "any" and item.kind != at.kind:
                self.err("RULE111", f"'in' looks for a {at} in a list of {item}", e.pos)
            if at.kind == "string" and at.enum and isinstance(e.right, A.ListLit):
                for it in e.right.items:
                    self.check_enum(at, it)
            if isinstance(e.right, A.ListLit) and all(
                isinstance(i, A.Lit) and i.kind in ("string", "number", "date")
                for i in e.right.items
            ):
                consts = frozenset(_lit_value(i) for i in e.right.items if isinstance(i, A.Lit))
                return f"({neg}{a} in {self.const(consts)})", BOOL
            if at.kind in ("money", "any"):
                return f"({neg}member({a}, {b}))", BOOL
            return f"({a} {neg}in {b})", BOOL
        if bt.kind == "map":
            if at.kind not in ("string", "any"):
                self.err("RULE111", f"map keys are strings, not {at}", e.pos)
            return f"({a} {neg}in {b})", BOOL
        if bt.kind == "string":
            if at.kind not in ("string", "any"):
                self.err("RULE111", f"'in' on a string needs a string, not {at}", e.pos)
            return f"({a} {neg}in {b})", BOOL
        if bt.kind == "any":
            return f"({neg}member({a}, {b}))", BOOL
        self.err("RULE111", f"'in' needs a list, map or string on its right, not {bt}", e.pos)
        return "False", BOOL

    def check_enum(self, t: T, e: A.Expr) -> None:
        if t.enum and isinstance(e, A.Lit) and e.kind == "string" and e.value not in t.enum:
            guess = _suggest(str(e.value), list(t.enum))
            self.err(
                "RULE126",
                f"{e.value!r} is not one of the allowed values"
                + (f"; did you mean {guess!r}?" if guess else ""),
                e.pos,
                hint="allowed: " + ", ".join(t.enum),
            )

    def compare(self, e: A.Bin, op: str, a: str, at: T, b: str, bt: T) -> tuple[str, T]:
        if at.kind == "any" or bt.kind == "any":
            if op == "==":
                return f"geq({a}, {b})", BOOL
            if op == "!=":
                return f"(not geq({a}, {b}))", BOOL
            return f"(gcmp({a}, {b}) {op} 0)", BOOL
        if at.kind != bt.kind:
            pair = {at.kind, bt.kind}
            if pair == {"money", "number"}:
                msg = f"money is compared with a bare number; write the currency: '{_lit_text(e)}'"
            else:
                msg = f"cannot compare a {at} with a {bt}"
            self.err("RULE111", msg, e.pos)
            return "False", BOOL
        if at.kind == "money" and at.currency and bt.currency and at.currency != bt.currency:
            self.err(
                "RULE112", f"compares money in {at.currency} with money in {bt.currency}", e.pos
            )
        if at.kind == "string":
            self.check_enum(at, e.right)
            self.check_enum(bt, e.left)
        if op not in ("==", "!=") and at.kind not in ORDERED:
            self.err("RULE111", f"a {at} has no order; only == and != apply", e.pos)
            return "False", BOOL
        if at.kind == "money":
            if op in ("==", "!=") and _simple(a) and _simple(b):
                same = f"({a}['currency'] == {b}['currency'] and {a}['amount'] == {b}['amount'])"
                return (same if op == "==" else f"(not {same})"), BOOL
            if op == "==":
                return f"meq({a}, {b})", BOOL
            if op == "!=":
                return f"(not meq({a}, {b}))", BOOL
            if _simple(a) and _simple(b):
                # Inline the currency check and the comparison: no call on the hot path.
                return (
                    f"({a}['amount'] {op} {b}['amount'] if {a}['currency'] == {b}['currency'] "
                    f"else mix({a}, {b}))",
                    BOOL,
                )
            return f"(mcmp({a}, {b}) {op} 0)", BOOL
        if op in ("==", "!="):
            return f"({self.strict(e.left, a)} {op} {self.strict(e.right, b)})", BOOL
        return f"({a} {op} {b})", BOOL

    def arith(self, e: A.Bin, op: str, a: str, at: T, b: str, bt: T) -> tuple[str, T]:
        ka, kb = at.kind, bt.kind
        generic = {"+": "gadd", "-": "gsub", "*": "gmul", "/": "gdiv"}[op]
        if ka == "any" or kb == "any":
            return f"{generic}({a}, {b})", ANY
        if ka == kb == "number":
            return f"({a} {op} {b})", NUMBER
        if ka == kb == "money":
            if at.currency and bt.currency and at.currency != bt.currency:
                self.err("RULE112", f"mixes money in {at.currency} and {bt.currency}", e.pos)
            if op == "+":
                return f"madd({a}, {b})", at.plain() if at.currency != bt.currency else at
            if op == "-":
                return f"msub({a}, {b})", at.plain() if at.currency != bt.currency else at
            if op == "/":
                return f"mratio({a}, {b})", NUMBER
            self.err("RULE110", "money times money has no meaning", e.pos)
            raise _Fail
        if {ka, kb} == {"money", "number"}:
            if op == "*":
                return (f"mmul({a}, {b})", at) if ka == "money" else (f"mmul({b}, {a})", bt)
            if op == "/" and ka == "money":
                return f"mdiv({a}, {b})", at
            verb = {"+": "add", "-": "subtract", "/": "divide"}[op]
            self.err(
                "RULE110",
                f"cannot {verb} money and a bare number; give the number a currency (e.g. '5 USD')",
                e.pos,
            )
            raise _Fail
        if ka == kb == "string" and op == "+":
            return f"({a} + {b})", STRING
        if ka in ("datetime", "date") and kb == "duration" and op in ("+", "-"):
            return f"({a} {op} {b})", at
        if ka == "duration" and kb in ("datetime", "date") and op == "+":
            return f"({a} + {b})", bt
        if ka == kb and ka in ("datetime", "date") and op == "-":
            return f"({a} - {b})", DURATION
        if ka == kb == "duration" and op in ("+", "-"):
            return f"({a} {op} {b})", DURATION
        if ka == "duration" and kb == "number" and op in ("*", "/"):
            return f"({a} {op} int({b}))", DURATION
        self.err("RULE110", f"cannot apply '{op}' to a {at} and a {bt}", e.pos)
        raise _Fail

    # -- calls ------------------------------------------------------------------------------
    def call(self, e: A.Call) -> tuple[str, T]:
        name, args = e.name, e.args
        if name == "exists":
            self.arity(e, 1, 1)
            if not _is_path(args[0]):
                self.err("RULE114", "exists(...) takes a field path such as customer.email", e.pos)
                raise _Fail
            src, _, sentinel = self.guarded(args[0])
            return f"({src} is not {sentinel})", BOOL
        if name not in BUILTINS:
            if name in COMPREHENSIONS and name not in BUILTINS:
                self.err(
                    "RULE104",
                    f"{name}(...) needs a bound variable: {name}(lines as line: ...)",
                    e.pos,
                )
                raise _Fail
            guess = _suggest(name, [*BUILTINS, *COMPREHENSIONS, "exists"])
            self.err(
                "RULE103",
                f"unknown function {name!r}" + (f"; did you mean {guess!r}?" if guess else ""),
                e.pos,
            )
            raise _Fail
        spec = BUILTINS[name]
        self.arity(e, spec.min_args, spec.max_args)
        compiled = [self.expr(a) for a in args]
        srcs = [s for s, _ in compiled]
        types = [t for _, t in compiled]
        result = spec.check(self, e, types)
        if name == "round" and len(args) == 3:
            mode = args[2]
            from accord.engine.rules.runtime import ROUNDING_MODES

            if not (
                isinstance(mode, A.Lit) and mode.kind == "string" and mode.value in ROUNDING_MODES
            ):
                self.err(
                    "RULE114",
                    "round's third argument is one of "
                    + ", ".join(f'"{m}"' for m in ROUNDING_MODES),
                    mode.pos,
                )
        srcs = [self.strict(a, s) for a, s in zip(args, srcs, strict=True)]
        py = spec.py
        if name in ("min", "max") and len(args) > 1 and all(t.kind == "number" for t in types):
            py = f"b{name}"  # plain numbers: Python's own min/max, no currency bookkeeping
        elif name in ("floor", "ceil") and types[0].kind == "number":
            py = f"{name}_n"
        elif name == "sum" and result.kind == "money":
            py = "msum"  # an empty list of money has no currency: missing, not 0
        return f"{py}({', '.join(srcs)})", result

    def arity(self, e: A.Call, lo: int, hi: int | None) -> None:
        n = len(e.args)
        if n < lo or (hi is not None and n > hi):
            want = (
                f"{lo}" if lo == hi else (f"{lo} to {hi}" if hi is not None else f"at least {lo}")
            )
            self.err("RULE104", f"{e.name}(...) takes {want} argument(s), got {n}", e.pos)
            raise _Fail

    def comprehension(self, e: A.Comp) -> tuple[str, T]:
        if e.name not in COMPREHENSIONS:
            guess = _suggest(e.name, list(COMPREHENSIONS))
            self.err(
                "RULE103",
                f"{e.name!r} takes no bound variable"
                + (f"; did you mean {guess!r}?" if guess else ""),
                e.pos,
            )
            raise _Fail
        csrc, ct = self.expr(e.coll)
        if ct.kind not in ("list", "any"):
            self.err("RULE114", f"{e.name}(...) works over a list, not a {ct}", e.coll.pos)
            raise _Fail
        item_t = ct.item if ct.kind == "list" and ct.item is not None else ANY
        var = f"b{next(self.counter)}"
        saved = self.scope.get(e.var)
        self.scope[e.var] = Binding("var", item_t, var)
        try:
            body, bt = self.expr(e.body)
            extras = [self.expr(x) for x in e.extra]
        finally:
            if saved is None:
                del self.scope[e.var]
            else:
                self.scope[e.var] = saved
        if e.extra and e.name != "sort":
            self.err("RULE104", "only sort(...) takes several keys", e.extra[0].pos)
        name = e.name
        loop = f"for {var} in {csrc}"
        if name in ("any", "all", "count", "filter"):
            cond = self.cond_src(e.body, body, bt)
            if name == "any":
                return f"any({cond} {loop})", BOOL
            if name == "all":
                return f"all({cond} {loop})", BOOL
            if name == "count":
                return f"D(len([1 {loop} if {cond}]))", NUMBER
            return f"[{var} {loop} if {cond}]", ct
        if name in ("sum", "min", "max"):
            if bt.kind not in ("number", "money", "any") and not (
                name != "sum" and bt.kind in ORDERED
            ):
                self.err("RULE114", f"{name}(...) needs numbers or money, not {bt}", e.body.pos)
            if name == "sum":
                fn = "msum" if bt.kind == "money" else "sum_"
                return f"{fn}([{body} {loop}])", bt if bt.kind != "any" else ANY
            return f"{name}_([{body} {loop}])", bt
        if name == "collect":
            return f"[{body} {loop}]", T.list_of(bt)
        key_nodes = [e.body, *e.extra]
        for node, kt in zip(key_nodes, [bt, *(t for _, t in extras)], strict=True):
            if kt.kind not in ORDERED and kt.kind != "any":
                self.err("RULE114", f"sort(...) needs keys with an order, not a {kt}", node.pos)
        keys = [body, *(s for s, _ in extras)]
        return f"sort({csrc}, lambda {var}: ({', '.join(keys)},))", ct

    # -- rules ------------------------------------------------------------------------------
    def template(self, tpl: A.Template) -> str:
        """Python source rendering a ``because`` reason: an f-string when every part allows
        it (the fastest form), else a concatenation."""
        concat: list[str] = []
        fparts: list[str] = []
        for p in tpl.parts:
            if isinstance(p, str):
                concat.append(repr(p))
                fparts.append(
                    p.replace("\\", "\\\\")
                    .replace('"', '\\"')
                    .replace("\n", "\\n")
                    .replace("{", "{{")
                    .replace("}", "}}")
                )
                continue
            src, t = self.expr(p)
            # Rendering is specialised by static type: no dispatch at run time. Values read
            # from records are read strictly, so a null never renders as text.
            if t.kind == "string":
                strict = self.strict(p, src)
                concat.append(src)  # concatenating a null fails by itself
                fparts.append(f"{{{strict}}}")
            elif t.kind == "money":
                concat.append(f"fmt_money({src})")
                if _simple(src):
                    fparts.append(f"{{{src}['amount']}} {{{src}['currency']}}")
                else:
                    fparts.append(f"{{fmt_money({src})}}")
            elif t.kind == "number":
                strict = self.strict(p, src)
                concat.append(f"str({strict})")
                fparts.append(f"{{{strict}}}")
            else:
                strict = self.strict(p, src)
                concat.append(f"fmt({strict})")
                fparts.append(f"{{fmt({strict})}}")
        if not concat:
            return "''"
        if all(isinstance(p, str) for p in tpl.parts):
            return repr("".join(p for p in tpl.parts if isinstance(p, str)))
        exprs = [p for p in fparts if p.startswith("{") and not p.startswith("{{")]
        if all('"' not in e and "\\" not in e for e in exprs):
            return 'f"' + "".join(fparts) + '"'
        return " + ".join(concat)

    def action(self, act: A.Action, out: list[str], indent: str, unit: str, row: int) -> None:
        args: dict[str, str] = {}
        if act.kind == "set":
            assert act.field is not None
            assert act.value is not None
            src, vt = self.expr(act.value)
            src = self.strict(act.value, src)
            self.check_set_target(act.field, vt, act.pos)
            name = repr(act.field)
            # Inline bookkeeping; setf only runs when a field is set a second time, to report
            # a conflict (or accept the same value).
            out.append(f"{indent}v = {src}")
            if self.set_sites.get(act.field, 0) > 1:
                out.append(f"{indent}if {name} in fs:")
                out.append(f"{indent}    setf(fs, {name}, v)")
                out.append(f"{indent}else:")
                out.append(f"{indent}    fs[{name}] = v")
            else:  # the only place that sets this field: no conflict is possible
                out.append(f"{indent}fs[{name}] = v")
            args = {"field": name, "value": "v"}
        elif act.kind == "escalate":
            args = {"queue": repr(act.queue)}
        elif act.kind == "route":
            assert act.value is not None
            src, t = self.expr(act.value)
            ids = t.kind in ("string", "any") or (
                t.kind == "list" and t.item is not None and t.item.kind in ("string", "any")
            )
            if not ids:
                self.err(
                    "RULE114",
                    f"route to a location id or a list of ids, not a {t}",
                    act.value.pos,
                )
            if act.split is not None and act.split not in ("fill_or_kill", "fill_all_available"):
                self.err(
                    "RULE116",
                    f"unknown split policy {act.split!r}; use fill_or_kill or fill_all_available",
                    act.pos,
                )
            args = {"to": self.strict(act.value, src), "split": repr(act.split or "fill_or_kill")}
        elif act.kind in ("tag", "alert"):
            assert act.value is not None
            src, t = self.expr(act.value)
            src = self.strict(act.value, src)
            args = {"value": src if t.kind == "string" else f"fmt({src})"}
        if act.kind == "stop":
            return
        body = ", ".join(f"{k!r}: {v}" for k, v in args.items())
        name = self.unit_name
        out.append(f"{indent}o.append(TN(OC, ({act.kind!r}, {{{body}}}, {name!r}, r, {row})))")

    def check_set_target(self, field_path: str, value_t: T, pos: A.Pos) -> None:
        """A ``set`` of a field the record has must give it a value of the field's type."""
        cur = self.entity_t
        for part in field_path.split("."):
            if cur is None or cur.kind != "record" or cur.open:
                return
            nxt = cur.field(part)
            if nxt is None:
                return  # a computed output, not a record field
            cur = nxt
        if cur is None or "any" in (cur.kind, value_t.kind) or cur.kind == value_t.kind:
            return
        self.err(
            "RULE114",
            f"'{field_path}' is a {cur.plain()} field of {self.entity_t}, not a {value_t.plain()}",
            pos,
        )

    def rule(self, rule: A.Rule, out: list[str]) -> None:
        info = UnitInfo("rule", rule.name, rule.index, rule.pos.line)
        self.unit_name = rule.name
        self.reads, self.let_reads = info.reads, info.lets
        cond_src, ct = self.expr(rule.when)
        cond = self.cond_src(rule.when, cond_src, ct)
        n = len(self.units)
        out.append(f"    u = {n}")
        out.append(f"    if {cond}:")
        reason = self.template(rule.reason) if rule.reason is not None else "''"
        out.append(f"        r = {reason}")
        fields_here: dict[str, A.Pos] = {}
        for act in rule.actions:
            if act.kind == "set" and act.field is not None:
                if act.field in fields_here:
                    self.err(
                        "RULE121",
                        f"rule {rule.name!r} sets {act.field!r} twice",
                        act.pos,
                    )
                fields_here[act.field] = act.pos
            self.action(act, out, "        ", str(n), 0)
        if any(a.kind == "stop" for a in rule.actions):
            out.append(f"        return {n}")
        if rule.reason is None:
            self.err(
                "RULE120",
                f'rule {rule.name!r} has no reason; add: because "..."',
                rule.pos,
            )
        if not [a for a in rule.actions if a.kind != "stop"]:
            self.err("RULE117", f"rule {rule.name!r} has no outcome besides 'stop'", rule.pos)
        self.reads = self.let_reads = None
        self.units.append(info)

    def table(self, table: A.Table, out: list[str]) -> None:
        from accord.engine.rules import tables

        info = UnitInfo("table", table.name, table.index, table.pos.line, hit=table.hit)
        self.unit_name = table.name
        info.rows = len(table.rows)
        self.reads, self.let_reads = info.reads, info.lets
        n = len(self.units)
        if table.hit not in HIT_POLICIES:
            guess = _suggest(table.hit, list(HIT_POLICIES))
            self.err(
                "RULE133",
                f"unknown hit policy {table.hit!r}"
                + (f"; did you mean {guess!r}?" if guess else ""),
                table.hit_pos,
            )
        out.append(f"    u = {n}")
        in_types: list[T] = []
        for k, inp in enumerate(table.inputs):
            src, t = self.expr(inp)
            in_types.append(t)
            out.append(f"    i{n}_{k} = {self.strict(inp, src)}")
        names = [o for o, _ in table.outputs]
        for o, opos in table.outputs:
            if names.count(o) > 1:
                self.err("RULE121", f"table {table.name!r} sets {o!r} in two columns", opos)
        has_reason = "because" in names
        if not has_reason:
            self.err("RULE120", f"table {table.name!r} has no 'because' column", table.pos)
        prio_col = names.index("priority") if "priority" in names else None
        if table.hit == "priority" and prio_col is None:
            self.err(
                "RULE134", "a 'hit priority' table needs a 'priority' output column", table.pos
            )
        # Row conditions.
        row_conds: list[str] = []
        for row in table.rows:
            parts = []
            for k, cell in enumerate(row.cells):
                if cell.tests is None:
                    continue
                var = f"%in{k}"
                self.scope[var] = Binding("cell", in_types[k], f"i{n}_{k}")
                try:
                    eq_lits = [
                        t.value
                        for t in cell.tests
                        if t.kind == "eq"
                        and isinstance(t.value, A.Lit)
                        and t.value.kind in ("string", "number")
                    ]
                    if len(eq_lits) == len(cell.tests) > 1 and in_types[k].kind in (
                        "string",
                        "number",
                    ):
                        # '"US", "CA"': one set lookup instead of a chain of comparisons.
                        self.expr(
                            A.Bin(
                                "in",
                                A.Name(var, cell.pos),
                                A.ListLit(tuple(eq_lits), cell.pos),
                                cell.pos,
                            )
                        )
                        values = frozenset(_lit_value(v) for v in eq_lits if isinstance(v, A.Lit))
                        alts = [f"(i{n}_{k} in {self.const(values)})"]
                    else:
                        alts = [self.utest(t, var, in_types[k]) for t in cell.tests]
                finally:
                    del self.scope[var]
                parts.append(alts[0] if len(alts) == 1 else "(" + " or ".join(alts) + ")")
            row_conds.append(" and ".join(parts) if parts else "True")
            if has_reason and row.reason is None:
                self.err(
                    "RULE120", f"row {row.number} of table {table.name!r} has no reason", row.pos
                )
        tables.check_rows(self, table, in_types)

        def emit_row(row: A.Row, indent: str) -> None:
            reason = self.template(row.reason) if row.reason is not None else "''"
            out.append(f"{indent}r = {reason}")
            if all(
                v is None or o in ("because", "priority")
                for (o, _), v in zip(table.outputs, row.outputs, strict=True)
            ):
                # A row without output values still reports that it matched.
                name = table.name
                out.append(f"{indent}o.append(TN(OC, ('match', {{}}, {name!r}, r, {row.number})))")
            for (oname, _), value in zip(table.outputs, row.outputs, strict=True):
                if oname in ("because", "priority") or value is None:
                    continue
                act = A.Action("set", row.pos, field=oname, value=value)
                self.action(act, out, indent, str(n), row.number)

        if table.hit in ("first", "collect"):
            for i, (row, cond) in enumerate(zip(table.rows, row_conds, strict=True)):
                kw = "elif" if (table.hit == "first" and i) else "if"
                out.append(f"    {kw} {cond}:")
                emit_row(row, "        ")
        else:
            hits = ", ".join(
                f"({row.number}, {c})" for row, c in zip(table.rows, row_conds, strict=True)
            )
            out.append(f"    h = [x for x, ok in ({hits},) if ok]")
            if table.hit == "unique":
                out.append("    if len(h) > 1:")
                out.append(
                    f"        raise Conflict('table {table.name} matched rows '"
                    " + ', '.join(str(x) for x in h) + ' but its hit policy is unique')"
                )
            else:
                prios = []
                for row in table.rows:
                    pv = row.outputs[prio_col] if prio_col is not None else None
                    if pv is None:
                        prios.append(f"{row.number}: D(0)")
                    else:
                        psrc, pt = self.expr(pv)
                        if pt.kind not in ("number", "any"):
                            self.err("RULE134", "a priority is a number", pv.pos)
                        prios.append(f"{row.number}: {psrc}")
                out.append(f"    pr = {{{', '.join(prios)}}}")
                out.append("    h = sorted(h, key=lambda x: -pr[x])[:1]")
            for i, row in enumerate(table.rows):
                kw = "elif" if i else "if"
                out.append(f"    {kw} h and h[0] == {row.number}:")
                emit_row(row, "        ")
        self.reads = self.let_reads = None
        self.units.append(info)

    def utest(self, t: A.UTest, var: str, in_t: T) -> str:
        pos = t.pos
        ref = A.Name(var, pos)
        if t.kind == "eq":
            assert t.value is not None
            vsrc, vt = self.expr(t.value)
            if vt.kind == "bool" and in_t.kind == "bool":
                return f"({self.scope[var].src} is {vsrc})"
            if vt.kind == "list":
                src, _ = self.expr(A.Bin("in", ref, t.value, pos))
                return src
            src, _ = self.expr(A.Bin("==", ref, t.value, pos))
            return src
        if t.kind == "cmp":
            assert t.value is not None
            src, _ = self.expr(A.Bin(t.op, ref, t.value, pos))
            return src
        if t.kind == "range":
            assert t.value is not None
            assert t.high is not None
            lo, _ = self.expr(A.Bin(">=" if t.low_closed else ">", ref, t.value, pos))
            hi, _ = self.expr(A.Bin("<=" if t.high_closed else "<", ref, t.high, pos))
            return f"({lo} and {hi})"
        alts = [self.utest(c, var, in_t) for c in t.children]
        return "(not (" + " or ".join(alts) + "))"

    # -- whole file -------------------------------------------------------------------------
    def compile(self) -> Compiled:
        rf = self.rf
        self.setup()
        lets_src: list[str] = []
        let_names: list[str] = []
        self.hoist = {}
        for i, let in enumerate(rf.lets):
            src, t = self.expr(let.expr)
            src = self.strict(let.expr, src)
            # A failing let reports as unit -2 - i (see RuleSet._fail).
            lets_src += [f"u = {-2 - i}", f"L{i} = {src}"]
            let_names.append(let.name)
            self.declare(let.name, Binding("let", t, f"L{i}"), let.pos, "let")
        if let_names:
            lets_src.append(
                "lv.extend((" + ", ".join(f"L{i}" for i in range(len(let_names))) + ",))"
            )
        body: list[str] = []
        units: list[A.Rule | A.Table] = [*rf.rules, *rf.tables]
        names: dict[str, A.Pos] = {}
        for unit in units:
            if unit.name in names:
                self.err("RULE122", f"{unit.name!r} is defined twice", unit.pos)
            names[unit.name] = unit.pos
        # How many places can set each field in one evaluation (a column of a table whose
        # rows exclude each other counts once).
        for unit in units:
            if isinstance(unit, A.Rule):
                for act in unit.actions:
                    if act.kind == "set" and act.field is not None:
                        self.set_sites[act.field] = self.set_sites.get(act.field, 0) + 1
            else:
                per_column = 1 if unit.hit != "collect" else max(len(unit.rows), 1)
                for oname, _ in unit.outputs:
                    if oname not in ("because", "priority"):
                        self.set_sites[oname] = self.set_sites.get(oname, 0) + per_column
        # Higher priority first; file order breaks ties.
        units.sort(key=lambda u: (-u.priority, u.index))
        stopper: A.Rule | None = None
        for unit in units:
            if stopper is not None:
                self.err(
                    "RULE135",
                    f"{unit.name!r} never runs: rule {stopper.name!r} always matches and stops",
                    unit.pos,
                    severity=Severity.WARNING,
                )
            if isinstance(unit, A.Rule):
                self.rule(unit, body)
                always = isinstance(unit.when, A.Lit) and unit.when.value is True
                if stopper is None and always and any(a.kind == "stop" for a in unit.actions):
                    stopper = unit
            else:
                self.table(unit, body)
        hoisted, self.hoist = self.hoist, None
        used = {src[3:-2] for src in hoisted if src.startswith("f[")}
        for fact in rf.facts:
            if fact.name not in used:
                self.err(
                    "RULE119",
                    f"fact {fact.name!r} is declared but no rule reads it",
                    fact.pos,
                    severity=Severity.WARNING,
                )
        facts, defaults = self.fact_table()
        fact_locals = {src[3:-2]: local for src, local in hoisted.items() if src.startswith("f[")}
        # One generated function: check and convert the host's facts (straight into the
        # locals the rules read), then read the record's fields once, compute the lets and
        # run the rules and tables in priority order. It returns the unit that stopped, or -1.
        lines = [
            "def evaluate(rec, facts, now, fs, o, lv):",
            *("    " + ln for ln in _prepare_lines(facts, defaults, fact_locals)),
            "    u = -1",
            *(
                f"    {local} = {_get_src(src)}"
                for src, local in hoisted.items()
                if not src.startswith("f[")
            ),
            *("    " + ln for ln in lets_src),
            *body,
            "    return -1",
        ]
        # ``u = N`` lines only mark where each unit's code starts: they are dropped, and a
        # failure is attributed to its unit from the traceback's line number instead, so the
        # hot path pays nothing for it.
        final: list[str] = []
        line_units: list[int] = [-1]  # index 0 is unused: line numbers start at 1
        current = -1
        for ln in lines:
            stripped = ln.strip()
            if stripped.startswith("u = ") and stripped[4:].lstrip("-").isdigit():
                current = int(stripped[4:])
                continue
            final.append(ln)
            line_units.append(current)
        src = "\n".join(final)
        owns = self.ownership()
        ns = {**self.consts}
        return Compiled(
            src,
            ns,
            self.units,
            facts,
            defaults,
            let_names,
            self.calendars,
            self.entity_t,
            owns,
            "\n".join(
                [
                    "def prepare(facts):",
                    *("    " + ln for ln in _prepare_lines(facts, defaults, None)),
                    "    return f",
                ]
            ),
            line_units,
        )

    def fact_table(self) -> tuple[dict[str, tuple[T, bool, bool]], dict[str, str]]:
        """Declared facts (type, optional, has default) and their default sources."""
        rf = self.rf
        facts: dict[str, tuple[T, bool, bool]] = {}
        defaults: dict[str, str] = {}
        for fact in rf.facts:
            b = self.scope.get(fact.name)
            ft = b.type if b is not None and b.kind == "fact" else ANY
            facts[fact.name] = (ft, fact.optional, fact.default is not None)
            if fact.default is not None:
                if not _is_literal(fact.default):
                    self.err(
                        "RULE118",
                        f"the default of {fact.name!r} must be a literal value",
                        fact.default.pos,
                    )
                dsrc, dt = self.expr(fact.default)
                if dt.kind != "any" and ft.kind != "any" and dt.kind != ft.kind:
                    self.err(
                        "RULE114",
                        f"the default of {fact.name!r} is a {dt}, not a {ft}",
                        fact.default.pos,
                    )
                defaults[fact.name] = dsrc
        return facts, defaults

    def ownership(self) -> list[tuple[A.Owns, str | None]]:
        result: list[tuple[A.Owns, str | None]] = []
        known = entity_names()
        for own in self.rf.owns:
            entity = own.patterns[0][0].split(".")[0] if own.patterns else ""
            for pattern, ppos in own.patterns:
                parts = pattern.split(".")
                if parts[0] != entity:
                    self.err("RULE141", "one ownership line covers one entity", ppos)
                    continue
                et = entity_type(parts[0]) if (not known or parts[0] in known) else None
                if et is None:
                    guess = _suggest(parts[0], known)
                    self.err(
                        "RULE125",
                        f"unknown canonical entity {parts[0]!r}"
                        + (f"; did you mean {guess!r}?" if guess else ""),
                        ppos,
                    )
                    continue
                cur: T | None = et
                for part in parts[1:]:
                    if part == "*" or cur is None or cur.open or cur.kind != "record":
                        break
                    nxt = cur.field(part)
                    if nxt is None:
                        guess = _suggest(part, cur.field_names)
                        self.err(
                            "RULE102",
                            f"{parts[0]} has no field {part!r}"
                            + (f"; did you mean {guess!r}?" if guess else ""),
                            ppos,
                        )
                        break
                    cur = nxt.item if nxt.kind == "list" and nxt.item is not None else nxt
            cond: str | None = None
            if own.when is not None:
                et = entity_type(entity) if entity else None
                saved = dict(self.scope)
                if et is not None:
                    for fname, ftype in et.fields:
                        self.scope[fname] = Binding(
                            "field", ftype, f"rec[{fname!r}]", ("rec", fname)
                        )
                    self.scope[entity] = Binding("entity", et, "rec", ("rec",))
                src, t = self.expr(own.when)
                cond = self.cond_src(own.when, src, t)
                self.scope = saved
            result.append((own, cond))
        from accord.engine.rules import ownership as own_mod

        for problem in own_mod.lint(self.rf.owns):
            self.err("RULE140", problem[0], problem[1])
        return result


_SIMPLE = re.compile(r"(rec|f|h\d+|L\d+|b\d+|K\d+|i\d+_\d+)(\[('[A-Za-z_][A-Za-z0-9_]*'|\d+)\])*")


def _simple(src: str) -> bool:
    """A source that is a cheap, pure read (a name and constant subscripts)."""
    return _SIMPLE.fullmatch(src) is not None


def _get_src(src: str) -> str:
    """``rec['x']`` -> ``rec.get('x')``."""
    root, _, rest = src.partition("[")
    return f"{root}.get({rest[:-1]})"


def _is_literal(e: A.Expr) -> bool:
    if isinstance(e, A.Lit):
        return True
    if isinstance(e, A.Unary) and e.op == "neg":
        return _is_literal(e.operand)
    if isinstance(e, A.ListLit):
        return all(_is_literal(i) for i in e.items)
    return False


#: Exact-type tests for values already in the engine's form (the common case: the host passes
#: canonical Python values); anything else takes the slow converter.
_FAST = {
    "number": "(type({v}) is D or type({v}) is int)",
    "string": "type({v}) is str",
    "bool": "({v} is True or {v} is False)",
    "money": (
        "(type({v}) is dict and type({v}.get('amount')) is D and type({v}.get('currency')) is str)"
    ),
    "datetime": "(type({v}) is DT and {v}.tzinfo is not None)",
}


def _fast_test(t: T, var: str) -> str | None:
    """An inline exact-type test of ``var`` (a simple name) against ``t``, or None."""
    if t.kind in _FAST:
        return _FAST[t.kind].format(v=var)
    return None


def _item_test(t: T) -> str | None:
    """For a list of records: an inline test that one item ``x`` is already in the engine's
    form (every field absent, null or of its type), or None."""
    if t.kind != "list" or t.item is None or t.item.kind != "record" or not t.item.fields:
        return None
    checks = []
    for k, (fname, ft) in enumerate(t.item.fields):
        tmp = f"y{k}"
        inner = _fast_test(ft, tmp)
        if inner is None:
            return None
        checks.append(f"(({tmp} := x.get({fname!r})) is None or {inner})")
    return " and ".join(["type(x) is dict", *checks])


def _prepare_lines(
    facts: dict[str, tuple[T, bool, bool]],
    defaults: dict[str, str],
    locals_: dict[str, str] | None,
) -> list[str]:
    """Source lines that check and convert the host's facts into the dict ``f`` (and into
    the given locals): an exact-type test keeps values already in the engine's form, ``C<i>``
    converts anything else, defaults fill gaps and ``absent(name)`` refuses a missing one."""
    into_dict = locals_ is None
    lines = ["f = {}", "get = facts.get"] if into_dict else ["get = facts.get"]
    for i, (name, (t, optional, _)) in enumerate(facts.items()):
        key = repr(name)
        # Straight into the rules' locals when given; the trace rebuilds the dict when asked.
        target = f"f[{key}]" if locals_ is None else locals_.get(name, "x")
        fast = _fast_test(t, "v")
        item = _item_test(t)
        lines += [f"v = get({key})", "if v is not None:"]
        if item is not None:
            # A plain loop over the items (no generator frame): convert only when one is not
            # already in the engine's form.
            lines += [
                "    if type(v) is list:",
                "        for x in v:",
                f"            if not ({item}):",
                f"                v = C{i}(v, {key})",
                "                break",
                "    else:",
                f"        v = C{i}(v, {key})",
                f"    {target} = v",
            ]
        else:
            convert = f"v if {fast} else C{i}(v, {key})" if fast else f"C{i}(v, {key})"
            lines.append(f"    {target} = {convert}")
        lines.append("else:")
        if name in defaults:
            lines.append(f"    {target} = {defaults[name]}")
        elif optional:
            lines.append(f"    {target} = None" if locals_ is not None else "    pass")
        else:
            lines.append(f"    absent({key})")
    return lines


def _lit_value(e: A.Lit) -> Any:
    if e.kind == "money":
        amount, currency = cast("tuple[Decimal, str]", e.value)
        return {"amount": amount, "currency": currency}
    return e.value


def _lit_text(e: A.Bin) -> str:
    for side in (e.right, e.left):
        if isinstance(side, A.Lit) and side.kind == "number":
            return f"{side.text} USD"
    return "200 USD"


def compile_rule_file(rf: A.RuleFile) -> tuple[Compiled | None, list[Diagnostic]]:
    """Check and compile; returns (None, diagnostics) when any error was found."""
    c = Compiler(rf)
    compiled = c.compile()
    errors = [d for d in c.diags if Severity(d.severity) is Severity.ERROR]
    if errors:
        return None, c.diags
    return compiled, c.diags
