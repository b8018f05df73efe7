"""Project channels of kind ``amazon`` that the shipped mappings know as ``amazon_2026`` and
``amazon_notifications`` get those connectors in ``accord pull`` and ``accord serve``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import httpx2
import pytest

from accord.cli import build_parser
from accord.cli import pull as pull_cli
from accord.cli import serve as serve_cli
from accord.connectors.amazon import Amazon2026Connector, AmazonConnector
from accord.connectors.registry import resolve_kind

PROJECT = """\
project: demo
store: sqlite:///state.db
channels:
  - name: amazon
    kind: amazon
  - name: amazon_2026
    kind: amazon
  - name: amazon_notifications
    kind: amazon
  - name: amazon-eu
    kind: amazon
    api_version: "2026-01-01"
flows: []
"""


@dataclass(frozen=True)
class Result:
    status: str


class Sink:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str | None]] = []

    def ingest(self, channel, entity, payload, *, event_id=None, received_at=None) -> Result:
        self.calls.append((channel, entity, event_id))
        return Result("processed")


@pytest.mark.parametrize(
    ("name", "kind", "version", "expected"),
    [
        ("amazon", "amazon", None, "amazon"),
        ("amazon_2026", "amazon", None, "amazon_2026"),
        ("amazon_notifications", "amazon", None, "amazon_notifications"),
        ("amazon-eu", "amazon", "2026-01-01", "amazon_2026"),
        ("amazon-eu", "amazon", "v0", "amazon"),
        ("shopify", "amazon", None, "amazon"),  # a name from another family is just a name
        ("amazon_2026", "shopify", None, "shopify"),
        ("hubspot", "hubspot", None, "hubspot"),
        ("helpdesk", "zendesk", None, "zendesk"),  # a kind without a connector stays as it is
    ],
)
def test_resolve_kind(name, kind, version, expected):
    assert resolve_kind(name, kind, version) == expected


def test_serve_builds_the_refined_amazon_connectors():
    kinds = {
        "amazon": "amazon",
        "amazon_2026": "amazon",
        "amazon_notifications": "amazon",
        "amazon-eu": "amazon",
        "hubspot": "hubspot",
        "helpdesk": "zendesk",
    }
    with httpx2.Client() as client:
        built = serve_cli.build_connectors(kinds, client, api_versions={"amazon-eu": "2026-01-01"})
    assert type(built["amazon"]) is AmazonConnector
    assert type(built["amazon_2026"]) is Amazon2026Connector
    assert type(built["amazon_notifications"]) is AmazonConnector
    assert type(built["amazon-eu"]) is Amazon2026Connector
    assert type(built["hubspot"]).__name__ == "HubSpotConnector"
    assert "helpdesk" not in built  # no connector for its kind


def test_pull_of_an_amazon_2026_channel_uses_the_2026_orders_api(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
):
    project = tmp_path / "accord.yaml"
    project.write_text(PROJECT)
    # A channel named after its (refined) kind reads the plain credential names.
    monkeypatch.setenv("AMAZON_LWA_REFRESH_TOKEN", "Atzr|cli-refresh")
    monkeypatch.setenv("AMAZON_LWA_CLIENT_ID", "amzn1.application-oa2-client.cli")
    monkeypatch.setenv("AMAZON_LWA_CLIENT_SECRET", "amzn1.oa2-cs.v1.cli")
    paths: list[str] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        if request.url.host == "api.amazon.com":
            return httpx2.Response(200, json={"access_token": "Atza|cli", "expires_in": 3600})
        paths.append(request.url.path)
        order = {"orderId": "113-1", "lastUpdatedTime": "2026-03-01T10:00:00Z"}
        return httpx2.Response(200, json={"orders": [order], "pagination": {}})

    args = build_parser().parse_args(
        ["pull", "amazon_2026", "order", "--since", "2026-03-01", "--project", str(project)]
    )
    sink = Sink()
    with httpx2.Client(transport=httpx2.MockTransport(handler)) as client:
        code = pull_cli.run(args, sink_factory=lambda a: sink, client=client)
    assert code == 0, capsys.readouterr().err
    assert paths == ["/orders/2026-01-01/orders"]
    assert sink.calls == [("amazon_2026", "order", "amazon_2026:order:113-1:2026-03-01T10:00:00Z")]
