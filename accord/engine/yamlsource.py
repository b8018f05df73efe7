"""YAML and JSON loading with source positions, shared by every stage.

Mapping specs, lookup tables, case files, rule case files and the project config are all read
through :func:`load_yaml`. It returns plain Python data (dicts, lists, ``str``, ``int``,
``bool``, ``None`` and :class:`~decimal.Decimal`) together with a position index, so that any
later stage can point a :class:`~accord.diagnostics.Diagnostic` at the exact ``line:col`` of a
key or value::

    >>> doc = load_yaml("fields:\\n  total: {from: total_price, as: money}\\n", filename="o.yaml")
    >>> doc.data
    {'fields': {'total': {'from': 'total_price', 'as': 'money'}}}
    >>> doc.position("/fields/total/from")
    Span(line=2, column=17, end_line=2, end_column=28)
    >>> doc.position(("fields", "total"), key=True)
    Span(line=2, column=3, end_line=2, end_column=8)

Paths are JSON pointers (RFC 6901: ``/fields/total/from``, ``~1`` for ``/`` and ``~0`` for
``~`` inside a key, ``""`` for the document) or sequences of keys and list indexes, which is
what ``jsonschema`` reports in ``error.absolute_path``. Lines and columns are 1-based; the end
is exclusive (the column just after the last character).

Decisions worth knowing:

* **Floats load as Decimal.** ``price: 19.99`` gives ``Decimal('19.99')``, never a float, so
  an amount written in a spec, a case file or a JSON payload keeps every digit. ``.inf`` and
  ``.nan`` give ``Decimal('Infinity')`` and ``Decimal('NaN')``.
* **YAML 1.2 core schema** (ruamel.yaml's default): ``yes``/``no``/``on``/``off`` are strings,
  ``012`` is the integer 12. A ``%YAML 1.1`` directive switches to 1.1 rules.
* **Timestamps stay text.** An unquoted ``2024-04-01`` is the string ``'2024-04-01'``, so the
  data stays JSON-compatible; the stage that wants a datetime parses it with its own rules.
* **Duplicate keys** do not raise: the later value is used and a ``YAML002`` error is put in
  :attr:`LoadedYaml.diagnostics`, located at the repeated key. Callers that must refuse them call
  :meth:`LoadedYaml.raise_for_errors`.
* **Syntax errors raise** :class:`~accord.errors.SpecError` carrying one located ``YAML001``
  diagnostic; no ruamel.yaml exception ever leaves this module.
* **libyaml when available.** With ``ruamel.yaml.clib`` installed, text is parsed by libyaml
  (about seven times faster); anything libyaml refuses is parsed again by ruamel's YAML 1.2
  parser, which decides and whose messages are reported. The two differ only on degenerate
  input (a lone ``!`` tag, ``|#``, the span of an empty ``? key`` value).
* A ``str`` argument is YAML text; an :class:`os.PathLike` (e.g. :class:`pathlib.Path`) is a
  file to read. :func:`load_yaml_file` accepts a path given as ``str``.

Codes: ``YAML001`` syntax error, ``YAML002`` duplicate key, ``YAML003`` more than one document,
``YAML004`` unsupported tag or non-scalar key, ``YAML005`` recursive alias, ``YAML006`` bad
characters or encoding, ``YAML007`` file cannot be read, ``YAML008`` nesting too deep.
"""

from __future__ import annotations

import bisect
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, NamedTuple

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from ruamel.yaml.reader import ReaderError

from accord.diagnostics import Diagnostic, Severity
from accord.errors import SpecError

__all__ = [
    "LoadedYaml",
    "PathLike",
    "Span",
    "join_pointer",
    "load_yaml",
    "load_yaml_file",
    "split_pointer",
]

#: A location in the document: a JSON pointer or a sequence of keys / list indexes.
PathLike = str | Sequence[str | int]

#: Deeper documents are refused (``YAML008``) instead of exhausting the Python stack.
MAX_DEPTH = 200

_TAG = "tag:yaml.org,2002:"
_FOLD_MARK = "\a"  # ruamel's round-trip scanner marks folded breaks in `>` scalars with it


class Span(NamedTuple):
    """A 1-based source range; ``end_column`` is exclusive."""

    line: int
    column: int
    end_line: int
    end_column: int


@dataclass(frozen=True, slots=True)
class _ScalarInfo:
    start: int  # character offset of the node in the source
    end: int
    style: str | None


def escape_token(token: str | int) -> str:
    """Escape one JSON-pointer segment (RFC 6901)."""
    return str(token).replace("~", "~0").replace("/", "~1")


def join_pointer(parts: Sequence[str | int]) -> str:
    """Build a JSON pointer from keys and indexes.

    >>> join_pointer(["fields", "external_ids.shopify", 0])
    '/fields/external_ids.shopify/0'
    >>> join_pointer([])
    ''
    """
    return "".join("/" + escape_token(p) for p in parts)


def split_pointer(pointer: str) -> list[str]:
    """Split a JSON pointer into unescaped segments.

    >>> split_pointer("/a~1b/c~0d/0")
    ['a/b', 'c~d', '0']
    """
    if not pointer:
        return []
    body = pointer[1:] if pointer.startswith("/") else pointer
    return [p.replace("~1", "/").replace("~0", "~") for p in body.split("/")]


def _normalise_path(path: PathLike) -> str:
    if isinstance(path, str):
        return path if path == "" or path.startswith("/") else "/" + path
    return join_pointer(list(path))


@dataclass(slots=True)
class LoadedYaml:
    """The result of :func:`load_yaml`: plain data plus where every part of it came from."""

    #: The document as plain Python data (``None`` for an empty document).
    data: Any
    #: The text that was parsed (a leading BOM removed).
    source: str
    #: The file name diagnostics should show (``None`` for anonymous text).
    file: str | None
    #: JSON pointer -> span of the value at that path.
    positions: dict[str, Span] = field(default_factory=dict)
    #: JSON pointer -> span of the mapping key that introduces that path.
    key_positions: dict[str, Span] = field(default_factory=dict)
    #: Non-fatal problems found while loading (duplicate keys, unsupported tags, ...).
    diagnostics: list[Diagnostic] = field(default_factory=list)
    _scalars: dict[str, _ScalarInfo] = field(default_factory=dict, repr=False)
    _line_starts: list[int] = field(default_factory=list, repr=False)

    def position(self, path: PathLike, *, key: bool = False) -> Span | None:
        """The span of the value (or, with ``key=True``, of the key) at ``path``.

        >>> load_yaml("a:\\n  - x\\n  - yy\\n").position("/a/1")
        Span(line=3, column=5, end_line=3, end_column=7)
        """
        pointer = _normalise_path(path)
        return (self.key_positions if key else self.positions).get(pointer)

    def nearest(self, path: PathLike, *, key: bool = False) -> Span | None:
        """Like :meth:`position`, but falls back to the closest enclosing path that is known.

        Useful for errors about something *missing* (a required key), which have no span of
        their own: they point at the mapping that lacks it.

        >>> load_yaml("a: {b: 1}\\n").nearest("/a/c")
        Span(line=1, column=4, end_line=1, end_column=10)
        """
        parts = split_pointer(_normalise_path(path))
        while True:
            pointer = join_pointer(parts)
            found = self.position(pointer, key=key) or (self.position(pointer) if key else None)
            if found is not None or not parts:
                return found
            parts.pop()

    def locate(self, path: PathLike, offset: int) -> tuple[int, int] | None:
        """The 1-based ``(line, column)`` of character ``offset`` inside the string at ``path``.

        Works for plain, quoted, literal (``|``) and folded (``>``) scalars, so an error at
        offset 7 of a multi-line ``when:`` expression points at the right line of the file.
        Escapes in double-quoted strings are approximated. ``None`` if ``path`` is not a
        string scalar.

        >>> doc = load_yaml("when: |\\n  a == `1`\\n  && bad(\\n")
        >>> doc.locate("/when", doc.data["when"].index("bad"))
        (3, 6)
        """
        info = self._scalars.get(_normalise_path(path))
        if info is None:
            return None
        value = self._value_at(_normalise_path(path))
        if not isinstance(value, str):
            return None
        offset = max(0, min(offset, len(value)))
        src = self.source
        pos = info.start
        if info.style in ("|", ">"):
            # skip the block header line (indicator, chomping, comment)
            nl = src.find("\n", info.start, info.end)
            pos = nl + 1 if nl >= 0 else info.start
        elif info.style in ("'", '"'):
            pos = info.start + 1
        found = pos
        for ch in value[: offset + 1]:
            if ch.isspace():
                continue
            hit = src.find(ch, pos, info.end)
            if hit < 0:  # an escape sequence: stay at the last good position
                continue
            found = hit
            pos = hit + 1
        if offset < len(value) and value[offset].isspace():
            found = pos
        return self._line_col(found)

    def raise_for_errors(self) -> None:
        """Raise :class:`~accord.errors.SpecError` if loading found any error diagnostic."""
        errors = [d for d in self.diagnostics if Severity(d.severity) is Severity.ERROR]
        if errors:
            raise SpecError(diagnostics=errors)

    def diagnostic(
        self,
        code: str,
        message: str,
        path: PathLike | None = None,
        *,
        key: bool = False,
        severity: Severity = Severity.ERROR,
        hint: str | None = None,
    ) -> Diagnostic:
        """A Diagnostic located at ``path`` (or its nearest known parent) in this file."""
        span = self.nearest(path, key=key) if path is not None else None
        return Diagnostic(
            code=code,
            message=message,
            severity=severity,
            file=self.file,
            line=span.line if span else None,
            column=span.column if span else None,
            end_line=span.end_line if span else None,
            end_column=span.end_column if span else None,
            hint=hint,
        )

    # -- internals ------------------------------------------------------------------------

    def _value_at(self, pointer: str) -> Any:
        node: Any = self.data
        for part in split_pointer(pointer):
            if isinstance(node, dict):
                match = [k for k in node if str(k) == part]
                if not match:
                    return None
                node = node[match[0]]
            elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            else:
                return None
        return node

    def _line_col(self, index: int) -> tuple[int, int]:
        line = bisect.bisect_right(self._line_starts, index) - 1
        return line + 1, index - self._line_starts[line] + 1


def load_yaml_file(path: str | os.PathLike[str], *, filename: str | None = None) -> LoadedYaml:
    """Read and load a YAML or JSON file; ``filename`` overrides the name in diagnostics."""
    return load_yaml(Path(path), filename=filename)


def load_yaml(path_or_text: str | os.PathLike[str], *, filename: str | None = None) -> LoadedYaml:
    """Load YAML (or JSON, which is YAML) into plain data plus a position index.

    A ``str`` is the document text; a path object is a file to read (UTF-8). ``filename``
    names the file in diagnostics (default: the path as given, or ``None`` for text).

    Raises :class:`~accord.errors.SpecError` with a located ``YAML0xx`` diagnostic when the
    text is not YAML or the file cannot be read.

    >>> load_yaml("price: 19.99\\nid: 123456789012345678\\n").data
    {'price': Decimal('19.99'), 'id': 123456789012345678}
    >>> try:
    ...     load_yaml("a: [1, 2\\n", filename="x.yaml")
    ... except SpecError as err:
    ...     print(err.diagnostics[0].location, err.code)
    x.yaml:2:1 YAML001
    """
    if isinstance(path_or_text, str):
        text = path_or_text
        name = filename
    else:
        name = filename if filename is not None else os.fspath(path_or_text)
        text = _read(Path(path_or_text), name)
    if text.startswith("\ufeff"):
        text = text[1:]
    root = _compose(text, name)
    builder = _Builder(text, name)
    data = builder.build(root, 0, "") if root is not None else None
    return LoadedYaml(
        data=data,
        source=text,
        file=name,
        positions=builder.positions,
        key_positions=builder.key_positions,
        diagnostics=builder.diagnostics,
        _scalars=builder.scalars,
        _line_starts=builder.line_starts,
    )


def _read(path: Path, name: str) -> str:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        reason = exc.strerror or exc.__class__.__name__
        raise SpecError(
            diagnostics=[
                Diagnostic(code="YAML007", message=f"cannot read file: {reason}", file=name)
            ]
        ) from exc
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise SpecError(
            diagnostics=[
                Diagnostic(
                    code="YAML006",
                    message=f"the file is not UTF-8 (byte 0x{raw[exc.start]:02x})",
                    file=name,
                    line=line,
                    column=column,
                )
            ]
        ) from exc


try:  # libyaml through ruamel.yaml.clib: the same nodes and marks, seven times faster
    import _ruamel_yaml  # type: ignore[import-not-found, unused-ignore]  # noqa: F401

    _PURE = False
except ImportError:  # pragma: no cover - the pure-Python parser is the fallback
    _PURE = True


def _compose(text: str, name: str | None, *, pure: bool | None = None) -> Node | None:
    if not (_PURE if pure is None else pure):
        try:
            node: Node | None = YAML(typ="safe", pure=False).compose(text)
        except (YAMLError, UnicodeEncodeError):
            # libyaml follows YAML 1.1 in places (a ':' inside a flow scalar such as
            # [at 10:30]) and cannot encode a lone surrogate: the YAML 1.2 parser decides,
            # and its messages are the ones reported.
            return _compose(text, name, pure=True)
        return node
    # The "safe" composer gives the same nodes and marks as the round-trip one without
    # collecting comments (a third of the pure-Python parse); only positions are needed here.
    yaml = YAML(typ="safe", pure=True)
    try:
        node = yaml.compose(text)
    except MarkedYAMLError as exc:
        raise SpecError(diagnostics=[_marked_diagnostic(exc, name, text)]) from exc
    except ReaderError as exc:
        line, column = _offset_line_col(text, int(exc.position))
        char = exc.character
        shown = f"U+{char:04X}" if isinstance(char, int) else repr(char)
        raise SpecError(
            diagnostics=[
                Diagnostic(
                    code="YAML006",
                    message=f"character {shown} is not allowed in YAML",
                    file=name,
                    line=line,
                    column=column,
                )
            ]
        ) from exc
    except YAMLError as exc:  # any other ruamel error: still a located-as-possible SpecError
        raise SpecError(
            diagnostics=[Diagnostic(code="YAML001", message=f"invalid YAML: {exc}", file=name)]
        ) from exc
    except RecursionError as exc:
        raise SpecError(
            diagnostics=[
                Diagnostic(code="YAML008", message="the document is nested too deeply", file=name)
            ]
        ) from exc
    return node


def _marked_diagnostic(exc: MarkedYAMLError, name: str | None, text: str) -> Diagnostic:
    mark = exc.problem_mark or exc.context_mark
    index = getattr(mark, "index", None)
    at_tab = isinstance(index, int) and 0 <= index < len(text) and text[index] == "\t"
    problem = (exc.problem or "invalid YAML").strip()
    context = (exc.context or "").strip()
    code = "YAML001"
    if "another document" in problem:
        code = "YAML003"
        problem = "a file holds exactly one YAML document; found a second one"
        context = ""
    message = f"{problem} ({context})" if context else problem
    hint = None
    if at_tab or "'\\t'" in problem or "tab" in problem:
        hint = "YAML indentation uses spaces, never tabs"
    elif "mapping values are not allowed" in problem:
        hint = "quote values that contain ': ' or check the indentation of the line above"
    return Diagnostic(
        code=code,
        message=message,
        file=name,
        line=mark.line + 1 if mark is not None else None,
        column=mark.column + 1 if mark is not None else None,
        hint=hint,
    )


def _offset_line_col(text: str, index: int) -> tuple[int, int]:
    line = text.count("\n", 0, index) + 1
    column = index - (text.rfind("\n", 0, index) + 1) + 1
    return line, column


_INT_PREFIX = {"0x": 16, "0o": 8, "0b": 2}
_FLOAT_SPECIAL = {".inf": "Infinity", ".nan": "NaN"}
_TRUE = frozenset({"true", "yes", "on", "y"})  # the 1.1 forms only reach us under %YAML 1.1
_WS_TAIL = re.compile(r"[ \t]*(#[^\n]*)?$")


class _Builder:
    """Turns a composed ruamel node tree into plain data, recording spans on the way."""

    def __init__(self, text: str, name: str | None) -> None:
        self.text = text
        self.name = name
        self.positions: dict[str, Span] = {}
        self.key_positions: dict[str, Span] = {}
        self.scalars: dict[str, _ScalarInfo] = {}
        self.diagnostics: list[Diagnostic] = []
        self.line_starts = [0] + [m.end() for m in re.finditer("\n", text)]
        self._active: set[int] = set()

    # -- spans ----------------------------------------------------------------------------

    def span(self, node: Node) -> Span:
        start, end = node.start_mark, node.end_mark
        end_line, end_col = end.line, end.column
        before_end = (
            self.text[self.line_starts[end_line] : end.index]
            if end_line < len(self.line_starts)
            else ""
        )
        if end_line > start.line and not before_end.strip():
            # Block collections and block scalars end at the start of the next token's line;
            # report the end of the last line that holds content instead.
            end_line -= 1
            while end_line > start.line and not self._content(end_line):
                end_line -= 1
            end_col = len(self._content(end_line))
        return Span(start.line + 1, start.column + 1, end_line + 1, end_col + 1)

    def _content(self, line: int) -> str:
        lo = self.line_starts[line]
        hi = self.line_starts[line + 1] - 1 if line + 1 < len(self.line_starts) else len(self.text)
        raw = self.text[lo:hi]
        return _WS_TAIL.sub("", raw) if "#" in raw else raw.rstrip()

    def report(
        self, code: str, message: str, node: Node, severity: Severity = Severity.ERROR
    ) -> None:
        span = self.span(node)
        self.diagnostics.append(
            Diagnostic(
                code=code,
                message=message,
                severity=severity,
                file=self.name,
                line=span.line,
                column=span.column,
                end_line=span.end_line,
                end_column=span.end_column,
            )
        )

    # -- building -------------------------------------------------------------------------

    def build(self, node: Node, depth: int, pointer: str) -> Any:
        # The pointer grows one segment per level (rebuilding it from the whole path at every
        # node made loading quadratic in the nesting depth).
        self.positions[pointer] = self.span(node)
        if depth > MAX_DEPTH:
            self.report("YAML008", f"nesting deeper than {MAX_DEPTH} levels", node)
            return None
        if id(node) in self._active:
            self.report("YAML005", "an alias refers to a node that contains it", node)
            return None
        if isinstance(node, ScalarNode):
            return self.scalar(node, pointer)
        self._active.add(id(node))
        try:
            if isinstance(node, SequenceNode):
                self.check_tag(node, "seq")
                return [
                    self.build(item, depth + 1, f"{pointer}/{i}")
                    for i, item in enumerate(node.value)
                ]
            if isinstance(node, MappingNode):
                self.check_tag(node, "map")
                out: dict[Any, Any] = {}
                for key_node, value_node in self.pairs(node):
                    key = self.key(key_node)
                    if key is _BAD_KEY:
                        continue
                    segment = key if isinstance(key, str) else str(key)
                    if "~" in segment or "/" in segment:
                        segment = escape_token(segment)
                    child_pointer = f"{pointer}/{segment}"
                    if key in out:
                        first = self.key_positions.get(child_pointer)
                        where = f" (first at line {first.line})" if first else ""
                        self.report(
                            "YAML002",
                            f"duplicate key {key!r}{where}; the later value is used",
                            key_node,
                        )
                        del out[key]  # later wins, and moves to the later position
                        self.forget(child_pointer)
                    self.key_positions[child_pointer] = self.span(key_node)
                    out[key] = self.build(value_node, depth + 1, child_pointer)
                return out
        finally:
            self._active.discard(id(node))
        return None  # pragma: no cover - ruamel only composes the three node kinds

    def forget(self, pointer: str) -> None:
        """Drop the spans recorded under ``pointer`` (a duplicate key replaced its value)."""
        prefix = pointer + "/"
        for index in (self.positions, self.key_positions, self.scalars):
            for stale in [p for p in index if p == pointer or p.startswith(prefix)]:
                del index[stale]

    def pairs(self, node: MappingNode) -> Iterator[tuple[Node, Node]]:
        """Key/value pairs with ``<<`` merge keys expanded (explicit keys win over merged)."""
        merged: list[tuple[Node, Node]] = []
        own: list[tuple[Node, Node]] = []
        for key_node, value_node in node.value:
            if key_node.tag == _TAG + "merge":
                sources = value_node.value if isinstance(value_node, SequenceNode) else [value_node]
                for src in sources:
                    if isinstance(src, MappingNode) and id(src) not in self._active:
                        merged.extend(src.value)
                    else:
                        self.report("YAML004", "'<<' merges only mappings", src)
            else:
                own.append((key_node, value_node))
        if not merged:
            yield from own
            return
        own_keys = {k.value for k, _ in own if isinstance(k, ScalarNode)}
        seen: set[Any] = set()
        for key_node, value_node in merged:
            k = key_node.value if isinstance(key_node, ScalarNode) else id(key_node)
            if k in own_keys or k in seen:
                continue
            seen.add(k)
            yield key_node, value_node
        yield from own

    def key(self, node: Node) -> Any:
        if not isinstance(node, ScalarNode):
            self.report("YAML004", "mapping keys must be plain values, not lists or mappings", node)
            return _BAD_KEY
        return self.scalar(node, None)

    def check_tag(self, node: Node, kind: str) -> None:
        if node.tag != _TAG + kind and node.tag not in ("!", None):
            self.report("YAML004", f"unsupported tag {node.tag}; the tag is ignored", node)

    def scalar(self, node: ScalarNode, pointer: str | None) -> Any:
        tag = node.tag or ""
        text: str = node.value
        if node.style == ">":
            text = text.replace(_FOLD_MARK, "")
        elif node.style == '"' and _SURROGATE.search(text):
            text = _join_surrogates(text)
        if pointer is not None:
            self.scalars[pointer] = _ScalarInfo(
                node.start_mark.index, node.end_mark.index, node.style
            )
        kind = tag[len(_TAG) :] if tag.startswith(_TAG) else None
        if kind in ("str", "timestamp") or (kind is None and tag in ("!", "")):
            return text
        if kind == "null":
            return None
        if kind == "bool":
            return text.lower() in _TRUE
        if kind == "int":
            parsed = _parse_int(text)
            if parsed is not None:
                return parsed
        elif kind == "float":
            number = _parse_decimal(text)
            if number is not None:
                return number
        elif tag:
            self.report("YAML004", f"unsupported tag {tag}; the value is read as text", node)
        return text


_BAD_KEY = object()
_SURROGATE = re.compile("[\ud800-\udfff]")


def _join_surrogates(text: str) -> str:
    # JSON writes characters outside the BMP as escaped UTF-16 pairs ("\ud83d\ude00");
    # YAML decodes each escape on its own, so pair them up again as JSON parsers do.
    try:
        return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le")
    except UnicodeDecodeError:  # a lone surrogate: keep it, as json.loads does
        return text


def _parse_int(text: str) -> int | None:
    raw = text.replace("_", "")
    sign = -1 if raw.startswith("-") else 1
    raw = raw.lstrip("+-")
    try:
        base = _INT_PREFIX.get(raw[:2].lower(), 10)
        if base != 10:
            return sign * int(raw[2:], base)
        if ":" in raw:  # YAML 1.1 sexagesimal (190:20:30); only under %YAML 1.1
            total = 0
            for part in raw.split(":"):
                total = total * 60 + int(part)
            return sign * total
        return sign * int(raw, 10)
    except ValueError:
        return None


def _parse_decimal(text: str) -> Decimal | None:
    raw = text.replace("_", "")
    special = _FLOAT_SPECIAL.get(raw.lstrip("+-").lower())
    if special is not None:
        return Decimal(("-" if raw.startswith("-") else "") + special)
    try:
        return Decimal(raw)
    except InvalidOperation:
        return None
