"""Conformance: every corpus payload of a covered channel and entity maps and validates.

The corpus (``../shared/corpus``, see its PROVENANCE.md) holds the platforms' own samples.
``corpus_manifest.yaml`` says which spec maps each file and where the records are inside it.
Each record is mapped, then validated against the canonical model, and its invariants (order
totals reconcile, one currency, refunded <= captured) are checked. A platform sample that
breaks an invariant must be *flagged* with exactly the codes the manifest names: never a crash,
never silently "fixed".
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from channel_corpus import (
    ROOT,
    Entry,
    compiled,
    entries,
    manifest,
    payloads,
    read_json,
    target_entity,
)

from accord.canonical import check_invariants, validate_record
from accord.errors import AccordError

ENTRIES = entries()


def canonical_problems(entity: str, record: dict[str, Any], record_id: str) -> set[str]:
    """The codes of every canonical diagnostic the record triggers (empty: valid)."""
    try:
        model = validate_record(entity, record, record_id=record_id, invariants=False)
    except AccordError as exc:
        return {d.code for d in exc.diagnostics} or {exc.code}
    return {d.code for d in check_invariants(model, record_id=record_id)}


@pytest.mark.parametrize("entry", ENTRIES, ids=[e.label for e in ENTRIES])
def test_corpus_payload_maps_and_validates(entry: Entry, corpus: Path) -> None:
    mapping = compiled(entry.spec)
    entity = target_entity(entry.spec)
    found = list(payloads(entry, corpus))
    assert found, f"{entry.label}: no records at {entry.records!r}"
    for record_id, payload in found:
        try:
            out = mapping.apply(payload, record_id=record_id)
        except AccordError as exc:  # classified, but a corpus payload must map
            pytest.fail(f"{record_id} did not map:\n{exc}")
        assert isinstance(out, dict), record_id
        assert out, f"{record_id} mapped to an empty record"
        problems = canonical_problems(entity, out, record_id)
        assert problems == set(entry.flags), (
            f"{record_id}: canonical diagnostics {sorted(problems)}, "
            f"the manifest expects {sorted(entry.flags)}"
        )


def test_every_file_in_a_covered_folder_is_classified(corpus: Path) -> None:
    data = manifest()
    mapped = {f for e in ENTRIES for f in e.files}
    not_records = set(data.get("not_records") or {})
    unclassified = [
        path.relative_to(corpus).as_posix()
        for folder in data["covered"]
        for path in sorted((corpus / folder).glob("*.json"))
        if path.relative_to(corpus).as_posix() not in mapped | not_records
    ]
    assert unclassified == []
    assert sorted(mapped & not_records) == []


def test_manifest_points_at_existing_files(corpus: Path) -> None:
    data = manifest()
    named = {f for e in ENTRIES for f in e.files} | set(data.get("not_records") or {})
    assert sorted(f for f in named if not (corpus / f).is_file()) == []
    assert sorted({e.spec for e in ENTRIES if not (ROOT / "mappings" / e.spec).is_file()}) == []


def test_benchmark_payload_maps_cleanly() -> None:
    """The benchmark order (Shopify's own REST fixture) maps with no diagnostic at all."""
    bench = ROOT.parent / "shared" / "bench" / "shopify_order.json"
    if not bench.is_file():
        pytest.skip(f"the benchmark payload is not beside this checkout ({bench})")
    warnings: list[Any] = []
    out = compiled("shopify/order.inbound.yaml").apply(
        read_json(bench), record_id="bench", warnings=warnings
    )
    assert warnings == []
    assert canonical_problems("order", out, "bench") == set()
    assert out["id"] == "450789469"
    assert out["total"] == {"amount": Decimal("409.94"), "currency": "USD"}
    assert out["subtotal"] == {"amount": Decimal("398.00"), "currency": "USD"}
    assert out["tax_total"] == {"amount": Decimal("11.94"), "currency": "USD"}
    assert [line["sku"] for line in out["lines"]] == [
        "IPOD2008GREEN",
        "IPOD2008RED",
        "IPOD2008BLACK",
    ]


SHOPIFY_PRODUCTS = [
    "shopify/products/rest-2024-04.product.get-product-with-variants.response.json",
    "shopify/products/rest-2024-04.product.create-product-with-variants.response.json",
]


@pytest.mark.parametrize("file", SHOPIFY_PRODUCTS, ids=lambda f: Path(f).name)
def test_shopify_presentment_prices_keep_their_currencies(file: str, corpus: Path) -> None:
    """Every presentment price becomes a price in its own currency; the variant price is in
    the shop's currency, from the shop input and never from the first presentment price."""
    raw = read_json(corpus / file)
    spec = compiled("shopify/product.inbound.yaml")
    without_shop = spec.apply({"product": raw})
    validate_record("product", without_shop)
    sent = raw["product"]["variants"]
    assert sent
    assert all(v.get("presentment_prices") for v in sent)
    for variant, mapped in zip(sent, without_shop["variants"], strict=True):
        assert [(p["price"]["amount"], p["price"]["currency"]) for p in mapped["prices"]] == [
            (Decimal(p["price"]["amount"]), p["price"]["currency_code"])
            for p in variant["presentment_prices"]
        ]
        assert "price" not in mapped  # no shop input: not guessed from presentment_prices[0]
    # A shop selling in CAD: the price is CAD even though every presentment price is USD.
    with_shop = spec.apply({"product": raw, "shop": {"shop": {"currency": "cad"}}})
    validate_record("product", with_shop)
    for variant, mapped in zip(sent, with_shop["variants"], strict=True):
        assert mapped["price"] == {"amount": Decimal(variant["price"]), "currency": "CAD"}
