"""SP-API notifications from an Amazon SQS queue.

SP-API delivers ``ORDER_CHANGE`` and the other notifications to an SQS queue the seller's
app owns. :class:`NotificationQueue` long-polls it (SQS JSON protocol, AWS SigV4 with
``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY`` and optionally ``AWS_SESSION_TOKEN``), hands
each notification to the engine, and deletes a message only after the engine has taken it.
A crash in between leaves the message in the queue; SQS delivers it again and the engine,
keyed on the notification id, answers ``duplicate``. A message that cannot be read is left
alone for the queue's redrive policy to move to its dead-letter queue.

(https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ReceiveMessage.html)
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, ClassVar

import httpx2

from accord.clock import Clock
from accord.diagnostics import Diagnostic
from accord.errors import AuthError, ConnectorError, QuotaError

from .amazon import parse_notification
from .aws import sigv4_headers
from .base import Connector, Reply
from .retry import RetryPolicy, Sleep
from .secrets import SecretsProvider
from .sink import EventSink

__all__ = ["DrainReport", "NotificationQueue"]

log = logging.getLogger("accord.connectors.sqs")

_REGION = re.compile(r"^sqs\.([a-z0-9-]+)\.amazonaws\.com$")
_QUOTA_ERRORS = ("Throttl", "RequestThrottled", "OverLimit", "KmsThrottled")
_AUTH_ERRORS = (
    "AccessDenied",
    "InvalidClientTokenId",
    "SignatureDoesNotMatch",
    "ExpiredToken",
    "UnrecognizedClient",
    "MissingAuthenticationToken",
)


@dataclass
class DrainReport:
    """What one drain did: engine verdicts, unreadable messages left, messages deleted."""

    received: int = 0
    deleted: int = 0
    unreadable: int = 0
    statuses: Counter[str] = field(default_factory=Counter)


class NotificationQueue(Connector):
    """Consume SP-API notifications from one SQS queue."""

    #: Notifications are a channel of their own, read by mappings/amazon_notifications/.
    channel: ClassVar[str] = "amazon_notifications"
    api_version: ClassVar[str | None] = "sqs-json-1.0"

    def __init__(
        self,
        client: httpx2.Client,
        queue_url: str,
        *,
        secrets: SecretsProvider | None = None,
        retry: RetryPolicy | None = None,
        clock: Clock | None = None,
        sleep: Sleep | None = None,
        wait_seconds: int = 20,
        batch_size: int = 10,
        region: str | None = None,
    ) -> None:
        super().__init__(client, secrets=secrets, retry=retry, clock=clock, sleep=sleep)
        self.queue_url = queue_url
        url = httpx2.URL(queue_url)
        match = _REGION.match(url.host)
        self.region = region or (match.group(1) if match else None) or "us-east-1"
        self.endpoint = f"{url.scheme}://{url.netloc.decode('ascii')}/"
        self.wait_seconds = max(0, min(wait_seconds, 20))
        self.batch_size = max(1, min(batch_size, 10))

    def prepare(self, request: httpx2.Request) -> httpx2.Request:
        signed = {
            "content-type": request.headers.get("content-type", ""),
            "x-amz-target": request.headers.get("x-amz-target", ""),
        }
        request.headers.update(
            sigv4_headers(
                request.method,
                str(request.url),
                signed,
                request.content,
                access_key=self.secret("AWS_ACCESS_KEY_ID"),
                secret_key=self.secret("AWS_SECRET_ACCESS_KEY"),
                session_token=self.optional_secret("AWS_SESSION_TOKEN"),
                region=self.region,
                service="sqs",
                now=self.clock.now(),
            )
        )
        return request

    def classify(self, reply: Reply, operation: str) -> ConnectorError | None:
        error = super().classify(reply, operation)
        if error is None or not isinstance(reply.data, dict):
            return error
        kind = str(reply.data.get("__type", ""))
        cls: type[ConnectorError] | None = None
        if any(name in kind for name in _QUOTA_ERRORS):
            cls = QuotaError
        elif any(name in kind for name in _AUTH_ERRORS):
            cls = AuthError
        if cls is None:
            return error
        message = self._message(operation, kind, str(reply.data.get("message", "")))
        return cls(
            message,
            diagnostics=(Diagnostic(code=cls.default_code, message=message),),
            status_code=reply.status_code,
            retry_after=error.retry_after,
        )

    def _action(self, action: str, body: dict[str, Any]) -> dict[str, Any]:
        reply = self.call(
            "POST",
            self.endpoint,
            json_body={"QueueUrl": self.queue_url, **body},
            headers={
                "content-type": "application/x-amz-json-1.0",
                "x-amz-target": f"AmazonSQS.{action}",
            },
            operation=action,
        )
        return reply.data if isinstance(reply.data, dict) else {}

    def receive(self) -> list[dict[str, Any]]:
        """One long poll: up to ``batch_size`` messages."""
        data = self._action(
            "ReceiveMessage",
            {
                "MaxNumberOfMessages": self.batch_size,
                "WaitTimeSeconds": self.wait_seconds,
                "MessageSystemAttributeNames": ["ApproximateReceiveCount"],
            },
        )
        messages = data.get("Messages") or []
        return [m for m in messages if isinstance(m, dict)]

    def delete(self, receipts: list[str]) -> int:
        """Delete messages by receipt handle; returns how many SQS confirmed."""
        deleted = 0
        for start in range(0, len(receipts), 10):
            chunk = receipts[start : start + 10]
            data = self._action(
                "DeleteMessageBatch",
                {"Entries": [{"Id": str(i), "ReceiptHandle": r} for i, r in enumerate(chunk)]},
            )
            deleted += len(data.get("Successful") or [])
            for failure in data.get("Failed") or []:
                # The message comes back after its visibility timeout; the engine dedupes it.
                log.warning("sqs: could not delete a message: %s", failure.get("Code"))
        return deleted

    def drain(
        self,
        sink: EventSink,
        *,
        channel: str | None = None,
        max_batches: int | None = None,
        until_empty: bool = True,
    ) -> DrainReport:
        """Receive, ingest and delete until the queue is empty (or ``max_batches``)."""
        report = DrainReport()
        batches = 0
        while max_batches is None or batches < max_batches:
            messages = self.receive()
            batches += 1
            if not messages and until_empty:
                break
            report.received += len(messages)
            done: list[str] = []
            try:
                for message in messages:
                    try:
                        event = parse_notification(message)
                    except ValueError as exc:
                        report.unreadable += 1
                        log.warning(
                            "sqs: message %s left for the redrive policy: %s",
                            message.get("MessageId"),
                            self.redact(str(exc)),
                        )
                        continue
                    result = sink.ingest(
                        channel or self.channel,
                        event.entity,
                        event.payload,
                        event_id=event.event_id,
                        received_at=self.clock.now(),
                    )
                    report.statuses[str(result.status)] += 1
                    receipt = message.get("ReceiptHandle")
                    if isinstance(receipt, str):
                        done.append(receipt)
            finally:
                # Whatever the engine took is deleted, even if a later message failed.
                if done:
                    report.deleted += self.delete(done)
        return report
