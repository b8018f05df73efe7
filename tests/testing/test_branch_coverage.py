"""Coverage of the choices inside field rules, on a real spec: each branch of a ``from:``
chain with fallbacks (and its ``default``) and each ``map:`` entry, read from the explain
trace of the cases' payloads."""

from __future__ import annotations

from pathlib import Path

from accord.testing.runner import run_case_file

SPEC = """\
mapping: demo.order.inbound
channel: demo
api_version: "1"
direction: inbound
source: demo.order
target: order
version: 1
fields:
  id: {from: id, as: string, required: true}
  number: {from: [name, number], as: string}
  currency: {from: currency, required: true}
  financial_status:
    from: status
    transform: [lower]
    map: {paid: paid, open: pending, refunded: refunded}
    unknown: warn
    default: pending
  lines:
    each: items
    fields:
      sku: {from: [sku, variant_sku], as: string}
      quantity: {from: qty, as: int}
"""

FIRST = """\
  - name: paid, named, first sku
    given: {id: 1, name: "#1", currency: USD, status: PAID, items: [{sku: A, qty: 1}]}
    expect: {id: "1", number: "#1", financial_status: paid}
"""
SECOND = """\
  - name: numbered, no status, variant sku
    given: {id: 2, number: 7, currency: USD, items: [{variant_sku: B, qty: 2}]}
    expect: {id: "2", number: "7", financial_status: pending}
"""
UNKNOWN = """\
  - name: an unknown status is no map entry
    given: {id: 3, name: "#3", currency: USD, status: lost, items: []}
    expect: {id: "3"}
"""

BRANCHES = {
    "branch:number from[0]",
    "branch:number from[1]",
    "branch:financial_status default",
    "branch:lines[].sku from[0]",
    "branch:lines[].sku from[1]",
    "map:financial_status paid",
    "map:financial_status open",
    "map:financial_status refunded",
}


def _run(tmp_path: Path, *cases: str) -> set[str]:
    (tmp_path / "order.inbound.yaml").write_text(SPEC)
    path = tmp_path / "order.inbound.cases.yaml"
    path.write_text("cases:\n" + "".join(cases))
    result = run_case_file(path)
    assert [c.status for c in result.cases] == ["passed"] * len(cases)
    assert result.coverage.items >= BRANCHES
    return set(result.coverage.missed)


def test_fallback_branches_and_map_entries_count(tmp_path: Path) -> None:
    missed = _run(tmp_path, FIRST)
    # the first case takes every first branch and the 'paid' entry (after the transform)
    assert missed & BRANCHES == {
        "branch:number from[1]",
        "branch:financial_status default",
        "branch:lines[].sku from[1]",
        "map:financial_status open",
        "map:financial_status refunded",
    }


def test_a_second_case_takes_the_fallbacks_and_the_default(tmp_path: Path) -> None:
    missed = _run(tmp_path, FIRST, SECOND)
    assert missed == {"map:financial_status open", "map:financial_status refunded"}


def test_an_unknown_map_key_exercises_no_entry(tmp_path: Path) -> None:
    missed = _run(tmp_path, UNKNOWN)
    assert {f"map:financial_status {k}" for k in ("paid", "open", "refunded")} <= missed
