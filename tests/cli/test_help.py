from __future__ import annotations

import argparse
import re
import shlex
from pathlib import Path

import pytest

from accord.cli import build_parser, main
from tests.cli.conftest import run_accord

ROOT = Path(__file__).resolve().parents[2]
MINE = ("validate", "test", "map", "explain", "replay", "diff", "schema", "ownership")
SCHEMA_KINDS = ("canonical", "spec", "cases", "project", "all")
#: Commands whose examples only read the checkout, so the test can run them from its root
#: (validate's examples cover the whole tree, broken test fixtures included, and test, replay
#: and diff examples rewrite files or name exports a checkout does not have).
RUNNABLE = ("map", "explain", "ownership", "schema")
#: Arguments that name a file rather than a value.
_PATH_LIKE = re.compile(r"/|\.(json|ya?ml|rules|gz|ndjson|xml|sarif)$")


def _parser_for(*names: str) -> argparse.ArgumentParser:
    parser = build_parser()
    for name in names:
        (sub,) = (a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        parser = sub.choices[name]
    return parser


def _help(*names: str) -> str:
    return _parser_for(*names).format_help()


def _examples(text: str) -> list[str]:
    """The command lines of a help text's ``examples:`` section, continuations joined."""
    _, found, section = text.partition("\nexamples:\n")
    assert found, text
    lines: list[str] = []
    pending = ""
    for raw in section.splitlines():
        line = pending + raw.strip()
        if line.endswith("\\"):
            pending = line[:-1]
            continue
        pending = ""
        if line.startswith("accord "):
            lines.append(line)
    return lines


def _all_examples(command: str) -> list[str]:
    found = _examples(_help(command))
    if command == "schema":
        for kind in SCHEMA_KINDS:
            found += _examples(_help(command, kind))
    return found


def _argv(line: str) -> list[str]:
    """An example's arguments; a redirection of stdout is dropped, as the test reads it."""
    argv = shlex.split(line, comments=True)[1:]
    return argv[: argv.index(">")] if ">" in argv else argv


def _runnable(command: str) -> list[str]:
    """Example lines that write nothing and whose files all exist in the repository."""
    keep = []
    for line in _all_examples(command):
        argv = _argv(line)
        if "--write" in argv or "--update" in argv:
            continue
        files = [a for a in argv if not a.startswith(("-", "{")) and _PATH_LIKE.search(a)]
        if all((ROOT / f).exists() for f in files):
            keep.append(line)
    return keep


@pytest.mark.parametrize("command", MINE)
def test_every_command_documents_itself_with_examples(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as done:
        main([command, "--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: accord {command}")
    assert "examples:\n  accord " + command in out


@pytest.mark.parametrize("kind", SCHEMA_KINDS)
def test_every_schema_kind_documents_itself_with_examples(
    kind: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as done:
        main(["schema", kind, "--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: accord schema {kind}")
    assert f"examples:\n  accord schema {kind}" in out


def test_top_level_help_lists_the_commands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    for command in MINE:
        assert re.search(rf"\n    {command}\s", out), command


def test_the_examples_that_can_run_here_are_the_ones_that_should() -> None:
    # A renamed sample file would silently drop an example from the run below.
    assert len(_runnable("map")) >= 1
    assert _runnable("explain") == _all_examples("explain")
    assert _runnable("ownership") == _all_examples("ownership")
    assert len(_runnable("schema")) >= 8


@pytest.mark.parametrize(
    "line", [line for command in RUNNABLE for line in _runnable(command)], ids=lambda s: s[7:60]
)
def test_help_examples_run_and_succeed(line: str) -> None:
    argv = _argv(line)
    done = run_accord(*argv, cwd=ROOT)
    assert done.returncode == 0, f"{line}\n{done.stderr}"
    if "--check" not in argv:
        assert done.stdout.strip(), line


@pytest.mark.parametrize(
    "argv",
    [
        ["map"],
        ["replay"],
        ["diff", "a.rules"],
        ["test", "--min-coverage", "lots"],
        ["schema", "nonsense"],
        ["schema", "spec", "table"],
        ["schema", "all"],
    ],
)
def test_usage_errors_exit_with_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(argv)
    assert done.value.code == 2
    assert "error:" in capsys.readouterr().err
