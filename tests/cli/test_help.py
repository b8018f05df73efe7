from __future__ import annotations

import pytest

from accord.cli import main

MINE = ("validate", "test", "map", "explain", "replay", "diff")


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


def test_top_level_help_lists_the_commands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    for command in MINE:
        assert f"\n    {command} " in out


@pytest.mark.parametrize(
    "argv",
    [["map"], ["replay"], ["diff", "a.rules"], ["test", "--min-coverage", "lots"]],
)
def test_usage_errors_exit_with_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(argv)
    assert done.value.code == 2
    assert "error:" in capsys.readouterr().err
