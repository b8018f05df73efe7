"""Fixtures for connector tests: a frozen clock, a sleep that only advances it, mock HTTP."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import httpx2
import pytest

from accord.clock import FrozenClock
from accord.connectors.retry import RetryPolicy

Handler = Callable[[httpx2.Request], httpx2.Response]


class Sleeper:
    """Records every requested pause and advances the frozen clock instead of waiting."""

    def __init__(self, clock: FrozenClock) -> None:
        self.clock = clock
        self.pauses: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.pauses.append(seconds)
        self.clock.advance(timedelta(seconds=seconds))


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime(2026, 3, 2, 10, 0, tzinfo=UTC))


@pytest.fixture
def sleeper(clock: FrozenClock) -> Sleeper:
    return Sleeper(clock)


@pytest.fixture
def policy() -> RetryPolicy:
    return RetryPolicy(max_attempts=4, base_delay=0.5, max_delay=8.0, rng=random.Random(1234))


@pytest.fixture
def mock_client() -> Iterator[Callable[[Handler], httpx2.Client]]:
    clients: list[httpx2.Client] = []

    def make(handler: Handler) -> httpx2.Client:
        client = httpx2.Client(transport=httpx2.MockTransport(handler))
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()
