"""``accord serve``: receive channel webhooks and hand them to the engine.

Every project channel whose kind has a connector gets ``POST /webhooks/<channel>``. A delivery
is verified with the channel's signature scheme (401 and nothing processed when it fails),
then ingested by the engine, which deduplicates on the delivery's event id; the response
carries the engine's verdict, or 202 if the engine needs longer than ``--ack-timeout``.

Credentials come from environment variables (``SHOPIFY_WEBHOOK_SECRET``, ...); a channel
named differently from its kind reads them under a prefix (``shopify-eu`` ->
``SHOPIFY_EU_SHOPIFY_WEBHOOK_SECRET``). See docs/connectors.md.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import httpx2

from accord.cli import EXIT_OK, EXIT_USAGE
from accord.connectors.base import Connector
from accord.connectors.registry import CONNECTORS, connector_for, env_prefix, resolve_kind
from accord.connectors.secrets import EnvSecrets
from accord.connectors.sink import EventSink

__all__ = ["build_connectors", "register", "run"]

EXAMPLES = """\
examples:
  accord serve --project accord.yaml --port 8080
  accord serve --project accord.yaml --channel shopify --store postgresql://db/accord
"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="receive channel webhooks and hand them to the engine",
        description=__doc__.split("\n\n")[0].replace("``", "") if __doc__ else None,
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--project", type=Path, default=Path("accord.yaml"), help="accord.yaml")
    parser.add_argument("--store", help="store URL (default: the project's store)")
    parser.add_argument("--host", default="127.0.0.1", help="default: 127.0.0.1")
    parser.add_argument("--port", type=int, default=8080, help="default: 8080")
    parser.add_argument(
        "--channel", action="append", default=[], metavar="NAME", help="only these channels"
    )
    parser.add_argument(
        "--ack-timeout",
        type=float,
        default=4.0,
        metavar="SECONDS",
        help="answer 202 if the engine takes longer (default: 4)",
    )
    parser.set_defaults(func=run)


def build_connectors(
    channels: Mapping[str, str],
    client: httpx2.Client,
    *,
    api_versions: Mapping[str, str | None] | None = None,
) -> dict[str, Connector]:
    """Connectors for ``channels`` (project name -> kind); kinds without one are skipped."""
    out: dict[str, Connector] = {}
    for name, declared in channels.items():
        version = (api_versions or {}).get(name)
        # ``amazon_notifications`` / ``amazon_2026`` are channels of kind ``amazon``
        kind = resolve_kind(name, declared, version)
        if kind not in CONNECTORS:
            continue
        out[name] = connector_for(
            kind,
            client,
            api_version=version,
            secrets=EnvSecrets(prefix=env_prefix(name, kind)),
        )
    return out


def _project_channels(args: argparse.Namespace) -> tuple[dict[str, str], dict[str, str | None]]:
    from accord.engine.runtime import load_project

    project = load_project(args.project)
    chosen = {
        name: ch
        for name, ch in project.channels.items()
        if not args.channel or name in args.channel
    }
    return (
        {name: ch.kind for name, ch in chosen.items()},
        {name: ch.api_version for name, ch in chosen.items()},
    )


def _engine_factory(args: argparse.Namespace) -> Callable[[], EventSink]:
    def make() -> EventSink:
        from accord.engine.runtime import Engine

        engine: EventSink = Engine.from_project(args.project, store_url=args.store)
        return engine

    return make


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from accord.connectors.server import create_app

    kinds, versions = _project_channels(args)
    unknown = sorted(set(args.channel) - set(kinds))
    if unknown:
        print(
            f"accord serve: no such channel in the project: {', '.join(unknown)}", file=sys.stderr
        )
        return EXIT_USAGE
    client = httpx2.Client(timeout=30.0)
    connectors = build_connectors(kinds, client, api_versions=versions)
    if not connectors:
        print("accord serve: the project has no channel with a webhook connector", file=sys.stderr)
        return EXIT_USAGE
    app = create_app(connectors, _engine_factory(args), ack_timeout=args.ack_timeout)
    for name in connectors:
        print(f"accord serve: POST http://{args.host}:{args.port}/webhooks/{name}", file=sys.stderr)
    config: dict[str, Any] = {"host": args.host, "port": args.port, "log_level": "info"}
    try:
        uvicorn.run(app, ws="none", **config)
    finally:
        client.close()
    return EXIT_OK
