"""Injected latency and failures, for exercising a client's error and retry handling."""

from __future__ import annotations

import fnmatch
import itertools
import threading
from dataclasses import asdict, dataclass
from typing import Any


@dataclass
class Fault:
    """One injected behaviour.

    ``match`` is a path prefix (``/v1/refunds``) or, if it contains ``*``, a glob
    (``/v1/customers/*``). ``times`` counts the requests it still affects (``None``: until
    cleared). ``status`` answers with a Stripe-shaped error of that HTTP status;
    ``drop`` closes the connection instead of answering; ``delay_ms`` waits first (on its
    own it only slows the request down).
    """

    match: str
    method: str | None = None
    status: int | None = None
    times: int | None = 1
    delay_ms: int = 0
    drop: bool = False
    id: str = ""

    def applies_to(self, method: str, path: str) -> bool:
        if self.method is not None and self.method.upper() != method.upper():
            return False
        if "*" in self.match:
            return fnmatch.fnmatchcase(path, self.match)
        # A prefix matches whole path segments: /v1/refunds covers /v1/refunds/re_1 but
        # not /v1/refunds_report.
        base = self.match.rstrip("/")
        return path == base or path.startswith(base + "/")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class FaultRegistry:
    def __init__(self, lock: threading.RLock) -> None:
        self._lock = lock
        self._faults: list[Fault] = []
        self._ids = itertools.count(1)

    def add(
        self,
        match: str,
        *,
        method: str | None = None,
        status: int | None = None,
        times: int | None = 1,
        delay_ms: int = 0,
        drop: bool = False,
    ) -> Fault:
        if status is not None and not 400 <= status <= 599:
            raise ValueError("status must be an HTTP error status (400-599)")
        if times is not None and times < 1:
            raise ValueError("times must be at least 1 (or null for unlimited)")
        if delay_ms < 0:
            raise ValueError("delay_ms must not be negative")
        if not match.startswith("/"):
            raise ValueError("match must be a path such as /v1/refunds")
        fault = Fault(match, method, status, times, delay_ms, drop, f"fault_{next(self._ids)}")
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def list(self) -> list[Fault]:
        with self._lock:
            return list(self._faults)

    def take(self, method: str, path: str) -> Fault | None:
        """The first fault for this request, using up one of its ``times``."""
        with self._lock:
            for fault in self._faults:
                if fault.applies_to(method, path):
                    if fault.times is not None:
                        fault.times -= 1
                        if fault.times == 0:
                            self._faults.remove(fault)
                    return fault
        return None
