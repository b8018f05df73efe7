"""Reconciliation of two systems' exports."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from accord.cli import main
from accord.engine.runtime.reconcile import Tolerances, load_export, reconcile, rows_of
from accord.errors import ValidationError

SHOP_CSV = """\
id,placed_at,total,currency
1001,2026-03-01T23:30:00-05:00,10.10,USD
1002,2026-03-01T10:00:00Z,"1,000.00",USD
1003,2026-03-02T10:00:00Z,5.00,EUR
"""

ERP_JSON = [
    {"tranid": "SO-1", "trandate": "2026-03-02", "amount": "10.10", "currencycode": "USD"},
    {"tranid": "SO-2", "trandate": "2026-03-01", "amount": "1000.01", "currencycode": "USD"},
    {"tranid": "SO-3", "trandate": "2026-03-02", "amount": "5.00", "currencycode": "EUR"},
    {"tranid": "SO-4", "trandate": "2026-03-03", "amount": "7.00", "currencycode": "EUR"},
]


def test_orders_per_day_and_currency_with_tolerance(tmp_path: Path) -> None:
    (tmp_path / "shop.csv").write_text(SHOP_CSV)
    left = load_export(tmp_path / "shop.csv")
    right = rows_of(ERP_JSON, "erp")
    report = reconcile("orders", left, right, tolerances=Tolerances(amount=Decimal("0.01")))
    lines = {v.key: v for v in report.lines}
    # 23:30 at -05:00 is 04:30Z on the 2nd
    assert lines[("2026-03-02", "USD")].within
    assert lines[("2026-03-01", "USD")].to_dict()["total_diff"] == "0.01"
    assert lines[("2026-03-01", "USD")].within
    assert lines[("2026-03-02", "EUR")].within
    missing = lines[("2026-03-03", "EUR")]
    assert (missing.left_count, missing.right_count, missing.within) == (0, 1, False)
    assert not report.ok
    assert len(report.variances) == 1
    strict = reconcile("orders", left, right)
    assert len(strict.variances) == 2


def test_inventory_per_sku_and_location(tmp_path: Path) -> None:
    (tmp_path / "wms.jsonl").write_text(
        '{"sku": "A", "location": "east", "on_hand": 5}\n\n'
        '{"sku": "A", "location": "west", "on_hand": 2}\n'
    )
    erp = rows_of([{"item": "A", "warehouse": "east", "quantity_on_hand": "5"},
                   {"item": "A", "warehouse": "west", "quantity_on_hand": "3"}], "erp")  # fmt: skip
    left = load_export(tmp_path / "wms.jsonl")
    report = reconcile("inventory", left, erp)
    assert [(v.key, v.within) for v in report.lines] == [
        (("A", "east"), True),
        (("A", "west"), False),
    ]
    assert reconcile("inventory", left, erp, tolerances=Tolerances(quantity=1)).ok


def test_refund_totals_and_text_report() -> None:
    left = rows_of([{"refund_id": "r1", "amount": {"amount": "5.00", "currency": "USD"}},
                    {"refund_id": "r2", "amount": "2.50 USD"}], "shop")  # fmt: skip
    right = rows_of([{"id": "c1", "refund_total": "7.50", "currency": "usd"}], "erp")
    report = reconcile("refunds", left, right, tolerances=Tolerances(count=1))
    assert [(v.key, v.left_total, v.right_total, v.within) for v in report.lines] == [
        (("USD",), Decimal("7.50"), Decimal("7.50"), True)
    ]
    text = report.to_text()
    assert "refunds: 1 compared, 0 out of tolerance" in text
    assert "2 / 7.50" in text


def test_bad_rows_are_located_diagnostics_not_crashes(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("id,date,total\n1,2026-03-01,abc\n2,yesterday,1.00\n")
    report = reconcile("orders", load_export(tmp_path / "a.csv"), [])
    assert [(d.code, d.line) for d in report.diagnostics] == [("RUN103", 2), ("RUN103", 3)]
    assert not report.ok
    no_col = reconcile("inventory", rows_of([{"x": 1}], "b"), [])
    assert [d.code for d in no_col.diagnostics] == ["RUN102", "RUN102"]


@pytest.mark.parametrize(
    ("name", "text"), [("a.json", "{nope"), ("a.json", '{"n": 1}'), ("a.jsonl", "[1]\n")]
)
def test_unreadable_exports(tmp_path: Path, name: str, text: str) -> None:
    (tmp_path / name).write_text(text)
    with pytest.raises(ValidationError) as info:
        load_export(tmp_path / name)
    assert info.value.code == "RUN101"


def test_cli_writes_a_report_and_exits_by_tolerance(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "shop.csv").write_text(SHOP_CSV)
    (tmp_path / "erp.json").write_text(json.dumps({"items": ERP_JSON[:3]}))
    args = ["reconcile", "orders", str(tmp_path / "shop.csv"), str(tmp_path / "erp.json")]
    assert main(args) == 1
    assert "VARIANCE" in capsys.readouterr().out
    out = tmp_path / "report" / "variance.json"
    assert main([*args, "--amount-tolerance", "0.01", "--out", str(out)]) == 0
    report = json.loads(out.read_text())
    assert report["ok"] is True
    assert report["compared"] == 3
    assert main([*args, "--column", "bad"]) == 2
    assert main([*args, "--amount-tolerance", "x"]) == 2
    assert (
        main(["reconcile", "orders", str(tmp_path / "nope.csv"), str(tmp_path / "erp.json")]) == 3
    )
