"""Bad input never crashes: any text as a case file, any bytes as a payload file."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from accord.cli.payloads import read_payloads
from accord.testing import check_case_file, load_case_file

YAMLISH = st.text(
    alphabet=st.sampled_from(list("cases:-name givnxpt{}[]'\"\n #&*!|>@`%0123456789.")),
    max_size=120,
)
PREFIXES = st.sampled_from(["", "cases:\n", "cases:\n  - name: a\n    ", "cases: [{name: a, "])


@given(PREFIXES, YAMLISH)
def test_any_text_is_a_case_file_or_a_located_spec_error(prefix: str, text: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "x.cases.yaml"
        (Path(tmp) / "x.yaml").write_text("mapping: x\n")
        path.write_text(prefix + text)
        problems = check_case_file(path)  # never raises for bad content
        assert all(d.code.startswith(("CASE", "YAML")) for d in problems)
        assert all(d.file == str(path) for d in problems)
        if not problems:
            assert all(isinstance(c.name, str) for c in load_case_file(path).cases)


@given(st.binary(max_size=200), st.sampled_from([".json", ".ndjson", ".json.gz"]))
def test_any_bytes_are_payloads_or_cli010_diagnostics(data: bytes, suffix: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"p{suffix}"
        path.write_bytes(data)
        for item in read_payloads(path):
            assert (item.error is None) or item.error.code == "CLI010"
