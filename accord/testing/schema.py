"""The JSON Schema of sidecar case files (``*.cases.yaml``).

Draft-07 so that editors (the YAML language server) give autocomplete and inline errors; it is
also a valid 2020-12 schema. ``accord schema cases`` writes it; the copy in
``docs/schemas/cases.schema.json`` is kept equal by a test.

>>> schema = case_file_schema()
>>> schema["required"]
['cases']
>>> sorted(schema["definitions"]["case"]["properties"])[:4]
['context', 'description', 'expect', 'expect_error']
"""

from __future__ import annotations

from typing import Any

__all__ = ["CASE_FILE_SCHEMA_ID", "case_file_schema"]

CASE_FILE_SCHEMA_ID = "https://accord.dev/schemas/cases.schema.json"

_PAYLOAD = {"description": "A JSON value: an object, a list or a scalar."}


def case_file_schema() -> dict[str, Any]:
    """A fresh copy of the case-file JSON Schema (draft-07)."""
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "$id": CASE_FILE_SCHEMA_ID,
        "title": "accord sidecar case file",
        "description": (
            "Cases for the mapping spec or rule pack next to this file: "
            "order.inbound.cases.yaml tests order.inbound.yaml; "
            "refund_governance.cases.yaml tests refund_governance.rules."
        ),
        "type": "object",
        "required": ["cases"],
        "additionalProperties": False,
        "properties": {
            "subject": {
                "type": "string",
                "minLength": 1,
                "description": (
                    "The spec or rule pack under test, relative to this file. "
                    "Default: the sidecar's name without '.cases'."
                ),
            },
            "cases": {
                "type": "array",
                "items": {"$ref": "#/definitions/case"},
                "description": "The cases; names are unique in the file.",
            },
        },
        "definitions": {
            "case": {
                "type": "object",
                "required": ["name"],
                "additionalProperties": False,
                "properties": {
                    "name": {"type": "string", "minLength": 1, "description": "Unique name."},
                    "description": {"type": "string"},
                    "given": {
                        **_PAYLOAD,
                        "description": (
                            "The payload (inbound mapping) or the canonical record "
                            "(outbound mapping, rules), in JSON form."
                        ),
                    },
                    "inputs": {
                        "type": "object",
                        "description": "Several named payloads instead of `given`.",
                        "additionalProperties": _PAYLOAD,
                    },
                    "given_file": {
                        "type": "string",
                        "minLength": 1,
                        "description": "A JSON or YAML payload file, relative to this file.",
                    },
                    "context": {
                        "type": "object",
                        "description": "Facts for rules (captured, already_refunded, ...).",
                    },
                    "now": {
                        "type": "string",
                        "pattern": r"^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:\d\d)$",
                        "description": "A frozen clock, ISO-8601 with a zone.",
                    },
                    "expect": {
                        **_PAYLOAD,
                        "description": "The output (or Decision), matched partially by default.",
                    },
                    "expect_exact": {
                        "type": "boolean",
                        "description": "The whole output must match, with no extra keys.",
                    },
                    "expect_error": {
                        "type": "string",
                        "pattern": "^[A-Z]+[0-9]*$",
                        "description": "A stable error code (MAP201, RULE201, CAN010) instead.",
                    },
                    "ignore": {
                        "type": "array",
                        "items": {"type": "string", "minLength": 1},
                        "description": "Paths not compared: updated_at, lines[].id, extra.*",
                    },
                    "tags": {"type": "array", "items": {"type": "string"}},
                },
                "oneOf": [
                    {"required": ["given"], "not": {"anyOf": _others("given")}},
                    {"required": ["inputs"], "not": {"anyOf": _others("inputs")}},
                    {"required": ["given_file"], "not": {"anyOf": _others("given_file")}},
                ],
                "not": {"required": ["expect", "expect_error"]},
            },
        },
    }


def _others(key: str) -> list[dict[str, Any]]:
    return [{"required": [k]} for k in ("given", "inputs", "given_file") if k != key]
