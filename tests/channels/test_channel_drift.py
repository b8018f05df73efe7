"""The unmapped-field drift report over the corpus, pinned as a baseline.

Every corpus payload listed in ``corpus_manifest.yaml`` is shown to a
:class:`~accord.engine.mapping.DriftRecorder` for its spec. The report (payload paths that no
field rule reads and no ``ignore:`` covers) must equal ``drift_baseline.json``: a new path means
a channel sends data the spec silently drops (map it, or ignore it with a reason); a path that
disappeared means the baseline is stale. Regenerate it after a deliberate change with::

    ACCORD_UPDATE_DRIFT_BASELINE=1 .venv/bin/pytest tests/channels/test_channel_drift.py

Every ``ignore:`` entry of a shipped spec must say why on its own line (a ``#`` comment).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from channel_corpus import MAPPINGS, compiled, entries, payloads

from accord.engine.mapping import DriftRecorder

BASELINE = Path(__file__).with_name("drift_baseline.json")


def current_report(corpus: Path) -> dict[str, dict[str, int]]:
    recorders: dict[str, DriftRecorder] = {}
    for entry in entries():
        recorder = recorders.setdefault(entry.spec, DriftRecorder(compiled(entry.spec)))
        for record_id, payload in payloads(entry, corpus):
            recorder.observe(payload, record_id=record_id)
    return {
        spec: {u.path: u.count for u in recorder.report().unmapped}
        for spec, recorder in sorted(recorders.items())
    }


def test_drift_report_matches_the_baseline(corpus: Path) -> None:
    report = current_report(corpus)
    if os.environ.get("ACCORD_UPDATE_DRIFT_BASELINE"):
        BASELINE.write_text(json.dumps(report, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    baseline = json.loads(BASELINE.read_text(encoding="utf-8"))
    new = {
        spec: sorted(set(paths) - set(baseline.get(spec, {})))
        for spec, paths in report.items()
        if set(paths) - set(baseline.get(spec, {}))
    }
    stale = {
        spec: sorted(set(paths) - set(report.get(spec, {})))
        for spec, paths in baseline.items()
        if set(paths) - set(report.get(spec, {}))
    }
    assert new == {}, "payload paths no spec reads (map them or ignore them with a reason)"
    assert stale == {}, "baseline paths no longer unmapped (regenerate the baseline)"
    assert report == baseline


def _ignore_items(text: str) -> list[tuple[int, str]]:
    """``(line number, line)`` of every item in a spec's top-level ``ignore:`` list."""
    lines = text.splitlines()
    out: list[tuple[int, str]] = []
    inside = False
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        if not line.startswith(" "):
            inside = line.rstrip() == "ignore:"
            continue
        if inside and line.lstrip().startswith("- "):
            out.append((number, line))
    return out


def test_every_ignored_path_says_why() -> None:
    specs = sorted(p for p in MAPPINGS.rglob("*.*bound.yaml") if ".cases." not in p.name)
    assert specs
    unjustified = [
        f"{spec.relative_to(MAPPINGS)}:{number}: {line.strip()}"
        for spec in specs
        for number, line in _ignore_items(spec.read_text(encoding="utf-8"))
        if "#" not in line
    ]
    assert unjustified == []


def test_the_ignore_check_sees_a_missing_reason() -> None:
    items = _ignore_items("fields: {}\nignore:\n  - token   # secret\n  - cart_token\nextra: []\n")
    assert [n for n, line in items if "#" not in line] == [4]
