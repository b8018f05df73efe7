"""A cached OAuth access token with an expiry, shared by the connectors that exchange a
long-lived credential for short-lived tokens (Amazon LWA, eBay).

The token is treated as expired ``skew`` seconds early, so a request never leaves with a
token that dies in flight; a 401/403 still clears it (the channel may revoke early).

>>> from datetime import datetime, timedelta, timezone
>>> from accord.clock import FrozenClock
>>> clock = FrozenClock(datetime(2026, 3, 2, tzinfo=timezone.utc))
>>> cache = TokenCache(clock, skew=60)
>>> cache.store("Atza|token-1", expires_in=3600)
>>> cache.get()
'Atza|token-1'
>>> clock.advance(timedelta(seconds=3541)); cache.get() is None
True
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

from accord.clock import Clock

__all__ = ["TokenCache"]


class TokenCache:
    """One access token and the moment it stops being usable."""

    def __init__(self, clock: Clock, *, skew: float = 60.0) -> None:
        self._clock = clock
        self._skew = timedelta(seconds=skew)
        self._value: str | None = None
        self._expires_at: datetime | None = None
        self._lock = threading.Lock()

    def get(self) -> str | None:
        """The token, or ``None`` when there is none or it expires within the skew."""
        with self._lock:
            if self._value is None or self._expires_at is None:
                return None
            if self._clock.now() >= self._expires_at - self._skew:
                return None
            return self._value

    def store(self, value: str, *, expires_in: float) -> None:
        """Keep ``value`` for ``expires_in`` seconds from now."""
        with self._lock:
            self._value = value
            self._expires_at = self._clock.now() + timedelta(seconds=max(expires_in, 0.0))

    def clear(self) -> None:
        """Forget the token (after the channel refused it)."""
        with self._lock:
            self._value = None
            self._expires_at = None

    @property
    def expires_at(self) -> datetime | None:
        """When the cached token expires (``None`` when there is none)."""
        return self._expires_at

    def __repr__(self) -> str:
        return f"TokenCache(expires_at={self._expires_at!r})"
