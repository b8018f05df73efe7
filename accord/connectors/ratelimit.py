"""Client-side rate limiters, fed by what the channel reports about its own limits.

Both limiters answer one question, :meth:`wait_time`: how long to pause before the next call
so the channel does not have to refuse it. Time comes from an injected clock.

* :class:`LeakyBucket` models Shopify: a bucket of ``capacity`` that drains at ``leak_rate``
  per second; the REST header ``X-Shopify-Shop-Api-Call-Limit: 32/40`` and GraphQL's
  ``extensions.cost.throttleStatus`` tell us how full it is.
* :class:`TokenBucket` models Amazon SP-API's per-operation limits: ``rate`` tokens per second
  up to ``burst``; the header ``x-amzn-RateLimit-Limit`` gives the current rate.

>>> from datetime import datetime, timedelta, timezone
>>> from accord.clock import FrozenClock
>>> clock = FrozenClock(datetime(2026, 3, 2, tzinfo=timezone.utc))
>>> bucket = TokenBucket(rate=0.5, burst=1, clock=clock)
>>> bucket.wait_time(), bucket.take(), bucket.wait_time()
(0.0, None, 2.0)
>>> clock.advance(timedelta(seconds=2)); bucket.wait_time()
0.0
"""

from __future__ import annotations

import threading

from accord.clock import Clock

__all__ = ["LeakyBucket", "TokenBucket"]


class LeakyBucket:
    """A leaky bucket whose level the channel reports (Shopify's model).

    ``level`` is how much of ``capacity`` is used; it drains at ``leak_rate`` units per second.
    A call of cost ``cost`` must wait until ``level + cost <= capacity``.
    """

    def __init__(self, *, capacity: float, leak_rate: float, clock: Clock) -> None:
        self.capacity = capacity
        self.leak_rate = leak_rate
        self._clock = clock
        self._level = 0.0
        self._at = clock.now()
        self._lock = threading.Lock()

    def _drained(self) -> float:
        elapsed = max((self._clock.now() - self._at).total_seconds(), 0.0)
        return max(self._level - elapsed * self.leak_rate, 0.0)

    @property
    def level(self) -> float:
        """The current fill, after draining."""
        with self._lock:
            return self._drained()

    def observe(self, level: float, capacity: float | None = None) -> None:
        """Record the level (and capacity) the channel just reported."""
        with self._lock:
            if capacity is not None and capacity > 0:
                self.capacity = capacity
            self._level = max(level, 0.0)
            self._at = self._clock.now()

    def observe_available(self, available: float, maximum: float, restore_rate: float) -> None:
        """Record a GraphQL ``throttleStatus`` (points available out of a maximum)."""
        if restore_rate > 0:
            self.leak_rate = restore_rate
        self.observe(maximum - available, maximum)

    def wait_time(self, cost: float = 1.0) -> float:
        """Seconds to wait until a call of ``cost`` fits in the bucket."""
        with self._lock:
            overflow = self._drained() + min(cost, self.capacity) - self.capacity
        if overflow <= 0 or self.leak_rate <= 0:
            return 0.0
        return overflow / self.leak_rate

    def add(self, cost: float = 1.0) -> None:
        """Account for a call we are about to make (before the channel reports back)."""
        with self._lock:
            self._level = self._drained() + cost
            self._at = self._clock.now()


class TokenBucket:
    """A token bucket refilled at ``rate`` tokens per second up to ``burst`` (Amazon's model)."""

    def __init__(self, *, rate: float, burst: float, clock: Clock) -> None:
        self.rate = rate
        self.burst = max(burst, 1.0)
        self._clock = clock
        self._tokens = self.burst
        self._at = clock.now()
        self._lock = threading.Lock()

    def _refilled(self) -> float:
        elapsed = max((self._clock.now() - self._at).total_seconds(), 0.0)
        return min(self._tokens + elapsed * self.rate, self.burst)

    def wait_time(self) -> float:
        """Seconds until one token is available."""
        with self._lock:
            missing = 1.0 - self._refilled()
        if missing <= 0:
            return 0.0
        if self.rate <= 0:
            return float("inf")
        return missing / self.rate

    def take(self) -> None:
        """Spend one token (may go negative when the caller did not wait)."""
        with self._lock:
            self._tokens = self._refilled() - 1.0
            self._at = self._clock.now()

    def set_rate(self, rate: float) -> None:
        """Adopt the rate the channel just reported (``x-amzn-RateLimit-Limit``)."""
        if rate > 0:
            with self._lock:
                self._tokens = self._refilled()
                self._at = self._clock.now()
                self.rate = rate
