"""The pytest plugin, run in a subprocess on a small project of its own."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from accord.testing import pytest_plugin

CONFTEST = """
from accord.testing import runner


class Echo:
    kind = "mapping"

    def __init__(self, path):
        self.path = path

    def run(self, case):
        return {"id": str(case.payload["id"])}

    def universe(self):
        return {"field:id"}

    def covered(self, output):
        return {"field:id"}


runner.load_subject = Echo
"""

CASES = """\
cases:
  - name: good
    given: {id: 1}
    expect: {id: "1"}
  - name: bad
    given: {id: 2}
    expect: {id: "3"}
"""


def _project(root: Path, ini: str = "") -> None:
    (root / "conftest.py").write_text(CONFTEST)
    (root / "pytest.ini").write_text("[pytest]\n" + ini)
    for folder in ("mappings/shop", "tests/fixtures"):
        (root / folder).mkdir(parents=True)
    (root / "mappings/shop/order.inbound.yaml").write_text("mapping: shop.order.inbound\n")
    (root / "mappings/shop/order.inbound.cases.yaml").write_text(CASES)
    # broken on purpose: must never be collected
    (root / "tests/fixtures/broken.cases.yaml").write_text("cases: [\n")
    (root / "mappings/shop/loose.cases.yaml").write_text("cases:\n  - name: x\n")


def _pytest(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )


def test_plugin_collects_content_cases_with_readable_failures(tmp_path: Path) -> None:
    _project(tmp_path)
    done = _pytest(tmp_path, ".")
    out = done.stdout
    assert done.returncode == 1, out + done.stderr
    assert "2 failed, 1 passed" in out
    assert "mappings/shop/order.inbound.cases.yaml:5: FAILED 'bad': 1 difference" in out
    assert 'id: expected "3", got "2"' in out
    # a case file that cannot be loaded fails as one item, with located diagnostics
    assert "mappings/shop/loose.cases.yaml:2:5: error CASE007" in out
    assert "broken.cases.yaml" not in out


def test_ini_option_chooses_folders(tmp_path: Path) -> None:
    _project(tmp_path, "accord_case_paths = tests\n")
    done = _pytest(tmp_path, ".")
    assert "broken.cases.yaml" in done.stdout
    assert "YAML001" in done.stdout
    assert "order.inbound.cases.yaml" not in done.stdout


class _Config:
    def __init__(self, root: Path, **ini: object) -> None:
        self.rootpath = root
        self.ini = {"accord_case_paths": [], "accord_collect_cases": True, **ini}

    def getini(self, name: str) -> object:
        return self.ini[name]


class _Parent:
    def __init__(self, config: _Config) -> None:
        self.config = config


def test_collection_can_be_switched_off_and_ignores_other_files(tmp_path: Path) -> None:
    case = tmp_path / "mappings" / "x.cases.yaml"
    off = _Parent(_Config(tmp_path, accord_collect_cases=False))
    assert pytest_plugin.pytest_collect_file(case, off) is None
    on = _Parent(_Config(tmp_path))
    other = tmp_path / "mappings" / "x.yaml"
    assert pytest_plugin.pytest_collect_file(other, on) is None
    outside = tmp_path / "tests" / "x.cases.yaml"
    assert pytest_plugin.pytest_collect_file(outside, on) is None


def test_importing_the_plugin_is_cheap() -> None:
    # pytest imports every pytest11 plugin in every session, accord's tests or not: the
    # plugin must not pull in the engine's heavy dependencies until it collects a case file.
    heavy = ("pydantic", "lark", "jsonschema", "ruamel")
    script = (
        "import sys\n"
        "import accord.testing.pytest_plugin\n"
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({heavy!r})))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "[]\n"
    # The check itself can fail: running cases does import them.
    engine = "accord.canonical, accord.engine.mapping.schema, accord.engine.rules.parser"
    script = script.replace("accord.testing.pytest_plugin", engine)
    loaded = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False, timeout=60
    )
    assert loaded.stdout == "['jsonschema', 'lark', 'pydantic', 'ruamel']\n", loaded.stderr
