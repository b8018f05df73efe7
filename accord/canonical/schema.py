"""JSON Schema export of the canonical entities (draft 2020-12, and draft-07 for editors).

The schemas describe the *JSON form* of each entity (amounts and ids as strings, ISO-8601
timestamps). They are generated from the pydantic models and committed under
``docs/schemas/canonical/``; a test fails when the committed files drift from the models.
Regenerate them with ``accord schema canonical --write docs/schemas/canonical``.

>>> schema = entity_schema("order_line")
>>> schema["$schema"], schema["properties"]["quantity"]["minimum"]
('https://json-schema.org/draft/2020-12/schema', 0)
>>> "definitions" in entity_schema("order", draft="07")
True
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Final

from accord.canonical.records import ENTITIES

__all__ = [
    "DRAFTS",
    "bundle_schema",
    "dumps",
    "entity_schema",
    "expected_files",
    "schema_filename",
    "write_schemas",
]

#: Supported drafts, the first being the default.
DRAFTS: Final = ("2020-12", "07")
_META: Final = {
    "2020-12": "https://json-schema.org/draft/2020-12/schema",
    "07": "http://json-schema.org/draft-07/schema#",
}


def _check_draft(draft: str) -> None:
    if draft not in _META:
        raise ValueError(f"unknown JSON Schema draft {draft!r}; choose one of {', '.join(DRAFTS)}")


def _first_paragraph(text: str) -> str:
    # Class docstrings carry doctest examples; a schema description wants the summary only,
    # and editors render Markdown, where reST's double backticks read as noise.
    return " ".join(text.strip().split("\n\n", 1)[0].split()).replace("``", "`")


def _tidy(node: Any) -> Any:
    if isinstance(node, dict):
        out = {k: _tidy(v) for k, v in node.items()}
        if isinstance(out.get("description"), str):
            out["description"] = _first_paragraph(out["description"])
        return out
    if isinstance(node, list):
        return [_tidy(v) for v in node]
    return node


def _to_draft07(node: Any) -> Any:
    """Rewrite a 2020-12 schema as draft-07: ``$defs`` -> ``definitions``, and ``$ref`` with
    sibling keywords wrapped in ``allOf`` (draft-07 ignores a ``$ref``'s siblings)."""
    if isinstance(node, list):
        return [_to_draft07(v) for v in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "$defs":
            out["definitions"] = {k: _to_draft07(v) for k, v in value.items()}
        elif key == "$ref" and isinstance(value, str):
            out[key] = value.replace("#/$defs/", "#/definitions/")
        elif key in ("properties", "patternProperties"):
            out[key] = {k: _to_draft07(v) for k, v in value.items()}
        else:
            out[key] = _to_draft07(value)
    if "$ref" in out and len(out) > 1:
        ref = out.pop("$ref")
        out = {"allOf": [{"$ref": ref}], **out}
    return out


def _with_meta(schema: dict[str, Any], draft: str) -> dict[str, Any]:
    body = _tidy(schema)
    out: dict[str, Any] = {"$schema": _META["2020-12"], **body}
    if draft == "07":
        out = _to_draft07(out)
        out["$schema"] = _META["07"]
    return out


def entity_schema(entity: str, draft: str = "2020-12") -> dict[str, Any]:
    """The JSON Schema of one entity's JSON form; ``KeyError`` for an unknown entity."""
    _check_draft(draft)
    result: dict[str, Any] = json.loads(_schema_text(entity, draft))  # a fresh, mutable copy
    return result


@functools.cache
def _schema_text(entity: str, draft: str) -> str:
    # Generating a schema takes pydantic tens of milliseconds; the model cannot change at run
    # time, so each (entity, draft) is generated once per process.
    model = ENTITIES[entity]
    return dumps(_with_meta(model.model_json_schema(mode="validation"), draft))


def bundle_schema(draft: str = "2020-12") -> dict[str, Any]:
    """One schema holding every entity under ``$defs`` (``definitions`` in draft-07); it
    accepts a record of any entity."""
    _check_draft(draft)
    defs: dict[str, Any] = {}
    for model in ENTITIES.values():
        schema = model.model_json_schema(mode="validation", ref_template="#/$defs/{model}")
        defs.update(schema.pop("$defs", {}))
        defs[model.__name__] = schema
    body = {
        "title": "accord canonical record",
        "description": "Any canonical entity, in its JSON form.",
        "anyOf": [{"$ref": f"#/$defs/{m.__name__}"} for m in ENTITIES.values()],
        "$defs": dict(sorted(defs.items())),
    }
    return _with_meta(body, draft)


def schema_filename(entity: str, draft: str) -> str:
    """``order.schema.json`` (2020-12) or ``order.draft-07.schema.json``."""
    _check_draft(draft)
    return f"{entity}.schema.json" if draft == "2020-12" else f"{entity}.draft-{draft}.schema.json"


def dumps(schema: dict[str, Any]) -> str:
    """The committed text of a schema: stable, two-space indented, newline-terminated."""
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def expected_files(
    entities: Iterable[str] | None = None, drafts: Iterable[str] = DRAFTS
) -> dict[str, str]:
    """File name -> text for every schema that belongs in ``docs/schemas/canonical``."""
    names = list(ENTITIES) if entities is None else list(entities)
    for draft in drafts:
        _check_draft(draft)
    return {
        schema_filename(name, draft): _schema_text(name, draft)
        for draft in drafts
        for name in names
    }


def write_schemas(
    directory: Path, entities: Iterable[str] | None = None, drafts: Iterable[str] = DRAFTS
) -> list[Path]:
    """Write the schema files into ``directory`` (created if needed); returns the paths
    whose contents changed."""
    directory.mkdir(parents=True, exist_ok=True)
    changed: list[Path] = []
    for name, text in expected_files(entities, drafts).items():
        path = directory / name
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            changed.append(path)
    return changed
