"""Static checks for mapping specs: everything that can be wrong before a record arrives.

:func:`check_spec_file` runs the whole validation pipeline on one spec and returns *every*
problem it finds, sorted by position, as :class:`~accord.diagnostics.Diagnostic` records; it
never raises for bad content:

1. YAML loading (``YAML0xx``: syntax, duplicate keys) with positions;
2. structure against the JSON Schema (``SPEC0xx``, :mod:`accord.engine.mapping.schema`);
3. semantic checks (``MAP1xx``, below) against the canonical model
   (:mod:`accord.canonical.introspect`), the transform registry, JMESPath, and the included
   and lookup files;
4. as a safety net, when 1-3 found no error, the spec model itself is built
   (:func:`~accord.engine.mapping.spec.load_spec`), so a spec that passes the check also loads.

>>> text = '''
... mapping: shop.order.inbound
... channel: shop
... api_version: "1"
... direction: inbound
... source: shop.order
... target: order
... version: 1
... fields:
...   id: {from: id, as: string}
...   totl: {from: total_price, as: money, currency: USD}
... '''
>>> for d in check_spec_text(text, "order.inbound.yaml"):
...     print(d.location, d.code, d.message)
order.inbound.yaml:11:3 MAP101 unknown target field 'totl' on order (did you mean 'total'?)

Semantic codes (``MAP1xx``):

========  =====================================================================
MAP101    unknown target field (inbound), with a did-you-mean
MAP102    unknown canonical entity in ``target:`` (inbound) / ``source:`` (outbound)
MAP103    ``as:`` does not fit the target field's type
MAP104    ``as: money`` without a currency source
MAP105    list/scalar shape mismatch (``each`` into a scalar, a list of objects
          without ``each``, a list into a scalar field, one value into a list)
MAP106    a target produced twice (``customer`` and ``customer.email``)
MAP107    unknown transform, with a did-you-mean
MAP108    bad transform arguments
MAP109    bad JMESPath in ``from``/``when``/``each``/``currency.from``/``extra``
MAP110    unknown lookup table
MAP111    lookup file missing, unreadable or invalid
MAP112    include cycle
MAP113    an include or lookup file outside the project folder
MAP114    include file missing or unreadable
MAP115    unknown definition in ``use:``, or definitions using each other in a cycle
MAP116    a ``map:``/lookup/``default`` value that is not in the target's enum
MAP117    outbound: a source path that is not in the canonical model
MAP118    ``currency: {field: X}`` names no sibling target
MAP119    a path that does not start with one of the declared ``inputs:``
MAP120    unknown time zone in ``tz:``
MAP121    a required canonical field is never produced (warning)
MAP100    the spec model failed unexpectedly on this spec (a bug: please report it)
========  =====================================================================
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import jmespath
from jmespath.exceptions import IncompleteExpressionError, JMESPathError, LexerError

from accord.canonical.introspect import FieldSpec, UnknownPathError, describe, resolve_path
from accord.diagnostics import Diagnostic, Severity, has_errors, sort_diagnostics
from accord.engine.mapping import coerce
from accord.engine.mapping.schema import closest, validate_lookup, validate_spec
from accord.engine.mapping.spec import (
    SourcePath,
    load_spec,
    load_yaml_cached,
    map_key,
    parse_source_path,
    project_root_for,
    spec_from_yaml,
)
from accord.engine.mapping.transforms import TRANSFORMS, TransformArgumentError, parse_call
from accord.engine.yamlsource import LoadedYaml, load_yaml
from accord.errors import SpecError

__all__ = ["check_lookup_file", "check_spec", "check_spec_file", "check_spec_text"]

#: Which ``as:`` coercions may feed a canonical field of each kind.
_AS_FITS: Final[Mapping[str, frozenset[str]]] = {
    "string": frozenset({"string"}),
    "enum": frozenset({"string"}),
    "int": frozenset({"int"}),
    "decimal": frozenset({"decimal", "int"}),
    "bool": frozenset({"bool"}),
    "money": frozenset({"money"}),
    "datetime": frozenset({"datetime"}),
    "date": frozenset({"date"}),
}
#: Leaf names that usually hold a bare amount (no currency of their own).
_BARE_AMOUNT: Final = ("amount", "price", "total", "subtotal", "cost", "tax", "discount")

Path_ = tuple[str | int, ...]


def check_spec_file(
    path: str | os.PathLike[str], *, project_root: str | os.PathLike[str] | None = None
) -> list[Diagnostic]:
    """Every problem in the spec file at ``path`` (and the files it includes), sorted.

    ``project_root`` bounds ``include:`` and lookup files (default: the nearest folder above
    the spec holding ``accord.yaml``, else the spec's folder). Never raises for bad content.
    """
    spec_path = Path(path)
    try:
        # shared with load_spec: the safety net and a later compile reuse this parse
        doc = load_yaml_cached(spec_path, None)
    except SpecError as exc:
        return sort_diagnostics(exc.diagnostics)
    root = Path(project_root) if project_root is not None else project_root_for(spec_path)
    return check_spec(doc, base_dir=spec_path.parent, project_root=root, spec_path=spec_path)


def check_spec_text(
    text: str,
    filename: str | None = None,
    *,
    project_root: str | os.PathLike[str] | None = None,
) -> list[Diagnostic]:
    """Like :func:`check_spec_file` for text; includes and lookups resolve next to
    ``filename`` (or the current directory)."""
    try:
        doc = load_yaml(text, filename=filename)
    except SpecError as exc:
        return sort_diagnostics(exc.diagnostics)
    base = Path(filename).parent if filename else Path.cwd()
    if project_root is not None:
        root = Path(project_root)
    elif filename:
        root = project_root_for(Path(filename))
    else:
        root = base
    return check_spec(doc, base_dir=base, project_root=root)


def check_lookup_file(path: str | os.PathLike[str]) -> list[Diagnostic]:
    """Every problem in a lookup table file, sorted."""
    try:
        # shared with the specs that read this table (they name it the same way): one parse
        doc = load_yaml_cached(Path(path), os.fspath(path))
    except SpecError as exc:
        return sort_diagnostics(exc.diagnostics)
    return sort_diagnostics([*doc.diagnostics, *validate_lookup(doc)])


def check_spec(
    doc: LoadedYaml,
    *,
    base_dir: str | os.PathLike[str],
    project_root: str | os.PathLike[str],
    spec_path: Path | None = None,
) -> list[Diagnostic]:
    """Check an already loaded spec; the other entry points end here."""
    checker = _Checker(Path(project_root).resolve())
    checker.spec(doc, Path(base_dir).resolve(), spec_path)
    found = list(checker.diagnostics)
    if not has_errors(found) and isinstance(doc.data, dict) and "fields" in doc.data:
        found.extend(_build(doc, Path(base_dir), Path(project_root), spec_path))
    return sort_diagnostics(found)


def _build(doc: LoadedYaml, base: Path, root: Path, spec_path: Path | None) -> list[Diagnostic]:
    """What the spec model still refuses after the checks passed (normally nothing)."""
    try:
        if spec_path is not None:
            load_spec(spec_path, project_root=root)
        else:
            spec_from_yaml(doc.source, file=doc.file, base_dir=base, project_root=root)
    except SpecError as exc:
        return list(exc.diagnostics)
    except Exception as exc:  # the checker never raises for a spec's content
        return [
            doc.diagnostic(
                "MAP100",
                f"internal error while building the spec ({type(exc).__name__}: {exc}); "
                "this is a bug in accord, please report it",
                "",
            )
        ]
    return []


# -- the checker ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Def:
    """A named definition and the file it lives in."""

    name: str
    doc: LoadedYaml
    at: Path_
    body: Mapping[str, Any]


@dataclass
class _Scope:
    """Where a fields map sits: in the canonical record and in the source."""

    doc: LoadedYaml
    at: Path_  # pointer of the `fields` mapping in doc
    target: str  # canonical path prefix of the targets (inbound), "" at the top
    source: str | None  # outbound: canonical path of the current element ("" at the top)
    parent_source: str | None
    in_each: bool
    siblings: frozenset[str] = frozenset()
    trail: tuple[str, ...] = ()  # definitions being applied (cycle detection)
    #: False below a target already reported as unknown or misshapen: its children would
    #: only repeat the same mistake.
    known: bool = True


@dataclass
class _Checker:
    root: Path
    diagnostics: list[Diagnostic] = field(default_factory=list)
    direction: str | None = None
    entity: str | None = None  # the canonical entity, if it is known
    inputs: tuple[str, ...] = ()
    definitions: dict[str, _Def] = field(default_factory=dict)
    lookups: dict[str, Mapping[str, Any] | None] = field(default_factory=dict)
    root_targets: frozenset[str] = frozenset()
    _applied: set[tuple[str, str]] = field(default_factory=set)

    # -- reporting --

    def report(
        self,
        doc: LoadedYaml,
        code: str,
        message: str,
        at: Path_,
        *,
        key: bool = False,
        severity: Severity = Severity.ERROR,
        hint: str | None = None,
    ) -> None:
        self.diagnostics.append(
            doc.diagnostic(code, message, list(at), key=key, severity=severity, hint=hint)
        )

    # -- the document --

    def spec(self, doc: LoadedYaml, base: Path, self_path: Path | None = None) -> None:
        self.diagnostics.extend(doc.diagnostics)
        self.diagnostics.extend(validate_spec(doc))
        data = doc.data
        if not isinstance(data, dict):
            return
        direction = data.get("direction")
        self.direction = direction if direction in ("inbound", "outbound") else None
        entity_key = {"inbound": "target", "outbound": "source"}.get(self.direction or "")
        if entity_key is not None and isinstance(data.get(entity_key), str):
            self.entity = self.canonical_entity(doc, data[entity_key], (entity_key,))
        self.inputs = tuple(i for i in _as_list(data.get("inputs")) if isinstance(i, str))
        # the spec itself heads the include chain, so including it again is a cycle
        here = self_path if self_path is not None else base / (Path(doc.file or "<spec>").name)
        self.includes(doc, base, data, (here.resolve(),))
        self.local_definitions(doc, data)
        self.lookup_files(doc, base, data)
        for i, text in enumerate(_as_list(data.get("extra"))):
            at: Path_ = ("extra", i) if isinstance(data.get("extra"), list) else ("extra",)
            if isinstance(text, str):
                self.source_path(doc, text, at)
        fields = data.get("fields")
        if isinstance(fields, dict):
            self.root_targets = frozenset(str(k) for k in fields)
            top_source = "" if self.direction == "outbound" else None
            scope = _Scope(doc, ("fields",), "", top_source, None, False, self.root_targets)
            self.fields(scope, fields)
        for definition in self.definitions.values():
            self.check_definition_syntax(definition)

    def canonical_entity(self, doc: LoadedYaml, name: str, at: Path_) -> str | None:
        try:
            describe(name)
        except KeyError as exc:
            options = getattr(exc, "suggestions", None) or []
            mean = f" (did you mean '{options[0]}'?)" if options else ""
            side = "target" if at == ("target",) else "source"
            self.report(doc, "MAP102", f"unknown canonical entity '{name}' in '{side}'{mean}", at)
            return None
        return name

    # -- included files, definitions and lookups --

    def includes(
        self, doc: LoadedYaml, base: Path, data: Mapping[str, Any], stack: tuple[Path, ...]
    ) -> None:
        raw = data.get("include")
        for i, ref in enumerate(_as_list(raw)):
            at: Path_ = ("include", i) if isinstance(raw, list) else ("include",)
            if not isinstance(ref, str) or not ref:
                continue  # the schema reported it
            target = self.project_file(doc, base, ref, at, "include", "MAP114")
            if target is None:
                continue
            if target in stack:
                chain = " -> ".join(p.name for p in (*stack, target))
                self.report(doc, "MAP112", f"include cycle: {chain}", at)
                continue
            shown = _shown(doc.file, ref)
            try:
                sub = load_yaml_cached(target, shown)
            except SpecError as exc:
                self.diagnostics.extend(exc.diagnostics)
                continue
            self.diagnostics.extend(sub.diagnostics)
            self.diagnostics.extend(validate_spec(sub))
            if not isinstance(sub.data, dict):
                continue
            self.includes(sub, target.parent, sub.data, (*stack, target))
            defs = sub.data.get("definitions")
            if isinstance(defs, dict):
                for name, body in defs.items():
                    if isinstance(body, dict):
                        self.definitions[str(name)] = _Def(
                            str(name), sub, ("definitions", str(name)), body
                        )

    def local_definitions(self, doc: LoadedYaml, data: Mapping[str, Any]) -> None:
        defs = data.get("definitions")
        if isinstance(defs, dict):
            for name, body in defs.items():
                if isinstance(body, dict):
                    self.definitions[str(name)] = _Def(
                        str(name), doc, ("definitions", str(name)), body
                    )

    def lookup_files(self, doc: LoadedYaml, base: Path, data: Mapping[str, Any]) -> None:
        lookups = data.get("lookups")
        if not isinstance(lookups, dict):
            return
        for name, ref in lookups.items():
            at: Path_ = ("lookups", str(name))
            if isinstance(ref, dict):  # an inline table, checked by the schema
                table = ref.get("table")
                self.lookups[str(name)] = ref if isinstance(table, dict) else None
                continue
            self.lookups[str(name)] = None
            if not isinstance(ref, str) or not ref:
                continue
            target = self.project_file(doc, base, ref, at, "lookup file", "MAP111")
            if target is None:
                continue
            try:
                sub = load_yaml_cached(target, _shown(doc.file, ref))
            except SpecError as exc:
                self.report(doc, "MAP111", f"lookup file '{ref}' is not valid YAML", at)
                self.diagnostics.extend(exc.diagnostics)
                continue
            problems = [*sub.diagnostics, *validate_lookup(sub)]
            if problems:
                self.report(doc, "MAP111", f"lookup file '{ref}' is invalid", at)
                self.diagnostics.extend(problems)
                continue
            self.lookups[str(name)] = sub.data

    def project_file(
        self, doc: LoadedYaml, base: Path, ref: str, at: Path_, what: str, missing_code: str
    ) -> Path | None:
        target = (base / ref).resolve()
        if not target.is_relative_to(self.root):
            self.report(
                doc,
                "MAP113",
                f"{what} '{ref}' is outside the project folder '{self.root.name}'",
                at,
                hint="includes and lookup files must live inside the project",
            )
            return None
        if not target.is_file():
            self.report(doc, missing_code, f"{what} '{ref}' does not exist", at)
            return None
        return target

    # -- field maps --

    def fields(self, scope: _Scope, fields: Mapping[Any, Any]) -> None:
        produced: list[tuple[str, Path_]] = []
        for target, body in fields.items():
            at: Path_ = (*scope.at, str(target))
            produced.append((str(target), at))
            rule = {"from": body} if isinstance(body, str) else body
            if isinstance(rule, dict):
                self.rule(scope, str(target), rule, at)
        self.overlaps(scope.doc, produced)
        self.required_fields(scope, [t for t, _ in produced], fields)

    def overlaps(self, doc: LoadedYaml, produced: list[tuple[str, Path_]]) -> None:
        names = {t for t, _ in produced}
        for target, at in produced:
            parts = target.split(".")
            for n in range(1, len(parts)):
                whole = ".".join(parts[:n])
                if whole in names:
                    self.report(
                        doc,
                        "MAP106",
                        f"target '{target}' is also produced by '{whole}', which builds the "
                        "whole object",
                        at,
                        key=True,
                    )
                    break

    def required_fields(self, scope: _Scope, targets: list[str], fields: Mapping[Any, Any]) -> None:
        if self.direction != "inbound" or self.entity is None or scope.trail:
            return
        try:
            here = (
                describe(self.entity)
                if not scope.target
                else resolve_path(self.entity, scope.target)
            )
        except KeyError:
            return
        if here.kind == "list" and here.item is not None:
            here = here.item
        if here.children is None:
            return
        firsts = {t.split(".")[0] for t in targets}
        for name, child in here.children.items():
            if child.required and name not in firsts:
                where = f" of '{scope.target}'" if scope.target else ""
                self.report(
                    scope.doc,
                    "MAP121",
                    f"required canonical field '{name}'{where} is never produced",
                    scope.at,
                    key=True,
                    severity=Severity.WARNING,
                )

    def rule(self, scope: _Scope, target: str, rule: Mapping[str, Any], at: Path_) -> None:
        doc = scope.doc
        spec = self.target_spec(scope, target, at)
        full = _join_target(scope.target, target)
        sources = self.rule_sources(scope, rule, at)
        if isinstance(rule.get("when"), str):
            self.source_path(doc, rule["when"], (*at, "when"))
        each_path: SourcePath | None = None
        if isinstance(rule.get("each"), str):
            each_path = self.source_path(doc, rule["each"], (*at, "each"))
            if each_path is not None:
                self.input_prefix(scope, each_path, (*at, "each"))
        currency = rule.get("currency")
        if isinstance(currency, dict):
            if isinstance(currency.get("from"), str):
                self.source_path(doc, currency["from"], (*at, "currency", "from"))
            sibling = currency.get("field")
            if isinstance(sibling, str) and sibling not in scope.siblings | self.root_targets:
                mean = closest(sibling, sorted(scope.siblings | self.root_targets))
                self.report(
                    doc,
                    "MAP118",
                    f"currency field '{sibling}' is not a target of this mapping"
                    + (f" (did you mean '{mean}'?)" if mean else ""),
                    (*at, "currency", "field"),
                )
        chain_ok, reduces = self.transforms(doc, rule.get("transform"), (*at, "transform"))
        self.timezone(doc, rule.get("tz"), (*at, "tz"))
        self.lookup_ref(doc, rule.get("lookup"), (*at, "lookup"), spec, target)
        known = scope.known and (spec is not None or self.entity is None)
        if spec is not None:
            known = self.shape(scope, target, rule, at, spec, sources, reduces)
            self.enum_values(doc, rule, at, spec, target)
        if rule.get("as") == "money":
            self.money_currency(doc, target, rule, at, sources, chain_ok)
        # nested mappings
        item_target = f"{full}[]" if "each" in rule else full
        # Nested fields and definitions read the element of `each`, or the value at `from`.
        relative = scope.in_each or "each" in rule or "from" in rule
        if each_path is not None:
            item_source = self.outbound_each_source(scope, each_path, (*at, "each"))
        elif len(sources) == 1 and "from" in rule:
            item_source = self.outbound_each_source(scope, sources[0], (*at, "from"))
        else:
            item_source = scope.source
        nested = rule.get("fields")
        if isinstance(nested, dict):
            inner = _Scope(
                doc,
                (*at, "fields"),
                item_target,
                item_source,
                scope.source,
                relative,
                frozenset(str(k) for k in nested),
                scope.trail,
                known,
            )
            self.fields(inner, nested)
        use = rule.get("use")
        if isinstance(use, str):
            self.apply_definition(
                scope, use, (*at, "use"), item_target, item_source, relative, known
            )

    def rule_sources(self, scope: _Scope, rule: Mapping[str, Any], at: Path_) -> list[SourcePath]:
        raw = rule.get("from")
        out: list[SourcePath] = []
        for i, text in enumerate(_as_list(raw)):
            sub: Path_ = (*at, "from", i) if isinstance(raw, list) else (*at, "from")
            if not isinstance(text, str):
                continue
            parsed = self.source_path(scope.doc, text, sub)
            if parsed is None:
                continue
            out.append(parsed)
            self.input_prefix(scope, parsed, sub)
            self.outbound_source(scope, parsed, sub)
        return out

    def target_spec(self, scope: _Scope, target: str, at: Path_) -> FieldSpec | None:
        if self.direction != "inbound" or self.entity is None or not scope.known:
            return None
        full = _join_target(scope.target, target)
        try:
            return resolve_path(self.entity, full)
        except UnknownPathError as exc:
            options = [_relative(o, scope.target) for o in exc.suggestions]
            mean = f" (did you mean '{options[0]}'?)" if options else ""
            where = f" in '{scope.target}'" if scope.target else ""
            self.report(
                scope.doc,
                "MAP101",
                f"unknown target field '{target}' on {self.entity}{where}{mean}",
                at,
                key=True,
            )
        except KeyError:
            pass
        return None

    # -- paths --

    def source_path(self, doc: LoadedYaml, text: str, at: Path_) -> SourcePath | None:
        try:
            return parse_source_path(text)
        except (JMESPathError, ValueError, TypeError, IndexError, KeyError, RecursionError) as exc:
            offset = getattr(exc, "lex_position", None)
            message = f"bad JMESPath expression {text!r}: {_jmespath_reason(exc)}"
            diag = doc.diagnostic("MAP109", message, list(at))
            if isinstance(offset, int):
                stripped = text.strip()
                lead = len(text) - len(text.lstrip())
                for prefix in ("$root.", "$parent."):
                    if stripped.startswith(prefix):
                        lead += len(prefix)
                where = doc.locate(list(at), lead + offset)
                if where is not None:
                    diag = diag.at(
                        line=where[0], column=where[1], end_line=where[0], end_column=where[1] + 1
                    )
            self.diagnostics.append(diag)
            return None

    def input_prefix(self, scope: _Scope, path: SourcePath, at: Path_) -> None:
        if not self.inputs or scope.in_each or path.scope == "parent" or path.steps is None:
            return
        if self.direction != "inbound" or not path.steps:
            return
        first = path.steps[0]
        if first not in self.inputs:
            mean = closest(str(first), self.inputs)
            self.report(
                scope.doc,
                "MAP119",
                f"path '{path.text}' does not start with an input "
                f"({', '.join(self.inputs)})" + (f"; did you mean '{mean}'?" if mean else ""),
                at,
            )

    def outbound_source(self, scope: _Scope, path: SourcePath, at: Path_) -> FieldSpec | None:
        """Outbound specs read the canonical record: resolve the path against it."""
        if self.direction != "outbound" or self.entity is None or path.steps is None:
            return None
        base = {"here": scope.source, "root": "", "parent": scope.parent_source}[path.scope]
        if base is None:
            return None
        canonical = _join_target(base, _steps_text(path.steps))
        if not canonical:
            return None
        try:
            return resolve_path(self.entity, canonical)
        except UnknownPathError as exc:
            options = [_relative(o, base) for o in exc.suggestions]
            mean = f" (did you mean '{options[0]}'?)" if options else ""
            self.report(
                scope.doc,
                "MAP117",
                f"source path '{path.text}' is not a field of canonical {self.entity}{mean}",
                at,
            )
        except KeyError:
            pass
        return None

    def outbound_each_source(self, scope: _Scope, each: SourcePath | None, at: Path_) -> str | None:
        if self.direction != "outbound" or each is None or each.steps is None:
            return None
        spec = self.outbound_source(scope, each, at)
        base = {"here": scope.source, "root": "", "parent": scope.parent_source}[each.scope]
        if base is None:
            return None
        path = _join_target(base, _steps_text(each.steps))
        if spec is not None and spec.kind == "list":
            return f"{path}[]"
        return path if spec is not None else None

    # -- transforms, lookups, zones --

    def transforms(self, doc: LoadedYaml, raw: Any, at: Path_) -> tuple[bool, bool]:
        """Check a transform chain; returns (all known and well-formed, ends in a reducer)."""
        ok, reduces = True, False
        for i, item in enumerate(_as_list(raw)):
            sub: Path_ = (*at, i) if isinstance(raw, list) else at
            if not isinstance(item, (str, dict)):
                ok = False
                continue  # the schema reported it
            try:
                name, args, kwargs = parse_call(item)
            except TransformArgumentError as exc:
                self.report(doc, "MAP108", str(exc), sub)
                ok = False
                continue
            transform = TRANSFORMS.get(name)
            if transform is None:
                mean = closest(name, TRANSFORMS)
                self.report(
                    doc,
                    "MAP107",
                    f"unknown transform '{name}'" + (f" (did you mean '{mean}'?)" if mean else ""),
                    sub,
                )
                ok = False
                continue
            try:
                transform.bind(args, kwargs)
            except TransformArgumentError as exc:
                self.report(doc, "MAP108", f"{exc} (signature: {transform.signature})", sub)
                ok = False
            reduces = not transform.elementwise
        return ok, reduces

    def lookup_ref(
        self, doc: LoadedYaml, raw: Any, at: Path_, spec: FieldSpec | None, target: str
    ) -> None:
        name = raw.get("table") if isinstance(raw, dict) else raw
        sub: Path_ = (*at, "table") if isinstance(raw, dict) else at
        if not isinstance(name, str):
            return
        if name not in self.lookups:
            mean = closest(name, self.lookups)
            declared = ", ".join(sorted(self.lookups)) or "none"
            self.report(
                doc,
                "MAP110",
                f"unknown lookup table '{name}'" + (f" (did you mean '{mean}'?)" if mean else ""),
                sub,
                hint=f"tables declared under 'lookups:': {declared}",
            )
            return
        table = self.lookups[name]
        if spec is None or spec.kind != "enum" or not spec.enum_values or table is None:
            return
        values = table.get("table")
        pairs = list(values.items()) if isinstance(values, dict) else []
        if "default" in table:
            pairs.append(("default", table["default"]))
        bad = sorted({str(v) for _, v in pairs if v is not None and str(v) not in spec.enum_values})
        if bad:
            self.report(
                doc,
                "MAP116",
                f"lookup table '{name}' yields {', '.join(repr(b) for b in bad)}, not allowed "
                f"for '{target}' ({', '.join(spec.enum_values)})",
                sub,
            )

    def timezone(self, doc: LoadedYaml, tz: Any, at: Path_) -> None:
        if not isinstance(tz, str):
            return
        try:
            coerce.zone(tz)
        except ValueError:
            self.report(doc, "MAP120", f"unknown time zone '{tz}' (use an IANA name)", at)

    # -- types --

    def shape(
        self,
        scope: _Scope,
        target: str,
        rule: Mapping[str, Any],
        at: Path_,
        spec: FieldSpec,
        sources: list[SourcePath],
        reduces: bool,
    ) -> bool:
        """Check the rule's shape against the target; False when nested fields cannot fit."""
        doc = scope.doc
        kind = spec.kind
        as_ = rule.get("as")
        structured = "fields" in rule or "use" in rule
        if "each" in rule and kind not in ("list", "any"):
            self.report(
                doc,
                "MAP105",
                f"'each' produces a list, but '{target}' is {_a(kind)}",
                (*at, "each"),
            )
            return False
        if kind == "list" and spec.item is not None:
            item = spec.item.kind
            if item in ("object", "money") and "each" not in rule and not structured:
                if sources or "value" in rule:
                    self.report(
                        doc,
                        "MAP105",
                        f"'{target}' is a list of {item}s: map it with 'each:' and nested "
                        "'fields:' (add 'wrap: true' if the source may be a single object)",
                        at,
                        key=True,
                    )
                return True
            if isinstance(as_, str) and "each" not in rule:
                self.report(
                    doc,
                    "MAP103",
                    f"'as: {as_}' converts one value, but '{target}' is a list of {item}s",
                    (*at, "as"),
                )
            elif "each" not in rule and not structured and sources:
                self.list_source(doc, target, item, rule, at, sources)
            return True
        if isinstance(as_, str) and kind in _AS_FITS and as_ not in _AS_FITS[kind]:
            self.report(
                doc,
                "MAP103",
                f"'as: {as_}' does not fit '{target}', which is {_a(kind)}"
                + (f" (use 'as: {_suggest_as(kind)}')" if _suggest_as(kind) else ""),
                (*at, "as"),
            )
        elif isinstance(as_, str) and kind in ("object", "dict"):
            self.report(
                doc,
                "MAP103",
                f"'as: {as_}' makes one value, but '{target}' is {_a(kind)}",
                (*at, "as"),
            )
        if kind == "money" and not structured and as_ != "money" and (sources or "value" in rule):
            self.report(
                doc,
                "MAP103",
                f"'{target}' is money: add 'as: money' (with a currency source)",
                at,
                key=True,
            )
        if kind in ("string", "int", "decimal", "bool", "datetime", "date", "enum", "money"):
            lists = [s for s in sources if _yields_list(s)]
            if lists and not reduces:
                self.report(
                    doc,
                    "MAP105",
                    f"'{lists[0].text}' yields a list, but '{target}' is {_a(kind)}; reduce it "
                    "with a transform such as sum, join or first",
                    at,
                    key=True,
                    severity=Severity.WARNING,
                )
        if structured and kind not in ("object", "money", "any", "dict"):
            self.report(
                doc,
                "MAP105",
                f"'fields'/'use' build an object, but '{target}' is {_a(kind)}",
                at,
                key=True,
            )
            return False
        return True

    def list_source(
        self,
        doc: LoadedYaml,
        target: str,
        item: str,
        rule: Mapping[str, Any],
        at: Path_,
        sources: list[SourcePath],
    ) -> None:
        """A list of values fed by what reads as one value (``tags: {from: tag}``): an error
        when the transforms surely end in one value (``join``) or the source surely reads one
        (``length(a)``), a warning when only its form suggests it (a path to a singular key:
        the payload may still hold a list there). A transform that makes a list (``split``,
        ``to_list``) settles it."""
        makes = _chain_makes(rule.get("transform"))
        if makes == "list":
            return
        sure = min(_reads_one_value(s) for s in sources)
        fix = (
            f"use 'each: {sources[0].text}' (with 'wrap: true' if it may be a single value), "
            "or a transform that makes a list such as split or to_list"
        )
        if makes == "one":
            self.report(
                doc,
                "MAP105",
                f"the transforms end in one value, but '{target}' is a list of {item}s; {fix}",
                (*at, "transform"),
            )
        elif sure:
            self.report(
                doc,
                "MAP105",
                f"'{sources[0].text}' reads one value, but '{target}' is a list of {item}s; " + fix,
                at,
                key=True,
                severity=Severity.ERROR if sure == _SURE else Severity.WARNING,
            )

    def enum_values(
        self, doc: LoadedYaml, rule: Mapping[str, Any], at: Path_, spec: FieldSpec, target: str
    ) -> None:
        if spec.kind != "enum" or not spec.enum_values:
            return
        allowed = spec.enum_values
        table = rule.get("map")
        checks: list[tuple[Any, Path_]] = []
        if isinstance(table, dict):
            checks.extend((v, (*at, "map", str(k))) for k, v in table.items())
        checks.extend((rule[key], (*at, key)) for key in ("default", "value") if key in rule)
        for value, where in checks:
            if value is None or map_key(value) in allowed:
                continue
            mean = closest(str(value), allowed)
            self.report(
                doc,
                "MAP116",
                f"{value!r} is not a {target} value ({', '.join(allowed)})"
                + (f"; did you mean '{mean}'?" if mean else ""),
                where,
            )

    def money_currency(
        self,
        doc: LoadedYaml,
        target: str,
        rule: Mapping[str, Any],
        at: Path_,
        sources: list[SourcePath],
        chain_ok: bool,
    ) -> None:
        if "currency" in rule or "money" in rule:
            return
        value = rule.get("value")
        if "value" in rule and not isinstance(value, dict):
            self.report(
                doc,
                "MAP104",
                f"'{target}' is money from the literal {value!r} but has no currency: "
                "add 'currency: USD' (or {from: path} / {field: target})",
                (*at, "value"),
            )
            return
        if rule.get("transform") and chain_ok:
            self.report(
                doc,
                "MAP104",
                f"'{target}' is money computed by a transform, which yields a bare amount: "
                "add 'currency:' ({from: path}, {field: target} or a code)",
                at,
                key=True,
            )
            return
        bare = [s for s in sources if _bare_amount(s)]
        if bare:
            self.report(
                doc,
                "MAP104",
                f"'{target}' reads '{bare[0].text}', which looks like a bare amount, and has "
                "no 'currency:'",
                at,
                key=True,
                severity=Severity.WARNING,
                hint="without 'currency:' the value must be an object carrying its currency "
                "({amount, currency}, {Amount, CurrencyCode}, a *_set bag)",
            )

    # -- definitions --

    def apply_definition(
        self,
        scope: _Scope,
        name: str,
        at: Path_,
        target: str,
        source: str | None,
        relative: bool,
        known: bool,
    ) -> None:
        definition = self.definitions.get(name)
        if definition is None:
            mean = closest(name, self.definitions)
            names = ", ".join(sorted(self.definitions)) or "none"
            self.report(
                scope.doc,
                "MAP115",
                f"unknown definition '{name}'" + (f" (did you mean '{mean}'?)" if mean else ""),
                at,
                hint=f"definitions in this spec and its includes: {names}",
            )
            return
        if name in scope.trail:
            cycle = " -> ".join((*scope.trail, name))
            self.report(scope.doc, "MAP115", f"definitions use each other in a cycle: {cycle}", at)
            return
        # Each (definition, place) pair is checked once; the same definition used for billing
        # and shipping addresses is checked at both places.
        key = (name, f"{target}|{source}|{known}")
        if key in self._applied:
            return
        self._applied.add(key)
        fields = definition.body.get("fields")
        if isinstance(fields, dict):
            inner = _Scope(
                definition.doc,
                (*definition.at, "fields"),
                target,
                source,
                scope.source,
                relative,
                frozenset(str(k) for k in fields),
                (*scope.trail, name),
                known,
            )
            self.fields(inner, fields)

    def check_definition_syntax(self, definition: _Def) -> None:
        """Definitions nobody uses still get their paths and transforms checked."""
        if any(name == definition.name for name, _ in self._applied):
            return
        fields = definition.body.get("fields")
        if not isinstance(fields, dict):
            return
        for target, body in fields.items():
            rule = {"from": body} if isinstance(body, str) else body
            if not isinstance(rule, dict):
                continue
            at: Path_ = (*definition.at, "fields", str(target))
            for i, text in enumerate(_as_list(rule.get("from"))):
                raw = rule.get("from")
                sub: Path_ = (*at, "from", i) if isinstance(raw, list) else (*at, "from")
                if isinstance(text, str):
                    self.source_path(definition.doc, text, sub)
            self.transforms(definition.doc, rule.get("transform"), (*at, "transform"))


# -- helpers --------------------------------------------------------------------------------


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _shown(spec_file: str | None, ref: str) -> str:
    if spec_file is None:
        return ref
    return os.path.normpath(os.path.join(os.path.dirname(spec_file), ref))


def _join_target(prefix: str, target: str) -> str:
    if not prefix:
        return target
    if not target:
        return prefix
    return f"{prefix}.{target}"


def _relative(path: str, prefix: str) -> str:
    return path[len(prefix) + 1 :] if prefix and path.startswith(prefix + ".") else path


def _steps_text(steps: tuple[str | int, ...]) -> str:
    out = ""
    for step in steps:
        if isinstance(step, int):
            out += "[]"
        else:
            out += ("." if out else "") + step
    return out


def _yields_list(path: SourcePath) -> bool:
    """A JMESPath projection or flatten (``a[].b``, ``a[*]``, ``a[?x]``) yields a list."""
    if path.steps is not None:
        return False
    expr = path.expression
    if "|" in expr or "(" in expr:
        return False  # a pipe or function may reduce it: give the benefit of the doubt
    return "[]" in expr or "[*]" in expr or "[?" in expr


#: JMESPath functions that always return one value (a number, text or a boolean).
_ONE_VALUE_FUNCTIONS: Final = frozenset(
    {"abs", "avg", "ceil", "contains", "ends_with", "floor", "join", "length", "max", "min",
     "starts_with", "sum", "to_number", "to_string", "type"}
)  # fmt: skip
#: A key named like a collection (`tags`, `AddressLines`, `variant_ids`, `tag_list`).
_PLURAL_KEY: Final = re.compile(r"(?:[^su]s|list|array|set|data|media|children|people)$")
_SURE, _LIKELY = 2, 1


def _reads_one_value(path: SourcePath) -> int:
    """How sure the form of a source is that it reads one value, not a list: ``_SURE`` for
    a comparison, a non-list literal or a function returning a number or text; ``_LIKELY``
    for a path to a singular-looking key (``tag``, ``note.body``) or to an element
    (``tags[0]``), alone or in ``a || b``; ``0`` for anything else (a projection, a
    multi-select list, another function, a path to a plural key such as ``tags``, which the
    payload may well hold as a list).

    >>> [_reads_one_value(parse_source_path(t)) for t in ("length(a)", "tag", "a.tags[0]")]
    [2, 1, 1]
    >>> [_reads_one_value(parse_source_path(t)) for t in ("tags", "a[].b", "sort(a)", "a||bs")]
    [0, 0, 0, 0]
    """
    if not path.expression:
        return 0  # `@`: the element itself
    try:
        tree: Mapping[str, Any] = jmespath.compile(path.expression).parsed
    except JMESPathError:
        return 0  # reported as MAP109

    def one(node: Mapping[str, Any]) -> int:
        kind = node.get("type")
        children = node.get("children") or ()
        if kind == "field":
            key = str(node.get("value", "")).replace("_", "").lower()
            return 0 if _PLURAL_KEY.search(key) else _LIKELY
        if kind == "index_expression" and children and children[-1].get("type") == "index":
            return _LIKELY
        if kind in ("subexpression", "pipe"):
            return one(children[-1]) if children else 0
        if kind in ("or_expression", "and_expression"):
            return min((one(child) for child in children), default=0)
        if kind in ("comparator", "not_expression"):
            return _SURE
        if kind == "literal":
            return 0 if isinstance(node.get("value"), list) else _SURE
        if kind == "function_expression":
            return _SURE if node.get("value") in _ONE_VALUE_FUNCTIONS else 0
        return 0

    return one(tree)


def _chain_makes(raw: Any) -> str | None:
    """What a transform chain leaves: ``"list"``, ``"one"`` value, or ``None`` when every
    transform keeps the shape of its input (text transforms apply to each element).

    >>> _chain_makes(["strip", "split"]), _chain_makes(["split", "join"]), _chain_makes(["upper"])
    ('list', 'one', None)
    """
    makes: str | None = None
    for item in _as_list(raw):
        if not isinstance(item, str | dict):
            continue
        try:
            name, _, _ = parse_call(item)
        except TransformArgumentError:
            continue
        transform = TRANSFORMS.get(name)
        if transform is None:
            continue
        returns = transform.signature.rpartition("->")[2].strip()
        if returns.startswith("list"):
            makes = "list"
        elif not transform.elementwise:
            makes = "one"
    return makes


def _bare_amount(path: SourcePath) -> bool:
    if path.steps is None or not path.steps:
        return False
    last = path.steps[-1]
    if not isinstance(last, str):
        return False
    name = last.lower()
    return name in _BARE_AMOUNT or any(name.endswith("_" + b) for b in _BARE_AMOUNT)


def _a(kind: str) -> str:
    words = {
        "list": "a list",
        "object": "an object",
        "int": "an int",
        "enum": "an enum",
        "any": "anything",
    }
    return words.get(kind, f"a {kind}")


def _suggest_as(kind: str) -> str | None:
    """The coercion that fits a canonical kind (an enum is read as a string)."""
    if kind == "enum":
        return "string"
    return kind if kind in coerce.COERCIONS else None


def _jmespath_reason(exc: BaseException) -> str:
    if isinstance(exc, IncompleteExpressionError):
        return "the expression ends too early"
    if isinstance(exc, LexerError):
        return str(getattr(exc, "message", None) or "unexpected character")
    token = getattr(exc, "token_value", None)
    if isinstance(exc, JMESPathError) and token not in (None, ""):
        return f"unexpected {token!r}"
    text = str(getattr(exc, "msg", None) or exc).splitlines()
    return text[0] if text else type(exc).__name__
