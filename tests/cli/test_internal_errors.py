"""An engine bug inside a command ends in exit code 3 and one line on stderr, never a
traceback (``accord.cli._common.guarded``); ``ACCORD_TRACEBACK=1`` shows the traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = "samples/payloads/shopify/order/order-1040.json"

#: (what breaks, the command) : the patched callable raises a bug no command anticipates.
BROKEN = [
    (
        "accord.cli.map.resolve_mapping",
        ["map", "--channel", "shopify", "--entity", "order", SAMPLE],
    ),
    (
        "accord.cli.explain.resolve_mapping",
        ["explain", "--channel", "shopify", "--entity", "order", SAMPLE],
    ),
    ("accord.cli.schema._spec_files", ["schema", "spec"]),
    ("accord.cli.schema._project_files", ["schema", "project", "--check", "docs/schemas"]),
    ("accord.cli.schema.expected_files", ["schema", "all", "--check", "docs/schemas"]),
    ("accord.canonical.schema.bundle_schema", ["schema", "canonical"]),
    ("accord.testing.schema.case_file_schema", ["schema", "cases"]),
    ("accord.engine.rules.OwnershipPolicy", ["ownership"]),
]

SCRIPT = """
import importlib, sys
module, _, name = sys.argv[1].rpartition(".")
def broken(*args, **kwargs):
    raise KeyError("no such thing")
setattr(importlib.import_module(module), name, broken)
from accord.cli import main
raise SystemExit(main(sys.argv[2:]))
"""


def _run(target: str, argv: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", SCRIPT, target, *argv],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


@pytest.mark.parametrize(("target", "argv"), BROKEN, ids=[" ".join(a[:2]) for _, a in BROKEN])
def test_an_unexpected_exception_exits_3_with_one_line(target: str, argv: list[str]) -> None:
    done = _run(target, argv)
    assert done.returncode == 3, done.stderr
    assert done.stderr == (
        "accord: internal error: KeyError: 'no such thing' (set ACCORD_TRACEBACK=1 for details)\n"
    )
    assert done.stdout == ""


def test_accord_traceback_shows_where_it_broke() -> None:
    done = _run("accord.cli.schema._spec_files", ["schema", "spec"], ACCORD_TRACEBACK="1")
    assert done.returncode == 3
    assert done.stderr.startswith("Traceback (most recent call last):")
    assert "in broken\n" in done.stderr
    assert done.stderr.endswith("(set ACCORD_TRACEBACK=1 for details)\n")
