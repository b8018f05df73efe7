"""Our own payloads (the Quickstart samples and the test fixtures) map to valid canonical
records whose invariants hold: these are written to be right, so no flag is acceptable.

Layout: ``<root>/<channel>/<entity>/*.json`` is mapped by
``mappings/<channel>/<entity>.inbound.yaml``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from channel_corpus import MAPPINGS, ROOT, compiled, read_json

from accord.canonical import check_invariants, validate_record
from accord.diagnostics import Diagnostic

ROOTS = [ROOT / "samples" / "payloads", Path(__file__).with_name("fixtures")]
PAYLOADS = sorted(p for root in ROOTS for p in root.glob("*/*/*.json"))


def test_there_are_samples_for_the_quickstart() -> None:
    quickstart = [p for p in PAYLOADS if p.is_relative_to(ROOTS[0])]
    kinds = {(p.parts[-3], p.parts[-2]) for p in quickstart}
    assert len(quickstart) >= 24
    assert {("shopify", "order"), ("shopify", "inventory_level"), ("amazon", "order")} <= kinds
    assert ("woocommerce", "order") in kinds


@pytest.mark.parametrize("payload", PAYLOADS, ids=lambda p: f"{p.parts[-3]}/{p.parts[-2]}/{p.name}")
def test_own_payload_maps_to_a_valid_record(payload: Path) -> None:
    channel, entity = payload.parts[-3], payload.parts[-2]
    spec = f"{channel}/{entity}.inbound.yaml"
    assert (MAPPINGS / spec).is_file(), f"no spec for {channel}/{entity}"
    warnings: list[Diagnostic] = []
    record = compiled(spec).apply(read_json(payload), record_id=payload.name, warnings=warnings)
    assert [w.code for w in warnings] == []
    model = validate_record(str(compiled(spec).spec.target), record, invariants=False)
    assert [d.render() for d in check_invariants(model)] == []


def test_a_duplicate_webhook_is_byte_for_byte_the_same_delivery() -> None:
    folder = ROOTS[0] / "shopify" / "order"
    first, again = folder / "order-1042.json", folder / "order-1042-redelivery.json"
    assert first.read_bytes() == again.read_bytes()
