"""Run against an installed wheel from outside the source tree: catches missing package data."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import accord
from accord.resources import content_root, mappings_dir, rules_dir

root = content_root()
assert "site-packages" in str(root), f"expected bundled content, got {root}"
assert any(mappings_dir().rglob("*.yaml")), "no mapping specs in the wheel"
assert any(rules_dir().rglob("*.rules")), "no rule packs in the wheel"
assert (Path(accord.__file__).parent / "py.typed").is_file(), "py.typed missing"
bin_dir = Path(sys.executable).parent
out = subprocess.run([bin_dir / "accord", "--version"], capture_output=True, text=True, check=True)
assert out.stdout.strip() == f"accord {accord.__version__}", out.stdout
print(f"smoke test passed: accord {accord.__version__} from {root}")
