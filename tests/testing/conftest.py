"""Fixtures for the case-runner tests: a small fake subject, so the runner, the structural
diff, coverage and snapshot updates are tested independently of the mapping and rules engines
(the real subjects are exercised by the CLI tests on real spec and rule files)."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from accord.diagnostics import Diagnostic
from accord.errors import MappingError
from accord.testing import runner
from accord.testing.cases import Case


class FakeMapping:
    """Maps ``{"id": 1, "price": "9.99", "currency": "USD", "email": "A@X"}`` to a record;
    a missing id is a MAP201 error, like a ``required: true`` field."""

    kind = "mapping"

    def __init__(self, path: Path) -> None:
        self.path = path

    def run(self, case: Case) -> Any:
        given = case.payload
        if not isinstance(given, dict) or given.get("id") is None:
            raise MappingError(
                diagnostics=[Diagnostic(code="MAP201", message="required field 'id' is missing")]
            )
        if given.get("explode"):
            raise RuntimeError("engine bug")
        out: dict[str, Any] = {"id": str(given["id"])}
        if "price" in given:
            out["total"] = {"amount": Decimal(str(given["price"])), "currency": given["currency"]}
        if "email" in given:
            out["email"] = str(given["email"]).lower()
        return out

    def universe(self) -> set[str]:
        return {"field:id", "field:total", "field:email"}

    def covered(self, output: Any) -> set[str]:
        return {f"field:{k}" for k in output}


@pytest.fixture
def fake_subject(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(runner, "load_subject", FakeMapping)
    return


@pytest.fixture
def case_dir(tmp_path: Path) -> Path:
    (tmp_path / "order.inbound.yaml").write_text("mapping: fake.order.inbound\n")
    return tmp_path
