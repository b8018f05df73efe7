"""The documentation's examples are executed: docstring examples in the package, and every
```python block in README.md and docs/ (blocks in one file share a namespace, in order)."""

from __future__ import annotations

import doctest
import importlib
import os
import pkgutil
import re
from pathlib import Path

import pytest

import accord

ROOT = Path(__file__).resolve().parent.parent
DOC_FILES = sorted([ROOT / "README.md", *(ROOT / "docs").rglob("*.md")])
BLOCK = re.compile(r"^```python[^\n]*\n(.*?)^```", re.S | re.M)


def _modules() -> list[str]:
    names = ["accord"]
    for info in pkgutil.walk_packages(accord.__path__, "accord."):
        if info.name.endswith("__main__"):
            continue
        names.append(info.name)
    return sorted(names)


@pytest.mark.parametrize("name", _modules())
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    for test in finder.find(module, name):
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} docstring example(s) failed in {name}"


@pytest.mark.parametrize(
    "path", [p for p in DOC_FILES if BLOCK.search(p.read_text())], ids=lambda p: p.name
)
def test_markdown_python_blocks_run(path: Path, tmp_path: Path) -> None:
    namespace: dict[str, object] = {"__name__": f"docs_{path.stem}"}
    cwd = os.getcwd()
    os.chdir(ROOT)  # examples use paths relative to the repository root
    try:
        for i, match in enumerate(BLOCK.finditer(path.read_text()), 1):
            source = match.group(1)
            line = path.read_text()[: match.start()].count("\n") + 2
            code = compile(source, f"{path.relative_to(ROOT)}:block{i}@line{line}", "exec")
            exec(code, namespace)
    finally:
        os.chdir(cwd)


LINK = re.compile(r"\]\(([^)\s#]+)(?:#[^)]*)?\)")


@pytest.mark.parametrize("path", DOC_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(path: Path) -> None:
    """Every relative link in the README and docs/ points at a file that exists."""
    broken = [
        target
        for target in LINK.findall(path.read_text())
        if "://" not in target
        and not target.startswith("mailto:")
        and not (path.parent / target).exists()
    ]
    assert broken == [], f"{path.relative_to(ROOT)} links to missing files: {broken}"


def test_test_module_basenames_are_unique() -> None:
    """Test folders other than tests/runtime are not packages, so pytest imports their modules
    by basename: two files with one name stop the whole suite at collection."""
    tests = ROOT / "tests"
    seen: dict[str, Path] = {}
    clashes = []
    for path in sorted(tests.rglob("test_*.py")):
        if (path.parent / "__init__.py").exists() or "fixtures" in path.parts:
            continue
        if path.name in seen:
            clashes.append((seen[path.name].relative_to(ROOT), path.relative_to(ROOT)))
        seen[path.name] = path
    assert clashes == []
