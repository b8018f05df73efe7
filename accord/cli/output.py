"""Diagnostics out of the command line: text, json, github, sarif and junit.

* ``text``: compiler style, ``file:line:col: severity CODE: message``, the source line and a
  caret under the span, then a one-line summary.
* ``json``: ``{"diagnostics": [...], "summary": {...}}``, each diagnostic ``Diagnostic.to_dict()``.
* ``github``: GitHub Actions workflow commands (``::error file=...,line=...,col=...::msg``), so
  problems appear as annotations on the pull request. Chosen automatically when
  ``GITHUB_ACTIONS=true`` and no ``--format`` is given.
* ``sarif``: SARIF 2.1.0 for code-scanning dashboards.
* ``junit``: JUnit XML for CI test reports; one test case per file checked (``accord test``
  writes one per case).

>>> from accord.diagnostics import Diagnostic
>>> d = Diagnostic(code="MAP101", message="unknown field 'totl'", file="o.yaml", line=3, column=5)
>>> print(github([d]))
::error file=o.yaml,line=3,col=5,title=MAP101::unknown field 'totl'
"""

from __future__ import annotations

import argparse
import json
import os
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from accord._version import __version__
from accord.diagnostics import Diagnostic, Severity, sort_diagnostics

__all__ = [
    "DIAGNOSTIC_FORMATS",
    "JUnitCase",
    "add_format_argument",
    "github",
    "junit",
    "render",
    "resolve_format",
    "sarif",
    "summary_line",
    "text",
    "to_json",
]

DIAGNOSTIC_FORMATS = ("text", "json", "github", "sarif", "junit")
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def add_format_argument(
    parser: argparse.ArgumentParser, choices: Sequence[str] = DIAGNOSTIC_FORMATS
) -> None:
    """Add ``--format`` (default: ``github`` under GitHub Actions, else ``text``)."""
    parser.add_argument(
        "--format",
        choices=list(choices),
        default=None,
        help="output format (default: text; github when GITHUB_ACTIONS=true)",
    )


def resolve_format(requested: str | None, env: Mapping[str, str] | None = None) -> str:
    """The format to use: the requested one, else ``github`` under Actions, else ``text``.

    >>> resolve_format(None, {"GITHUB_ACTIONS": "true"}), resolve_format("json", {})
    ('github', 'json')
    """
    if requested:
        return requested
    env = os.environ if env is None else env
    return "github" if env.get("GITHUB_ACTIONS") == "true" else "text"


def _count(diagnostics: Iterable[Diagnostic]) -> Counter[str]:
    return Counter(Severity(d.severity).value for d in diagnostics)


def summary_line(diagnostics: Sequence[Diagnostic], files: int) -> str:
    """``2 errors, 1 warning in 3 files``."""
    counts = _count(diagnostics)
    parts = [_plural(counts["error"], "error"), _plural(counts["warning"], "warning")]
    return f"{', '.join(parts)} in {_plural(files, 'file')}"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def text(
    diagnostics: Sequence[Diagnostic],
    *,
    files: int,
    sources: Mapping[str, str] | None = None,
) -> str:
    """Compiler-style text with source lines and carets, then a summary line."""
    sources = sources or {}
    blocks = [d.render(sources.get(d.file or "")) for d in sort_diagnostics(diagnostics)]
    blocks.append(summary_line(diagnostics, files))
    return "\n".join(blocks)


def to_json(diagnostics: Sequence[Diagnostic], *, files: int) -> str:
    """A JSON document with every diagnostic and the counts."""
    counts = _count(diagnostics)
    doc = {
        "diagnostics": [d.to_dict() for d in sort_diagnostics(diagnostics)],
        "summary": {
            "files": files,
            "errors": counts["error"],
            "warnings": counts["warning"],
            "infos": counts["info"],
        },
    }
    return json.dumps(doc, indent=2, ensure_ascii=False)


def _escape_data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(value: str) -> str:
    return _escape_data(value).replace(":", "%3A").replace(",", "%2C")


_GITHUB_LEVEL = {"error": "error", "warning": "warning", "info": "notice"}


def github(diagnostics: Sequence[Diagnostic]) -> str:
    """GitHub Actions workflow commands, one per diagnostic."""
    lines = []
    for d in sort_diagnostics(diagnostics):
        props = []
        if d.file:
            props.append(f"file={_escape_property(d.file)}")
        if d.line is not None:
            props.append(f"line={d.line}")
            if d.column is not None:
                props.append(f"col={d.column}")
            if d.end_line is not None and d.end_line != d.line:
                props.append(f"endLine={d.end_line}")
            elif d.end_column is not None and d.column is not None:
                props.append(f"endColumn={d.end_column}")
        props.append(f"title={_escape_property(d.code)}")
        message = d.message + (f"\nhint: {d.hint}" if d.hint else "")
        level = _GITHUB_LEVEL[Severity(d.severity).value]
        lines.append(f"::{level} {','.join(props)}::{_escape_data(message)}")
    return "\n".join(lines)


_SARIF_LEVEL = {"error": "error", "warning": "warning", "info": "note"}


def sarif(diagnostics: Sequence[Diagnostic], *, tool: str = "accord") -> str:
    """A SARIF 2.1.0 log with one run; rule ids are the diagnostic codes."""
    ordered = sort_diagnostics(diagnostics)
    codes = sorted({d.code for d in ordered})
    index = {code: i for i, code in enumerate(codes)}
    rules = [
        {
            "id": code,
            "name": code,
            "shortDescription": {"text": next(d.message for d in ordered if d.code == code)},
        }
        for code in codes
    ]
    results: list[dict[str, Any]] = []
    for d in ordered:
        result: dict[str, Any] = {
            "ruleId": d.code,
            "ruleIndex": index[d.code],
            "level": _SARIF_LEVEL[Severity(d.severity).value],
            "message": {"text": d.message + (f" (hint: {d.hint})" if d.hint else "")},
        }
        if d.file:
            physical: dict[str, Any] = {"artifactLocation": {"uri": _uri(d.file)}}
            if d.line is not None:
                region: dict[str, int] = {"startLine": d.line}
                if d.column is not None:
                    region["startColumn"] = d.column
                if d.end_line is not None:
                    region["endLine"] = d.end_line
                if d.end_column is not None:
                    region["endColumn"] = d.end_column
                physical["region"] = region
            result["locations"] = [{"physicalLocation": physical}]
        results.append(result)
    log = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": tool,
                        "version": __version__,
                        "rules": rules,
                    }
                },
                "results": results,
            }
        ],
    }
    return json.dumps(log, indent=2, ensure_ascii=False)


def _uri(file: str) -> str:
    path = Path(file)
    return path.as_uri() if path.is_absolute() else path.as_posix()


@dataclass(slots=True)
class JUnitCase:
    """One JUnit test case: ``failure`` (a problem) or ``error`` (could not run) or neither."""

    name: str
    classname: str
    seconds: float = 0.0
    failure: str | None = None
    error: str | None = None
    details: str = ""
    properties: dict[str, str] = field(default_factory=dict)


def junit(suites: Mapping[str, Sequence[JUnitCase]], *, name: str = "accord") -> str:
    """A JUnit XML report; each suite is a file, each case a check or a sidecar case."""
    root = ET.Element("testsuites", name=name)
    totals = Counter[str]()
    for suite_name, cases in suites.items():
        suite = ET.SubElement(root, "testsuite", name=suite_name)
        counts = Counter[str]()
        seconds = 0.0
        for case in cases:
            el = ET.SubElement(
                suite,
                "testcase",
                name=case.name,
                classname=case.classname,
                time=f"{case.seconds:.3f}",
            )
            seconds += case.seconds
            counts["tests"] += 1
            if case.error is not None:
                counts["errors"] += 1
                ET.SubElement(el, "error", message=case.error).text = case.details or case.error
            elif case.failure is not None:
                counts["failures"] += 1
                ET.SubElement(el, "failure", message=case.failure).text = (
                    case.details or case.failure
                )
        for key in ("tests", "failures", "errors"):
            suite.set(key, str(counts[key]))
            totals[key] += counts[key]
        suite.set("time", f"{seconds:.3f}")
    for key in ("tests", "failures", "errors"):
        root.set(key, str(totals[key]))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode")


def diagnostics_junit(diagnostics: Sequence[Diagnostic], files: Sequence[str]) -> str:
    """JUnit for ``accord validate``: one test case per file, failing with its errors."""
    by_file: dict[str, list[Diagnostic]] = {f: [] for f in files}
    for d in sort_diagnostics(diagnostics):
        by_file.setdefault(d.file or "<input>", []).append(d)
    cases = []
    for file, found in by_file.items():
        errors = [d for d in found if Severity(d.severity) is Severity.ERROR]
        case = JUnitCase(name=file, classname="accord.validate")
        if errors:
            case.failure = f"{_plural(len(errors), 'error')}: {errors[0].code} {errors[0].message}"
            case.details = "\n".join(d.render() for d in found)
        cases.append(case)
    return junit({"accord validate": cases})


def render(
    diagnostics: Sequence[Diagnostic],
    fmt: str,
    *,
    files: Sequence[str],
    sources: Mapping[str, str] | None = None,
) -> str:
    """Render diagnostics in one of :data:`DIAGNOSTIC_FORMATS`."""
    if fmt == "json":
        return to_json(diagnostics, files=len(files))
    if fmt == "github":
        out = github(diagnostics)
        return (out + "\n" if out else "") + summary_line(diagnostics, len(files))
    if fmt == "sarif":
        return sarif(diagnostics)
    if fmt == "junit":
        return diagnostics_junit(diagnostics, files)
    return text(diagnostics, files=len(files), sources=sources)
