from __future__ import annotations

import pickle

import pytest

from accord.diagnostics import Diagnostic, Severity, has_errors, render_all, sort_diagnostics
from accord.errors import (
    AccordError,
    AuthError,
    ConnectorError,
    CurrencyMismatchError,
    ErrorClass,
    MappingError,
    QuotaError,
    RuleSyntaxError,
    SpecError,
    StoreError,
    ValidationError,
)

SOURCE = "mapping: shopify.order\nfields:\n    totl: {from: total_price}\n"


def test_render_compiler_style_with_caret() -> None:
    d = Diagnostic(
        code="MAP101",
        message="unknown target field 'totl'",
        file="order.yaml",
        line=3,
        column=5,
        end_column=9,
        hint="did you mean 'total'?",
    )
    assert d.render(SOURCE).splitlines() == [
        "order.yaml:3:5: error MAP101: unknown target field 'totl'",
        "    totl: {from: total_price}",
        "    ^^^^",
        "    hint: did you mean 'total'?",
    ]


def test_render_without_location_and_with_record() -> None:
    d = Diagnostic(code="MAP201", message="bad", data_path="lines[0].price", record_id="42")
    assert d.render() == "<input>: error MAP201: bad\n    record 42, at lines[0].price"


def test_sort_puts_file_then_position_then_errors_first() -> None:
    a = Diagnostic(code="B", message="w", severity=Severity.WARNING, file="a", line=2, column=1)
    b = Diagnostic(code="A", message="e", file="a", line=2, column=1)
    c = Diagnostic(code="C", message="e", file="a", line=1, column=9)
    assert sort_diagnostics([a, b, c, b]) == [c, b, a]
    assert has_errors([a, b])
    assert not has_errors([a])


def test_dict_round_trip() -> None:
    d = Diagnostic(code="X1", message="m", file="f", line=1, details=(("value", "abc"),))
    data = d.to_dict()
    assert data == {
        "code": "X1",
        "message": "m",
        "severity": "error",
        "file": "f",
        "line": 1,
        "details": {"value": "abc"},
    }
    assert Diagnostic.from_dict(data) == d


def test_render_all_uses_sources() -> None:
    d = Diagnostic(code="X", message="m", file="f.yaml", line=1, column=1)
    assert render_all([d], {"f.yaml": "abc"}) == "f.yaml:1:1: error X: m\nabc\n^"


@pytest.mark.parametrize(
    ("cls", "builtin"),
    [
        (SpecError, ValueError),
        (RuleSyntaxError, SyntaxError),
        (MappingError, ValueError),
        (ValidationError, ValueError),
        (CurrencyMismatchError, TypeError),
        (StoreError, RuntimeError),
        (ConnectorError, ConnectionError),
        (AuthError, PermissionError),
    ],
)
def test_every_error_is_also_its_builtin(cls: type[AccordError], builtin: type) -> None:
    assert issubclass(cls, AccordError)
    assert issubclass(cls, builtin)


def test_error_carries_diagnostics_and_code_and_pickles() -> None:
    d = Diagnostic(code="MAP201", message="price is not a number", file="o.yaml", line=4)
    err = MappingError(diagnostics=[d])
    assert err.code == "MAP201"
    assert "o.yaml:4" in str(err)
    assert err.error_class is ErrorClass.VALIDATION
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is MappingError
    assert back.diagnostics == (d,)
    q = pickle.loads(pickle.dumps(QuotaError("slow down", status_code=429, retry_after=2.0)))
    assert (q.status_code, q.retry_after, q.error_class) == (429, 2.0, ErrorClass.QUOTA)
    assert q.error_class.retryable
