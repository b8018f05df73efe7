"""SP-API notifications drained from SQS: SigV4, at-least-once delivery, poison messages."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx2
import pytest

from accord.connectors.aws import sigv4_headers
from accord.connectors.secrets import StaticSecrets
from accord.connectors.sqs import NotificationQueue
from accord.errors import AuthError

QUEUE = "https://sqs.eu-west-1.amazonaws.com/123456789012/sp-api-notifications"
SECRETS = StaticSecrets(
    {"AWS_ACCESS_KEY_ID": "AKIAMATRIXEXAMPLE", "AWS_SECRET_ACCESS_KEY": "sqs-secret-access-key"}
)


def notification(n: int) -> dict[str, Any]:
    return {
        "NotificationVersion": "1.0",
        "NotificationType": "ORDER_CHANGE",
        "PayloadVersion": "1.0",
        "EventTime": "2026-03-01T00:09:53.109Z",
        "Payload": {"OrderChangeNotification": {"AmazonOrderId": f"903-{n}"}},
        "NotificationMetadata": {"NotificationId": f"note-{n}"},
    }


@dataclass(frozen=True)
class Result:
    status: str


class Sink:
    def __init__(self, fail_on: str | None = None) -> None:
        self.fail_on = fail_on
        self.seen: list[str | None] = []

    def ingest(self, channel, entity, payload, *, event_id=None, received_at=None) -> Result:
        if event_id == self.fail_on:
            raise RuntimeError("engine crashed")
        status = "duplicate" if event_id in self.seen else "processed"
        self.seen.append(event_id)
        assert entity == "order"
        assert payload["Payload"]["OrderChangeNotification"]["AmazonOrderId"].startswith("903-")
        return Result(status)


class FakeSqs:
    """An SQS queue: messages stay until deleted and are redelivered on every receive."""

    def __init__(self, bodies: list[str]) -> None:
        self.messages = {f"rh-{i}": (f"m-{i}", body) for i, body in enumerate(bodies)}
        self.requests: list[httpx2.Request] = []
        self.throttle = 0

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        check_signature(request)
        if self.throttle:
            self.throttle -= 1
            return httpx2.Response(
                400, json={"__type": "com.amazonaws.sqs#RequestThrottled", "message": "slow"}
            )
        target = request.headers["x-amz-target"]
        body = json.loads(request.content)
        assert body["QueueUrl"] == QUEUE
        if target == "AmazonSQS.ReceiveMessage":
            batch = list(self.messages.items())[: body["MaxNumberOfMessages"]]
            return httpx2.Response(
                200,
                json={
                    "Messages": [
                        {"MessageId": mid, "ReceiptHandle": rh, "Body": text}
                        for rh, (mid, text) in batch
                    ]
                },
            )
        assert target == "AmazonSQS.DeleteMessageBatch"
        ok = []
        for entry in body["Entries"]:
            self.messages.pop(entry["ReceiptHandle"])
            ok.append({"Id": entry["Id"]})
        return httpx2.Response(200, json={"Successful": ok, "Failed": []})


def check_signature(request: httpx2.Request) -> None:
    auth = request.headers["authorization"]
    assert auth.startswith("AWS4-HMAC-SHA256 Credential=AKIAMATRIXEXAMPLE/")
    assert "/eu-west-1/sqs/aws4_request" in auth
    now = datetime.strptime(request.headers["x-amz-date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    expected = sigv4_headers(
        "POST",
        str(request.url),
        {
            "content-type": request.headers["content-type"],
            "x-amz-target": request.headers["x-amz-target"],
        },
        request.content,
        access_key="AKIAMATRIXEXAMPLE",
        secret_key="sqs-secret-access-key",
        region="eu-west-1",
        service="sqs",
        now=now,
    )
    assert auth == expected["authorization"]


@pytest.fixture
def queue(mock_client, clock, sleeper, policy):
    def make(fake: FakeSqs, **kwargs: Any) -> NotificationQueue:
        return NotificationQueue(
            mock_client(fake), QUEUE, secrets=SECRETS, retry=policy, clock=clock, sleep=sleeper,
            batch_size=kwargs.pop("batch_size", 10), **kwargs,
        )  # fmt: skip

    return make


def test_drain_ingests_then_deletes(queue):
    fake = FakeSqs([json.dumps(notification(n)) for n in range(3)])
    report = queue(fake).drain(Sink())
    assert report.statuses == {"processed": 3}
    assert (report.received, report.deleted) == (3, 3)
    assert fake.messages == {}


def test_sns_wrapped_bodies_are_unwrapped(queue):
    sns = json.dumps({"Type": "Notification", "MessageId": "sns-1",
                      "Message": json.dumps(notification(7))})  # fmt: skip
    sink = Sink()
    queue(FakeSqs([sns])).drain(sink)
    assert sink.seen == ["note-7"]


def test_engine_crash_leaves_the_rest_for_redelivery_without_duplicates(queue):
    fake = FakeSqs([json.dumps(notification(n)) for n in range(4)])
    sink = Sink(fail_on="note-2")
    with pytest.raises(RuntimeError):
        queue(fake).drain(sink)
    assert sorted(fake.messages) == ["rh-2", "rh-3"]  # taken ones were deleted
    sink.fail_on = None
    report = queue(fake).drain(sink)
    assert report.statuses == {"processed": 2}
    assert sink.seen == ["note-0", "note-1", "note-2", "note-3"]


def test_poison_message_is_left_for_the_redrive_policy(queue):
    fake = FakeSqs(["{not json", json.dumps(notification(1))])
    report = queue(fake).drain(Sink(), max_batches=1)
    assert report.unreadable == 1
    assert report.statuses == {"processed": 1}
    assert list(fake.messages) == ["rh-0"]


def test_throttling_is_quota_and_retried(queue, sleeper):
    fake = FakeSqs([json.dumps(notification(1))])
    fake.throttle = 1
    report = queue(fake).drain(Sink())
    assert report.statuses == {"processed": 1}
    assert sleeper.pauses


def test_bad_credentials_are_auth_errors_without_the_secret(queue):
    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(
            403,
            json={"__type": "com.amazon.coral.service#InvalidClientTokenId", "message": "no"},
        )

    q = NotificationQueue(httpx2.Client(transport=httpx2.MockTransport(handler)), QUEUE,
                          secrets=SECRETS, sleep=lambda s: None)  # fmt: skip
    with pytest.raises(AuthError) as info:
        q.receive()
    assert "InvalidClientTokenId" in str(info.value)
    assert "sqs-secret-access-key" not in str(info.value)


def test_sigv4_matches_the_aws_worked_example():
    # The GET iam ListUsers example of the AWS Signature Version 4 documentation.
    headers = sigv4_headers(
        "GET",
        "https://iam.amazonaws.com/?Action=ListUsers&Version=2010-05-08",
        {"content-type": "application/x-www-form-urlencoded; charset=utf-8"},
        b"",
        access_key="AKIDEXAMPLE",
        secret_key="wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        region="us-east-1",
        service="iam",
        now=datetime(2015, 8, 30, 12, 36, tzinfo=UTC),
    )
    assert headers["x-amz-date"] == "20150830T123600Z"
    assert headers["authorization"] == (
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, "
        "SignedHeaders=content-type;host;x-amz-date, "
        "Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"
    )
