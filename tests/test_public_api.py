from __future__ import annotations

import subprocess
import sys

import accord
from accord.resources import _resolve, content_root


def test_all_is_sorted_and_importable() -> None:
    assert accord.__all__ == sorted(accord.__all__)
    for name in accord.__all__:
        assert hasattr(accord, name), name


def test_content_root_in_checkout_has_mappings_and_rules() -> None:
    root = content_root()
    assert (root / "mappings").is_dir()
    assert (root / "rules").is_dir()


def test_content_root_prefers_bundled_content(tmp_path) -> None:  # type: ignore[no-untyped-def]
    pkg = tmp_path / "site" / "accord"
    (pkg / "_content" / "mappings").mkdir(parents=True)
    assert _resolve(pkg) == pkg / "_content"


def test_python_dash_m_accord_prints_version() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "accord", "--version"], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == f"accord {accord.__version__}"
