"""Channel connectors: one behaviour for every channel, whatever its API does.

Each connector takes an injected ``httpx2.Client`` (tests use ``httpx2.MockTransport`` or
:class:`~accord.connectors.recorder.ReplayTransport`), reads credentials from a
:class:`~accord.connectors.secrets.SecretsProvider` (environment variables by default) and
never lets one reach a log, an error or a recording. Failures are classified exactly as the
dead-letter store classifies them (:class:`~accord.errors.ErrorClass`) and retried by the
:class:`~accord.connectors.retry.RetryPolicy` accordingly.

>>> import httpx2
>>> from accord.connectors import ShopifyConnector, StaticSecrets
>>> def fake_shopify(request):
...     return httpx2.Response(200, json={"order": {"id": 450789469, "total_price": "10.00"}})
>>> shop = ShopifyConnector(
...     httpx2.Client(transport=httpx2.MockTransport(fake_shopify)),
...     secrets=StaticSecrets({"SHOPIFY_SHOP": "acme.myshopify.com",
...                            "SHOPIFY_ACCESS_TOKEN": "shpat_example"}))
>>> shop.get("order", "450789469")["total_price"]
'10.00'

| module | what |
| --- | --- |
| ``base`` | :class:`Connector`, the request loop, :class:`Page`, :class:`WebhookEvent` |
| ``retry`` / ``ratelimit`` | :class:`RetryPolicy`; leaky and token buckets |
| ``secrets`` | providers and the :class:`Redactor` |
| ``shopify``, ``amazon``, ``woocommerce``, ... | one module per channel |
| ``sink`` / ``server`` | :class:`EventSink`, the webhook receiver behind ``accord serve`` |
| ``backfill`` | resumable pulls behind ``accord pull`` |
| ``sqs`` / ``aws`` | SP-API notifications drained from SQS (SigV4) |
| ``recorder`` | scrubbing recorder and strict replayer |
"""

from __future__ import annotations

from .amazon import Amazon2026Connector, AmazonConnector, parse_notification
from .backfill import (
    BackfillReport,
    Checkpoint,
    CheckpointStore,
    FileCheckpoints,
    MemoryCheckpoints,
    backfill,
)
from .base import Connector, Page, Reply, WebhookEvent, classify_status
from .ebay import EbayConnector
from .netsuite import NetSuiteConnector, oauth1_authorization
from .ratelimit import LeakyBucket, TokenBucket
from .recorder import (
    RecordingTransport,
    Redaction,
    ReplayMismatchError,
    ReplayTransport,
    load_recording,
)
from .registry import CONNECTORS, connector_for, env_prefix, resolve_kind
from .retry import RetryPolicy, parse_retry_after
from .secrets import EnvSecrets, Redactor, SecretsProvider, StaticSecrets
from .shipbob import ShipBobConnector
from .shopify import ShopifyConnector
from .sink import EventSink, IngestResult, SinkWorker
from .sqs import DrainReport, NotificationQueue
from .tiktok import TikTokShopConnector, tiktok_sign
from .woocommerce import WooCommerceConnector

__all__ = [
    "CONNECTORS",
    "Amazon2026Connector",
    "AmazonConnector",
    "BackfillReport",
    "Checkpoint",
    "CheckpointStore",
    "Connector",
    "DrainReport",
    "EbayConnector",
    "EnvSecrets",
    "EventSink",
    "FileCheckpoints",
    "IngestResult",
    "LeakyBucket",
    "MemoryCheckpoints",
    "NetSuiteConnector",
    "NotificationQueue",
    "Page",
    "RecordingTransport",
    "Redaction",
    "Redactor",
    "ReplayMismatchError",
    "ReplayTransport",
    "Reply",
    "RetryPolicy",
    "SecretsProvider",
    "ShipBobConnector",
    "ShopifyConnector",
    "SinkWorker",
    "StaticSecrets",
    "TikTokShopConnector",
    "TokenBucket",
    "WebhookEvent",
    "WooCommerceConnector",
    "backfill",
    "classify_status",
    "connector_for",
    "env_prefix",
    "load_recording",
    "oauth1_authorization",
    "parse_notification",
    "parse_retry_after",
    "resolve_kind",
    "tiktok_sign",
]
