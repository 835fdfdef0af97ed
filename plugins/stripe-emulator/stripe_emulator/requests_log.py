"""A count of the API requests the emulator answered, for benchmarks and tests that budget
upstream calls ("a cold panel costs at most 4 Stripe requests")."""

from __future__ import annotations

import re
import threading
from collections import Counter

# Object ids in paths are folded so that counts group by endpoint: /v1/customers/{id}.
_OBJECT_ID = re.compile(r"/[a-z]{2,6}_[A-Za-z0-9]+")


def endpoint_of(method: str, path: str) -> str:
    """``GET /v1/customers/{id}`` for ``GET /v1/customers/cus_123``."""
    return f"{method.upper()} {_OBJECT_ID.sub('/{id}', path)}"


class RequestLog:
    """Requests to ``/v1`` by endpoint, since the last reset (control requests not counted)."""

    def __init__(self, lock: threading.RLock) -> None:
        self._lock = lock
        self._counts: Counter[str] = Counter()

    def record(self, method: str, path: str) -> None:
        with self._lock:
            self._counts[endpoint_of(method, path)] += 1

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()

    @property
    def total(self) -> int:
        with self._lock:
            return sum(self._counts.values())

    def by_endpoint(self) -> dict[str, int]:
        with self._lock:
            return dict(sorted(self._counts.items()))
