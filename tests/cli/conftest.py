"""Shared helpers for the CLI tests: the fixture project and a way to run ``accord``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parent / "fixtures" / "project"


def run_accord(
    *args: str, cwd: Path = PROJECT, env: dict[str, str] | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """``python -m accord ARGS`` in a subprocess, as a user or CI would run it."""
    full_env = {k: v for k, v in os.environ.items() if k not in ("GITHUB_ACTIONS", "NO_COLOR")}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "accord", *args],
        cwd=cwd,
        env=full_env,
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


@pytest.fixture
def project() -> Path:
    return PROJECT


@pytest.fixture
def in_project(monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run in-process commands from inside the fixture project."""
    monkeypatch.chdir(PROJECT)
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    return PROJECT
