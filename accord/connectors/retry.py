"""The retry policy: what to retry, how often, and how long to wait.

The policy follows the :class:`~accord.errors.ErrorClass` of the failure, the same
classification the dead-letter store uses:

* ``transient`` (network trouble, 5xx, a malformed response): retried with exponential
  backoff and jitter;
* ``quota`` (429, or a throttle reported with HTTP 200): retried after the channel's
  ``Retry-After`` (plus a little jitter so many workers do not return at the same instant);
* ``auth``: the connector refreshes its credentials and retries exactly once;
* ``validation`` and ``business_conflict``: never retried.

Randomness comes from an injected :class:`random.Random`, so tests are deterministic:

>>> import random
>>> from accord.errors import TransientError
>>> policy = RetryPolicy(base_delay=1.0, max_delay=8.0, rng=random.Random(7))
>>> [round(policy.delay(TransientError("x"), attempt), 3) for attempt in (1, 2, 3, 4, 5)]
[0.662, 1.151, 3.302, 4.29, 6.144]
>>> policy.should_retry(TransientError("x"), attempt=5)
False
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import parsedate_to_datetime

from accord.errors import ConnectorError, ErrorClass

__all__ = ["RetryPolicy", "Sleep", "parse_retry_after"]

#: A function that waits for the given number of seconds (``time.sleep`` in production).
Sleep = Callable[[float], None]


@dataclass
class RetryPolicy:
    """How a connector retries a failed call.

    ``max_attempts`` counts the first try. ``max_retry_after`` caps how long a quota wait may
    be: a channel asking for a longer pause fails the call instead (the caller dead-letters it
    as ``quota`` and a later run picks it up) rather than parking a worker for an hour.
    """

    max_attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 30.0
    multiplier: float = 2.0
    max_retry_after: float = 120.0
    rng: random.Random = field(default_factory=random.Random)

    def should_retry(self, error: ConnectorError, attempt: int) -> bool:
        """Whether to try again after ``error`` ended try number ``attempt`` (1-based).

        Auth failures are not retried here: the connector refreshes credentials and retries
        once by itself.
        """
        if attempt >= self.max_attempts or not error.error_class.retryable:
            return False
        return not (
            error.error_class is ErrorClass.QUOTA
            and error.retry_after is not None
            and error.retry_after > self.max_retry_after
        )

    def delay(self, error: ConnectorError, attempt: int) -> float:
        """Seconds to wait before try ``attempt + 1``.

        A ``retry_after`` given by the channel is honoured (never shortened); otherwise the
        wait is exponential with "equal jitter": half fixed, half random, so retries spread
        out yet never collapse to zero.
        """
        if error.retry_after is not None:
            return max(error.retry_after, 0.0) + self.rng.uniform(0.0, self.base_delay / 2)
        ceiling = min(self.max_delay, self.base_delay * self.multiplier ** (attempt - 1))
        return ceiling / 2 + self.rng.uniform(0.0, ceiling / 2)


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP date.

    >>> from datetime import datetime, timezone
    >>> now = datetime(2026, 3, 2, 10, 0, tzinfo=timezone.utc)
    >>> parse_retry_after("2.0", now), parse_retry_after("Mon, 02 Mar 2026 10:00:30 GMT", now)
    (2.0, 30.0)
    >>> parse_retry_after("soon", now) is None
    True
    """
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            return None
        return max((when - now).total_seconds(), 0.0)
    if seconds != seconds or seconds in (float("inf"), float("-inf")):  # NaN or infinite
        return None
    return max(seconds, 0.0)
