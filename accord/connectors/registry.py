"""Connector classes by channel kind, and how a project channel finds its credentials.

>>> sorted(CONNECTORS)  # doctest: +NORMALIZE_WHITESPACE
['amazon', 'amazon_2026', 'amazon_notifications', 'ebay', 'hubspot', 'netsuite', 'shipbob',
 'shopify', 'tiktok', 'woocommerce']
>>> env_prefix("shopify", "shopify"), env_prefix("shopify-eu", "shopify")
('', 'SHOPIFY_EU_')
>>> resolve_kind("amazon_notifications", "amazon"), resolve_kind("us", "amazon", "2026-01-01")
('amazon_notifications', 'amazon_2026')
"""

from __future__ import annotations

import re
from typing import Any

import httpx2

from accord.diagnostics import Diagnostic
from accord.errors import RequestRejectedError

from .amazon import Amazon2026Connector, AmazonConnector
from .base import UNSUPPORTED, Connector
from .ebay import EbayConnector
from .hubspot import HubSpotConnector
from .netsuite import NetSuiteConnector
from .shipbob import ShipBobConnector
from .shopify import ShopifyConnector
from .tiktok import TikTokShopConnector
from .woocommerce import WooCommerceConnector

__all__ = ["CONNECTORS", "connector_for", "env_prefix", "resolve_kind"]

CONNECTORS: dict[str, type[Connector]] = {
    cls.channel: cls
    for cls in (
        Amazon2026Connector,
        AmazonConnector,
        EbayConnector,
        HubSpotConnector,
        NetSuiteConnector,
        ShipBobConnector,
        ShopifyConnector,
        TikTokShopConnector,
        WooCommerceConnector,
    )
}
# SP-API notifications are a channel of their own in projects (their own mappings), verified
# and unwrapped by the Amazon connector.
CONNECTORS["amazon_notifications"] = AmazonConnector


def env_prefix(name: str, kind: str) -> str:
    """The environment-variable prefix of a project channel's credentials.

    A channel named after its kind reads plain ``SHOPIFY_ACCESS_TOKEN``; a second store of the
    same kind, ``shopify-eu``, reads ``SHOPIFY_EU_SHOPIFY_ACCESS_TOKEN``.
    """
    if name == kind:
        return ""
    return re.sub(r"[^A-Za-z0-9]+", "_", name).strip("_").upper() + "_"


def resolve_kind(name: str, kind: str, api_version: str | None = None) -> str:
    """The connector kind of a project channel.

    A project declares the platform (``kind: amazon``, what the project schema knows); the
    shipped mappings also use two refinements of it as channels: ``amazon_2026`` (Orders
    API 2026-01-01) and ``amazon_notifications`` (SP-API notifications). A channel named
    like a refinement of its declared kind uses that refinement, and an ``amazon`` channel
    pinned to ``api_version: "2026-01-01"`` uses the 2026 connector. Anything else keeps
    its kind.
    """
    declared = CONNECTORS.get(kind)
    refined = CONNECTORS.get(name)
    if declared is not None and refined is not None and issubclass(refined, declared):
        return name
    if kind == "amazon" and api_version == Amazon2026Connector.api_version:
        return Amazon2026Connector.channel
    return kind


def connector_for(
    kind: str, client: httpx2.Client, *, api_version: str | None = None, **kwargs: Any
) -> Connector:
    """A connector of ``kind`` over ``client``; ``kwargs`` go to its constructor
    (``secrets``, ``retry``, ``clock``, ``sleep``). ``api_version`` pins Shopify's version."""
    cls = CONNECTORS.get(kind)
    if cls is None:
        message = f"no connector for channel kind {kind!r}; known: {', '.join(sorted(CONNECTORS))}"
        raise RequestRejectedError(
            message, diagnostics=(Diagnostic(code=UNSUPPORTED, message=message),)
        )
    if api_version is not None and cls is ShopifyConnector:
        return ShopifyConnector(client, api_version=api_version, **kwargs)
    return cls(client, **kwargs)
