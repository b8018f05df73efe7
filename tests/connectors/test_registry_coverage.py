"""Every channel the shipped mappings speak of resolves to a connector, and the connectors
pull the inbound entities those mappings read where the channel's API offers a listing."""

from __future__ import annotations

from pathlib import Path

import httpx2
import pytest
from ruamel.yaml import YAML

from accord.connectors.registry import CONNECTORS, connector_for
from accord.connectors.secrets import StaticSecrets

MAPPINGS = Path(__file__).resolve().parents[2] / "mappings"
NOT_CHANNELS = {"lookups"}  # shared value tables, not a channel
CHANNEL_FOLDERS = sorted(
    p.name for p in MAPPINGS.iterdir() if p.is_dir() and p.name not in NOT_CHANNELS
)


def spec_channels() -> set[str]:
    yaml = YAML(typ="safe")
    found: set[str] = set()
    for path in MAPPINGS.glob("*/*.yaml"):
        if path.name.endswith(".cases.yaml") or path.parent.name in NOT_CHANNELS:
            continue
        data = yaml.load(path.read_text(encoding="utf-8"))
        if isinstance(data, dict) and isinstance(data.get("channel"), str):
            found.add(data["channel"])
    return found


def test_the_shipped_channel_folders_are_the_expected_ones():
    # Includes the two Amazon channels that are not plain `amazon`.
    assert {"amazon_2026", "amazon_notifications"} <= set(CHANNEL_FOLDERS)
    assert len(CHANNEL_FOLDERS) >= 9


@pytest.mark.parametrize("kind", [*CHANNEL_FOLDERS, *sorted(spec_channels())])
def test_every_mapping_channel_resolves_to_a_connector(kind):
    assert kind in CONNECTORS
    with httpx2.Client(transport=httpx2.MockTransport(lambda r: httpx2.Response(500))) as client:
        connector = connector_for(kind, client, secrets=StaticSecrets({}))
    assert isinstance(connector, CONNECTORS[kind])


def test_notifications_use_the_amazon_connector_and_2026_its_own():
    assert CONNECTORS["amazon_notifications"].__name__ == "AmazonConnector"
    assert CONNECTORS["amazon_2026"].__name__ == "Amazon2026Connector"
    assert CONNECTORS["amazon_2026"].api_version == "2026-01-01"


@pytest.mark.parametrize(
    ("kind", "entity"),
    [
        ("amazon", "order"),
        ("amazon", "return"),
        ("amazon", "inventory_level"),
        ("amazon_2026", "order"),
        ("woocommerce", "order"),
        ("woocommerce", "product"),
        ("woocommerce", "customer"),
        ("tiktok", "order"),
        ("ebay", "order"),
    ],
)
def test_inbound_mappings_have_a_pull(kind, entity):
    assert (MAPPINGS / kind / f"{entity}.inbound.yaml").is_file()
    assert entity in CONNECTORS[kind].entities
