"""Inventory and refund ledgers: what an order, fulfilment, refund or stock count does to state.

Every function takes an open :class:`~accord.engine.runtime.store.Tx` and returns the ledger
operations it performed (for the audit trail and the :class:`Result`). Stock only ever moves
by *deltas*:

* an order **reserves** each line at the first location (in the project's allocation order)
  with enough available units; a line that fits nowhere is recorded as ``short`` and never
  drives stock below zero;
* a cancel, or a refund with restock of unshipped units, **releases** what is still held;
* a fulfilment **commits** held units (on-hand and reserved both go down);
* a refund with restock of shipped units **returns** them to on-hand;
* a stock count from the inventory system of record becomes an ``adjust`` by the difference.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from accord.engine.runtime.store import Reservation, Tx

__all__ = [
    "apply_count",
    "available_to_sell",
    "commit_order",
    "refund_facts",
    "release_order",
    "reserve_order",
    "restock_refund",
]

Op = dict[str, Any]


def _op(kind: str, sku: str, location: str, qty: int, order_id: str | None) -> Op:
    return {"op": kind, "sku": sku, "location": location, "qty": qty, "order_id": order_id}


def reserve_order(
    tx: Tx,
    order_id: str,
    lines: Sequence[tuple[str, str, int]],
    locations: Sequence[str],
    *,
    event_key: str | None,
    now: str,
) -> list[Op]:
    """Reserve ``(line key, sku, qty)`` lines once per order; returns reserve/short ops.

    All lines of one SKU are held together at one location: one conditional statement per
    location tried, the first location first. Should two PostgreSQL transactions lock the
    same SKUs in opposite orders, the deadlock is reported as transient and the batch retried.
    """
    ops: list[Op] = []
    rows: list[Reservation] = []
    lines = sorted((x for x in lines if x[2] > 0), key=lambda x: (x[1], x[0]))
    # All lines of one SKU are held together, one statement per location tried.
    pending: dict[str, int] = {}
    for _, sku, qty in lines:
        pending[sku] = pending.get(sku, 0) + qty
    placed: dict[str, str] = {}
    for loc in locations:
        if not pending:
            break
        got = tx.try_reserve_many(sorted(pending.items()), loc, ref=order_id,
                                  event_key=event_key, now=now)  # fmt: skip
        for sku in got:
            placed[sku] = loc
            del pending[sku]
    for key, sku, qty in lines:
        where = placed.get(sku)
        if where is None:
            rows.append(Reservation(order_id, key, sku, locations[0], 0, 0, 0, qty))
            ops.append(_op("short", sku, locations[0], qty, order_id))
        else:
            rows.append(Reservation(order_id, key, sku, where, qty, 0, 0, 0))
            ops.append(_op("reserve", sku, where, qty, order_id))
    tx.put_reservations(rows)
    return ops


def _take(
    held: list[Reservation], wanted: dict[str, int] | None
) -> Iterable[tuple[Reservation, int]]:
    """Pair each reservation with the units to move: all outstanding, or up to ``wanted[sku]``."""
    remaining = dict(wanted) if wanted is not None else None
    for r in held:
        if r.outstanding <= 0:
            continue
        if remaining is None:
            yield r, r.outstanding
            continue
        n = min(remaining.get(r.sku, 0), r.outstanding)
        if n > 0:
            remaining[r.sku] -= n
            yield r, n


def release_order(
    tx: Tx, order_id: str, *, skus: dict[str, int] | None = None, event_key: str | None,
    now: str,
) -> list[Op]:  # fmt: skip
    """Release held units of an order (all of them, or up to ``skus[sku]`` each)."""
    ops: list[Op] = []
    held = tx.reservations(order_id, lock=True)
    for r, n in _take(held, skus):
        tx.release(r.sku, r.location, n, ref=order_id, event_key=event_key, now=now)
        tx.put_reservation(replace(r, outstanding=r.outstanding - n, released=r.released + n))
        ops.append(_op("release", r.sku, r.location, n, order_id))
    return ops


def commit_order(
    tx: Tx, order_id: str, *, skus: dict[str, int] | None = None, event_key: str | None,
    now: str,
) -> list[Op]:  # fmt: skip
    """Commit held units of an order to shipment (all, or up to ``skus[sku]`` each)."""
    ops: list[Op] = []
    held = tx.reservations(order_id, lock=True)
    for r, n in _take(held, skus):
        tx.commit_units(r.sku, r.location, n, ref=order_id, event_key=event_key, now=now)
        tx.put_reservation(replace(r, outstanding=r.outstanding - n, committed=r.committed + n))
        ops.append(_op("commit", r.sku, r.location, n, order_id))
    return ops


def restock_refund(
    tx: Tx,
    order_id: str,
    skus: dict[str, int],
    default_location: str,
    *,
    event_key: str | None,
    now: str,
) -> list[Op]:
    """Put refunded units back: release what is still held, return shipped units to stock."""
    ops = release_order(tx, order_id, skus=skus, event_key=event_key, now=now)
    left = dict(skus)
    for op in ops:
        left[op["sku"]] -= op["qty"]
    held = {r.sku: r for r in tx.reservations(order_id)}
    for sku, qty in sorted(left.items()):
        if qty <= 0:
            continue
        loc = held[sku].location if sku in held else default_location
        tx.adjust_on_hand(sku, loc, qty, op="return", ref=order_id, event_key=event_key, now=now)
        ops.append(_op("return", sku, loc, qty, order_id))
    return ops


def apply_count(
    tx: Tx, sku: str, location: str, on_hand: int, *, event_key: str | None, now: str
) -> list[Op]:
    """Turn a reported on-hand count into a delta against the ledger (no absolute writes)."""
    # Locked: two counts of one SKU at once must not both diff against the same balance.
    delta = on_hand - tx.level(sku, location, lock=True).on_hand
    if delta == 0:
        return []
    tx.adjust_on_hand(sku, location, delta, op="count", ref=None, event_key=event_key, now=now)
    return [_op("adjust", sku, location, delta, None)]


def available_to_sell(tx: Tx, sku: str, buffer: int) -> int:
    """Units a channel may sell: available at every location, minus its buffer, never < 0."""
    return max(tx.available([sku])[sku] - buffer, 0)


def refund_facts(tx: Tx, order_id: str, currency: str | None) -> dict[str, Any]:
    """The refund-governance facts of one order, from the refund ledger.

    ``captured`` (money or None when no capture is known), ``already_refunded`` (money) and
    ``previous_refunds`` (``[{key, amount, at}]``, oldest first). The payment row is locked,
    so two refunds of one order are decided one after the other, never both against the
    same remaining amount.
    """
    captured = tx.captured(order_id, lock=True)
    refunds = tx.refunds(order_id)
    cur = captured[1] if captured else currency or (refunds[0].currency if refunds else "")
    return {
        "captured": {"amount": captured[0], "currency": captured[1]} if captured else None,
        "already_refunded": {
            "amount": sum((r.amount for r in refunds), Decimal(0)),
            "currency": cur,
        },
        "previous_refunds": [
            {
                "key": r.idempotency_key,
                "amount": {"amount": r.amount, "currency": r.currency},
                "at": datetime.fromisoformat(r.at.replace("Z", "+00:00")),
            }
            for r in refunds
        ],
    }
