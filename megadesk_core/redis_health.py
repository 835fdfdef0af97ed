"""Log a Redis outage once, not once per call.

While Redis is down every panel of every request fails its cache call: a traceback each time
buried the log (hundreds a minute) and said nothing new after the first. :class:`OutageLog`
logs a warning when calls start failing, counts the failures, and logs one info line with the
count and the duration when a call succeeds again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable


class OutageLog:
    """The state of one Redis connection as its callers see it (one event loop, no locking)."""

    def __init__(
        self, logger: logging.Logger, what: str, consequence: str, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._log = logger
        self._what = what
        self._consequence = consequence
        self._clock = clock
        self._failures = 0
        self._since: float | None = None

    @property
    def down(self) -> bool:
        return self._since is not None

    @property
    def failures(self) -> int:
        """Failed calls in the current outage (0 when Redis answers)."""
        return self._failures

    def failed(self, exc: BaseException) -> None:
        self._failures += 1
        if self._since is None:
            self._since = self._clock()
            self._log.warning(
                "Redis (%s) is unavailable: %s; %s until it answers again (logged once per outage)",
                self._what,
                str(exc) or type(exc).__name__,
                self._consequence,
            )

    def succeeded(self) -> None:
        if self._since is None:
            return
        self._log.info(
            "Redis (%s) answers again after %.1f s; %d call(s) failed meanwhile",
            self._what,
            self._clock() - self._since,
            self._failures,
        )
        self._since = None
        self._failures = 0
