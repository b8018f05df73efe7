"""``accord serve``: an ASGI webhook receiver (starlette).

``POST /webhooks/{channel}`` verifies the delivery with that channel's connector, then hands
the event to the engine through a :class:`~accord.connectors.sink.SinkWorker`:

* a bad or missing signature answers **401** and nothing reaches the engine;
* a channel's liveness ping (WooCommerce's ``webhook_id=N`` when a webhook is created) answers
  **200** ``{"status": "ping"}`` and nothing reaches the engine;
* a body the connector cannot read answers **400**; an unknown channel **404**;
* the event is completed into the shape the channel's shipped inbound spec takes
  (:meth:`~accord.connectors.base.Connector.for_engine`: a TikTok order fetched by the id
  its notification names, a Shopify stock level joined with its inventory item); an event no
  shipped spec maps is answered **200** ``{"status": "ignored"}`` and not handed over; a
  channel that cannot be asked for the rest (transient, quota, auth) gives **503**;
* otherwise the engine's verdict comes back as **200** ``{"status": "processed" | "duplicate"
  | ...}``. The engine deduplicates on the event id, so a channel's redelivery is answered
  ``duplicate`` and processed once;
* if the engine has not answered within ``ack_timeout`` seconds the delivery is acknowledged
  with **202** ``accepted`` and finishes in the background: channels give up (and retry) after
  a few seconds, and a slow database should not turn into a redelivery storm;
* if the engine fails (its store is down), **503**, so the channel delivers again later.

``GET /webhooks/{channel}?challenge_code=...`` answers an endpoint-ownership challenge (eBay).
``GET /healthz`` answers ``ok``.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import queue
from collections.abc import AsyncIterator, Callable, Mapping

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from accord.clock import Clock, SystemClock
from accord.errors import AccordError, AuthError, ErrorClass

from .backfill import IGNORED
from .base import Connector
from .sink import EventSink, IngestResult, SinkWorker

__all__ = ["create_app"]

log = logging.getLogger("accord.connectors.server")

#: Larger bodies are refused (413): no channel sends webhooks anywhere near this size.
MAX_BODY = 5 * 1024 * 1024


def _finished(
    channel: str, event_id: str, pending: set[asyncio.Future[IngestResult | None]]
) -> Callable[[asyncio.Future[IngestResult | None]], None]:
    def done(task: asyncio.Future[IngestResult | None]) -> None:
        pending.discard(task)
        if not task.cancelled() and task.exception() is not None:
            # Already answered to the channel (or answered 202 and finished late): logged
            # here so a late failure is never silent.
            log.debug("%s webhook %s failed: %r", channel, event_id, task.exception())

    return done


def create_app(
    connectors: Mapping[str, Connector],
    sink: EventSink | Callable[[], EventSink],
    *,
    clock: Clock | None = None,
    ack_timeout: float = 4.0,
    max_body: int = MAX_BODY,
    max_backlog: int = 10_000,
) -> Starlette:
    """Build the webhook app for ``connectors`` (keyed by the project's channel names, which
    are also the URL segment and the channel the engine is told) feeding ``sink``.

    ``sink`` may be a factory; it is then called once, on the worker thread, at startup.
    """
    clock = clock or SystemClock()
    worker = SinkWorker(sink, maxsize=max_backlog)
    pending: set[asyncio.Future[IngestResult | None]] = set()  # kept alive until done

    async def receive(request: Request) -> Response:
        channel = request.path_params["channel"]
        connector = connectors.get(channel)
        if connector is None:
            return JSONResponse({"error": "CONN014", "message": "unknown channel"}, 404)
        declared = request.headers.get("content-length", "0")
        if declared.isascii() and declared.isdigit() and int(declared) > max_body:
            return JSONResponse({"error": "CONN012", "message": "body too large"}, 413)
        body = await request.body()
        if len(body) > max_body:
            return JSONResponse({"error": "CONN012", "message": "body too large"}, 413)
        received_at = clock.now()
        if connector.webhook_ping(request.headers, body):
            # WooCommerce saves a webhook only if its (unsigned) ping is answered 200; it is
            # not an event, so nothing reaches the engine.
            log.info("%s: webhook ping acknowledged", channel)
            return JSONResponse({"status": "ping"}, 200)
        try:
            # In a thread: a verifier may fetch a public key (eBay) or call a vault.
            event = await run_in_threadpool(connector.verify_webhook, request.headers, body)
        except AuthError as exc:
            log.warning("%s webhook refused: %s", channel, exc.code)
            return JSONResponse({"error": exc.code, "message": "signature invalid"}, 401)
        except AccordError as exc:
            return JSONResponse({"error": exc.code, "message": str(exc)}, 400)
        if event.channel != channel:
            # The project's name for the channel (``shopify-eu``), not the connector's kind.
            event = dataclasses.replace(event, channel=channel)
        # Set once the delivery is answered 202: from then on nothing may be lost, since the
        # channel will not deliver it again.
        acked = False

        async def process() -> IngestResult | None:
            try:
                # In a thread: completing may call the channel (a TikTok order by id).
                completed = await run_in_threadpool(
                    connector.for_engine, event.entity, event.payload, topic=event.topic
                )
            except AccordError as exc:
                if not acked:
                    raise
                log.warning("%s webhook %s not completed after it was acknowledged (%s); "
                            "handed over as received", channel, event.event_id,
                            exc.code)  # fmt: skip
                completed = (event.entity, dict(event.payload))
            if completed is None:
                log.info("%s webhook %s (%s): no shipped mapping takes it; ignored", channel,
                         event.event_id, event.topic)  # fmt: skip
                return None
            ready = dataclasses.replace(event, entity=completed[0], payload=completed[1])
            return await asyncio.wrap_future(worker.submit(ready, received_at))

        task = asyncio.ensure_future(process())
        pending.add(task)
        task.add_done_callback(_finished(channel, event.event_id, pending))
        try:
            # shield: on timeout the wait is abandoned, never the event itself
            result = await asyncio.wait_for(asyncio.shield(task), ack_timeout)
        except TimeoutError:
            acked = True
            return JSONResponse({"status": "accepted", "event_id": event.event_id}, 202)
        except queue.Full:
            log.warning("%s webhook %s: the engine is %d events behind", channel,
                        event.event_id, max_backlog)  # fmt: skip
            return JSONResponse(
                {"error": "busy", "event_id": event.event_id}, 503, headers={"Retry-After": "30"}
            )
        except AccordError as exc:
            status = 500
            if exc.error_class in (ErrorClass.TRANSIENT, ErrorClass.QUOTA, ErrorClass.AUTH):
                # The store is down, or the channel could not be asked for the rest of the
                # event: the channel delivers it again later.
                status = 503
            return JSONResponse({"error": exc.code, "event_id": event.event_id}, status)
        except Exception:
            log.exception("%s webhook %s: the engine failed", channel, event.event_id)
            return JSONResponse({"error": "internal", "event_id": event.event_id}, 500)
        if result is None:
            return JSONResponse({"status": IGNORED, "event_id": event.event_id}, 200)
        return JSONResponse({"status": str(result.status), "event_id": event.event_id}, 200)

    async def challenge(request: Request) -> Response:
        connector = connectors.get(request.path_params["channel"])
        if connector is None:
            return JSONResponse({"error": "CONN014", "message": "unknown channel"}, 404)
        try:
            answer = await run_in_threadpool(
                connector.webhook_challenge, dict(request.query_params)
            )
        except AccordError as exc:
            return JSONResponse({"error": exc.code}, 400)
        if answer is None:
            return JSONResponse({"error": "CONN014", "message": "no challenge"}, 404)
        return JSONResponse(answer, 200)

    async def healthz(request: Request) -> Response:
        return PlainTextResponse("ok")

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await asyncio.to_thread(worker.start)
        try:
            yield
        finally:
            await asyncio.to_thread(worker.stop)

    return Starlette(
        routes=[
            Route("/webhooks/{channel}", receive, methods=["POST"]),
            Route("/webhooks/{channel}", challenge, methods=["GET"]),
            Route("/healthz", healthz, methods=["GET"]),
        ],
        lifespan=lifespan,
    )
