from __future__ import annotations

from pathlib import Path

import pytest

from accord.testing import run_case_file

pytestmark = pytest.mark.usefixtures("fake_subject")

BEFORE = """\
# Fake order cases: this comment must survive --update.
cases:
  - name: passes
    given: {id: 7}
    expect: {id: "7"}   # untouched
  - name: wrong amount
    given: {id: 8, price: 1.50, currency: USD}
    expect:
      id: "8"
      total: {amount: "1.55"}  # will change
      gone: 1
  - name: new case
    given: {id: 2, email: Q@Q}
  - name: code changed
    given: {}
    expect_error: MAP999
  - name: now succeeds
    given: {id: 5}
    expect_error: MAP201
"""


def test_update_rewrites_only_failures_keeps_comments_and_says_what_changed(
    case_dir: Path,
) -> None:
    path = case_dir / "order.inbound.cases.yaml"
    path.write_text(BEFORE)
    result = run_case_file(path, update=True)
    assert result.updates == [
        "case 'wrong amount': expect.gone: removed (the output has no such key)",
        """case 'wrong amount': expect.total.amount: "1.55" -> "1.50\"""",
        "case 'new case': recorded the output as expect",
        "case 'code changed': expect_error MAP999 replaced by expect_error MAP201",
        "case 'now succeeds': expect_error replaced by the actual output",
    ]
    text = path.read_text()
    assert text.startswith("# Fake order cases: this comment must survive --update.\n")
    assert 'expect: {id: "7"}   # untouched' in text
    assert "# will change" in text
    again = run_case_file(path)
    assert again.ok, [c.message for c in again.cases if not c.ok]
    assert run_case_file(path, update=True).updates == []
    assert path.read_text() == text
