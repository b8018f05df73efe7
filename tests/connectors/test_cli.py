"""``accord pull`` and ``accord serve`` wiring (the engine replaced by a fake sink)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import pytest

from accord.cli import build_parser, main
from accord.cli import pull as pull_cli
from accord.cli import serve as serve_cli
from accord.connectors.shopify import ShopifyConnector
from accord.connectors.webhooks import hmac_sha256_base64

PROJECT = """\
project: demo
store: sqlite:///state.db
channels:
  - name: shopify
    kind: shopify
  - name: shopify-eu
    kind: shopify
    api_version: "2025-10"
  - name: amazon
    kind: amazon
  - name: helpdesk
    kind: zendesk
flows: []
"""
BASE = "https://acme.myshopify.com/admin/api/2026-01"


@dataclass(frozen=True)
class Result:
    status: str


class Sink:
    def __init__(self, crash_after: int | None = None) -> None:
        self.crash_after = crash_after
        self.seen: dict[str | None, str] = {}
        self.calls: list[tuple[str, str, str | None]] = []
        self.closed = 0

    def ingest(self, channel, entity, payload, *, event_id=None, received_at=None) -> Result:
        if self.crash_after is not None and len(self.calls) >= self.crash_after:
            raise KeyboardInterrupt
        self.calls.append((channel, entity, event_id))
        if event_id in self.seen:
            return Result("duplicate")
        self.seen[event_id] = channel
        return Result("processed")

    def close(self) -> None:
        self.closed += 1


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "accord.yaml"
    path.write_text(PROJECT)
    monkeypatch.setenv("SHOPIFY_SHOP", "acme.myshopify.com")
    monkeypatch.setenv("SHOPIFY_ACCESS_TOKEN", "shpat_cli_token_0001")
    return path


def shop_api(total: int = 5):
    fetched: list[str | None] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        cursor = request.url.params.get("page_info")
        fetched.append(cursor)
        start = int(cursor or 0)
        items = [
            {"id": 9000 + n, "updated_at": "2026-03-02T00:00:00Z"}
            for n in range(start, min(start + 2, total))
        ]
        headers = {}
        if start + 2 < total:
            headers["Link"] = f'<{BASE}/orders.json?page_info={start + 2}>; rel="next"'
        return httpx2.Response(200, json={"orders": items}, headers=headers)

    return handler, fetched


def pull_args(project: Path, *extra: str):
    return build_parser().parse_args(
        ["pull", "shopify", "order", "--since", "2026-03-01", "--project", str(project), *extra]
    )


def test_pull_interrupted_then_resumed(project, capsys):
    handler, fetched = shop_api(total=5)
    client = httpx2.Client(transport=httpx2.MockTransport(handler))
    sink = Sink(crash_after=3)
    args = pull_args(project, "--page-size", "2")
    with pytest.raises(KeyboardInterrupt):
        pull_cli.run(args, sink_factory=lambda a: sink, client=client)
    assert (project.parent / ".accord" / "checkpoints.json").is_file()
    sink.crash_after = None
    code = pull_cli.run(args, sink_factory=lambda a: sink, client=client)
    out = capsys.readouterr().out
    assert code == 0
    assert "resumed at cursor 2" in out
    assert "1 duplicate, 2 processed" in out
    assert fetched == [None, "2", "2", "4"]
    assert sorted(e for e in sink.seen) == [
        f"shopify:order:{9000 + n}:2026-03-02T00:00:00Z" for n in range(5)
    ]
    assert sink.closed == 2


def test_pull_reports_usage_errors(project, capsys):
    args = build_parser().parse_args(
        ["pull", "walmart", "order", "--all", "--project", str(project)]
    )
    assert pull_cli.run(args, sink_factory=lambda a: Sink()) == 2
    assert "no channel 'walmart'" in capsys.readouterr().err
    no_connector = build_parser().parse_args(
        ["pull", "helpdesk", "ticket", "--all", "--project", str(project)]
    )
    assert pull_cli.run(no_connector, sink_factory=lambda a: Sink()) == 2
    bad_time = pull_args(project)
    bad_time.since = "yesterday"
    assert pull_cli.run(bad_time, sink_factory=lambda a: Sink()) == 2


def test_pull_connector_failure_is_a_classified_exit(project, monkeypatch, capsys):
    monkeypatch.delenv("SHOPIFY_ACCESS_TOKEN")
    monkeypatch.setattr(pull_cli, "_engine", lambda args: Sink())
    code = main(["pull", "shopify", "order", "--all", "--project", str(project)])
    assert code == 3
    err = capsys.readouterr().err
    assert "SHOPIFY_ACCESS_TOKEN is not set" in err


def test_pull_requires_since_all_or_queue(project, capsys):
    assert main(["pull", "shopify", "order", "--project", str(project)]) == 2
    assert "one of --since, --all or --queue" in capsys.readouterr().err
    with pytest.raises(SystemExit) as info:
        main(["pull", "shopify", "order", "--all", "--since", "2026-01-01"])
    assert info.value.code == 2
    queue = ["--queue", "https://sqs.us-east-1.amazonaws.com/1/q", "--project", str(project)]
    assert main(["pull", "shopify", "order", *queue]) == 2
    assert "--queue is for amazon channels" in capsys.readouterr().err


def test_pull_drains_an_sqs_queue(project, monkeypatch, capsys):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIACLIEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "cli-secret-access-key")
    note = {
        "NotificationType": "ORDER_CHANGE",
        "Payload": {"OrderChangeNotification": {"AmazonOrderId": "903-1"}},
        "NotificationMetadata": {"NotificationId": "note-1"},
    }
    queue = {"rh-1": json.dumps(note), "rh-2": "{not json"}

    def handler(request: httpx2.Request) -> httpx2.Response:
        assert request.headers["authorization"].startswith("AWS4-HMAC-SHA256")
        body = json.loads(request.content)
        if request.headers["x-amz-target"] == "AmazonSQS.ReceiveMessage":
            messages = [
                {"MessageId": rh, "ReceiptHandle": rh, "Body": text} for rh, text in queue.items()
            ]
            return httpx2.Response(200, json={"Messages": messages})
        for entry in body["Entries"]:
            queue.pop(entry["ReceiptHandle"])
        return httpx2.Response(200, json={"Successful": [{"Id": "0"}], "Failed": []})

    sink = Sink()
    args = build_parser().parse_args(
        ["pull", "amazon", "order", "--project", str(project), "--max-pages", "1",
         "--queue", "https://sqs.us-east-1.amazonaws.com/123456789012/sp-api"]
    )  # fmt: skip
    client = httpx2.Client(transport=httpx2.MockTransport(handler))
    code = pull_cli.run(args, sink_factory=lambda a: sink, client=client)
    assert code == 1  # an unreadable message was left in the queue
    assert sink.calls == [("amazon", "order", "note-1")]
    assert list(queue) == ["rh-2"]
    assert "2 messages, 1 deleted, 1 unreadable: 1 processed" in capsys.readouterr().out


def test_serve_builds_one_route_per_connectable_channel(project, monkeypatch):
    monkeypatch.setenv("SHOPIFY_WEBHOOK_SECRET", "us-secret-value")
    monkeypatch.setenv("SHOPIFY_EU_SHOPIFY_WEBHOOK_SECRET", "eu-secret-value")
    captured: dict[str, Any] = {}

    def fake_run(app: Any, **kwargs: Any) -> None:
        captured["app"] = app
        captured["kwargs"] = kwargs

    import uvicorn

    monkeypatch.setattr(uvicorn, "run", fake_run)
    built: dict[str, Any] = {}
    real_build = serve_cli.build_connectors

    def spy(*a: Any, **k: Any):
        built.update(real_build(*a, **k))
        return built

    monkeypatch.setattr(serve_cli, "build_connectors", spy)
    assert main(["serve", "--project", str(project), "--port", "0"]) == 0
    assert captured["kwargs"]["host"] == "127.0.0.1"
    # the zendesk channel has no connector
    assert sorted(built) == ["amazon", "shopify", "shopify-eu"]
    eu = built["shopify-eu"]
    assert isinstance(eu, ShopifyConnector)
    assert eu.pinned_version == "2025-10"
    body = b'{"id": 1}'
    headers = {
        "X-Shopify-Topic": "orders/create",
        "X-Shopify-Webhook-Id": "w1",
        "X-Shopify-Hmac-Sha256": hmac_sha256_base64(b"eu-secret-value", body),
    }
    assert eu.verify_webhook(headers, body).event_id == "w1"
    with pytest.raises(PermissionError):
        built["shopify"].verify_webhook(headers, body)  # the US store has its own secret


def test_serve_unknown_channel_is_a_usage_error(project, capsys):
    assert main(["serve", "--project", str(project), "--channel", "ebay"]) == 2
    assert "no such channel" in capsys.readouterr().err
