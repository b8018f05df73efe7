"""Snapshot mode: rewrite failing expectations from actual outputs, keeping comments.

The case file is edited through ruamel.yaml's round-trip tree, so comments, key order and
quoting of untouched parts survive. Only what failed is changed: a partial ``expect`` keeps
its partiality (a wrong value is replaced, a key the output no longer has is removed), a case
without any expectation gets the whole output, and a changed error code is replaced. Every edit
is returned as one line of text for the user to review.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from typing import Any

from accord.testing.cases import CaseFile
from accord.testing.match import Mismatch, format_path

__all__ = ["update_case_file"]


def update_case_file(loaded: CaseFile, results: Sequence[Any]) -> list[str]:
    """Apply the edits that make ``results`` pass; write the file if anything changed."""
    from ruamel.yaml import YAML

    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 100
    text = loaded.source.source
    if re.search(r"^cases:\s*\n(\s*#.*\n)*\s+- ", text, re.M):
        yaml.indent(mapping=2, sequence=4, offset=2)
    tree = yaml.load(text)
    by_name = {c.name: c for c in loaded.cases}
    changes: list[str] = []
    for res in results:
        case = by_name.get(res.name)
        if case is None or res.status == "passed":
            continue
        node = tree["cases"][case.index]
        label = f"case {res.name!r}"
        if res.output is not None:
            if "expect_error" in node:
                del node["expect_error"]
                node["expect"] = _plain(res.output)
                changes.append(f"{label}: expect_error replaced by the actual output")
            elif "expect" not in node:
                node["expect"] = _plain(res.output)
                changes.append(f"{label}: recorded the output as expect")
            else:
                changes.extend(f"{label}: {_apply(node, m)}" for m in res.mismatches)
        elif (
            res.error_code not in (None, "INTERNAL") and node.get("expect_error") != res.error_code
        ):
            before = node.get("expect_error")
            if "expect" in node:
                del node["expect"]
                node.pop("expect_exact", None)
            node["expect_error"] = res.error_code
            was = f"expect_error {before}" if before else "expect"
            changes.append(f"{label}: {was} replaced by expect_error {res.error_code}")
    if changes:
        out = io.StringIO()
        yaml.dump(tree, out)
        loaded.path.write_text(out.getvalue(), encoding="utf-8")
    return changes


def _apply(node: Any, m: Mismatch) -> str:
    where = "expect" if not m.path else f"expect.{format_path(m.path)}".replace(".[", "[")
    parent: Any = node
    key: Any = "expect"
    for part in m.path:
        parent = parent[key]
        key = part
    if m.kind == "missing":
        del parent[key]
        return f"{where}: removed (the output has no such key)"
    if m.kind == "unexpected":
        parent[key] = _plain(m.actual)
        return f"{where}: added {_short(m.actual)}"
    parent[key] = _plain(m.actual)
    return f"{where}: {_short(m.expected)} -> {_short(m.actual)}"


def _short(value: Any) -> str:
    import json

    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= 80 else text[:77] + "..."


def _plain(value: Any) -> Any:
    # Already JSON form; copy so ruamel never shares a node between two places.
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value
