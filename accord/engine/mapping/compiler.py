"""Compile a :class:`~accord.engine.mapping.spec.MappingSpec` into one Python function.

The compiler writes Python source for the whole spec, compiles it with :func:`compile` once,
and binds everything the code needs as constants: compiled JMESPath expressions, transform
functions with their arguments prepared, map tables, coercions with their time zones and
currencies. Plain dotted paths become subscripts (``order["customer"]["email"]``) guarded by
one ``try``; nothing in the hot path parses a path or looks a name up by string.

>>> from accord.engine.mapping.spec import MappingSpec
>>> spec = MappingSpec.from_dict({
...     "mapping": "demo", "channel": "demo", "direction": "inbound", "source": "demo.order",
...     "target": "order", "fields": {"id": {"from": "id", "as": "string"},
...                                   "email": {"from": "customer.email"}}})
>>> mapping = compile_mapping(spec)
>>> mapping.apply({"id": 450789469123456789, "customer": {"email": "bob@example.com"}})
{'id': '450789469123456789', 'email': 'bob@example.com'}
>>> print(mapping.source.splitlines()[0])
def _apply(P, RID, W):

The explain build (``explain=True``) is the same code with one trace call per field.
"""

from __future__ import annotations

import linecache
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import jmespath

from accord.diagnostics import Diagnostic
from accord.engine.mapping import coerce
from accord.engine.mapping import explain as ex
from accord.engine.mapping.runtime import (
    RUNTIME_NAMES,
    CompiledMapping,
    FieldMeta,
    _Runtime,
    expect_object,
    is_pii,
    not_an_object,
    unwrapper,
)
from accord.engine.mapping.spec import FieldRule, MappingSpec, SourcePath, TransformCall
from accord.engine.mapping.transforms import TRANSFORMS, TransformArgumentError
from accord.errors import SpecError

__all__ = ["build_explain", "compile_mapping"]

_MISS = object()


@dataclass(frozen=True, slots=True)
class _Scope:
    ctx: str  # variable holding the current element
    parent: str  # variable holding the enclosing element ($parent)
    out: str  # variable holding the output object being built
    prefix: tuple[tuple[str, str], ...]  # data path pieces: ("lit", text) | ("var", name)
    consumed: str  # normalised source path prefix for drift, e.g. "line_items[]"
    parent_consumed: str
    target: str  # static target prefix, e.g. "lines[]."
    target_expr: tuple[tuple[str, str], ...]  # concrete target prefix (explain)


def _expr(pieces: Sequence[tuple[str, str]]) -> str:
    if not pieces:
        return "''"
    return " + ".join(repr(text) if kind == "lit" else f"str({text})" for kind, text in pieces)


def _steps_text(steps: Sequence[str | int]) -> str:
    out = ""
    for step in steps:
        if isinstance(step, int):
            out += "[]"
        else:
            out += ("." if out else "") + step
    return out


_LEADING = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")
_SCOPED_READ = re.compile(r"\b(_rt|_prnt)\(\)((?:\.[A-Za-z_][A-Za-z0-9_]*)*)")
_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")


def _alternatives(expression: str) -> list[str]:
    """The plain paths of an ``a || b || c`` expression (empty if it is anything else)."""
    parts = [p.strip() for p in expression.split("||")]
    return parts if len(parts) > 1 and all(_PLAIN.fullmatch(p) for p in parts) else []


def _norm(prefix: str, rel: str) -> str:
    if not rel:
        return prefix
    if not prefix:
        return rel
    return f"{prefix}.{rel}"


class _Gen:
    def __init__(self, spec: MappingSpec, explain: bool) -> None:
        self.spec = spec
        self.explain = explain
        self.lines: list[str] = []
        #: For each generated line, the field (index into ``metas``) whose code it is, or -1:
        #: a failure is located from its traceback's line number, so the hot path keeps no
        #: "current field" variable.
        self.line_field: list[int] = []
        self.current = -1
        self.consts: dict[str, Any] = {}
        self.metas: list[FieldMeta] = []
        self.consumed: set[str] = set()
        self.n = 0
        self.hoisted: dict[str, str] = {}  # root key -> variable read once per record

    # -- plumbing --

    def fresh(self, base: str) -> str:
        self.n += 1
        return f"{base}{self.n}"

    def const(self, base: str, value: Any) -> str:
        name = self.fresh("_" + base)
        self.consts[name] = value
        return name

    def emit(self, ind: int, line: str) -> None:
        self.lines.append("    " * ind + line)
        self.line_field.append(self.current)

    def consume(self, scope: _Scope, sp: SourcePath) -> None:
        base = {"here": scope.consumed, "root": "", "parent": scope.parent_consumed}[sp.scope]
        if sp.steps is not None:
            if sp.steps:
                self.consumed.add(_norm(base, _steps_text(sp.steps)))
            return
        lead = _LEADING.match(sp.expression)
        if lead and not sp.expression.startswith("(", lead.end()):
            self.consumed.add(_norm(base, lead.group()))
        if sp.scoped:  # what `$root.a.b` / `$parent.a.b` inside the expression read
            for call, rel in _SCOPED_READ.findall(sp.expression):
                if rel:
                    origin = "" if call == "_rt" else scope.parent_consumed
                    self.consumed.add(_norm(origin, rel[1:]))

    def path_text(self, scope: _Scope, sp: SourcePath) -> str:
        """A source path as a data path: relative to the scope, or absolute for $root."""
        return sp.text if sp.scope != "here" else sp.dotted()

    def base_var(self, scope: _Scope, sp: SourcePath) -> str:
        return {"here": scope.ctx, "root": "R", "parent": scope.parent}[sp.scope]

    # -- reading --

    def read(self, ind: int, scope: _Scope, sp: SourcePath, var: str) -> None:
        base = self.base_var(scope, sp)
        steps = sp.steps
        if base == "R" and scope.ctx != "R" and steps is not None and len(steps) == 1:
            # `$root.currency` inside an `each` is loop-invariant: read it once per record.
            key = steps[0]
            if isinstance(key, str):
                hoisted = self.hoisted.get(key)
                if hoisted is None:
                    hoisted = self.hoisted[key] = f"H{len(self.hoisted)}"
                self.emit(ind, f"{var} = {hoisted}")
                return
        if steps is None and sp.scoped:
            compiled = self.const("J", jmespath.compile(sp.expression))
            self.emit(ind, f"{var} = _search_scoped({compiled}, {base}, R, {scope.parent})")
        elif steps is None:
            compiled = self.const("J", jmespath.compile(sp.expression))
            self.emit(ind, f"{var} = _search({compiled}, {base})")
        elif not steps:
            self.emit(ind, f"{var} = {base}")
        elif any(isinstance(s, int) for s in steps):
            path = self.const("P", steps)
            self.emit(ind, f"{var} = _walk({base}, {path}, {sp.text!r})")
        elif len(steps) == 1:
            self.emit(ind, f"{var} = {base}.get({steps[0]!r})")
        else:
            # One guarded subscript chain: the common case costs no checks at all; a missing
            # key, a null or a wrong type on the way falls back to the strict walker.
            subs = "".join(f"[{s!r}]" for s in steps)
            path = self.const("P", steps)
            self.emit(ind, "try:")
            self.emit(ind + 1, f"{var} = {base}{subs}")
            self.emit(ind, "except (KeyError, TypeError):")
            self.emit(ind + 1, f"{var} = _walk({base}, {path}, {sp.text!r})")

    def absent(self, ind: int, var: str, rule: FieldRule) -> None:
        """Statements that turn what the rule counts as absent into None."""
        empty = rule.empty
        if rule.as_ in ("datetime", "date"):
            empty = "missing"  # "" is never a timestamp
        if empty == "missing":
            self.emit(
                ind,
                f"if {var}.__class__ is str and (not {var} or {var}.isspace()): {var} = None",
            )
        if rule.missing_values:
            keys = frozenset(
                k for k in (RUNTIME_NAMES["_mk"](v) for v in rule.missing_values) if k is not None
            )
            sentinels = self.const("S", keys)
            self.emit(ind, f"if {var} is not None and _mk({var}) in {sentinels}: {var} = None")

    def read_chain(
        self, ind: int, scope: _Scope, rule: FieldRule, var: str, label: str | None = None
    ) -> int:
        """Fallback chain into ``var``; returns the indentation after the nested ifs. With
        ``label``, that variable names the source read last (for data paths in errors)."""
        for i, sp in enumerate(rule.from_):
            self.consume(scope, sp)
            if i:
                self.emit(ind, f"if {var} is None:")
                ind += 1
            if self.explain:
                self.emit(ind, f"b = {i}")
            if label is not None:
                self.emit(ind, f"{label} = {self.path_text(scope, sp)!r}")
            self.read(ind, scope, sp, var)
            self.absent(ind, var, rule)
        return ind

    # -- fields --

    def meta(self, rule: FieldRule, scope: _Scope, target: str | None = None) -> int:
        full = scope.target + (target or rule.target)
        # a source is personal by its own key or, read inside an element or a sub-object, by
        # the path it is read under (`ShippingAddress` + `Name`); an `each:` list by its path
        bases = {"here": scope.consumed, "root": "", "parent": scope.parent_consumed}
        reads = (*rule.from_, rule.each) if rule.each is not None else rule.from_
        sources = [sp.dotted() for sp in reads]
        sources += [_norm(bases[sp.scope], sp.dotted()) for sp in reads]
        pii = is_pii(full) or any(is_pii(s) for s in sources)
        index = len(self.metas)
        self.metas.append(
            FieldMeta(
                index=index,
                rule=rule,
                target=full,
                pii=pii,
                sources=tuple(sp.text for sp in rule.from_),
                location=rule.location,
            )
        )
        return index

    def fields(
        self,
        ind: int,
        scope: _Scope,
        rules: Sequence[FieldRule],
        stored: Sequence[tuple[FieldRule, tuple[tuple[str, ...], str]]] = (),
    ) -> None:
        """All fields of one scope inside one ``try``: the handler locates a failure by the
        line it came from (``_LF``: line -> field), so the success path records nothing (try
        blocks cost nothing until they catch, and one per scope keeps the generated code small
        and quick to compile)."""
        referenced = {
            r.currency.field for r in rules if r.currency is not None and r.currency.field
        }
        ordered = sorted(rules, key=lambda r: 0 if r.target in referenced else 1)
        self.emit(ind, "try:")
        for rule in ordered:
            self.field(ind + 1, scope, rule)
        for rule, store in stored:
            self.field(ind + 1, scope, rule, store)
        self.emit(ind, "except _ME:")
        self.emit(ind + 1, "raise")
        self.emit(ind, "except Exception as e:")
        self.emit(
            ind + 1,
            f"raise _fail(_LF[e.__traceback__.tb_lineno], e, RID, {_expr(scope.prefix)}, "
            f"{scope.ctx}, R, {scope.parent}) from e",
        )

    def field(
        self,
        body: int,
        scope: _Scope,
        rule: FieldRule,
        store: tuple[tuple[str, ...], str] | None = None,
    ) -> None:
        k = self.meta(rule, scope, None if store is None else ".".join((*store[0], store[1])))
        parts = tuple(rule.target.split(".")) if store is None else (*store[0], store[1])
        outer, self.current = self.current, k
        try:
            self.field_body(body, scope, rule, k, parts)
        finally:
            self.current = outer

    def field_body(
        self, body: int, scope: _Scope, rule: FieldRule, k: int, parts: tuple[str, ...]
    ) -> None:
        if self.explain:
            self.emit(body, "b = -3; r = _MISSING; nt = None")
        if rule.when is not None:
            self.consume(scope, rule.when)
            self.read(body, scope, rule.when, "w")
            self.emit(body, "if _truthy(w):")
            inner = body + 1
        else:
            inner = body
        if rule.each is not None:
            self.each_field(inner, scope, rule, k)
        elif rule.fields is not None or rule.use is not None:
            self.object_field(inner, scope, rule, k)
        else:
            self.value_field(inner, scope, rule, k)
        self.finish(inner, scope, rule, k, parts)
        if rule.when is not None and self.explain:
            self.emit(body, "else:")
            self.emit(body + 1, f"X.rec({k}, {self.target_expr(scope, parts)}, -4, w, None)")

    def target_expr(self, scope: _Scope, parts: Sequence[str]) -> str:
        return _expr([*scope.target_expr, ("lit", ".".join(parts))])

    def value_field(self, ind: int, scope: _Scope, rule: FieldRule, k: int) -> None:
        if rule.as_ == "money":
            self.currency(ind, scope, rule)
        if rule.has_value:
            self.emit(ind, f"v = {self.const('K', rule.value)}")
            if self.explain:
                self.emit(ind, "b = -1")
        elif rule.from_:
            self.read_chain(ind, scope, rule, "v")
        else:
            self.emit(ind, "v = None")
        if self.explain:
            self.emit(ind, "r = v")
            self.emit(ind, "if v is None: b = -3")
        if rule.transforms or rule.map is not None or rule.lookup is not None or rule.as_:
            self.emit(ind, "if v is not None:")
            self.pipeline(ind + 1, scope, rule, k, "v")

    def pipeline(self, ind: int, scope: _Scope, rule: FieldRule, k: int, var: str) -> None:
        """transform -> map/lookup -> as, on a value in ``var`` known to be present."""
        prefix = _expr(scope.prefix)
        maybe_none = False  # whether `var` may have become None since the caller's check
        for call in rule.transforms:
            transform = TRANSFORMS[call.name]
            fn = self.const("T", _bind(call))
            if call.name == "template":
                self.consume_template(scope, rule, call)
            if transform.inline is not None and not call.args and not call.kwargs:
                # Text in, text out: the common case runs as a str method, no call.
                fast = transform.inline.format(v=var)
                step = f"{var} = {fast} if {var}.__class__ is str else {fn}({var})"
            else:
                step = f"{var} = {fn}({var})"
            self.emit(ind, f"if {var} is not None: {step}" if maybe_none else step)
            maybe_none = maybe_none or transform.may_return_none
        if rule.transforms:
            self.absent(ind, var, rule)
            maybe_none = True
        table = None
        if rule.map is not None:
            table, label, note = rule.map, "the map", "map"
            default: tuple[bool, Any] = (False, None)
        elif rule.lookup is not None:
            lookup = self.spec.lookups[rule.lookup]
            table, label = lookup.table, f"lookup table {lookup.name!r}"
            note = f"lookup {lookup.name}"
            default = (lookup.has_default, lookup.default)
        if table is not None:
            t = self.const("M", dict(table))
            d = self.const("K", default)
            key = f"{var} if {var}.__class__ is str else _mk({var})"
            if maybe_none:
                self.emit(ind, f"if {var} is not None:")
                ind += 1
            self.emit(ind, f"m = {t}.get({key}, _MISS)")
            self.emit(ind, "if m is _MISS:")
            self.emit(ind + 1, f"m = _unknown({k}, {var}, W, RID, {prefix}, R, {label!r}, {d})")
            if self.explain:
                self.emit(ind + 1, f"nt = {note!r} + ' ' + repr({var}) + ' unknown -> ' + repr(m)")
                self.emit(ind, "else:")
                self.emit(ind + 1, f"nt = {note!r} + ' ' + repr({var}) + ' -> ' + repr(m)")
            self.emit(ind, f"{var} = m")
            if maybe_none:
                ind -= 1
            maybe_none = True
        if rule.as_ is not None:
            if maybe_none:
                self.emit(ind, f"if {var} is not None:")
                ind += 1
            self.coerce(ind, rule, var)

    def consume_template(self, scope: _Scope, rule: FieldRule, call: TransformCall) -> None:
        """A template reads named keys of the object at `from`: those keys are consumed."""
        for name in re.findall(r"\{([A-Za-z_][A-Za-z0-9_]*)\}", str(_first_arg(call))):
            for sp in rule.from_:
                base = {"here": scope.consumed, "root": "", "parent": scope.parent_consumed}
                rel = _steps_text(sp.steps) if sp.steps else ""
                self.consumed.add(_norm(_norm(base[sp.scope], rel), name))

    def coerce(self, ind: int, rule: FieldRule, var: str) -> None:
        """Emit the ``as:`` coercion. The usual input type takes an inlined path; anything
        else calls the full coercion, which accepts every documented form or raises."""
        as_ = rule.as_
        if as_ == "string":
            self.emit(
                ind,
                f"if {var}.__class__ is not str: "
                f"{var} = str({var}) if {var}.__class__ is int else _to_string({var})",
            )
        elif as_ == "int":
            self.emit(ind, f"if {var}.__class__ is not int: {var} = _to_int({var})")
        elif as_ == "bool":
            self.emit(ind, f"if {var}.__class__ is not bool: {var} = _to_bool({var})")
        elif as_ == "decimal":
            # Decimal() on text raises InvalidOperation for non-numbers: the error builder
            # classifies it as MAP203. It also accepts "NaN" and "1_0": those take the full path.
            self.emit(ind, f"if {var}.__class__ is str:")
            self.emit(ind + 1, f"a = _Decimal({var})")
            self.emit(ind + 1, f"if not a.is_finite() or '_' in {var}: a = _to_decimal({var}, W)")
            self.emit(ind + 1, f"{var} = a")
            self.emit(
                ind,
                f"elif {var}.__class__ is not _Decimal or not {var}.is_finite(): "
                f"{var} = _to_decimal({var}, W)",
            )
        elif as_ in ("datetime", "date"):
            make = coerce.make_datetime if as_ == "datetime" else coerce.make_date
            fn = self.const("DT", make(rule.tz, fmt=rule.format, epoch=rule.epoch))
            if as_ == "datetime" and rule.format is None:
                # ISO 8601 with an offset is what most channels send: parse it inline.
                self.emit(ind, f"if {var}.__class__ is str:")
                self.emit(ind + 1, "try:")
                self.emit(ind + 2, f"d = _fromiso({var})")
                self.emit(ind + 1, "except ValueError:")
                self.emit(ind + 2, f"d = {fn}({var})")
                self.emit(ind + 1, "else:")
                self.emit(
                    ind + 2, f"d = d.astimezone(_UTC) if d.tzinfo is not None else {fn}({var})"
                )
                self.emit(ind + 1, f"{var} = d")
                self.emit(ind, "else:")
                self.emit(ind + 1, f"{var} = {fn}({var})")
            else:
                self.emit(ind, f"{var} = {fn}({var})")
        elif as_ == "money":
            literal = rule.currency.literal if rule.currency is not None else None
            fn = self.const("MO", coerce.make_money(rule.money, literal))
            self.emit(ind, f"if {var}.__class__ is str and cu.__class__ is str:")
            self.emit(ind + 1, f"a = _Decimal({var})")
            self.emit(ind + 1, f"if not a.is_finite() or '_' in {var}: a = {fn}({var}, cu, W)")
            self.emit(ind + 1, f"{var} = {{'amount': a, 'currency': _CC.get(cu) or _cur(cu)}}")
            self.emit(ind, "else:")
            self.emit(ind + 1, f"{var} = {fn}({var}, cu, W)")

    def currency(self, ind: int, scope: _Scope, rule: FieldRule) -> None:
        source = rule.currency
        if source is not None and source.path is not None:
            self.consume(scope, source.path)
            self.read(ind, scope, source.path, "cu")
        elif source is not None and source.field is not None:
            parts = self.const("P", tuple(source.field.split(".")))
            self.emit(ind, f"cu = _get_target({scope.out}, {parts})")
        elif source is not None and source.literal is not None:
            self.emit(ind, f"cu = {source.literal!r}")
        else:
            self.emit(ind, "cu = None")

    def each_field(self, ind: int, scope: _Scope, rule: FieldRule, k: int) -> None:
        assert rule.each is not None
        sp = rule.each
        base_consumed = {"here": scope.consumed, "root": "", "parent": scope.parent_consumed}[
            sp.scope
        ]
        rel = _steps_text(sp.steps) if sp.steps is not None else ""
        if sp.steps is None:
            lead = _LEADING.match(sp.expression)
            rel = lead.group() if lead else ""
        list_consumed = _norm(base_consumed, rel) + "[]"
        # `each: a || b` (a list under either name) reads the same fields from both lists.
        alternatives = [
            _norm(base_consumed, alt) + "[]"
            for alt in _alternatives(sp.expression)[1:]
            if sp.steps is None and sp.scope == "here"
        ]
        before = set(self.consumed)
        lst, acc, idx, el = self.fresh("L"), self.fresh("A"), self.fresh("I"), self.fresh("E")
        self.read(ind, scope, sp, lst)
        if self.explain:
            self.emit(ind, f"b = -5; r = {lst}")
        self.emit(ind, f"if {lst} is None:")
        self.emit(ind + 1, "v = None")
        self.emit(ind, "else:")
        ind += 1
        self.emit(
            ind,
            f"if {lst}.__class__ is not list: {lst} = _list({lst}, {rule.wrap!r}, {sp.text!r})",
        )
        self.emit(ind, f"{acc} = []")
        self.emit(ind, f"for {idx}, {el} in enumerate({lst}):")
        body = ind + 1
        relative = [("lit", sp.dotted() + "["), ("var", idx), ("lit", "]")]
        element_path = [*scope.prefix, ("lit", "."), *relative] if scope.prefix else relative
        if rule.fields is None and rule.use is None:
            # A list of single values (tracking numbers): the value pipeline per element.
            self.consumed.add(list_consumed)
            self.emit(body, "try:")
            self.emit(body + 1, f"v = {el}")
            self.absent(body + 1, "v", rule)
            self.emit(body + 1, "if v is not None:")
            self.pipeline(body + 2, scope, rule, k, "v")
            self.emit(body + 2, f"{acc}.append(v)")
            self.emit(body, "except _FF as e:")
            self.emit(body + 1, f"e.data_path = {_expr(relative)}")
            self.emit(body + 1, "raise")
        else:
            ctx, out = self.fresh("C"), self.fresh("O")
            rel_path = _expr(relative)
            self.emit(
                body,
                f"{ctx} = {el} if {el}.__class__ is dict else "
                f"_obj_at({el}, 'for the fields of each element', {rel_path})",
            )
            self.emit(body, f"{out} = {{}}")
            inner = _Scope(
                ctx=ctx,
                parent=scope.ctx,
                out=out,
                prefix=tuple(element_path),
                consumed=list_consumed,
                parent_consumed=scope.consumed,
                target=scope.target + rule.target + "[].",
                target_expr=(
                    *scope.target_expr,
                    ("lit", rule.target + "["),
                    ("var", idx),
                    ("lit", "]."),
                ),
            )
            rules = rule.fields if rule.fields is not None else self.definition(rule)
            self.fields(body, inner, rules)
            self.emit(body, f"{acc}.append({out})")
        for path in self.consumed - before if alternatives else ():
            if path == list_consumed or path.startswith(list_consumed + "."):
                self.consumed.update(alt + path[len(list_consumed) :] for alt in alternatives)
        if self.explain:  # nested fields reuse the trace variables
            self.emit(ind, f"b = -5; r = {lst}; nt = None")
        self.emit(ind, f"v = {acc}")

    def definition(self, rule: FieldRule) -> tuple[FieldRule, ...]:
        assert rule.use is not None
        return self.spec.definitions[rule.use].fields

    def object_field(self, ind: int, scope: _Scope, rule: FieldRule, k: int) -> None:
        ctx, out = self.fresh("C"), self.fresh("O")
        alternatives: list[str] = []  # consumed prefixes of the other `from` sources
        if rule.from_:
            label = self.fresh("S") if len(rule.from_) > 1 else None
            self.read_chain(ind, scope, rule, "s", label)
            prefixes = []
            for sp in rule.from_:  # objects are consumed through their fields, not wholesale
                base = {"here": scope.consumed, "root": "", "parent": scope.parent_consumed}
                path = _norm(base[sp.scope], _steps_text(sp.steps) if sp.steps else "")
                self.consumed.discard(path)
                prefixes.append(path)
            consumed, alternatives = prefixes[0], prefixes[1:]
            first = rule.from_[0]
            if label is not None:
                where: list[tuple[str, str]] = [("var", label)]
            else:
                where = [("lit", self.path_text(scope, first))]
            # a relative source extends the element's data path; `$root.x` stands alone
            relative = label is not None or first.scope == "here"
            prefix = [*scope.prefix, ("lit", "."), *where] if relative and scope.prefix else where
        else:
            self.emit(ind, f"s = {scope.ctx}")
            consumed, prefix = scope.consumed, list(scope.prefix)
        if self.explain:
            self.emit(ind, "b = -6 if s is not None else -3; r = _MISSING")
        self.emit(ind, "if s is None:")
        self.emit(ind + 1, "v = None")
        self.emit(ind, "else:")
        self.emit(
            ind + 1,
            f"{ctx} = s if s.__class__ is dict else _obj(s, 'for the nested fields')",
        )
        self.emit(ind + 1, f"{out} = {{}}")
        inner = _Scope(
            ctx=ctx,
            parent=scope.ctx,
            out=out,
            prefix=tuple(prefix),
            consumed=consumed,
            parent_consumed=scope.consumed,
            target=scope.target + rule.target + ".",
            target_expr=(*scope.target_expr, ("lit", rule.target + ".")),
        )
        rules = rule.fields if rule.fields is not None else self.definition(rule)
        before = set(self.consumed)
        self.fields(ind + 1, inner, rules)
        for alternative in alternatives:  # the same fields, read under the fallback source
            for path in self.consumed - before:
                if consumed and (path.startswith(consumed + ".") or path == consumed):
                    self.consumed.add(alternative + path[len(consumed) :])
        if self.explain:  # nested fields reuse the trace variables
            self.emit(ind + 1, "b = -6; r = _MISSING; nt = None")
        self.emit(ind + 1, f"v = {out} or None")

    def finish(
        self, ind: int, scope: _Scope, rule: FieldRule, k: int, parts: tuple[str, ...]
    ) -> None:
        prefix = _expr(scope.prefix)
        if rule.has_default and rule.default is not None:
            self.emit(ind, "if v is None:")
            if rule.as_ == "money":
                literal = rule.currency.literal if rule.currency is not None else None
                fn = self.const("MO", coerce.make_money(rule.money, literal))
                self.emit(ind + 1, f"v = {fn}({self.const('K', rule.default)}, cu, W)")
            else:
                self.emit(ind + 1, f"v = {self.const('K', _coerce_default(rule))}")
            if self.explain:
                self.emit(ind + 1, "b = -2")
        present = ind  # where the store goes: a required value is known to be present
        if rule.required:
            self.emit(ind, "if v is None:")
            self.emit(ind + 1, f"raise _required({k}, RID, {prefix}, R)")
        else:
            self.emit(ind, "if v is not None:")
            present = ind + 1
        if len(parts) == 1:
            self.emit(present, f"{scope.out}[{parts[0]!r}] = v")
        elif len(parts) == 2:
            self.emit(present, f"d = {scope.out}.get({parts[0]!r})")
            self.emit(present, f"if d.__class__ is not dict: d = {scope.out}[{parts[0]!r}] = {{}}")
            self.emit(present, f"d[{parts[1]!r}] = v")
        else:
            self.emit(present, f"_put({scope.out}, {parts[:-1]!r}, {parts[-1]!r}, v)")
        if self.explain:
            self.emit(ind, f"X.rec({k}, {self.target_expr(scope, parts)}, b, r, v, nt)")

    # -- the function --

    def build(self) -> str:
        spec = self.spec
        args = "P, RID, W, X" if self.explain else "P, RID, W"
        self.emit(0, f"def _apply({args}):")
        self.emit(1, "if P.__class__ is not dict and not isinstance(P, dict):")
        self.emit(2, "raise _notobj(P, RID, 'the payload')")
        if spec.unwrap:
            if spec.inputs:
                self.emit(1, "P = {k: _unwrap(x) for k, x in P.items()}")
            else:
                self.emit(1, "if len(P) == 1: P = _unwrap(P)")
        self.emit(1, "R = P")
        self.emit(1, "O = {}")
        root = _Scope(
            ctx="R",
            parent="R",
            out="O",
            prefix=(),
            consumed="",
            parent_consumed="",
            target="",
            target_expr=(),
        )
        header = len(self.lines)
        lines = list(spec.extra_lines) + [None] * (len(spec.extra) - len(spec.extra_lines))
        stored = [
            (
                FieldRule(target=f"extra.{sp.text}", file=spec.file, line=line, from_=(sp,)),
                (("extra",), sp.text),
            )
            for sp, line in zip(spec.extra, lines, strict=True)
        ]
        self.fields(1, root, spec.fields, stored)
        self.lines[header:header] = [
            f"    {var} = R.get({key!r})" for key, var in self.hoisted.items()
        ]
        self.line_field[header:header] = [-1] * len(self.hoisted)
        self.emit(1, "return O")
        source = "\n".join(self.lines) + "\n"
        if source.count("\n") != len(self.line_field):  # a line with a newline inside
            raise ValueError("generated lines must not contain line breaks")
        return source


def _first_arg(call: TransformCall) -> Any:
    if call.args:
        return call.args[0]
    return dict(call.kwargs).get("format", "")


def _bind(call: TransformCall) -> Callable[[Any], Any]:
    transform = TRANSFORMS.get(call.name)
    if transform is None:  # the spec builder already refused it; keep the compiler honest
        raise TransformArgumentError(f"unknown transform {call.name!r}")
    return transform.bind(call.args, dict(call.kwargs))


def _coerce_default(rule: FieldRule) -> Any:
    value = rule.default
    as_ = rule.as_
    if as_ is None or value is None:
        return value
    if as_ == "datetime":
        return coerce.make_datetime(rule.tz, fmt=rule.format, epoch=rule.epoch)(value)
    if as_ == "date":
        return coerce.make_date(rule.tz, fmt=rule.format, epoch=rule.epoch)(value)
    return {
        "string": coerce.to_string,
        "int": coerce.to_int,
        "decimal": coerce.to_decimal,
        "bool": coerce.to_bool,
    }[as_](value)


def _generate(
    spec: MappingSpec, explain: bool
) -> tuple[Callable[..., dict[str, Any]], str, list[FieldMeta], frozenset[str]]:
    gen = _Gen(spec, explain)
    try:
        source = gen.build()
    except (TransformArgumentError, coerce.FieldFailure, ValueError, KeyError) as exc:
        raise SpecError(
            diagnostics=[
                Diagnostic(
                    code="MAP009",
                    message=f"{spec.id}: the spec cannot be compiled: {exc}",
                    file=spec.file,
                )
            ]
        ) from exc
    runtime = _Runtime(spec, gen.metas)
    namespace: dict[str, Any] = dict(RUNTIME_NAMES)
    namespace.update(gen.consts)
    namespace["_LF"] = (-1, *gen.line_field)  # line number (from 1) -> field index

    def obj_at(value: Any, what: str, data_path: str) -> Any:
        try:
            return expect_object(value, what)
        except coerce.FieldFailure as failure:
            failure.data_path = data_path
            raise

    namespace.update(
        {
            "_fail": runtime.fail,
            "_required": runtime.required,
            "_unknown": runtime.unknown,
            "_notobj": lambda p, rid, what: not_an_object(spec, p, rid, what),
            "_unwrap": unwrapper(spec.unwrap),
            "_obj_at": obj_at,
            "_to_string": coerce.to_string,
            "_to_int": coerce.to_int,
            "_to_bool": coerce.to_bool,
            "_to_decimal": coerce.to_decimal,
            "_MISS": _MISS,
            "_MISSING": ex.MISSING,
            "_Decimal": Decimal,
            "_fromiso": datetime.fromisoformat,
            "_UTC": UTC,
            "_CC": coerce.CURRENCY_SEEN,
            "_cur": coerce.currency_code,
        }
    )
    filename = f"<accord mapping {spec.id}{' explain' if explain else ''}>"
    try:
        code = compile(source, filename, "exec")
    except (SyntaxError, RecursionError, MemoryError) as exc:
        # Python limits statically nested blocks (about 20): some 7 levels of each/fields.
        raise SpecError(
            diagnostics=[
                Diagnostic(
                    code="MAP009",
                    message=f"{spec.id}: the spec nests each:/fields: too deeply to compile "
                    f"({type(exc).__name__}: {exc.args[0] if exc.args else exc})",
                    file=spec.file,
                    hint="flatten the deepest levels into separate targets or definitions",
                )
            ]
        ) from exc
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    exec(code, namespace)
    return namespace["_apply"], source, gen.metas, frozenset(gen.consumed)


def compile_mapping(spec: MappingSpec, *, explain: bool = False) -> CompiledMapping:
    """Compile ``spec`` once; the result maps any number of payloads.

    With ``explain=True`` the explain build is compiled up front too (otherwise on the first
    :meth:`CompiledMapping.explain` call). Raises SpecError if the spec cannot be compiled.
    """
    fn, source, metas, consumed = _generate(spec, explain=False)
    mapping = CompiledMapping(
        spec,
        fn,
        source,
        consumed,
        metas=metas,
        unwrap=unwrapper(spec.unwrap) if spec.unwrap else None,
    )
    if explain:
        build_explain(mapping)
    return mapping


def build_explain(mapping: CompiledMapping) -> tuple[Callable[..., dict[str, Any]], str]:
    """Compile (once) and attach the explain build of a mapping."""
    if mapping._explain_fn is None:
        fn, source, metas, _ = _generate(mapping.spec, explain=True)
        mapping._explain_fn, mapping.explain_source = fn, source
        mapping.metas = tuple(metas)
    assert mapping.explain_source is not None
    return mapping._explain_fn, mapping.explain_source
