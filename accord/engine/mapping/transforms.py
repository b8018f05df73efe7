"""The transform registry: named value functions a field rule chains with ``transform:``.

Every transform is registered with a typed signature, a one-line summary and examples. The
examples run as tests and generate ``docs/transforms.md`` with :func:`render_markdown`. A call
is written in YAML as a bare name or a one-key mapping whose value holds the arguments::

    transform: [strip, {split: ","}, {replace: ["-", ""]}, {convert_weight: {from: g, to: kg}}]

Arguments are checked and prepared (regexes compiled, unit factors looked up) when the mapping
is compiled; :meth:`Transform.bind` returns a plain one-argument function.

>>> TRANSFORMS["normalize_email"].bind()("  Bob@Example.COM ")
'bob@example.com'
>>> bind_call({"split": ","})("a,b")
['a', 'b']
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Final

from accord.engine.mapping.coerce import FieldFailure, type_name

__all__ = [
    "TRANSFORMS",
    "Example",
    "Param",
    "Transform",
    "TransformArgumentError",
    "bind_call",
    "parse_call",
    "register",
    "render_markdown",
]


class TransformArgumentError(ValueError):
    """A transform call names an unknown transform or passes bad arguments (compile time)."""


@dataclass(frozen=True, slots=True)
class Param:
    """One declared argument of a transform."""

    name: str
    type: str  # "str", "int", "unit:weight", "unit:length", "str|int"
    required: bool = True
    default: Any = None


@dataclass(frozen=True, slots=True)
class Example:
    """``call`` applied to ``given`` gives ``expect``; ``call`` is written as in YAML."""

    given: Any
    call: Any
    expect: Any


@dataclass(frozen=True, slots=True)
class Transform:
    """A registered transform.

    ``fn(value, *args)`` does the work; ``elementwise`` transforms applied to a list apply to
    each element; ``prepare`` turns checked arguments into what ``fn`` wants (compiled regex,
    unit factors) once, at compile time.
    """

    name: str
    signature: str
    summary: str
    examples: tuple[Example, ...]
    fn: Callable[..., Any]
    params: tuple[Param, ...] = ()
    elementwise: bool = True
    prepare: Callable[..., tuple[Any, ...]] | None = field(default=None, repr=False)
    #: For argument-less text transforms: the same operation as a Python expression on a
    #: ``str`` (``{v}`` is the value), which the compiler inlines for text values.
    inline: str | None = None
    #: Whether the result may be null (no match, empty list): the compiler re-checks.
    may_return_none: bool = False

    def check_args(
        self, args: Sequence[Any] = (), kwargs: Mapping[str, Any] | None = None
    ) -> tuple[Any, ...]:
        """Match ``args``/``kwargs`` to the declared params; raise TransformArgumentError."""
        kwargs = dict(kwargs or {})
        if len(args) > len(self.params):
            raise TransformArgumentError(
                f"{self.name} takes at most {len(self.params)} argument(s), got {len(args)}"
            )
        values: list[Any] = []
        for i, param in enumerate(self.params):
            if i < len(args):
                if param.name in kwargs:
                    raise TransformArgumentError(f"{self.name}: {param.name} given twice")
                value = args[i]
            elif param.name in kwargs:
                value = kwargs.pop(param.name)
            elif param.required:
                raise TransformArgumentError(f"{self.name} needs the argument {param.name!r}")
            else:
                value = param.default
            if value is not None or param.required:
                _check_type(self.name, param, value)
            values.append(value)
        if kwargs:
            names = ", ".join(sorted(kwargs))
            known = ", ".join(p.name for p in self.params) or "none"
            raise TransformArgumentError(
                f"{self.name} has no argument {names} (arguments: {known})"
            )
        return tuple(values)

    def bind(
        self, args: Sequence[Any] = (), kwargs: Mapping[str, Any] | None = None
    ) -> Callable[[Any], Any]:
        """Check and prepare the arguments; return ``value -> result``."""
        values = self.check_args(args, kwargs)
        if self.prepare is not None:
            try:
                values = self.prepare(*values)
            except (ValueError, re.error) as exc:
                raise TransformArgumentError(f"{self.name}: {exc}") from exc
        fn = self.fn
        if values:
            bound = fn

            def fn(value: Any) -> Any:
                return bound(value, *values)

        if not self.elementwise:
            return fn

        def apply(value: Any) -> Any:
            if value.__class__ is list:
                return [None if v is None else fn(v) for v in value]
            return fn(value)

        return apply


def _check_type(name: str, param: Param, value: Any) -> None:
    ok: bool
    if param.type == "str":
        ok = isinstance(value, str)
    elif param.type == "int":
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif param.type == "str|int":
        ok = isinstance(value, str | int) and not isinstance(value, bool)
    elif param.type.startswith("unit:"):
        table = _UNITS[param.type[5:]]
        ok = isinstance(value, str) and value in table
        if not ok:
            raise TransformArgumentError(
                f"{name}: {param.name} must be one of {', '.join(table)}, got {value!r}"
            )
    else:  # pragma: no cover - a registration mistake
        raise AssertionError(param.type)
    if not ok:
        raise TransformArgumentError(
            f"{name}: {param.name} must be {param.type}, got {type_name(value)}"
        )


#: name -> Transform. Read by the compiler, the spec checker and the docs generator.
TRANSFORMS: dict[str, Transform] = {}


def register(transform: Transform) -> Transform:
    """Add a transform to :data:`TRANSFORMS` (names are unique)."""
    if transform.name in TRANSFORMS:
        raise ValueError(f"transform {transform.name!r} is already registered")
    if not transform.examples:
        raise ValueError(f"transform {transform.name!r} needs at least one example")
    TRANSFORMS[transform.name] = transform
    return transform


def parse_call(item: Any) -> tuple[str, tuple[Any, ...], dict[str, Any]]:
    """Split a YAML transform item into ``(name, args, kwargs)``.

    >>> parse_call("strip"), parse_call({"replace": ["-", ""]}), parse_call({"join": {"sep": "/"}})
    (('strip', (), {}), ('replace', ('-', ''), {}), ('join', (), {'sep': '/'}))
    """
    if isinstance(item, str):
        return item, (), {}
    if isinstance(item, dict) and len(item) == 1:
        ((name, arg),) = item.items()
        if not isinstance(name, str):
            raise TransformArgumentError(f"a transform name must be text, got {name!r}")
        if isinstance(arg, list):
            return name, tuple(arg), {}
        if isinstance(arg, dict):
            return name, (), {str(k): v for k, v in arg.items()}
        if arg is None:
            return name, (), {}
        return name, (arg,), {}
    raise TransformArgumentError(
        f"a transform is a name or a one-key mapping {{name: arguments}}, got {type_name(item)}"
    )


def bind_call(item: Any) -> Callable[[Any], Any]:
    """Parse and bind one YAML transform item; raise TransformArgumentError."""
    name, args, kwargs = parse_call(item)
    transform = TRANSFORMS.get(name)
    if transform is None:
        raise TransformArgumentError(f"unknown transform {name!r}")
    return transform.bind(args, kwargs)


# -- helpers ------------------------------------------------------------------------------


def _fail(name: str, value: Any, why: str) -> FieldFailure:
    return FieldFailure(
        "MAP206", f"transform {name} failed: {why}", value=value, classification="transform"
    )


def _text(name: str, value: Any) -> str:
    """Strings pass; integers and decimals become their text (SKUs and zips arrive as numbers)."""
    cls = value.__class__
    if cls is str:
        return value  # type: ignore[no-any-return]
    if cls is int or cls is Decimal:
        return str(value)
    raise _fail(name, value, f"expected text, got {type_name(value)}")


def _number(name: str, value: Any) -> Decimal:
    cls = value.__class__
    if cls is Decimal or cls is int:
        return Decimal(value)
    if cls is str and "_" not in value:
        try:
            number = Decimal(value)
        except InvalidOperation:
            raise _fail(name, value, "not a number") from None
        if number.is_finite():
            return number
    if cls is float:
        return Decimal(repr(value))
    raise _fail(name, value, f"expected a number, got {type_name(value)}")


_WS = re.compile(r"\s+")


def _reg(
    name: str,
    signature: str,
    summary: str,
    examples: Sequence[tuple[Any, Any, Any]],
    fn: Callable[..., Any],
    params: Sequence[Param] = (),
    *,
    elementwise: bool = True,
    prepare: Callable[..., tuple[Any, ...]] | None = None,
    inline: str | None = None,
    may_return_none: bool = False,
) -> None:
    register(
        Transform(
            name=name,
            signature=signature,
            summary=summary,
            examples=tuple(Example(g, c, e) for g, c, e in examples),
            fn=fn,
            params=tuple(params),
            elementwise=elementwise,
            prepare=prepare,
            inline=inline,
            may_return_none=may_return_none,
        )
    )


# -- text ---------------------------------------------------------------------------------

_reg(
    "strip",
    "strip(value: str) -> str",
    "Remove leading and trailing whitespace.",
    [("  Blue Shirt \n", "strip", "Blue Shirt"), (["a ", " b"], "strip", ["a", "b"])],
    lambda v: _text("strip", v).strip(),
    inline="{v}.strip()",
)
_reg(
    "lower",
    "lower(value: str) -> str",
    "Lower-case the text.",
    [("PAID", "lower", "paid")],
    lambda v: _text("lower", v).lower(),
    inline="{v}.lower()",
)
_reg(
    "upper",
    "upper(value: str) -> str",
    "Upper-case the text.",
    [("us", "upper", "US")],
    lambda v: _text("upper", v).upper(),
    inline="{v}.upper()",
)
_reg(
    "title",
    "title(value: str) -> str",
    "Capitalise the first letter of every word.",
    [("bob NORMAN", "title", "Bob Norman")],
    lambda v: _text("title", v).title(),
    inline="{v}.title()",
)
_reg(
    "collapse_whitespace",
    "collapse_whitespace(value: str) -> str",
    "Replace every run of whitespace with one space and strip the ends.",
    [(" Chestnut \t Street  92 ", "collapse_whitespace", "Chestnut Street 92")],
    lambda v: " ".join(_text("collapse_whitespace", v).split()),
    inline="' '.join({v}.split())",
)
_reg(
    "replace",
    "replace(value: str, old: str, new: str) -> str",
    "Replace every occurrence of `old` with `new`.",
    [("555-625-1199", {"replace": ["-", ""]}, "5556251199")],
    lambda v, old, new: _text("replace", v).replace(old, new),
    [Param("old", "str"), Param("new", "str")],
)
_reg(
    "prefix",
    "prefix(value: str, text: str) -> str",
    "Put `text` in front of the value.",
    [("1001", {"prefix": "#"}, "#1001")],
    lambda v, text: text + _text("prefix", v),
    [Param("text", "str")],
)
_reg(
    "suffix",
    "suffix(value: str, text: str) -> str",
    "Put `text` after the value.",
    [("ORDER-1", {"suffix": "-R"}, "ORDER-1-R")],
    lambda v, text: _text("suffix", v) + text,
    [Param("text", "str")],
)
_reg(
    "truncate",
    "truncate(value: str, length: int) -> str",
    "Keep at most `length` characters (channels limit title lengths).",
    [("A very long product title", {"truncate": 11}, "A very long")],
    lambda v, length: _text("truncate", v)[:length],
    [Param("length", "int")],
)
_reg(
    "html_unescape",
    "html_unescape(value: str) -> str",
    "Turn HTML entities (`&amp;`, `&#39;`) back into characters.",
    [("Tom &amp; Jerry&#39;s", "html_unescape", "Tom & Jerry's")],
    lambda v: html.unescape(_text("html_unescape", v)),
)
_reg(
    "digits",
    "digits(value: str) -> str",
    "Keep only the digits 0-9.",
    [("+1 (555) 625-1199", "digits", "15556251199")],
    lambda v: "".join(ch for ch in _text("digits", v) if "0" <= ch <= "9"),
)


def _normalize_sku(v: Any) -> str:
    return "".join(_text("normalize_sku", v).split()).upper()


_reg(
    "normalize_sku",
    "normalize_sku(value: str) -> str",
    "Upper-case a SKU and remove all whitespace, so `ipod 2008 green` matches `IPOD2008GREEN`.",
    [(" ipod 2008 green ", "normalize_sku", "IPOD2008GREEN"), (12345, "normalize_sku", "12345")],
    _normalize_sku,
    inline="''.join({v}.split()).upper()",
)


_reg(
    "normalize_email",
    "normalize_email(value: str) -> str",
    "Strip and lower-case an email address.",
    [(" Bob.Norman@HostMail.com ", "normalize_email", "bob.norman@hostmail.com")],
    lambda v: _text("normalize_email", v).strip().lower(),
    inline="{v}.strip().lower()",
)


def _normalize_phone(v: Any) -> str:
    text = _text("normalize_phone", v).strip()
    digits = "".join(ch for ch in text if "0" <= ch <= "9")
    return "+" + digits if text.startswith("+") else digits


_reg(
    "normalize_phone",
    "normalize_phone(value: str) -> str",
    "Keep the digits of a phone number and a leading `+`.",
    [("+1 (555) 625-1199", "normalize_phone", "+15556251199")],
    _normalize_phone,
)


def _split(v: Any, sep: str) -> list[str]:
    text = _text("split", v)
    return [] if text == "" else text.split(sep)


_reg(
    "split",
    "split(value: str, sep: str = ',') -> list[str]",
    'Split text into a list at `sep`; `""` gives `[]`. Later text transforms apply per item.',
    [("a, b,c", {"split": ","}, ["a", " b", "c"]), ("", "split", [])],
    _split,
    [Param("sep", "str", required=False, default=",")],
    prepare=lambda sep: (sep or ",",),
)


def _join(v: Any, sep: str) -> str:
    if v.__class__ is not list:
        return _text("join", v)
    return sep.join(_text("join", x) for x in v if x is not None)


_reg(
    "join",
    "join(value: list[str], sep: str = ',') -> str",
    "Join the items of a list with `sep` (nulls skipped); a single value is kept as text.",
    [(["red", "XL"], {"join": " / "}, "red / XL")],
    _join,
    [Param("sep", "str", required=False, default=",")],
    elementwise=False,
    prepare=lambda sep: ("," if sep is None else sep,),
)


def _regex_prepare(pattern: str, group: Any) -> tuple[Any, ...]:
    compiled = re.compile(pattern)
    if group is None:
        group = 1 if compiled.groups else 0
    if isinstance(group, int) and group > compiled.groups:
        raise ValueError(f"the pattern has {compiled.groups} group(s), asked for group {group}")
    if isinstance(group, str) and group not in compiled.groupindex:
        raise ValueError(f"the pattern has no group named {group!r}")
    return compiled, group


def _regex_extract(v: Any, pattern: re.Pattern[str], group: int | str) -> str | None:
    match = pattern.search(_text("regex_extract", v))
    return None if match is None else match.group(group)


_reg(
    "regex_extract",
    "regex_extract(value: str, pattern: str, group: int | str = 1) -> str | null",
    "The first match of `pattern` (its first group, if it has one); no match gives null.",
    [
        ("Order #1001", {"regex_extract": "#(\\d+)"}, "1001"),
        ("no number", {"regex_extract": "#(\\d+)"}, None),
    ],
    _regex_extract,
    [Param("pattern", "str"), Param("group", "str|int", required=False)],
    prepare=_regex_prepare,
    may_return_none=True,
)


def _regex_replace(v: Any, pattern: re.Pattern[str], replacement: str) -> str:
    return pattern.sub(replacement, _text("regex_replace", v))


_reg(
    "regex_replace",
    "regex_replace(value: str, pattern: str, replacement: str) -> str",
    "Replace every match of `pattern` (`\\1` refers to a group).",
    [("SKU_001-A", {"regex_replace": ["[_-]", ""]}, "SKU001A")],
    _regex_replace,
    [Param("pattern", "str"), Param("replacement", "str")],
    prepare=lambda pattern, replacement: (re.compile(pattern), replacement),
)


class _Fields(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return ""


_TEMPLATE_FIELD = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def _template_prepare(fmt: str) -> tuple[Any, ...]:
    names = _TEMPLATE_FIELD.findall(fmt)
    if not names:
        raise ValueError(f"the template {fmt!r} names no {{field}}")
    stripped = _TEMPLATE_FIELD.sub("", fmt)
    if "{" in stripped or "}" in stripped:
        raise ValueError(f"the template {fmt!r} has a brace that is not a {{field}}")
    return fmt, tuple(names)


def _template(v: Any, fmt: str, names: tuple[str, ...]) -> str | None:
    if not isinstance(v, dict):
        raise _fail("template", v, f"expected an object, got {type_name(v)}")
    values = _Fields()
    for name in names:
        item = v.get(name)
        values[name] = "" if item is None else _text("template", item)
    text = _WS.sub(" ", fmt.format_map(values)).strip()
    return text or None


_reg(
    "template",
    "template(value: object, format: str) -> str | null",
    "Fill `{name}` placeholders from the object's keys; nulls are blank, spaces collapse.",
    [
        (
            {"first_name": "Bob", "last_name": "Norman"},
            {"template": "{first_name} {last_name}"},
            "Bob Norman",
        ),
        ({"first_name": "Bob", "last_name": None}, {"template": "{first_name} {last_name}"}, "Bob"),
    ],
    _template,
    [Param("format", "str")],
    elementwise=False,
    prepare=_template_prepare,
    may_return_none=True,
)


def _format_datetime(v: Any, fmt: str) -> str:
    if v.__class__ is str:
        try:
            v = datetime.fromisoformat(v.strip())
        except ValueError:
            raise _fail("format_datetime", v, "not an ISO 8601 timestamp") from None
    if not isinstance(v, date):
        raise _fail("format_datetime", v, f"expected a timestamp, got {type_name(v)}")
    if isinstance(v, datetime):
        v = (v if v.tzinfo is not None else v.replace(tzinfo=UTC)).astimezone(UTC)
    text: str = v.strftime(fmt)
    return text


_reg(
    "format_datetime",
    "format_datetime(value: datetime, format: str) -> str",
    "Write a timestamp (a datetime or ISO 8601 text) in UTC with a `strftime` format.",
    [
        ("2024-03-01T23:30:00-05:00", {"format_datetime": "%Y-%m-%d %H:%M"}, "2024-03-02 04:30"),
        (datetime(2024, 3, 1, 10, tzinfo=UTC), {"format_datetime": "%Y%m%d"}, "20240301"),
    ],
    _format_datetime,
    [Param("format", "str")],
    elementwise=False,
)

# -- lists --------------------------------------------------------------------------------

_reg(
    "first",
    "first(value: list) -> any",
    "The first item of a list (null when empty); a single value is kept.",
    [(["a", "b"], "first", "a"), ([], "first", None)],
    lambda v: (v[0] if v else None) if v.__class__ is list else v,
    elementwise=False,
    may_return_none=True,
)
_reg(
    "last",
    "last(value: list) -> any",
    "The last item of a list (null when empty); a single value is kept.",
    [(["a", "b"], "last", "b")],
    lambda v: (v[-1] if v else None) if v.__class__ is list else v,
    elementwise=False,
    may_return_none=True,
)
_reg(
    "to_list",
    "to_list(value: any) -> list",
    "Wrap a single value in a one-element list; a list is kept as it is.",
    [("1Z999", "to_list", ["1Z999"]), (["a"], "to_list", ["a"])],
    lambda v: v if v.__class__ is list else [v],
    elementwise=False,
)


def _compact(v: Any) -> Any:
    if v.__class__ is not list:
        return v
    return [x for x in v if x is not None and not (x.__class__ is str and not x.strip())]


_reg(
    "compact",
    "compact(value: list) -> list",
    "Drop nulls and blank strings from a list.",
    [(["a", "", None, " ", "b"], "compact", ["a", "b"])],
    _compact,
    elementwise=False,
)


def _unique(v: Any) -> Any:
    if v.__class__ is not list:
        return v
    seen: list[Any] = []
    for item in v:
        if item not in seen:
            seen.append(item)
    return seen


_reg(
    "unique",
    "unique(value: list) -> list",
    "Drop repeated items, keeping the first of each.",
    [(["vip", "gift", "vip"], "unique", ["vip", "gift"])],
    _unique,
    elementwise=False,
)


def _to_object(v: Any, key: str, value: str) -> Any:
    # Channels send name/value pairs where the canonical model wants an object (WooCommerce
    # variation attributes, Amazon/eBay aspects): later pairs win, pairs without a key drop.
    if v.__class__ is not list:
        raise _fail("to_object", v, f"expected a list of objects, got {type_name(v)}")
    out: dict[str, Any] = {}
    for item in v:
        if not isinstance(item, dict):
            raise _fail("to_object", item, f"expected an object, got {type_name(item)}")
        name = item.get(key)
        if name is not None:
            out[_text("to_object", name)] = item.get(value)
    return out


_reg(
    "to_object",
    "to_object(value: list[object], key: str = 'name', value: str = 'value') -> object",
    "Turn a list of name/value objects into one object; pairs without a name are dropped.",
    [
        (
            [{"name": "Color", "option": "Black"}, {"name": "Size", "option": "M"}],
            {"to_object": {"key": "name", "value": "option"}},
            {"Color": "Black", "Size": "M"},
        ),
        ([{"name": "Gift", "value": "yes"}, {"value": "orphan"}], "to_object", {"Gift": "yes"}),
    ],
    _to_object,
    [
        Param("key", "str", required=False, default="name"),
        Param("value", "str", required=False, default="value"),
    ],
    elementwise=False,
    prepare=lambda key, value: (key or "name", value or "value"),
)


def _to_pairs(v: Any, key: str, value: str) -> Any:
    # The inverse of to_object, for channels that want name/value pairs where the canonical
    # model keeps an object (variant options -> eBay aspects, Amazon attributes).
    if not isinstance(v, dict):
        raise _fail("to_pairs", v, f"expected an object, got {type_name(v)}")
    return [{key: name, value: item} for name, item in v.items()]


_reg(
    "to_pairs",
    "to_pairs(value: object, key: str = 'name', value: str = 'value') -> list[object]",
    "Turn an object into a list of name/value objects, in the object's order "
    "(the inverse of `to_object`).",
    [
        (
            {"Color": "Black", "Size": "M"},
            "to_pairs",
            [{"name": "Color", "value": "Black"}, {"name": "Size", "value": "M"}],
        ),
        (
            {"Color": "Black"},
            {"to_pairs": {"key": "attribute", "value": "option"}},
            [{"attribute": "Color", "option": "Black"}],
        ),
    ],
    _to_pairs,
    [
        Param("key", "str", required=False, default="name"),
        Param("value", "str", required=False, default="value"),
    ],
    elementwise=False,
    prepare=lambda key, value: (key or "name", value or "value"),
)


def _group(v: Any, key: str, value: str) -> Any:
    # Multi-valued specifics (eBay aspects: {"Color": ["Black", "Grey"]}): every value of a
    # name is kept, in order, once; list values are spread, nulls and nameless pairs dropped.
    if v.__class__ is not list:
        raise _fail("group", v, f"expected a list of objects, got {type_name(v)}")
    out: dict[str, list[Any]] = {}
    for item in v:
        if not isinstance(item, dict):
            raise _fail("group", item, f"expected an object, got {type_name(item)}")
        name = item.get(key)
        if name is None:
            continue
        values = out.setdefault(_text("group", name), [])
        found = item.get(value)
        for one in found if found.__class__ is list else [found]:
            if one is not None and one not in values:
                values.append(one)
    return out


_reg(
    "group",
    "group(value: list[object], key: str = 'name', value: str = 'value') -> object",
    "Turn a list of name/value objects into one object of name -> list of values "
    "(repeated names collect their values; nulls and pairs without a name are dropped).",
    [
        (
            [
                {"name": "Color", "value": "Black"},
                {"name": "Size", "value": "M"},
                {"name": "Color", "value": "Grey"},
                {"name": "Fit", "value": None},
            ],
            "group",
            {"Color": ["Black", "Grey"], "Size": ["M"], "Fit": []},
        ),
        (
            [{"k": "Features", "v": ["Waterproof", "GPS"]}],
            {"group": {"key": "k", "value": "v"}},
            {"Features": ["Waterproof", "GPS"]},
        ),
    ],
    _group,
    [
        Param("key", "str", required=False, default="name"),
        Param("value", "str", required=False, default="value"),
    ],
    elementwise=False,
    prepare=lambda key, value: (key or "name", value or "value"),
)


def _sum(v: Any) -> Any:
    if v.__class__ is not list:
        return v  # a single amount, or a money object from an earlier fallback
    total = Decimal(0)
    for item in v:
        if item is not None:
            total += _number("sum", item)
    return total


_reg(
    "sum",
    "sum(value: list[decimal]) -> decimal",
    "Add up a list of numbers or numeric strings exactly (nulls skipped, `[]` gives 0); "
    "a single value is kept.",
    [
        (["5.00", "10.00", None], "sum", Decimal("15.00")),
        ([], "sum", Decimal(0)),
        ("7.50", "sum", "7.50"),
    ],
    _sum,
    elementwise=False,
)

# -- units --------------------------------------------------------------------------------

# Exact factors to a base unit (grams, millimetres): the international pound and inch.
_UNITS: Final[dict[str, dict[str, Decimal]]] = {
    "weight": {
        "mg": Decimal("0.001"),
        "g": Decimal(1),
        "kg": Decimal(1000),
        "oz": Decimal("28.349523125"),
        "lb": Decimal("453.59237"),
    },
    "length": {
        "mm": Decimal(1),
        "cm": Decimal(10),
        "m": Decimal(1000),
        "in": Decimal("25.4"),
        "ft": Decimal("304.8"),
        "yd": Decimal("914.4"),
    },
}


def _unit_prepare(kind: str) -> Callable[..., tuple[Any, ...]]:
    def prepare(source: str, target: str, places: int | None) -> tuple[Any, ...]:
        factor = _UNITS[kind][source] / _UNITS[kind][target]
        quantum = None if places is None else Decimal(1).scaleb(-places)
        return (kind, factor, quantum)

    return prepare


def _convert(v: Any, kind: str, factor: Decimal, quantum: Decimal | None) -> Decimal:
    result = _number(f"convert_{kind}", v) * factor
    if quantum is not None:
        return result.quantize(quantum)
    # Trailing zeros from the factor are noise (200 g is 0.2 kg, not 0.200).
    return Decimal(int(result)) if result == result.to_integral_value() else result.normalize()


for _kind, _ex in (
    (
        "weight",
        [
            (200, {"convert_weight": {"from": "g", "to": "kg"}}, Decimal("0.2")),
            ("1", {"convert_weight": {"from": "lb", "to": "g"}}, Decimal("453.59237")),
            (1, {"convert_weight": {"from": "kg", "to": "lb", "places": 3}}, Decimal("2.205")),
        ],
    ),
    ("length", [(Decimal("2"), {"convert_length": {"from": "in", "to": "cm"}}, Decimal("5.08"))]),
):
    _units = "|".join(_UNITS[_kind])
    _reg(
        f"convert_{_kind}",
        f"convert_{_kind}(value: decimal, from: {_units}, to: {_units}, places: int = null)"
        " -> decimal",
        f"Convert a {_kind} between units with exact factors (28 significant digits at most); "
        "`places` rounds half-even to that many decimals.",
        _ex,
        _convert,
        [
            Param("from", f"unit:{_kind}"),
            Param("to", f"unit:{_kind}"),
            Param("places", "int", required=False),
        ],
        prepare=_unit_prepare(_kind),
    )


# -- docs ---------------------------------------------------------------------------------


def _show(value: Any) -> str:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return "datetime " + value.isoformat().replace("+00:00", "Z")
    return json.dumps(value, ensure_ascii=False)


def _show_call(call: Any) -> str:
    if isinstance(call, str):
        return call
    return json.dumps(call, ensure_ascii=False, default=str).replace('"', "")


def render_markdown() -> str:
    """The text of ``docs/transforms.md``, generated from the registry."""
    lines = [
        "# Transforms",
        "",
        "<!-- generated by accord.engine.mapping.transforms.render_markdown(); do not edit -->",
        "",
        "A field rule's `transform:` is a chain applied left to right after the value is read",
        "and before `map:`, `lookup:` and `as:`. Write a call as a bare name (`strip`) or a",
        'one-key mapping holding the arguments: positional (`{replace: ["-", ""]}`), one',
        'argument (`{split: ","}`) or named (`{convert_weight: {from: g, to: kg}}`).',
        "Arguments are checked when the spec is compiled.",
        "",
        "Text transforms accept text, and integers or decimals as their text (SKUs and postal",
        "codes arrive as numbers); applied to a list they apply to each item, so",
        '`[{split: ","}, strip]` strips every piece. Any other value is a `MAP206` error',
        "naming the field. A transform that gives `null` makes the field absent, so `default:`",
        "and `required:` apply.",
        "",
        "| transform | summary |",
        "| --- | --- |",
    ]
    lines.extend(f"| [`{n}`](#{n}) | {TRANSFORMS[n].summary} |" for n in sorted(TRANSFORMS))
    for name in sorted(TRANSFORMS):
        t = TRANSFORMS[name]
        lines += [
            "",
            f"## {name}",
            "",
            f"`{t.signature}`",
            "",
            t.summary,
            "",
            "| value | call | result |",
            "| --- | --- | --- |",
        ]
        for ex in t.examples:
            lines.append(
                f"| `{_show(ex.given)}` | `{_show_call(ex.call)}` | `{_show(ex.expect)}` |"
            )
    return "\n".join(lines) + "\n"
