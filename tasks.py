#!/usr/bin/env python3
"""Set up a virtual environment and run accord's two Quickstart jobs.

    python3 tasks.py demo    # set up, then replay the bundled sample payloads
    python3 tasks.py test    # set up, then run every quality gate and the test suite
    python3 tasks.py bench   # set up with the peer engines, then run the benchmark suite

Needs only python3 >= 3.11. The environment lives in .venv/ and is reinstalled only when
pyproject.toml changes.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / "python"
STAMP = VENV / ".accord-installed"


def run(*args: str | Path, env: dict[str, str] | None = None, cwd: Path = ROOT) -> None:
    printable = " ".join(str(a) for a in args)
    print(f"\n$ {printable}", flush=True)
    done = subprocess.run([str(a) for a in args], cwd=cwd, env=env, check=False)
    if done.returncode != 0:
        sys.exit(f"tasks.py: '{printable}' failed with exit code {done.returncode}")


def setup(extras: str = "dev") -> None:
    if sys.version_info < (3, 11):  # noqa: UP036 - tasks.py may be run by an older python3
        sys.exit("accord needs Python 3.11 or newer")
    # The stamp is the pyproject hash and the extras installed with it: a later job that needs
    # no more extras than are installed (demo after test) reuses the environment as it is.
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    stamped = STAMP.read_text().split() if STAMP.exists() else []
    have = set(stamped[1].split(",")) if len(stamped) == 2 and stamped[0] == digest else set()
    if set(extras.split(",")) <= have and PY.exists():
        return
    extras = ",".join(sorted(have | set(extras.split(","))))
    if not PY.exists():
        run(sys.executable, "-m", "venv", VENV)
    run(PY, "-m", "pip", "install", "--quiet", "--upgrade", "pip")
    run(PY, "-m", "pip", "install", "--quiet", "-e", f".[{extras}]")
    STAMP.write_text(f"{digest} {extras}")


def demo() -> None:
    """Replay the bundled samples through the example project into a fresh out/ folder, with
    the state (ledgers, dead letters, audit trail) in the embedded SQLite store out/accord.db."""
    setup()
    shutil.rmtree(ROOT / "out", ignore_errors=True)
    (ROOT / "out").mkdir()
    run(
        BIN / "accord", "replay", "samples/payloads", "--project", "accord.yaml",
        "--out", "out", "--store", "sqlite:///out/accord.db",
    )  # fmt: skip


def smoke_test_wheel() -> None:
    """Build the wheel, install it in a fresh environment and use it from outside the tree."""
    with tempfile.TemporaryDirectory() as tmp:
        dist = Path(tmp) / "dist"
        run(PY, "-m", "build", "--wheel", "--outdir", dist)
        wheel = next(dist.glob("accord-*.whl"))
        venv = Path(tmp) / "venv"
        run(sys.executable, "-m", "venv", venv)
        vbin = venv / ("Scripts" if os.name == "nt" else "bin")
        run(vbin / "python", "-m", "pip", "install", "--quiet", wheel)
        run(vbin / "python", ROOT / "tests" / "smoke_installed.py", cwd=Path(tmp))


def test() -> None:
    # With the bench extra, the suite also checks every peer engine's answers (tests/bench).
    setup("dev,bench")
    env = dict(os.environ)
    env.setdefault("HYPOTHESIS_PROFILE", "ci")
    run(BIN / "ruff", "check", ".")
    run(BIN / "ruff", "format", "--check", ".")
    run(BIN / "mypy")
    run(PY, "-m", "pytest", *sys.argv[2:], env=env)
    smoke_test_wheel()
    print("\nall gates passed")


def bench() -> None:
    setup("dev,bench")
    run(PY, "-m", "bench", *sys.argv[2:])


def main() -> None:
    jobs = {"demo": demo, "test": test, "bench": bench, "setup": setup}
    if len(sys.argv) < 2 or sys.argv[1] not in jobs:
        sys.exit(f"usage: python3 tasks.py {{{'|'.join(jobs)}}}")
    if shutil.which("git") is None:
        print("note: git not found; fine unless you use 'accord diff' on revisions")
    jobs[sys.argv[1]]()


if __name__ == "__main__":
    main()
