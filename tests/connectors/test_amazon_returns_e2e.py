"""``accord pull amazon return`` through the real engine and the shipped return mapping."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx2

from accord.cli import build_parser
from accord.cli import pull as pull_cli
from accord.engine.runtime import Engine

PROJECT = """\
project: returns
store: sqlite:///state.db
channels:
  - {name: amazon, kind: amazon}
flows:
  - name: returns
    from: {channel: amazon, entity: return}
"""


def a_return(n: int) -> dict[str, Any]:
    return {
        "id": f"ret-{n}",
        "merchantSku": "serialyt1",
        "numberOfUnits": 2,
        "returnType": "CUSTOMER",
        "status": "PROCESSED",
        "creationDateTime": "2026-03-01T01:23:33Z",
        "lastUpdatedDateTime": f"2026-03-01T10:{n:02d}:38Z",
        "otpDetails": {"otp": "703669", "validTill": 1612933142},
        "returnMetadata": {"rmaId": f"RMA-{n}", "returnReason": "Missed"},
        "marketplaceChannelDetails": {"customerOrderId": f"107-7727827-85147{n:02d}"},
    }


class Borrowed:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.results: list[Any] = []

    def ingest(self, *args: Any, **kwargs: Any) -> Any:
        result = self.engine.ingest(*args, **kwargs)
        self.results.append(result)
        return result


def test_pull_amazon_returns_into_the_engine(tmp_path: Path, monkeypatch, capsys):
    project = tmp_path / "accord.yaml"
    project.write_text(PROJECT)
    monkeypatch.setenv("AMAZON_LWA_REFRESH_TOKEN", "Atzr|e2e-refresh")
    monkeypatch.setenv("AMAZON_LWA_CLIENT_ID", "amzn1.application-oa2-client.e2e")
    monkeypatch.setenv("AMAZON_LWA_CLIENT_SECRET", "amzn1.oa2-cs.v1.e2e")

    def handler(request: httpx2.Request) -> httpx2.Response:
        if request.url.host == "api.amazon.com":
            return httpx2.Response(200, json={"access_token": "Atza|e2e", "expires_in": 3600})
        assert request.url.path == "/externalFulfillment/2024-09-11/returns"
        if request.url.params.get("nextToken") == "t2":
            return httpx2.Response(200, json={"returns": [a_return(3)]})
        return httpx2.Response(200, json={"returns": [a_return(1), a_return(2)], "nextToken": "t2"})

    args = build_parser().parse_args(
        ["pull", "amazon", "return", "--since", "2026-03-01", "--project", str(project)]
    )
    with (
        Engine.from_project(project) as engine,
        httpx2.Client(transport=httpx2.MockTransport(handler)) as client,
    ):
        sink = Borrowed(engine)
        assert pull_cli.run(args, sink_factory=lambda a: sink, client=client) == 0
        out = capsys.readouterr().out
        assert "3 records in 2 pages: 3 processed; done" in out, out
        record = sink.results[0].record
        assert pull_cli.run(args, sink_factory=lambda a: sink, client=client) == 0
        assert "3 duplicate" in capsys.readouterr().out
    assert record["id"] == "ret-1"
    assert record["status"] == "completed"
    assert record["lines"] == [{"sku": "SERIALYT1", "quantity": 2, "reason_code": "Missed"}]
    assert "otp" not in str(record)
