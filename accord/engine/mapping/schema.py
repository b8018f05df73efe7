"""JSON Schemas for mapping spec files and lookup table files, and validation against them.

The schemas are the first, structural half of spec validation (the second half, semantic
checks against the canonical model, is :mod:`accord.engine.mapping.check`). They are written
for editors as much as for accord: draft-07 (what most YAML language servers understand), and
equally valid under 2020-12. The published copies in ``docs/schemas/`` are generated from
:data:`MAPPING_SPEC_SCHEMA` and :data:`LOOKUP_TABLE_SCHEMA` and a test keeps them identical::

    # yaml-language-server: $schema=../../docs/schemas/mapping-spec.schema.json

:func:`validate_spec` collects *every* schema violation of a loaded file and turns each into a
located :class:`~accord.diagnostics.Diagnostic` with a stable ``SPEC0xx`` code and a message
written for an analyst, not for a JSON Schema expert:

    >>> from accord.engine.yamlsource import load_yaml
    >>> doc = load_yaml("mapping: m\\nchannel: c\\napi_version: '1'\\ndirection: inbound\\n"
    ...                 "source: s\\ntarget: order\\nversion: 1\\n"
    ...                 "fields:\\n  id: {form: id}\\n", filename="m.yaml")
    >>> for d in validate_spec(doc):
    ...     print(d.location, d.code, d.message)
    m.yaml:9:8 SPEC003 unknown key 'form' in field rule 'id' (did you mean 'from'?)

Codes:

========  =====================================================================
SPEC001   the file is not a mapping (or is empty)
SPEC002   a required key is missing
SPEC003   an unknown key (with a did-you-mean)
SPEC004   a value outside its allowed set (with a did-you-mean)
SPEC005   a value of the wrong type
SPEC006   keys that do not go together (``from`` with ``value``, ``wrap`` without
          ``each``, ``currency`` without ``as: money``, ...)
SPEC007   a name or value in the wrong format (a target path, a currency code)
SPEC008   any other structural constraint (empty lists, repeated entries, ...)
========  =====================================================================
"""

from __future__ import annotations

import copy
import difflib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any, Final

# jsonschema ships no type stubs (the ignore stays harmless if they are installed).
from jsonschema import Draft7Validator  # type: ignore[import-untyped, unused-ignore]
from jsonschema.exceptions import (  # type: ignore[import-untyped, unused-ignore]
    ValidationError as SchemaViolation,
)
from jsonschema.exceptions import relevance  # type: ignore[import-untyped, unused-ignore]

from accord.diagnostics import Diagnostic, sort_diagnostics
from accord.engine.yamlsource import LoadedYaml

__all__ = [
    "COERCIONS",
    "FIELD_RULE_KEYS",
    "LOOKUP_TABLE_SCHEMA",
    "MAPPING_SPEC_SCHEMA",
    "SCHEMA_FILES",
    "TOP_LEVEL_KEYS",
    "closest",
    "schema_text",
    "validate_lookup",
    "validate_spec",
    "write_schemas",
]

_ID_BASE: Final = "https://accord.dev/schemas/"

#: The ``as:`` coercions the language knows.
COERCIONS: Final = ("string", "int", "decimal", "bool", "money", "datetime", "date")

_NAME = {"type": "string", "pattern": "^[A-Za-z_][A-Za-z0-9_]*$"}
#: A list of paths; a single path may be written without the list.
_PATH_LIST = {
    "type": ["array", "string"],
    "minLength": 1,
    "items": {"type": "string", "minLength": 1},
    "uniqueItems": True,
}
_SCALAR = {"type": ["string", "number", "integer", "boolean", "null"]}
#: A target path: dotted names (``external_ids.shopify``), never an empty segment.
_TARGET_PATTERN: Final = r"^[^.\s]+(\.[^.\s]+)*$"


def _combination(comment: str, if_: dict[str, Any], then: dict[str, Any]) -> dict[str, Any]:
    # The `$comment` is the message an analyst sees when `then` fails (see _message).
    return {"$comment": comment, "if": if_, "then": then}


def _requires_as(kind: Sequence[str], key: str) -> dict[str, Any]:
    shown = " or ".join(f"'as: {k}'" for k in kind)
    return _combination(
        f"'{key}' only applies to {shown}",
        {"required": [key]},
        {"required": ["as"], "properties": {"as": {"enum": list(kind)}}},
    )


_FIELD_RULE_PROPERTIES: dict[str, Any] = {
    "from": {
        "description": "A JMESPath expression, or a list of them tried in order (fallback "
        "chain). `$root.` reads from the payload's top, `$parent.` from the enclosing element.",
        "type": ["string", "array"],
        "minLength": 1,
        "minItems": 1,
        "items": {"type": "string", "minLength": 1},
    },
    "value": {"description": "A literal value instead of `from`."},
    "default": {"description": "Used when every `from` is absent."},
    "required": {
        "description": "Absent after fallbacks and default is a MAP2xx error.",
        "type": "boolean",
    },
    "empty": {
        "description": '`missing`: treat "" (and whitespace) as absent too; `null` (the '
        "default): only null and a missing key are absent.",
        "enum": ["null", "missing"],
    },
    "missing_values": {
        "description": 'Sentinel values that count as absent (e.g. BigCommerce\'s "0").',
        "type": "array",
        "items": _SCALAR,
        "minItems": 1,
    },
    "as": {"description": "A coercion.", "enum": list(COERCIONS)},
    "currency": {
        "description": "For `as: money`: a literal ISO 4217 code, `{from: path}` or "
        "`{field: target_path}` (a sibling target).",
        "type": ["string", "object"],
        "pattern": "^[A-Z]{3}$",
        "properties": {
            "from": {"type": "string", "minLength": 1},
            "field": {"type": "string", "minLength": 1},
        },
        "additionalProperties": False,
        "minProperties": 1,
        "maxProperties": 1,
    },
    "money": {
        "description": "For Shopify `*_set` bags: which money to read.",
        "enum": ["shop", "presentment"],
    },
    "tz": {
        "description": "For `as: datetime`: the IANA zone of naive timestamps (default UTC).",
        "type": "string",
        "minLength": 1,
    },
    "format": {
        "description": "For `as: datetime`/`date`: a strptime format for unusual timestamps.",
        "type": "string",
        "minLength": 1,
    },
    "epoch": {
        "description": "For `as: datetime`/`date`: numbers are epoch seconds (`s`) or "
        "milliseconds (`ms`).",
        "enum": ["s", "ms"],
    },
    "map": {
        "description": "A value table: source value -> output value.",
        "type": "object",
        "additionalProperties": _SCALAR,
        "minProperties": 1,
    },
    "unknown": {
        "description": "What a value missing from `map`/`lookup` does: `error` (default) or "
        "`warn` (use `default` and report).",
        "enum": ["error", "warn"],
    },
    "lookup": {
        "description": "Map the value through a lookup table declared under `lookups:`: "
        "`{table: NAME}` or just `NAME`.",
        "type": ["object", "string"],
        "pattern": "^[A-Za-z_][A-Za-z0-9_]*$",
        "properties": {"table": _NAME},
        "required": ["table"],
        "additionalProperties": False,
    },
    "transform": {
        "description": "A chain of registered transforms: a name, or `{name: argument}`.",
        "type": ["string", "array"],
        "minLength": 1,
        "items": {
            "type": ["string", "object"],
            "minLength": 1,
            "minProperties": 1,
            "maxProperties": 1,
        },
    },
    "when": {
        "description": "A JMESPath expression on the current element; the field is produced "
        "only when it is truthy.",
        "type": "string",
        "minLength": 1,
    },
    "each": {
        "description": "Map every element of the list at this path with `fields` (or `use`).",
        "type": "string",
        "minLength": 1,
    },
    "wrap": {
        "description": "With `each`: a scalar or object becomes a one-element list.",
        "type": "boolean",
    },
    "fields": {"$ref": "#/definitions/fieldMap"},
    "use": {"description": "Apply a named definition to the value at `from`.", **_NAME},
    "description": {"description": "Free text for readers.", "type": "string"},
}

#: The keys a field rule may have.
FIELD_RULE_KEYS: Final = tuple(_FIELD_RULE_PROPERTIES)

_SINGLE_VALUE_KEYS: Final = ("as", "map", "lookup", "transform", "value")

_FIELD_RULE: dict[str, Any] = {
    "type": "object",
    "properties": _FIELD_RULE_PROPERTIES,
    "additionalProperties": False,
    "allOf": [
        _combination(
            "a field takes 'from' or 'value', not both",
            {"required": ["from", "value"]},
            {"not": {"required": ["from", "value"]}},
        ),
        _combination(
            "a field needs 'from', 'value', 'default', 'each', 'use' or 'fields'",
            {
                "not": {
                    "anyOf": [
                        {"required": [k]} for k in ("from", "value", "default", "each", "use")
                    ]
                    + [{"required": ["fields"]}]
                }
            },
            {"anyOf": [{"required": ["from"]}, {"required": ["value"]}]},
        ),
        _combination(
            "'wrap' only applies with 'each'", {"required": ["wrap"]}, {"required": ["each"]}
        ),
        _combination(
            "'from' and 'each' are alternatives: 'each' names the list to map",
            {"required": ["each", "from"]},
            {"not": {"required": ["each", "from"]}},
        ),
        _combination(
            "'map' and 'lookup' are alternatives",
            {"required": ["map", "lookup"]},
            {"not": {"required": ["map", "lookup"]}},
        ),
        _combination(
            "'unknown' only applies with 'map' or 'lookup'",
            {"required": ["unknown"]},
            {"anyOf": [{"required": ["map"]}, {"required": ["lookup"]}]},
        ),
        _requires_as(["money"], "currency"),
        _requires_as(["money"], "money"),
        _requires_as(["datetime", "date"], "tz"),
        _requires_as(["datetime", "date"], "format"),
        _requires_as(["datetime", "date"], "epoch"),
        _combination(
            "'use' and 'fields' are alternatives",
            {"required": ["use", "fields"]},
            {"not": {"required": ["use", "fields"]}},
        ),
        _combination(
            "'fields'/'use' map an object; 'as', 'map', 'lookup', 'transform' and 'value' "
            "apply to single values",
            {"anyOf": [{"required": ["fields"]}, {"required": ["use"]}]},
            {"not": {"anyOf": [{"required": [k]} for k in _SINGLE_VALUE_KEYS]}},
        ),
    ],
}

_HEADER: dict[str, Any] = {
    "$schema": {"type": "string"},
    "mapping": {
        "description": "The spec's unique id, e.g. `shopify.order.inbound`.",
        "type": "string",
        "pattern": "^[A-Za-z0-9_]+([.-][A-Za-z0-9_]+)*$",
    },
    "channel": {"description": "The channel, e.g. `shopify`.", **_NAME},
    "api_version": {
        "description": "The channel API version this spec was written against (quote it).",
        "type": "string",
        "minLength": 1,
    },
    "direction": {"enum": ["inbound", "outbound"]},
    "source": {
        "description": "Inbound: the channel entity. Outbound: the canonical entity.",
        "type": "string",
        "minLength": 1,
    },
    "target": {
        "description": "Inbound: the canonical entity. Outbound: the channel entity.",
        "type": "string",
        "minLength": 1,
    },
    "version": {
        "description": "Bump on every behavioural change; recorded in the audit trail.",
        "type": "integer",
        "minimum": 1,
    },
    "description": {"type": "string"},
    "unwrap": {
        "description": 'Wrapper keys accepted around the payload ({"order": {...}}).',
        **_PATH_LIST,
    },
    "inputs": {
        "description": "Named inputs: the mapping takes a dict of payloads.",
        "type": ["array", "string"],
        "pattern": "^[A-Za-z_][A-Za-z0-9_]*$",
        "items": _NAME,
        "minItems": 1,
        "uniqueItems": True,
    },
    "include": {
        "description": "Files with reusable `definitions:`, relative to this file.",
        **_PATH_LIST,
    },
    "lookups": {
        "description": "Lookup tables: name -> table file (relative to this file) or an "
        "inline table `{table: {...}, default: ...}`.",
        "type": "object",
        "propertyNames": _NAME,
        "additionalProperties": {
            "anyOf": [{"type": "string", "minLength": 1}, {"$ref": "#/definitions/lookupTable"}]
        },
    },
    "definitions": {
        "description": "Named sub-mappings, applied with `use:`.",
        "type": "object",
        "propertyNames": _NAME,
        "additionalProperties": {
            "type": "object",
            "properties": {
                "fields": {"$ref": "#/definitions/fieldMap"},
                "description": {"type": "string"},
            },
            "required": ["fields"],
            "additionalProperties": False,
        },
    },
    "fields": {"$ref": "#/definitions/fieldMap"},
    "extra": {
        "description": "Source paths kept in the record's `extra` bucket.",
        **_PATH_LIST,
    },
    "ignore": {
        "description": "Source paths deliberately not mapped (`*` matches within a name).",
        **_PATH_LIST,
    },
}

#: The keys a spec file may have at its top level.
TOP_LEVEL_KEYS: Final = tuple(_HEADER)

_LOOKUP_BODY: dict[str, Any] = {
    "type": "object",
    "properties": {
        "$schema": {"type": "string"},
        "description": {"type": "string"},
        "table": {
            "description": "Channel value -> canonical value.",
            "type": "object",
            "additionalProperties": _SCALAR,
            "minProperties": 1,
        },
        "default": {"description": "The value for keys not in the table.", **_SCALAR},
    },
    "required": ["table"],
    "additionalProperties": False,
}

MAPPING_SPEC_SCHEMA: Final[dict[str, Any]] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "$id": _ID_BASE + "mapping-spec.schema.json",
    "title": "accord mapping spec",
    "description": "One channel entity in one direction (see docs/mapping-language.md). A file "
    "with only `definitions:` (and `include:`/`lookups:`) is a definitions file for `include:`.",
    "type": "object",
    "properties": _HEADER,
    "additionalProperties": False,
    "anyOf": [{"required": ["fields"]}, {"required": ["definitions"]}],
    "allOf": [
        _combination(
            "a spec with 'fields' needs the header: mapping, channel, api_version, "
            "direction, source, target, version",
            {"required": ["fields"]},
            {
                "required": [
                    "mapping",
                    "channel",
                    "api_version",
                    "direction",
                    "source",
                    "target",
                    "version",
                ]
            },
        )
    ],
    "definitions": {
        "fieldMap": {
            "description": "Target path -> field rule. Dotted paths build nested objects.",
            "type": "object",
            "propertyNames": {"pattern": _TARGET_PATTERN},
            "additionalProperties": {"$ref": "#/definitions/fieldRule"},
            "minProperties": 1,
        },
        "fieldRule": {
            "description": "How to produce one target field; a bare string is short for "
            "`{from: ...}`.",
            # if/then/else rather than anyOf: the common case (a mapping) is checked once,
            # without first failing as a string.
            "if": {"type": "object"},
            "then": _FIELD_RULE,
            "else": {"type": ["object", "string"], "minLength": 1},
        },
        "lookupTable": _LOOKUP_BODY,
    },
}

LOOKUP_TABLE_SCHEMA: Final[dict[str, Any]] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "$id": _ID_BASE + "lookup-table.schema.json",
    "title": "accord lookup table",
    "description": "A value table used by a mapping's `lookup: {table: NAME}`.",
    **_LOOKUP_BODY,
}

#: Published file name -> schema.
SCHEMA_FILES: Final = {
    "mapping-spec.schema.json": MAPPING_SPEC_SCHEMA,
    "lookup-table.schema.json": LOOKUP_TABLE_SCHEMA,
}


def closest(word: str, options: Iterable[str]) -> str | None:
    """The option a misspelt ``word`` most likely meant, or ``None``.

    Ranks by edit distance counting a swap of two neighbours as one edit (the commonest
    typo), then by similarity, so ``form`` suggests ``from`` rather than ``format``.

    >>> closest("form", ["format", "from", "fields"]), closest("xyz", ["from"])
    ('from', None)
    """
    best: tuple[int, float, str] | None = None
    for option in options:
        distance = _edit_distance(word.lower(), option.lower())
        ratio = difflib.SequenceMatcher(None, word.lower(), option.lower()).ratio()
        low, opt = word.lower(), option.lower()
        prefix = min(len(low), len(opt)) >= 3 and (low.startswith(opt) or opt.startswith(low))
        if distance > max(1, len(option) // 3) and ratio < 0.65 and not prefix:
            continue
        rank = (distance, -ratio, option)
        if best is None or rank < best:
            best = rank
    return best[2] if best else None


def _edit_distance(a: str, b: str) -> int:
    """Optimal string alignment distance (Levenshtein plus adjacent transpositions)."""
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        row = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            row[j] = min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                row[j] = min(row[j], prev2[j - 2] + 1)
        prev2, prev = prev, row
    return prev[-1]


def schema_text(schema: dict[str, Any]) -> str:
    """The published form of a schema: stable, two-space indented JSON with a final newline."""
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def write_schemas(directory: str | Path) -> list[Path]:
    """Write every schema of :data:`SCHEMA_FILES` into ``directory`` (``docs/schemas``)."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, schema in SCHEMA_FILES.items():
        path = out / name
        path.write_text(schema_text(schema), encoding="utf-8")
        written.append(path)
    return written


@cache
def _validator(name: str) -> Draft7Validator:
    schema = SCHEMA_FILES[name]
    if name == "mapping-spec.schema.json":
        # jsonschema spends three quarters of its time on the per-rule if/then combinations;
        # accord checks those itself (_combination_failures, same rules and messages) and
        # lets jsonschema do the rest. Editors still get the whole published schema.
        schema = copy.deepcopy(schema)
        del schema["definitions"]["fieldRule"]["then"]["allOf"]
    return Draft7Validator(schema)


#: The field-rule combinations: (message, if, then), as published in the schema.
_COMBINATIONS: Final = tuple((c["$comment"], c["if"], c["then"]) for c in _FIELD_RULE["allOf"])


def _holds(schema: Mapping[str, Any], value: Any) -> bool:
    """Evaluate the small subset of JSON Schema the combinations use on a field rule."""
    if not isinstance(value, dict):
        return True  # like JSON Schema: these keywords ignore non-objects
    for keyword, arg in schema.items():
        if keyword == "required" and not all(k in value for k in arg):
            return False
        if keyword == "not" and _holds(arg, value):
            return False
        if keyword == "anyOf" and not any(_holds(sub, value) for sub in arg):
            return False
        if keyword == "properties":
            for key, sub in arg.items():
                if key in value and "enum" in sub and value[key] not in sub["enum"]:
                    return False
    return True


def _combination_failures(rule: Mapping[str, Any]) -> list[str]:
    """The messages of the combinations a field rule breaks.

    >>> _combination_failures({"from": "a", "wrap": True, "currency": "USD"})
    ["'wrap' only applies with 'each'", "'currency' only applies to 'as: money'"]
    """
    return [msg for msg, if_, then in _COMBINATIONS if _holds(if_, rule) and not _holds(then, rule)]


def _field_rules(data: Any) -> Iterable[tuple[tuple[str, ...], dict[str, Any]]]:
    """Every field rule of a spec (nested and in definitions), with its path."""

    def walk(fields: Any, at: tuple[str, ...]) -> Iterable[tuple[tuple[str, ...], dict[str, Any]]]:
        if not isinstance(fields, dict):
            return
        for target, rule in fields.items():
            if isinstance(rule, dict):
                here = (*at, str(target))
                yield here, rule
                yield from walk(rule.get("fields"), (*here, "fields"))

    yield from walk(data.get("fields"), ("fields",))
    definitions = data.get("definitions")
    if isinstance(definitions, dict):
        for name, body in definitions.items():
            if isinstance(body, dict):
                yield from walk(body.get("fields"), ("definitions", str(name), "fields"))


def validate_spec(doc: LoadedYaml) -> list[Diagnostic]:
    """Every structural problem of a loaded spec file, located and sorted; ``[]`` if none."""
    return _validate(doc, "mapping-spec.schema.json", "mapping spec")


def validate_lookup(doc: LoadedYaml) -> list[Diagnostic]:
    """Every structural problem of a loaded lookup table file, located and sorted."""
    return _validate(doc, "lookup-table.schema.json", "lookup table")


_RESULTS: dict[tuple[str, str | None, str], tuple[Diagnostic, ...]] = {}
_RESULTS_SIZE: Final = 256


def _validate(doc: LoadedYaml, schema_name: str, what: str) -> list[Diagnostic]:
    # Shared definition and lookup files are validated for every spec that includes them;
    # the result depends only on the text, so it is computed once per text.
    key = (schema_name, doc.file, doc.source)
    found = _RESULTS.get(key)
    if found is None:
        found = tuple(_validate_now(doc, schema_name, what))
        if len(_RESULTS) >= _RESULTS_SIZE:
            _RESULTS.pop(next(iter(_RESULTS)))
        _RESULTS[key] = found
    return list(found)


def _validate_now(doc: LoadedYaml, schema_name: str, what: str) -> list[Diagnostic]:
    if not isinstance(doc.data, dict):
        got = "an empty file" if doc.data is None else _kind(doc.data)
        return [doc.diagnostic("SPEC001", f"a {what} must be a mapping of keys, got {got}", "")]
    validator = _validator(schema_name)
    found: list[tuple[tuple[str, ...], Diagnostic]] = []
    for error in _leaves(validator.iter_errors(doc.data)):
        at = tuple(str(p) for p in error.absolute_path)
        found.extend((at, d) for d in _diagnose(doc, error, SCHEMA_FILES[schema_name]))
    if schema_name == "mapping-spec.schema.json":
        for at, rule in _field_rules(doc.data):
            where = _where(list(at))
            found.extend(
                (at, doc.diagnostic("SPEC006", f"{message}{where}", list(at), key=True))
                for message in _combination_failures(rule)
            )
    # An object with a misspelt key ("form:") also lacks the key it meant: report the typo only.
    misspelt = {at for at, d in found if d.code == "SPEC003"}
    kept = [d for at, d in found if not (at in misspelt and d.code in ("SPEC002", "SPEC006"))]
    return sort_diagnostics(kept)


def _leaves(errors: Iterable[SchemaViolation]) -> Iterable[SchemaViolation]:
    """Replace each anyOf/oneOf failure by the errors of the branch the value was meant for
    (the one whose type matches; jsonschema's relevance breaks ties). When no branch has the
    right type, the failure stays whole and reads "expected a string or a mapping"."""
    for error in sorted(errors, key=relevance):
        if error.validator in ("anyOf", "oneOf") and error.context and not _is_own(error):
            branches: dict[Any, list[SchemaViolation]] = {}
            for sub in error.context:
                branches.setdefault(sub.relative_schema_path[0], []).append(sub)
            live = [errs for errs in branches.values() if not _type_failed(errs)]
            if live:
                best = min(live, key=lambda errs: min(relevance(e) for e in errs))
                yield from _leaves(best)
                continue
        yield error


def _type_failed(errors: Iterable[SchemaViolation]) -> bool:
    return any(e.validator == "type" and not e.relative_path for e in errors)


def _is_own(error: SchemaViolation) -> bool:
    # the top-level anyOf (fields or definitions) reads better as its own message
    return list(error.absolute_schema_path) == ["anyOf"]


def _diagnose(doc: LoadedYaml, error: SchemaViolation, root: dict[str, Any]) -> list[Diagnostic]:
    path = list(error.absolute_path)
    where = _where(path)
    schema = error.schema if isinstance(error.schema, dict) else {}
    instance = error.instance
    validator = error.validator
    comment = _combination_comment(error, root)
    if comment is not None:
        if validator == "required" and comment.startswith("a spec with"):
            comment = f"missing required key '{_missing(error)}': {comment}"
        return [doc.diagnostic("SPEC006", f"{comment}{where}", path, key=True)]
    if validator == "additionalProperties" and isinstance(instance, dict):
        allowed = list(schema.get("properties", {}))
        out = []
        for key in instance:
            if key in allowed:
                continue
            close = closest(str(key), allowed)
            mean = f" (did you mean '{close}'?)" if close else ""
            message = f"unknown key '{key}'{where}{mean}"
            if not close and allowed:
                expected = ", ".join(a for a in allowed if a != "$schema")
                out.append(
                    doc.diagnostic(
                        "SPEC003", message, [*path, str(key)], key=True, hint=f"known: {expected}"
                    )
                )
            else:
                out.append(doc.diagnostic("SPEC003", message, [*path, str(key)], key=True))
        return out
    if validator == "required":
        return [doc.diagnostic("SPEC002", f"missing required key '{_missing(error)}'{where}", path)]
    if validator in ("enum", "const"):
        options = (
            [str(o) for o in error.validator_value]
            if validator == "enum"
            else [str(error.validator_value)]
        )
        close = closest(str(instance), options)
        mean = f" (did you mean '{close}'?)" if close else ""
        message = f"{_show(instance)} is not one of {', '.join(options)}{where}{mean}"
        return [doc.diagnostic("SPEC004", message, path)]
    if validator == "type" or (
        validator in ("anyOf", "oneOf") and error.context and _type_failed(error.context)
    ):
        types = (
            error.validator_value
            if validator == "type"
            else [
                t
                for e in error.context
                if e.validator == "type" and not e.relative_path
                for t in _as_list(e.validator_value)
            ]
        )
        expected = " or ".join(_TYPE_WORDS.get(t, t) for t in _as_list(types))
        hint: str | None = None
        if path and path[-1] == "version" and isinstance(instance, str):
            hint = "write the version as a whole number: version: 3"
        elif "string" in _as_list(types) and not isinstance(instance, (dict, list)):
            hint = 'quote the value: "..."'
        return [
            doc.diagnostic(
                "SPEC005", f"expected {expected}, got {_kind(instance)}{where}", path, hint=hint
            )
        ]
    if validator == "propertyNames" or (
        error.relative_schema_path and "propertyNames" in error.relative_schema_path
    ):
        what = "target path (dotted names, no empty parts)" if path[-1:] == ["fields"] else "name"
        return [
            doc.diagnostic(
                "SPEC007",
                f"{_show(instance)} is not a valid {what}{where}",
                [*path, str(instance)],
                key=True,
            )
        ]
    if validator == "pattern":
        iso = "A-Z]{3}" in str(error.validator_value)
        message = (
            f"{_show(instance)} is not a three-letter ISO 4217 code{where}"
            if iso
            else f"{_show(instance)} is not a valid name{where}"
        )
        return [doc.diagnostic("SPEC007", message, path)]
    if _is_own(error):
        return [
            doc.diagnostic(
                "SPEC002",
                "a mapping spec needs 'fields' (or, for an include file, 'definitions')",
                "",
            )
        ]
    return [doc.diagnostic("SPEC008", f"{_constraint(error)}{where}", path)]


_TYPE_WORDS = {
    "string": "a string",
    "array": "a list",
    "object": "a mapping",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "null": "null",
}


def _as_list(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, int):
        return f"a whole number ({value})"
    if isinstance(value, (float, int)) or type(value).__name__ == "Decimal":
        return f"a number ({value})"
    if isinstance(value, str):
        return f"a string ({_show(value)})"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def _show(value: Any) -> str:
    text = repr(value) if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= 40 else text[:37] + "..."


def _where(path: Sequence[Any]) -> str:
    """`` in field rule 'lines.fields.sku'``-style context for messages."""
    if not path:
        return ""
    parts = [str(p) for p in path]
    if parts[0] in ("fields", "definitions") and len(parts) >= 2:
        names = [parts[1]]
        rest = parts[2:]
        while len(rest) >= 2 and rest[0] == "fields":
            names.append(rest[1])
            rest = rest[2:]
        label = "field rule" if parts[0] == "fields" else "definition"
        base = f" in {label} '{'.'.join(names) if parts[0] == 'fields' else names[0]}'"
        if parts[0] == "definitions" and len(names) > 1:
            base = f" in field rule '{'.'.join(names[1:])}' of definition '{names[0]}'"
        if rest:
            base += f", key '{rest[0]}'"
        return base
    return f" in '{'/'.join(parts)}'"


_REQUIRED_MESSAGE = re.compile(r"^'(.+)' is a required property$")


def _missing(error: SchemaViolation) -> str:
    # jsonschema reports each missing key as its own error, naming it only in the message
    said = _REQUIRED_MESSAGE.match(str(error.message))
    if said:
        return said.group(1)
    required = error.validator_value if isinstance(error.validator_value, list) else []
    instance = error.instance if isinstance(error.instance, dict) else {}
    for key in required:
        if key not in instance:
            return str(key)
    return str(required[0]) if required else "?"


def _combination_comment(error: SchemaViolation, root: dict[str, Any]) -> str | None:
    """The ``$comment`` of the if/then rule whose ``then`` failed, if this error is one."""
    schema_path = list(error.absolute_schema_path)
    if "then" not in schema_path:
        return None
    cut = len(schema_path) - 1 - schema_path[::-1].index("then")
    node: Any = root
    for part in schema_path[:cut]:
        # jsonschema leaves `$ref` hops out of the path: follow them here
        while isinstance(node, dict) and part not in node and "$ref" in node:
            node = _resolve(root, node["$ref"])
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return None
    comment = node.get("$comment") if isinstance(node, dict) else None
    return str(comment) if comment else None


def _resolve(root: dict[str, Any], ref: str) -> Any:
    node: Any = root
    for part in ref.lstrip("#/").split("/"):
        node = node.get(part) if isinstance(node, dict) else None
    return node


def _constraint(error: SchemaViolation) -> str:
    validator = error.validator
    value = error.validator_value
    if validator == "minItems":
        return "the list must not be empty"
    if validator in ("minProperties",) and value == 1:
        return "the mapping must not be empty"
    if validator == "maxProperties" and value == 1:
        return "write exactly one key here, e.g. {split: ','}"
    if validator == "minLength":
        return "the value must not be empty"
    if validator == "uniqueItems":
        return "the list repeats an entry"
    if validator == "minimum":
        return f"the value must be at least {value}"
    return str(error.message)
