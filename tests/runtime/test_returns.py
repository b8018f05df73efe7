"""Returns routed to the ERP and the CRM: the example project's Amazon return flow, with the
shipped inbound and outbound specs, on both stores."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from accord.clock import FrozenClock
from accord.engine.runtime.engine import Engine

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples" / "payloads" / "amazon"
T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def test_an_amazon_return_becomes_a_netsuite_authorization_and_a_crm_ticket(
    store_url: str,
) -> None:
    order = json.loads((SAMPLES / "order" / "order-113-7730915-2046613.json").read_text())
    ret = (SAMPLES / "return" / "return-113-7730915-2046613.json").read_bytes()
    with Engine.from_project(ROOT / "accord.yaml", store_url=store_url,
                             clock=FrozenClock(T0)) as engine:  # fmt: skip
        assert engine.ingest("amazon", "order", order, event_id="o").status == "processed"
        r = engine.ingest("amazon", "return", ret, event_id="ret-1")
        again = engine.ingest("amazon", "return", ret, event_id="ret-2")
        with engine.store.transaction() as tx:
            audit = tx.audit("amazon:5b1f0c7e-3d44-4c1a-9a52-2f6a8d9e7c10")
    assert r.status == "processed"
    assert r.diagnostics == []
    assert r.record is not None
    assert r.record["order_id"] == "amazon:113-7730915-2046613"
    # the JSON form, as a connector sends it (dates as ISO text)
    assert r.to_dict()["outbound"] == {
        "netsuite.return_authorization": {
            "entity": {"id": "4812"},  # the flow's house customer
            "tranDate": "2026-02-24",
            "otherrefnum": "RMA-2026-0031",
            "memo": "Damaged in transit",
            "externalId": "accord-return-5b1f0c7e-3d44-4c1a-9a52-2f6a8d9e7c10",
            "item": {
                "items": [{"item": {"id": 102}, "quantity": 1, "description": "Damaged in transit"}]
            },
        },
        "hubspot.return": {
            "properties": {
                "subject": "Return RMA-2026-0031 for amazon:113-7730915-2046613",
                "content": "Returned: 1 x MUG-STONE-12. Reason: Damaged in transit.",
                "hs_pipeline": "0",
                "hs_pipeline_stage": "1",
            }
        },
    }
    # a redelivery under another notification id routes nothing twice
    assert again.status == "duplicate"
    assert [(e.action, e.details["outbound"]) for e in audit] == [
        ("created", ["hubspot.return", "netsuite.return_authorization"])
    ]
