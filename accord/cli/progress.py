"""A progress bar on stderr for long runs (replay, diff, test over many files).

It draws only when stderr is a terminal and ``NO_COLOR`` is not set, so logs, pipes and CI
output stay clean; redraws are throttled (at most ten a second) so a fast loop does not spend
its time printing.

>>> import io
>>> with Progress(total=3, label="replay", stream=io.StringIO()) as bar:
...     bar.advance()
>>> bar.enabled, bar.done
(False, 1)
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import TextIO

__all__ = ["Progress", "progress_enabled"]


def progress_enabled(stream: TextIO, env: Mapping[str, str] | None = None) -> bool:
    """Whether a bar may be drawn on ``stream``: a TTY, and ``NO_COLOR`` unset.

    >>> import io
    >>> progress_enabled(io.StringIO(), {})
    False
    """
    env = os.environ if env is None else env
    if "NO_COLOR" in env:
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


class Progress:
    """Count work done; draw ``label [#####-----] 50/100 1234/s`` when enabled.

    ``total=None`` (a stream of unknown length) draws a count and a rate only.
    """

    WIDTH = 28

    def __init__(
        self,
        total: int | None,
        label: str = "",
        *,
        stream: TextIO | None = None,
        enabled: bool | None = None,
        clock: Callable[[], float] = time.monotonic,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.total = total
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = progress_enabled(self.stream, env) if enabled is None else enabled
        self.done = 0
        self._clock = clock
        self._started = clock()
        self._last_draw = float("-inf")
        self._drawn = False

    def advance(self, n: int = 1) -> None:
        """Record ``n`` more items done; redraw if enough time has passed."""
        self.done += n
        if not self.enabled:
            return
        now = self._clock()
        if now - self._last_draw >= 0.1 or (self.total is not None and self.done >= self.total):
            self._last_draw = now
            self.draw(now)

    def line(self, now: float | None = None) -> str:
        """The bar's text (without the carriage return)."""
        now = self._clock() if now is None else now
        elapsed = max(now - self._started, 1e-9)
        rate = f"{self.done / elapsed:,.0f}/s"
        head = f"{self.label} " if self.label else ""
        if self.total:
            filled = min(self.WIDTH, self.WIDTH * self.done // self.total)
            bar = "#" * filled + "-" * (self.WIDTH - filled)
            return f"{head}[{bar}] {self.done}/{self.total} {rate}"
        return f"{head}{self.done} {rate}"

    def draw(self, now: float | None = None) -> None:
        self.stream.write("\r" + self.line(now) + "\x1b[K")
        self.stream.flush()
        self._drawn = True

    def close(self) -> None:
        """Erase the bar so the next output starts on a clean line."""
        if self.enabled and self._drawn:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self._drawn = False

    def __enter__(self) -> Progress:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
