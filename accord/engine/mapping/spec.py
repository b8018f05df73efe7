"""The typed mapping spec: header, field rules, definitions and lookup tables.

:func:`load_spec` reads a spec file (with :mod:`accord.engine.yamlsource`, so every rule knows
its ``file:line``), resolves ``include:`` and ``lookups:`` files (never outside the project
folder; include cycles are reported), and builds a :class:`MappingSpec`. Every structural
problem in the file is collected and raised together in one :class:`~accord.errors.SpecError`.
:meth:`MappingSpec.from_dict` builds the same object from plain data.

>>> spec = MappingSpec.from_dict({
...     "mapping": "demo.order.inbound", "channel": "demo", "direction": "inbound",
...     "source": "demo.order", "target": "order", "version": 1,
...     "fields": {"id": {"from": "id", "as": "string", "required": True},
...                "email": "customer.email"}})
>>> [(f.target, f.from_[0].text, f.as_) for f in spec.fields]
[('id', 'id', 'string'), ('email', 'customer.email', None)]

Codes raised here (structure the compiler cannot accept): ``MAP001`` header, ``MAP002`` field
rule, ``MAP003`` source path / JMESPath syntax, ``MAP004`` transform, ``MAP005`` unknown
definition, ``MAP006`` include or lookup file outside the project or unreadable, ``MAP007``
include cycle, ``MAP008`` lookup table, ``MAP009`` coercion options.
"""

from __future__ import annotations

import difflib
import json
import math
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

import jmespath
from jmespath.exceptions import JMESPathError

from accord.diagnostics import Diagnostic, sort_diagnostics
from accord.engine.mapping import coerce
from accord.engine.mapping.transforms import TRANSFORMS, TransformArgumentError, parse_call
from accord.engine.yamlsource import LoadedYaml, load_yaml
from accord.errors import SpecError

__all__ = [
    "CurrencySource",
    "Definition",
    "FieldRule",
    "LookupTable",
    "MappingSpec",
    "SourcePath",
    "TransformCall",
    "load_spec",
    "load_yaml_cached",
    "map_key",
    "parse_source_path",
    "project_root_for",
    "spec_from_yaml",
]

#: Deepest `fields:` nesting a spec may have (real payloads need a handful of levels).
MAX_NESTING = 64

HEADER_KEYS: Final = frozenset(
    {
        "mapping",
        "channel",
        "api_version",
        "direction",
        "source",
        "target",
        "version",
        "unwrap",
        "include",
        "lookups",
        "definitions",
        "fields",
        "extra",
        "ignore",
        "inputs",
        "description",
    }
)
RULE_KEYS: Final = frozenset(
    {
        "from",
        "value",
        "default",
        "required",
        "empty",
        "missing_values",
        "as",
        "currency",
        "money",
        "tz",
        "format",
        "epoch",
        "map",
        "unknown",
        "lookup",
        "transform",
        "when",
        "each",
        "wrap",
        "fields",
        "use",
        "description",
    }
)
DIRECTIONS: Final = ("inbound", "outbound")
_PROJECT_MARKER: Final = "accord.yaml"


# -- source paths -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SourcePath:
    """A ``from:`` expression, parsed once.

    ``scope`` says where it starts: ``"here"`` (the current element), ``"root"`` (``$root.``)
    or ``"parent"`` (``$parent.``). ``steps`` holds the keys and list indexes of a plain
    dotted path, which the compiler reads without the JMESPath interpreter; it is ``None`` for
    any other JMESPath expression.
    """

    text: str
    scope: str
    expression: str
    steps: tuple[str | int, ...] | None
    scoped: bool = field(default=False, repr=False)
    """The JMESPath expression reads ``$root``/``$parent`` inside itself (rewritten to the
    calls ``_rt()``/``_prnt()``, of the same length, that the runtime answers)."""

    @property
    def is_plain(self) -> bool:
        return self.steps is not None

    def dotted(self) -> str:
        """The path as written without its scope prefix (``@`` for the element itself)."""
        if self.scoped:  # as written, not as rewritten for the runtime
            text = self.text.strip()
            return (text if self.scope == "here" else text.split(".", 1)[1]) or "@"
        return self.expression or "@"


_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_INDEX = re.compile(r"\[(-?\d+)\]")
_QUOTED = re.compile(r'"(?:[^"\\]|\\.)*"')


def _plain_steps(expr: str) -> tuple[str | int, ...] | None:
    """Parse ``a.b[0]."c-d"`` into keys and indexes; ``None`` if it is not that simple."""
    if expr in ("@", ""):
        return ()
    steps: list[str | int] = []
    pos = 0
    while True:
        m = _IDENT.match(expr, pos)
        if m:
            steps.append(m.group())
        else:
            q = _QUOTED.match(expr, pos)
            if not q:
                return None
            try:
                steps.append(json.loads(q.group()))
            except ValueError:
                return None
            m = q
        pos = m.end()
        while True:
            i = _INDEX.match(expr, pos)
            if not i:
                break
            steps.append(int(i.group(1)))
            pos = i.end()
        if pos == len(expr):
            return tuple(steps)
        if expr[pos] != ".":
            return None
        pos += 1


def parse_source_path(text: str) -> SourcePath:
    """Parse a ``from:`` expression; raise ``ValueError`` with the JMESPath error position.

    >>> parse_source_path("$root.currency")
    SourcePath(text='$root.currency', scope='root', expression='currency', steps=('currency',))
    >>> parse_source_path("line_items[0].sku").steps
    ('line_items', 0, 'sku')
    >>> parse_source_path("note_attributes[?name=='gift'].value | [0]").steps is None
    True
    """
    scope, expr = "here", text.strip()
    for prefix, name in (("$root", "root"), ("$parent", "parent")):
        if expr == prefix or expr.startswith(prefix + "."):
            scope, expr = name, expr[len(prefix) + 1 :]
            break
    scoped = "$root" in expr or "$parent" in expr
    if scoped:
        expr = _rewrite_scopes(expr)
    steps = None if scoped else _plain_steps(expr)
    if steps is None:
        jmespath.compile(expr)  # raises a JMESPathError (a ValueError) on bad syntax
    return SourcePath(text=text, scope=scope, expression=expr, steps=steps, scoped=scoped)


_SCOPE_CALLS = {"$root": "_rt()", "$parent": "_prnt()"}  # same lengths: error offsets hold
_SCOPE_TOKEN = re.compile(r"\$(root|parent)(?![A-Za-z0-9_])")


def _rewrite_scopes(expr: str) -> str:
    """Turn ``$root``/``$parent`` inside a JMESPath expression into the runtime's scope
    calls, leaving string and JSON literals alone. A scope must start an expression: after a
    ``.`` it is a ``ValueError``.

    >>> _rewrite_scopes("[$root.options[0].name, option1]")
    '[_rt().options[0].name, option1]'
    >>> _rewrite_scopes("tags[?@ == '$root']")
    "tags[?@ == '$root']"
    """
    out: list[str] = []
    pos = 0
    while pos < len(expr):
        ch = expr[pos]
        if ch in "\"'`":  # a quoted identifier, raw string or JSON literal: copy it whole
            end = pos + 1
            while end < len(expr) and expr[end] != ch:
                end += 2 if expr[end] == "\\" else 1
            out.append(expr[pos : end + 1])
            pos = end + 1
            continue
        token = _SCOPE_TOKEN.match(expr, pos)
        if token:
            if "".join(out).rstrip().endswith("."):
                raise ValueError("$root and $parent must start a path, not follow a '.'")
            out.append(_SCOPE_CALLS[token.group()])
            pos = token.end()
            continue
        out.append(ch)
        pos += 1
    return "".join(out)


# -- the spec model -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CurrencySource:
    """Where ``as: money`` finds the currency: a literal, a source path or a sibling field."""

    literal: str | None = None
    path: SourcePath | None = None
    field: str | None = None


@dataclass(frozen=True, slots=True)
class TransformCall:
    """One item of a ``transform:`` chain, as written."""

    name: str
    args: tuple[Any, ...] = ()
    kwargs: tuple[tuple[str, Any], ...] = ()


@dataclass(frozen=True, slots=True)
class FieldRule:
    """One target field and how to produce it. ``line``/``column`` locate its key."""

    target: str
    file: str | None = None
    line: int | None = None
    column: int | None = None
    pointer: str = ""
    from_: tuple[SourcePath, ...] = ()
    value: Any = None
    has_value: bool = False
    default: Any = None
    has_default: bool = False
    required: bool = False
    empty: str = "null"  # "null": only null/missing are absent; "missing": "" too
    missing_values: tuple[Any, ...] = ()
    as_: str | None = None
    currency: CurrencySource | None = None
    money: str | None = None
    tz: str | None = None
    format: str | None = None
    epoch: str | None = None
    map: Mapping[str, Any] | None = None
    unknown: str = "error"
    lookup: str | None = None
    transforms: tuple[TransformCall, ...] = ()
    when: SourcePath | None = None
    each: SourcePath | None = None
    wrap: bool = False
    fields: tuple[FieldRule, ...] | None = None
    use: str | None = None

    @property
    def location(self) -> str:
        """``file:line`` of the rule (``<spec>`` when built from plain data)."""
        return f"{self.file or '<spec>'}:{self.line if self.line is not None else '?'}"


@dataclass(frozen=True, slots=True)
class Definition:
    """A named sub-mapping, applied with ``use:``."""

    name: str
    fields: tuple[FieldRule, ...]
    file: str | None = None
    line: int | None = None


@dataclass(frozen=True, slots=True)
class LookupTable:
    """A lookup table: string keys (see :func:`map_key`) to values, with an optional default."""

    name: str
    table: Mapping[str, Any]
    default: Any = None
    has_default: bool = False
    file: str | None = None


@dataclass(frozen=True, slots=True)
class MappingSpec:
    """A whole mapping spec. Build it with :func:`load_spec` or :meth:`from_dict`."""

    id: str
    channel: str
    direction: str
    source: str
    target: str
    version: int
    fields: tuple[FieldRule, ...]
    api_version: str | None = None
    unwrap: tuple[str, ...] = ()
    inputs: tuple[str, ...] = ()
    extra: tuple[SourcePath, ...] = ()
    extra_lines: tuple[int | None, ...] = ()  # the line of each `extra:` item
    ignore: tuple[str, ...] = ()
    definitions: Mapping[str, Definition] = field(default_factory=dict)
    lookups: Mapping[str, LookupTable] = field(default_factory=dict)
    includes: tuple[str, ...] = ()
    file: str | None = None
    #: file name -> text, for rendering diagnostics with the source line.
    sources: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)
    #: The plain data the spec was built from.
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def entity(self) -> str:
        """The canonical entity: the target of an inbound spec, the source of an outbound one."""
        return self.target if self.direction == "inbound" else self.source

    @classmethod
    def from_dict(
        cls,
        data: Any,
        *,
        file: str | None = None,
        base_dir: str | os.PathLike[str] | None = None,
        project_root: str | os.PathLike[str] | None = None,
    ) -> MappingSpec:
        """Build a spec from plain data; ``include:`` and lookup files resolve from
        ``base_dir`` (default: the current directory) inside ``project_root``."""
        base = Path(base_dir) if base_dir is not None else Path.cwd()
        root = Path(project_root) if project_root is not None else base
        doc = _PlainDoc(data, file)
        builder = _SpecBuilder(root.resolve())
        spec = builder.build_safely(doc, base.resolve(), ())
        builder.raise_if_errors()
        assert spec is not None
        return spec


def spec_from_yaml(
    text: str,
    *,
    file: str | None = None,
    base_dir: str | os.PathLike[str] | None = None,
    project_root: str | os.PathLike[str] | None = None,
) -> MappingSpec:
    """Build a spec from YAML text, keeping line numbers (``file`` names it in diagnostics).

    >>> spec = spec_from_yaml("mapping: m\\nchannel: c\\ndirection: inbound\\nsource: s\\n"
    ...                       "target: t\\nfields:\\n  id: {from: id}\\n", file="m.yaml")
    >>> spec.fields[0].location
    'm.yaml:7'
    """
    base = Path(base_dir) if base_dir is not None else Path.cwd()
    root = Path(project_root) if project_root is not None else base
    builder = _SpecBuilder(root.resolve())
    try:
        loaded = load_yaml(text, filename=file)
    except SpecError as exc:
        builder.diagnostics.extend(exc.diagnostics)
        builder.raise_if_errors()
        raise  # pragma: no cover - raise_if_errors always raises here
    builder.diagnostics.extend(loaded.diagnostics)
    if file is not None:
        builder.sources[file] = loaded.source
    spec = builder.build_safely(_FileDoc(loaded), base.resolve(), ())
    builder.raise_if_errors()
    assert spec is not None
    return spec


def map_key(value: Any) -> str | None:
    """The key a ``map:`` or lookup table uses for a value: text as it is, numbers as their
    text, booleans as ``true``/``false``; ``None`` for values that cannot be keys.

    >>> map_key(3), map_key("3"), map_key(True), map_key([1])
    ('3', '3', 'true', None)
    """
    cls = value.__class__
    if cls is str:
        return value  # type: ignore[no-any-return]
    if cls is bool:
        return "true" if value else "false"
    if cls is int:
        return str(value)
    if cls is float:
        value = Decimal(repr(value)) if math.isfinite(value) else None
        cls = Decimal
    if cls is Decimal and value.is_finite():
        if value == value.to_integral_value():
            return str(int(value))
        return str(value.normalize())
    return None


def project_root_for(path: Path) -> Path:
    """The project folder of a spec: the nearest folder above it holding ``accord.yaml``,
    else the spec's own folder. Includes and lookup files may not leave it."""
    for parent in path.resolve().parents:
        if (parent / _PROJECT_MARKER).is_file():
            return parent
    return path.resolve().parent


def load_spec(
    path: str | os.PathLike[str], *, project_root: str | os.PathLike[str] | None = None
) -> MappingSpec:
    """Load, resolve and build a spec file; raise SpecError carrying every Diagnostic found."""
    spec_path = Path(path)
    root = Path(project_root).resolve() if project_root is not None else None
    root = root or project_root_for(spec_path)
    builder = _SpecBuilder(root)
    doc = builder.read(spec_path, None)
    spec = None
    if doc is not None:
        spec = builder.build_safely(doc, spec_path.resolve().parent, (spec_path.resolve(),))
    builder.raise_if_errors()
    assert spec is not None
    return spec


# -- building -----------------------------------------------------------------------------


class _PlainDoc:
    """Plain data without positions, shaped like LoadedYaml for the builder."""

    def __init__(self, data: Any, file: str | None) -> None:
        self.data = data
        self.file = file
        self.source = ""

    def diagnostic(
        self, code: str, message: str, path: str | None = None, *, key: bool = False
    ) -> Diagnostic:
        return Diagnostic(code=code, message=message, file=self.file)

    def line_of(self, pointer: str) -> tuple[int | None, int | None]:
        return None, None

    def locate(self, pointer: str, offset: int) -> tuple[int, int] | None:
        return None


class _FileDoc:
    def __init__(self, loaded: LoadedYaml) -> None:
        self.loaded = loaded
        self.data = loaded.data
        self.file = loaded.file
        self.source = loaded.source

    def diagnostic(
        self, code: str, message: str, path: str | None = None, *, key: bool = False
    ) -> Diagnostic:
        return self.loaded.diagnostic(code, message, path, key=key)

    def line_of(self, pointer: str) -> tuple[int | None, int | None]:
        span = self.loaded.nearest(pointer, key=True)
        return (span.line, span.column) if span else (None, None)

    def locate(self, pointer: str, offset: int) -> tuple[int, int] | None:
        return self.loaded.locate(pointer, offset)


_Doc = _PlainDoc | _FileDoc


def _ptr(*parts: str | int) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


class _SpecBuilder:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.diagnostics: list[Diagnostic] = []
        self.sources: dict[str, str] = {}

    def raise_if_errors(self) -> None:
        if self.diagnostics:
            raise SpecError(diagnostics=sort_diagnostics(self.diagnostics))

    def error(self, doc: _Doc, code: str, message: str, pointer: str, *, key: bool = False) -> None:
        self.diagnostics.append(doc.diagnostic(code, message, pointer, key=key))

    # -- files --

    def read(self, path: Path, name: str | None) -> _FileDoc | None:
        try:
            loaded = load_yaml_cached(path, name)
        except SpecError as exc:
            self.diagnostics.extend(exc.diagnostics)
            return None
        self.diagnostics.extend(loaded.diagnostics)
        self.sources[loaded.file or str(path)] = loaded.source
        return _FileDoc(loaded)

    def resolve(
        self, doc: _Doc, base: Path, ref: Any, pointer: str, what: str
    ) -> tuple[Path, str] | None:
        if not isinstance(ref, str) or not ref:
            self.error(doc, "MAP006", f"{what} must be a relative file path", pointer)
            return None
        target = (base / ref).resolve()
        if not target.is_relative_to(self.root):
            self.error(
                doc,
                "MAP006",
                f"{what} {ref!r} is outside the project folder {self.root.name}/",
                pointer,
            )
            return None
        if not target.is_file():
            self.error(doc, "MAP006", f"{what} {ref!r} does not exist", pointer)
            return None
        shown = ref
        if doc.file is not None:
            shown = os.path.normpath(os.path.join(os.path.dirname(doc.file), ref))
        return target, shown

    # -- the document --

    def build_safely(self, doc: _Doc, base: Path, stack: tuple[Path, ...]) -> MappingSpec | None:
        try:
            return self.build(doc, base, stack)
        except RecursionError:
            self.error(doc, "MAP002", "the spec is nested too deeply", "")
            return None

    def build(self, doc: _Doc, base: Path, stack: tuple[Path, ...]) -> MappingSpec | None:
        data = doc.data
        if not isinstance(data, dict):
            self.error(doc, "MAP001", "a mapping spec must be a YAML mapping", "")
            return None
        for key in data:
            if key not in HEADER_KEYS:
                hint = _closest(str(key), HEADER_KEYS)
                self.error(doc, "MAP001", f"unknown spec key {key!r}{hint}", _ptr(key), key=True)
        header = {}
        for key in ("mapping", "channel", "direction", "source", "target"):
            value = data.get(key)
            if not isinstance(value, str) or not value:
                self.error(doc, "MAP001", f"the spec needs `{key}:` (text)", _ptr(key))
                value = ""
            header[key] = value
        if header["direction"] and header["direction"] not in DIRECTIONS:
            self.error(doc, "MAP001", "`direction:` is inbound or outbound", "/direction")
        version = data.get("version", 1)
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            self.error(doc, "MAP001", "`version:` is a positive integer", "/version")
            version = 1
        api_version = data.get("api_version")
        if api_version is not None and not isinstance(api_version, str | int):
            self.error(doc, "MAP001", "`api_version:` is text", "/api_version")
        unwrap = self.names(doc, data.get("unwrap"), "/unwrap", "unwrap")
        inputs = self.names(doc, data.get("inputs"), "/inputs", "inputs")
        ignore = self.names(doc, data.get("ignore"), "/ignore", "ignore")
        extra: list[SourcePath] = []
        extra_lines: list[int | None] = []
        for i, text in enumerate(self.names(doc, data.get("extra"), "/extra", "extra")):
            sp = self.source_path(doc, text, _ptr("extra", i))
            if sp is not None:
                extra.append(sp)
                extra_lines.append(doc.line_of(_ptr("extra", i))[0])

        definitions: dict[str, Definition] = {}
        includes: list[str] = []
        for i, ref in enumerate(_as_list(data.get("include"))):
            found = self.resolve(doc, base, ref, _ptr("include", i), "include")
            if found is None:
                continue
            path, shown = found
            includes.append(shown)
            if path in stack:
                chain = " -> ".join(p.name for p in (*stack, path))
                self.error(doc, "MAP007", f"include cycle: {chain}", _ptr("include", i))
                continue
            for name, definition in self.include(path, shown, (*stack, path)).items():
                if name in definitions:
                    self.error(
                        doc,
                        "MAP005",
                        f"definition {name!r} is defined by two included files",
                        _ptr("include", i),
                    )
                definitions[name] = definition
        definitions.update(self.definitions(doc, data.get("definitions")))
        lookups = self.lookups(doc, base, data.get("lookups"))

        fields_data = data.get("fields")
        if not isinstance(fields_data, dict) or not fields_data:
            self.error(
                doc, "MAP001", "the spec needs `fields:`, a mapping of target fields", "/fields"
            )
            fields_data = {}
        fields = self.fields(doc, fields_data, ("fields",))

        spec = MappingSpec(
            id=header["mapping"],
            channel=header["channel"],
            direction=header["direction"],
            source=header["source"],
            target=header["target"],
            version=version,
            api_version=None if api_version is None else str(api_version),
            fields=fields,
            unwrap=tuple(unwrap),
            inputs=tuple(inputs),
            extra=tuple(extra),
            extra_lines=tuple(extra_lines),
            ignore=tuple(ignore),
            definitions=definitions,
            lookups=lookups,
            includes=tuple(includes),
            file=doc.file,
            sources=self.sources,
            raw=data,
        )
        self.check_references(spec, doc)
        return spec

    def names(self, doc: _Doc, value: Any, pointer: str, what: str) -> list[str]:
        items = _as_list(value)
        out = []
        for i, item in enumerate(items):
            if isinstance(item, str) and item:
                out.append(item)
            else:
                self.error(doc, "MAP001", f"`{what}:` holds text items", f"{pointer}/{i}")
        return out

    def include(self, path: Path, shown: str, stack: tuple[Path, ...]) -> dict[str, Definition]:
        doc = self.read(path, shown)
        if doc is None:
            return {}
        data = doc.data
        if not isinstance(data, dict):
            self.error(doc, "MAP001", "an included file is a mapping with `definitions:`", "")
            return {}
        for key in data:
            if key not in ("definitions", "include", "description"):
                self.error(
                    doc,
                    "MAP001",
                    f"an included file holds only definitions:, include: and description:, "
                    f"not {key!r}",
                    _ptr(key),
                    key=True,
                )
        out: dict[str, Definition] = {}
        for i, ref in enumerate(_as_list(data.get("include"))):
            found = self.resolve(doc, path.parent, ref, _ptr("include", i), "include")
            if found is None:
                continue
            sub, sub_shown = found
            if sub in stack:
                chain = " -> ".join(p.name for p in (*stack, sub))
                self.error(doc, "MAP007", f"include cycle: {chain}", _ptr("include", i))
                continue
            out.update(self.include(sub, sub_shown, (*stack, sub)))
        out.update(self.definitions(doc, data.get("definitions")))
        return out

    def definitions(self, doc: _Doc, value: Any) -> dict[str, Definition]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.error(doc, "MAP001", "`definitions:` maps names to sub-mappings", "/definitions")
            return {}
        out = {}
        for name, body in value.items():
            pointer = _ptr("definitions", name)
            if not isinstance(body, dict) or not isinstance(body.get("fields"), dict):
                self.error(doc, "MAP001", f"definition {name!r} needs `fields:`", pointer)
                continue
            extra_keys = set(body) - {"fields", "description"}
            if extra_keys:
                self.error(
                    doc,
                    "MAP001",
                    f"definition {name!r} has unknown key(s): {', '.join(sorted(extra_keys))}",
                    pointer,
                )
            line, _ = doc.line_of(pointer)
            out[str(name)] = Definition(
                name=str(name),
                fields=self.fields(doc, body["fields"], ("definitions", name, "fields")),
                file=doc.file,
                line=line,
            )
        return out

    def lookups(self, doc: _Doc, base: Path, value: Any) -> dict[str, LookupTable]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.error(doc, "MAP008", "`lookups:` maps table names to files", "/lookups")
            return {}
        out = {}
        for name, ref in value.items():
            pointer = _ptr("lookups", name)
            if isinstance(ref, dict):
                table = self.table(doc, str(name), ref, pointer, doc.file)
            else:
                found = self.resolve(doc, base, ref, pointer, "lookup file")
                if found is None:
                    continue
                sub = self.read(found[0], found[1])
                if sub is None:
                    continue
                table = self.table(sub, str(name), sub.data, "", sub.file)
            if table is not None:
                out[str(name)] = table
        return out

    def table(
        self, doc: _Doc, name: str, data: Any, pointer: str, file: str | None
    ) -> LookupTable | None:
        if not isinstance(data, dict) or not isinstance(data.get("table"), dict):
            self.error(doc, "MAP008", f"lookup {name!r} needs `table:`, a mapping", pointer)
            return None
        extra_keys = set(data) - {"table", "default", "description"}
        if extra_keys:
            self.error(
                doc,
                "MAP008",
                f"lookup {name!r} has unknown key(s): {', '.join(sorted(map(str, extra_keys)))}",
                pointer,
            )
        table = {}
        for key, val in data["table"].items():
            k = map_key(key)
            if k is None:
                self.error(doc, "MAP008", f"lookup key {key!r} is not text", pointer)
                continue
            table[k] = val
        return LookupTable(
            name=name,
            table=table,
            default=data.get("default"),
            has_default="default" in data,
            file=file,
        )

    # -- field rules --

    def fields(self, doc: _Doc, data: Any, at: tuple[str | int, ...]) -> tuple[FieldRule, ...]:
        if not isinstance(data, dict):
            self.error(doc, "MAP002", "`fields:` maps target fields to rules", _ptr(*at))
            return ()
        if at.count("fields") > MAX_NESTING:  # found the same way whatever the recursion limit
            self.error(
                doc, "MAP002", f"the spec nests fields: more than {MAX_NESTING} levels deep", ""
            )
            return ()
        out = []
        for target, body in data.items():
            rule = self.rule(doc, str(target), body, (*at, target))
            if rule is not None:
                out.append(rule)
        return tuple(out)

    def source_path(self, doc: _Doc, text: Any, pointer: str) -> SourcePath | None:
        if not isinstance(text, str) or not text.strip():
            self.error(doc, "MAP003", "a source path is a non-empty string", pointer)
            return None
        try:
            return parse_source_path(text)
        except (JMESPathError, ValueError) as exc:
            offset = getattr(exc, "lex_position", None)
            diag = doc.diagnostic("MAP003", f"bad JMESPath {text!r}: {_jmes_message(exc)}", pointer)
            if isinstance(offset, int):
                where = doc.locate(pointer, offset)
                if where is not None:
                    diag = diag.at(line=where[0], column=where[1])
            self.diagnostics.append(diag)
            return None

    def rule(
        self, doc: _Doc, target: str, body: Any, at: tuple[str | int, ...]
    ) -> FieldRule | None:
        pointer = _ptr(*at)
        if not target or any(not part for part in target.split(".")):
            self.error(doc, "MAP002", f"bad target field {target!r}", pointer, key=True)
        if isinstance(body, str):
            body = {"from": body}  # shorthand: `email: customer.email`
        if not isinstance(body, dict):
            self.error(
                doc, "MAP002", f"the rule for {target!r} must be a mapping or a path", pointer
            )
            return None
        ok = True

        def bad(key: str, message: str) -> None:
            nonlocal ok
            ok = False
            self.error(doc, "MAP002", message, f"{pointer}/{_esc(key)}")

        for key in body:
            if key not in RULE_KEYS:
                hint = _closest(str(key), RULE_KEYS)
                bad(str(key), f"unknown rule key {key!r} in {target!r}{hint}")

        sources: list[SourcePath] = []
        raw_from = body.get("from")
        if raw_from is not None:
            items = raw_from if isinstance(raw_from, list) else [raw_from]
            if not items:
                bad("from", f"`from:` of {target!r} is an empty list")
            for i, item in enumerate(items):
                sub = f"{pointer}/from/{i}" if isinstance(raw_from, list) else f"{pointer}/from"
                sp = self.source_path(doc, item, sub)
                if sp is None:
                    ok = False
                else:
                    sources.append(sp)
        has_value = "value" in body
        if has_value and raw_from is not None:
            bad("value", f"{target!r} has both `from:` and `value:`")

        as_ = body.get("as")
        if as_ is not None and as_ not in coerce.COERCIONS:
            bad("as", f"`as:` is one of {', '.join(coerce.COERCIONS)}, not {as_!r}")
            as_ = None

        empty = body.get("empty", "null")
        if empty not in ("null", "missing"):
            bad("empty", "`empty:` is null (only null and missing keys are absent) or missing")
            empty = "null"
        missing_values = body.get("missing_values", [])
        if not isinstance(missing_values, list) or any(
            isinstance(v, dict | list) for v in missing_values
        ):
            bad("missing_values", "`missing_values:` is a list of plain values")
            missing_values = []

        required = body.get("required", False)
        if not isinstance(required, bool):
            bad("required", "`required:` is true or false")
            required = False
        wrap = body.get("wrap", False)
        if not isinstance(wrap, bool):
            bad("wrap", "`wrap:` is true or false")
            wrap = False
        unknown = body.get("unknown", "error")
        if unknown not in ("error", "warn"):
            bad("unknown", "`unknown:` is error or warn")
            unknown = "error"

        currency = self.currency(doc, body.get("currency"), f"{pointer}/currency")
        if "currency" in body and currency is None:
            ok = False
        if currency is not None and as_ != "money":
            bad("currency", f"`currency:` needs `as: money` in {target!r}")
        money = body.get("money")
        if money is not None and money not in ("shop", "presentment"):
            bad("money", "`money:` is shop or presentment")
            money = None
        tz = body.get("tz")
        fmt = body.get("format")
        epoch = body.get("epoch")
        for key, val in (("tz", tz), ("format", fmt)):
            if val is not None and not isinstance(val, str):
                bad(key, f"`{key}:` is text")
        if epoch is not None and epoch not in ("s", "ms"):
            bad("epoch", "`epoch:` is s or ms")
            epoch = None
        if isinstance(tz, str):
            try:
                coerce.zone(tz)
            except ValueError as exc:
                self.error(doc, "MAP009", str(exc), f"{pointer}/tz")
                ok = False
        if (tz is not None or fmt is not None or epoch is not None) and as_ not in (
            "datetime",
            "date",
        ):
            bad(
                "tz",
                f"`tz:`, `format:` and `epoch:` need `as: datetime` or `as: date` ({target!r})",
            )

        table = body.get("map")
        map_table: dict[str, Any] | None = None
        if table is not None:
            if not isinstance(table, dict) or not table:
                bad("map", "`map:` is a non-empty mapping of source values to target values")
            else:
                map_table = {}
                for k, v in table.items():
                    key = map_key(k)
                    if key is None:
                        bad("map", f"map key {k!r} is not a plain value")
                    else:
                        map_table[key] = v

        lookup = body.get("lookup")
        lookup_name: str | None = None
        if lookup is not None:
            if isinstance(lookup, str):
                lookup_name = lookup
            elif isinstance(lookup, dict) and isinstance(lookup.get("table"), str):
                lookup_name = lookup["table"]
                if set(lookup) - {"table"}:
                    bad("lookup", "`lookup:` holds only `table:`")
            else:
                bad("lookup", "`lookup:` is {table: NAME}")
        if map_table is not None and lookup_name is not None:
            bad("lookup", f"{target!r} has both `map:` and `lookup:`")

        calls = self.transforms(doc, body.get("transform"), f"{pointer}/transform")
        if calls is None:
            ok = False
            calls = ()

        when = None
        if body.get("when") is not None:
            when = self.source_path(doc, body["when"], f"{pointer}/when")
            ok = ok and when is not None
        each = None
        if body.get("each") is not None:
            each = self.source_path(doc, body["each"], f"{pointer}/each")
            ok = ok and each is not None
            if raw_from is not None:
                bad("each", f"{target!r} has both `each:` and `from:`; `each:` names the list")
        if wrap and each is None:
            bad("wrap", "`wrap:` only applies with `each:`")

        use = body.get("use")
        if use is not None and not isinstance(use, str):
            bad("use", "`use:` names a definition")
            use = None
        nested = None
        if "fields" in body:
            nested = self.fields(doc, body["fields"], (*at, "fields"))
            if use is not None:
                bad("fields", f"{target!r} has both `use:` and `fields:`")
        structured = nested is not None or use is not None
        if structured and (as_ or map_table is not None or lookup_name or calls or has_value):
            bad(
                "fields" if nested is not None else "use",
                f"{target!r} maps an object (`fields:`/`use:`); `as:`, `map:`, `lookup:`, "
                "`transform:` and `value:` apply to single values",
            )
        if (
            not has_value
            and raw_from is None
            and each is None
            and not structured
            and "default" not in body
        ):
            bad("from", f"{target!r} needs `from:`, `value:`, `each:`, `fields:` or `use:`")

        if as_ == "money" and currency is None and ok:
            pass  # the currency may come from the value itself ({Amount, CurrencyCode}, *_set)
        for key in ("default", "value"):
            if as_ is not None and key in body and ok:
                ok = self.check_literal(doc, body, key, as_, tz, fmt, epoch, pointer)

        if not ok:
            return None
        line, column = doc.line_of(pointer)
        return FieldRule(
            target=target,
            file=doc.file,
            line=line,
            column=column,
            pointer=pointer,
            from_=tuple(sources),
            value=body.get("value"),
            has_value=has_value,
            default=body.get("default"),
            has_default="default" in body,
            required=required,
            empty=empty,
            missing_values=tuple(missing_values),
            as_=as_,
            currency=currency,
            money=money,
            tz=tz,
            format=fmt,
            epoch=epoch,
            map=map_table,
            unknown=unknown,
            lookup=lookup_name,
            transforms=calls,
            when=when,
            each=each,
            wrap=wrap,
            fields=nested,
            use=use,
        )

    def check_literal(
        self,
        doc: _Doc,
        body: dict[str, Any],
        key: str,
        as_: str,
        tz: Any,
        fmt: Any,
        epoch: Any,
        pointer: str,
    ) -> bool:
        """A `default:` or `value:` that `as:` refuses would fail every record: refuse the spec."""
        literal = body[key]
        if literal is None:
            return True
        try:
            if as_ == "datetime":
                coerce.make_datetime(tz, fmt=fmt, epoch=epoch)(literal)
            elif as_ == "date":
                coerce.make_date(tz, fmt=fmt, epoch=epoch)(literal)
            elif as_ == "money":
                # The currency may only be known at run time: check the amount's shape here.
                coerce.make_money(body.get("money"), "XXX")(literal, None, None)
            else:
                {
                    "string": coerce.to_string,
                    "int": coerce.to_int,
                    "decimal": coerce.to_decimal,
                    "bool": coerce.to_bool,
                }[as_](literal)
        except coerce.FieldFailure as exc:
            self.error(doc, "MAP009", f"`{key}:` {exc.message}", f"{pointer}/{key}")
            return False
        return True

    def currency(self, doc: _Doc, value: Any, pointer: str) -> CurrencySource | None:
        if value is None:
            return None
        if isinstance(value, str):
            try:
                return CurrencySource(literal=coerce.currency_code(value))
            except coerce.FieldFailure as exc:
                self.error(doc, "MAP009", exc.message, pointer)
                return None
        if isinstance(value, dict) and len(value) == 1:
            if isinstance(value.get("from"), str):
                sp = self.source_path(doc, value["from"], f"{pointer}/from")
                return None if sp is None else CurrencySource(path=sp)
            if isinstance(value.get("field"), str):
                return CurrencySource(field=value["field"])
        self.error(
            doc, "MAP009", "`currency:` is a code (USD), {from: path} or {field: target}", pointer
        )
        return None

    def transforms(self, doc: _Doc, value: Any, pointer: str) -> tuple[TransformCall, ...] | None:
        if value is None:
            return ()
        items = value if isinstance(value, list) else [value]
        out: list[TransformCall] = []
        failed = False
        for i, item in enumerate(items):
            sub = f"{pointer}/{i}" if isinstance(value, list) else pointer
            try:
                name, args, kwargs = parse_call(item)
                transform = TRANSFORMS.get(name)
                if transform is None:
                    hint = _closest(name, TRANSFORMS)
                    raise TransformArgumentError(f"unknown transform {name!r}{hint}")
                transform.bind(args, kwargs)
            except TransformArgumentError as exc:
                self.error(doc, "MAP004", str(exc), sub)
                failed = True
                continue
            out.append(TransformCall(name, tuple(args), tuple(kwargs.items())))
        return None if failed else tuple(out)

    # -- references --

    def check_references(self, spec: MappingSpec, doc: _Doc) -> None:
        """`use:` names a definition, `lookup:` a table; definitions do not use themselves."""

        def walk(rules: Sequence[FieldRule], trail: tuple[str, ...]) -> None:
            for rule in rules:
                where = _RuleAt(rule)
                if rule.use is not None:
                    if rule.use not in spec.definitions:
                        hint = _closest(rule.use, spec.definitions)
                        self.diagnostics.append(
                            where.diag("MAP005", f"unknown definition {rule.use!r}{hint}")
                        )
                    elif rule.use in trail:
                        cycle = " -> ".join((*trail, rule.use))
                        self.diagnostics.append(
                            where.diag("MAP005", f"definitions use each other in a cycle: {cycle}")
                        )
                    else:
                        walk(spec.definitions[rule.use].fields, (*trail, rule.use))
                if rule.lookup is not None and rule.lookup not in spec.lookups:
                    hint = _closest(rule.lookup, spec.lookups)
                    self.diagnostics.append(
                        where.diag("MAP008", f"unknown lookup table {rule.lookup!r}{hint}")
                    )
                if rule.fields:
                    walk(rule.fields, trail)

        walk(spec.fields, ())
        for definition in spec.definitions.values():
            walk(definition.fields, (definition.name,))


class _RuleAt:
    def __init__(self, rule: FieldRule) -> None:
        self.rule = rule

    def diag(self, code: str, message: str) -> Diagnostic:
        return Diagnostic(
            code=code,
            message=message,
            file=self.rule.file,
            line=self.rule.line,
            column=self.rule.column,
        )


_CACHE: dict[tuple[str, int, int, str | None], LoadedYaml] = {}
_CACHE_SIZE: Final = 256


def load_yaml_cached(path: Path, name: str | None) -> LoadedYaml:
    """Load a YAML file once per version: shared definition and lookup files are read by
    many specs, and parsing YAML with positions costs far more than compiling."""
    try:
        stat = path.stat()
    except OSError:
        return load_yaml(path, filename=name)  # reports the unreadable file
    key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size, name)
    loaded = _CACHE.get(key)
    if loaded is None:
        loaded = load_yaml(path, filename=name)
        if len(_CACHE) >= _CACHE_SIZE:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[key] = loaded
    return loaded


def _esc(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _closest(name: str, options: Any) -> str:
    match = difflib.get_close_matches(name, [str(o) for o in options], n=1)
    return f"; did you mean {match[0]!r}?" if match else ""


def _jmes_message(exc: Exception) -> str:
    msg = getattr(exc, "msg", None) or str(exc).splitlines()[0]
    return str(msg)
