"""Run against an installed wheel from outside the source tree: catches missing package data."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import accord
from accord.resources import content_root, mappings_dir, rules_dir, samples_dir

root = content_root()
assert "site-packages" in str(root), f"expected bundled content, got {root}"
assert any(mappings_dir().rglob("*.yaml")), "no mapping specs in the wheel"
assert any(rules_dir().rglob("*.rules")), "no rule packs in the wheel"
assert (Path(accord.__file__).parent / "py.typed").is_file(), "py.typed missing"
bin_dir = Path(sys.executable).parent
accord_bin = bin_dir / "accord"
out = subprocess.run([accord_bin, "--version"], capture_output=True, text=True, check=True)
assert out.stdout.strip() == f"accord {accord.__version__}", out.stdout

# The Quickstart's main job from the installed package: the bundled example project replays
# the bundled sample payloads (samples/payloads/<channel>/<entity>/) through the shipped content.
samples = samples_dir() / "payloads"
payloads = sorted(p for p in samples.glob("*/*/*") if p.is_file())
assert len(payloads) >= 10, f"expected the sample payloads in {samples}, found {len(payloads)}"
project = root / "accord.yaml"
assert project.is_file(), f"the example project is missing from the wheel: {project}"
with tempfile.TemporaryDirectory() as tmp:
    out_dir = Path(tmp) / "out"
    done = subprocess.run(
        [accord_bin, "replay", samples, "--project", project, "--out", out_dir,
         "--store", f"sqlite:///{Path(tmp) / 'accord.db'}"],
        capture_output=True, text=True, check=False, cwd=tmp,
    )  # fmt: skip
    assert done.returncode == 0, f"replay exited {done.returncode}:\n{done.stdout}{done.stderr}"
    assert done.stdout.startswith(f"replayed {len(payloads)} payloads in "), done.stdout
    summary = json.loads((out_dir / "summary.json").read_text(encoding="utf-8"))
    assert summary["errors_by_code"] == {}, summary["errors_by_code"]
    assert summary["statuses"].get("processed", 0) >= len(payloads) - 1, summary["statuses"]
    records = (out_dir / "records.ndjson").read_text(encoding="utf-8").splitlines()
    assert len(records) == len(payloads), len(records)
    sales_orders = (out_dir / "outbound" / "netsuite.sales_order.ndjson").read_text("utf-8")
    assert sales_orders.strip(), "no NetSuite sales orders written"
    assert (out_dir / "decisions.ndjson").read_text(encoding="utf-8").strip(), "no decisions"
print(
    f"smoke test passed: accord {accord.__version__} from {root}, {len(payloads)} samples replayed"
)
