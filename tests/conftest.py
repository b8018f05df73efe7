"""Shared test configuration: hypothesis profiles and paths to shared material."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("dev", max_examples=100, deadline=None)
settings.register_profile(
    "ci",
    max_examples=200,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))

ROOT = Path(__file__).resolve().parent.parent
#: Real payloads and official schemas, beside the checkout; absent on a user's machine.
CORPUS = ROOT.parent / "shared" / "corpus"
BENCH_PAYLOAD = ROOT.parent / "shared" / "bench" / "shopify_order.json"


@pytest.fixture(scope="session")
def corpus() -> Path:
    if not CORPUS.is_dir():
        pytest.skip(
            f"the shared corpus is not beside this checkout ({CORPUS}); conformance tests "
            "need ../shared/corpus"
        )
    return CORPUS
