"""A typed description of the canonical model, for static checkers.

The mapping spec checker and the rules DSL checker resolve every path they see against this
description before anything runs: an unknown field becomes an error with a did-you-mean, a
comparison between a money field and a string becomes a type error.

>>> resolve_path("order", "lines[].unit_price.amount").kind
'decimal'
>>> resolve_path("order", "lines[0].sku").kind
'string'
>>> resolve_path("order", "external_ids.shopify").kind
'string'
>>> suggest("order", "totl")[0]
'total'

Paths are dotted field names; ``[]`` or ``[N]`` after a list field steps into its elements; a
``dict`` field (``external_ids``, ``extra``, variant ``options``) accepts any key, and under
``extra`` anything goes (kind ``any``). Descriptions are built once per entity and cached.
"""

from __future__ import annotations

import difflib
import enum
import functools
import re
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Final

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from accord.canonical.money import Money
from accord.canonical.records import ENTITIES

__all__ = [
    "KINDS",
    "FieldSpec",
    "UnknownPathError",
    "all_paths",
    "describe",
    "resolve_path",
    "suggest",
]

#: Every ``FieldSpec.kind``.
KINDS: Final = (
    "string",
    "int",
    "decimal",
    "bool",
    "money",
    "datetime",
    "date",
    "enum",
    "object",
    "list",
    "dict",
    "any",
)

_SEGMENT: Final = re.compile(r"([^.\[\]]+)((?:\[\d*\])*)")


@dataclass(frozen=True)
class FieldSpec:
    """One field (or list element, or dict value) of the canonical model.

    ``item`` describes the elements of a ``list`` and the values of a ``dict``; ``children``
    the fields of an ``object`` (a money value is an object-like ``money`` with ``amount`` and
    ``currency`` children).
    """

    name: str
    kind: str
    required: bool
    item: FieldSpec | None = None
    children: Mapping[str, FieldSpec] | None = field(default=None, hash=False, compare=True)
    enum_values: tuple[str, ...] | None = None
    description: str = ""
    nullable: bool = False
    """``None`` is a valid value (an optional field)."""


class UnknownPathError(KeyError):
    """A path names no field of the entity; ``suggestions`` holds did-you-mean candidates."""

    def __init__(self, entity: str, path: str, segment: str, suggestions: list[str]) -> None:
        super().__init__(path)
        self.entity = entity
        self.path = path
        self.segment = segment
        self.suggestions = suggestions

    def __str__(self) -> str:
        text = f"{self.entity} has no field {self.path!r} (at {self.segment!r})"
        if self.suggestions:
            text += f"; did you mean {', '.join(self.suggestions)}?"
        return text


def _first_paragraph(text: str | None) -> str:
    if not text:
        return ""
    return " ".join(text.strip().split("\n\n", 1)[0].split())


def _spec_for(name: str, annotation: Any, required: bool, description: str) -> FieldSpec:
    nullable = False
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _spec_for(name, typing.get_args(annotation)[0], required, description)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        nullable = len(args) < len(typing.get_args(annotation))
        if len(args) == 1:
            return replace(_spec_for(name, args[0], required, description), nullable=nullable)
        return FieldSpec(name, "any", required, description=description, nullable=nullable)
    if origin is list:
        (arg,) = typing.get_args(annotation)
        item = _spec_for("[]", arg, True, "")
        return FieldSpec(name, "list", required, item=item, description=description)
    if origin is dict:
        _, value = typing.get_args(annotation)
        item = _spec_for("*", value, True, "")
        return FieldSpec(name, "dict", required, item=item, description=description)
    if origin is typing.Literal:
        literals = typing.get_args(annotation)
        if all(type(v) is int for v in literals):  # schema_version: Literal[1]
            return FieldSpec(name, "int", required, description=description)
        values = tuple(str(v) for v in literals)
        return FieldSpec(name, "enum", required, enum_values=values, description=description)
    if annotation is Any:
        return FieldSpec(name, "any", required, description=description)
    if isinstance(annotation, type):
        if issubclass(annotation, Money):
            return FieldSpec(
                name,
                "money",
                required,
                children=_model_children(annotation),
                description=description,
            )
        if issubclass(annotation, BaseModel):
            return FieldSpec(
                name,
                "object",
                required,
                children=_model_children(annotation),
                description=description,
            )
        if issubclass(annotation, enum.Enum):
            values = tuple(str(m.value) for m in annotation)
            return FieldSpec(name, "enum", required, enum_values=values, description=description)
        simple = _SIMPLE.get(annotation)
        if simple is not None:
            return FieldSpec(name, simple, required, description=description)
    raise TypeError(
        f"canonical field {name!r} has a type introspection does not know: {annotation!r}"
    )


# bool before int: bool is a subclass of int, but these are looked up exactly.
_SIMPLE: Final[dict[type, str]] = {
    str: "string",
    bool: "bool",
    int: "int",
    Decimal: "decimal",
    datetime: "datetime",
    date: "date",
}


@functools.cache
def _model_children(model: type[BaseModel]) -> Mapping[str, FieldSpec]:
    out: dict[str, FieldSpec] = {}
    info: FieldInfo
    for name, info in model.model_fields.items():
        out[name] = _spec_for(
            name, info.annotation, info.is_required(), _first_paragraph(info.description)
        )
    return types.MappingProxyType(out)


@functools.cache
def describe(entity: str) -> FieldSpec:
    """The whole entity as an ``object`` FieldSpec; ``KeyError`` for an unknown entity.

    >>> spec = describe("order")
    >>> spec.kind, spec.children["total"].kind, spec.children["id"].required
    ('object', 'money', True)
    """
    try:
        model = ENTITIES[entity]
    except KeyError:
        close = difflib.get_close_matches(entity, list(ENTITIES), n=3)
        raise UnknownPathError(entity, "", entity, close) from None
    return FieldSpec(
        entity,
        "object",
        True,
        children=_model_children(model),
        description=_first_paragraph(model.__doc__),
    )


def _split(path: str) -> list[str] | None:
    """``"lines[0].unit_price.amount"`` -> ``["lines", "[]", "unit_price", "amount"]``."""
    out: list[str] = []
    if not path:
        return out
    for part in path.split("."):
        match = _SEGMENT.fullmatch(part)
        if match is None:
            return None
        out.append(match.group(1))
        out.extend("[]" for _ in range(match.group(2).count("[")))
    return out


def _join(segments: list[str]) -> str:
    text = ""
    for seg in segments:
        if seg == "[]":
            text += "[]"
        else:
            text += ("." if text else "") + seg
    return text


def _walk(entity: str, path: str) -> tuple[FieldSpec, list[str], str | None, FieldSpec]:
    """Resolve as far as possible: (spec reached, segments consumed, failing segment, parent)."""
    root = describe(entity)
    segments = _split(path)
    if segments is None:
        return root, [], path, root
    spec = root
    done: list[str] = []
    for seg in segments:
        nxt: FieldSpec | None
        if spec.kind == "any":
            nxt = FieldSpec(seg, "any", False)
        elif seg == "[]":
            nxt = spec.item if spec.kind == "list" else None
        elif spec.kind == "dict":
            # Any key is valid; the value has the dict's value type, named after the key.
            nxt = replace(spec.item, name=seg, required=False) if spec.item is not None else None
        else:
            nxt = spec.children.get(seg) if spec.children is not None else None
        if nxt is None:
            return spec, done, seg, spec
        done.append(seg)
        spec = nxt
    return spec, done, None, spec


def resolve_path(entity: str, path: str) -> FieldSpec:
    """The FieldSpec at ``path`` in ``entity``; :class:`UnknownPathError` (a ``KeyError``)
    when no such field exists.

    >>> resolve_path("order", "lines[]").kind
    'object'
    >>> resolve_path("order", "lines[].skew")
    Traceback (most recent call last):
    ...
    accord.canonical.introspect.UnknownPathError: order has no field 'lines[].skew' ...
    """
    spec, _, failed, _ = _walk(entity, path)
    if failed is None:
        return spec
    raise UnknownPathError(entity, path, failed, suggest(entity, path))


@functools.cache
def all_paths(entity: str) -> tuple[str, ...]:
    """Every path in ``entity`` down to the leaves, with ``[]`` for list elements.

    ``dict`` fields appear once, without keys (any key is valid below them).
    """
    out: list[str] = []

    def visit(spec: FieldSpec, prefix: list[str]) -> None:
        for name, child in (spec.children or {}).items():
            here = [*prefix, name]
            out.append(_join(here))
            target = child
            while target.kind == "list" and target.item is not None:
                here = [*here, "[]"]
                out.append(_join(here))
                target = target.item
            if target.children is not None:
                visit(target, here)

    visit(describe(entity), [])
    return tuple(out)


def suggest(entity: str, path: str) -> list[str]:
    """Did-you-mean candidates for a path that does not resolve (``[]`` when it does).

    >>> suggest("order", "lines[0].unit_prise.amount")
    ['lines[].unit_price.amount']
    >>> suggest("order", "shiping_address.city")
    ['shipping_address.city', 'billing_address.city']
    """
    _, done, failed, parent = _walk(entity, path)
    if failed is None:
        return []
    segments = _split(path)
    if segments is not None and parent.children is not None:
        rest = segments[len(done) + 1 :]
        out: list[str] = []
        for name in difflib.get_close_matches(failed, list(parent.children), n=3, cutoff=0.6):
            candidate = _join([*done, name, *rest])
            if not _walk(entity, candidate)[2]:
                out.append(candidate)
        if out:
            return out
    normalised = _join(segments) if segments is not None else path
    return difflib.get_close_matches(normalised, all_paths(entity), n=3, cutoff=0.6)
