from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET

import jsonschema

from accord.cli.output import (
    JUnitCase,
    diagnostics_junit,
    github,
    junit,
    render,
    resolve_format,
    sarif,
    text,
)
from accord.cli.progress import Progress, progress_enabled
from accord.diagnostics import Diagnostic, Severity

SOURCE = "mapping: x\nfields:\n    totl: {from: total}\n"
DIAGS = [
    Diagnostic(
        code="MAP101",
        message="unknown target field 'totl'",
        file="specs/o.yaml",
        line=3,
        column=5,
        end_line=3,
        end_column=9,
        hint="did you mean 'total'?",
    ),
    Diagnostic(
        code="RULE120",
        message="rule can never match, 100%, a: b",
        severity=Severity.WARNING,
        file="rules/r.rules",
        line=1,
        column=1,
    ),
    Diagnostic(code="PRJ001", message="line one\nline two", severity=Severity.INFO),
]

# The parts of the SARIF 2.1.0 schema (sarif-schema-2.1.0.json, OASIS) that a consumer such as
# GitHub code scanning requires; written out here because the official schema cannot be
# downloaded in this environment. Property names, required lists and enums are the official ones.
SARIF_MINIMAL_SCHEMA = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "type": "object",
    "required": ["version", "runs"],
    "properties": {
        "version": {"enum": ["2.1.0"]},
        "$schema": {"type": "string", "format": "uri"},
        "runs": {"type": "array", "items": {"$ref": "#/definitions/run"}},
    },
    "definitions": {
        "run": {
            "type": "object",
            "required": ["tool"],
            "properties": {
                "tool": {
                    "type": "object",
                    "required": ["driver"],
                    "properties": {"driver": {"$ref": "#/definitions/toolComponent"}},
                },
                "results": {"type": "array", "items": {"$ref": "#/definitions/result"}},
            },
        },
        "toolComponent": {
            "type": "object",
            "required": ["name"],
            "properties": {
                "name": {"type": "string"},
                "version": {"type": "string"},
                "informationUri": {"type": "string", "format": "uri"},
                "rules": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["id"],
                        "properties": {
                            "id": {"type": "string"},
                            "shortDescription": {"$ref": "#/definitions/message"},
                        },
                    },
                },
            },
        },
        "message": {
            "type": "object",
            "anyOf": [{"required": ["text"]}, {"required": ["id"]}],
            "properties": {"text": {"type": "string"}},
        },
        "result": {
            "type": "object",
            "required": ["message"],
            "properties": {
                "ruleId": {"type": "string"},
                "ruleIndex": {"type": "integer", "minimum": -1},
                "level": {"enum": ["none", "note", "warning", "error"]},
                "message": {"$ref": "#/definitions/message"},
                "locations": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "physicalLocation": {
                                "type": "object",
                                "properties": {
                                    "artifactLocation": {
                                        "type": "object",
                                        "properties": {"uri": {"type": "string"}},
                                    },
                                    "region": {
                                        "type": "object",
                                        "properties": {
                                            "startLine": {"type": "integer", "minimum": 1},
                                            "startColumn": {"type": "integer", "minimum": 1},
                                            "endLine": {"type": "integer", "minimum": 1},
                                            "endColumn": {"type": "integer", "minimum": 1},
                                        },
                                    },
                                },
                            }
                        },
                    },
                },
            },
        },
    },
}


def test_text_is_compiler_style_with_caret_and_summary() -> None:
    out = text(DIAGS, files=2, sources={"specs/o.yaml": SOURCE})
    assert out.splitlines() == [
        "<input>: info PRJ001: line one",
        "line two",
        "rules/r.rules:1:1: warning RULE120: rule can never match, 100%, a: b",
        "specs/o.yaml:3:5: error MAP101: unknown target field 'totl'",
        "    totl: {from: total}",
        "    ^^^^",
        "    hint: did you mean 'total'?",
        "1 error, 1 warning in 2 files",
    ]


def test_json_has_every_diagnostic_and_counts() -> None:
    doc = json.loads(render(DIAGS, "json", files=["a", "b"]))
    assert doc["summary"] == {"files": 2, "errors": 1, "warnings": 1, "infos": 1}
    assert [d["code"] for d in doc["diagnostics"]] == ["PRJ001", "RULE120", "MAP101"]
    assert doc["diagnostics"][2]["line"] == 3


def test_github_annotations_escape_properties_and_data() -> None:
    assert github(DIAGS).splitlines() == [
        "::notice title=PRJ001::line one%0Aline two",
        "::warning file=rules/r.rules,line=1,col=1,title=RULE120::"
        "rule can never match, 100%25, a: b",
        "::error file=specs/o.yaml,line=3,col=5,endColumn=9,title=MAP101::"
        "unknown target field 'totl'%0Ahint: did you mean 'total'?",
    ]
    tricky = Diagnostic(code="X1", message="m", file="a,b:c.yaml", line=2)
    assert github([tricky]) == "::error file=a%2Cb%3Ac.yaml,line=2,title=X1::m"


def test_format_is_github_under_actions_only_when_not_chosen() -> None:
    assert resolve_format(None, {"GITHUB_ACTIONS": "true"}) == "github"
    assert resolve_format(None, {"GITHUB_ACTIONS": "false"}) == "text"
    assert resolve_format("sarif", {"GITHUB_ACTIONS": "true"}) == "sarif"


def test_sarif_validates_against_the_sarif_2_1_0_structure() -> None:
    log = json.loads(sarif(DIAGS))
    jsonschema.Draft7Validator(SARIF_MINIMAL_SCHEMA).validate(log)
    run = log["runs"][0]
    assert [r["id"] for r in run["tool"]["driver"]["rules"]] == ["MAP101", "PRJ001", "RULE120"]
    levels = [(r["ruleId"], r["level"]) for r in run["results"]]
    assert levels == [("PRJ001", "note"), ("RULE120", "warning"), ("MAP101", "error")]
    located = run["results"][2]
    assert located["ruleIndex"] == 0
    assert located["locations"][0]["physicalLocation"] == {
        "artifactLocation": {"uri": "specs/o.yaml"},
        "region": {"startLine": 3, "startColumn": 5, "endLine": 3, "endColumn": 9},
    }
    assert "locations" not in run["results"][0]
    empty = json.loads(sarif([]))
    jsonschema.Draft7Validator(SARIF_MINIMAL_SCHEMA).validate(empty)
    assert empty["runs"][0]["results"] == []


def test_junit_is_well_formed_with_counts() -> None:
    root = ET.fromstring(diagnostics_junit(DIAGS, ["specs/o.yaml", "rules/r.rules", "ok.yaml"]))
    assert root.tag == "testsuites"
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("4", "1", "0")
    cases = {c.get("name"): c for c in root.iter("testcase")}
    assert set(cases) == {"specs/o.yaml", "rules/r.rules", "ok.yaml", "<input>"}
    failure = cases["specs/o.yaml"].find("failure")
    assert failure is not None
    assert failure.get("message") == "1 error: MAP101 unknown target field 'totl'"
    assert cases["rules/r.rules"].find("failure") is None  # warnings do not fail
    xml = junit(
        {"s": [JUnitCase(name="a<&>", classname="c", error="boom", seconds=0.25)]}, name="t"
    )
    parsed = ET.fromstring(xml.split("\n", 1)[1])
    case = parsed.find("testsuite/testcase")
    assert case is not None
    assert case.get("name") == "a<&>"
    assert case.get("time") == "0.250"
    assert parsed.find("testsuite/testcase/error") is not None


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_draws_only_on_a_terminal_without_no_color() -> None:
    assert progress_enabled(_Tty(), {}) is True
    assert progress_enabled(_Tty(), {"NO_COLOR": ""}) is False
    assert progress_enabled(io.StringIO(), {}) is False
    ticks = iter([0.0, 0.05, 0.2, 0.3, 0.4])
    stream = _Tty()
    bar = Progress(total=4, label="replay", stream=stream, env={}, clock=lambda: next(ticks))
    bar.advance()  # t=0.05: first draw
    bar.advance()  # t=0.2: drawn again (0.15 s later)
    bar.close()
    drawn = stream.getvalue()
    assert "\rreplay [#######---------------------] 1/4 20/s" in drawn
    assert "\rreplay [##############--------------] 2/4 10/s" in drawn
    assert drawn.endswith("\r\x1b[K")
    quiet = io.StringIO()
    with Progress(total=None, stream=quiet) as off:
        off.advance(5)
    assert quiet.getvalue() == ""
    assert off.done == 5
    assert Progress(None, "x", enabled=False, clock=lambda: 2.0).line(now=4.0) == "x 0 0/s"
