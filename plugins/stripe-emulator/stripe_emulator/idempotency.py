"""Idempotent-request replay, scoped per API key and kept for 24 hours like Stripe."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from stripe_emulator.errors import idempotency, invalid_request

TTL_SECONDS = 24 * 60 * 60
MAX_KEY_LENGTH = 255
# stripe-python sends a fresh key with every POST, so a long-running demo would otherwise
# keep every response body for a day; the oldest entries go first past this size.
MAX_ENTRIES = 10_000


@dataclass(frozen=True)
class StoredResponse:
    method: str
    path: str
    fingerprint: str
    status: int
    body: bytes
    request_id: str
    stored_at: float


def fingerprint(params: Mapping[str, Any]) -> str:
    return json.dumps(params, sort_keys=True, separators=(",", ":"))


class IdempotencyCache:
    def __init__(self, lock: threading.RLock, clock: Callable[[], float] = time.time) -> None:
        self._lock = lock
        self._clock = clock
        self._entries: dict[tuple[str, str], StoredResponse] = {}

    def reset(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def _expire(self) -> None:
        cutoff = self._clock() - TTL_SECONDS
        for scope in [s for s, e in self._entries.items() if e.stored_at < cutoff]:
            del self._entries[scope]

    def lookup(
        self, api_key: str, key: str, method: str, path: str, params: Mapping[str, Any]
    ) -> StoredResponse | None:
        """The stored response to replay, ``None`` for a fresh key; raises on misuse."""
        if len(key) > MAX_KEY_LENGTH:
            raise invalid_request(f"Idempotency-Key must be at most {MAX_KEY_LENGTH} characters long.")
        with self._lock:
            self._expire()
            stored = self._entries.get((api_key, key))
        if stored is None:
            return None
        if (stored.method, stored.path) != (method, path):
            raise idempotency(
                "Keys for idempotent requests can only be used for the same endpoint they "
                f"were first used for ('{stored.method} {stored.path}' vs '{method} {path}'). "
                f"Try using a key other than '{key}' if you meant to execute a different "
                "request."
            )
        if stored.fingerprint != fingerprint(params):
            raise idempotency(
                "Keys for idempotent requests can only be used with the same parameters they "
                f"were first used with. Try using a key other than '{key}' if you meant to "
                "execute a different request."
            )
        return stored

    def save(
        self,
        api_key: str,
        key: str,
        method: str,
        path: str,
        params: Mapping[str, Any],
        status: int,
        body: bytes,
        request_id: str,
    ) -> None:
        entry = StoredResponse(method, path, fingerprint(params), status, body, request_id, self._clock())
        with self._lock:
            self._entries[(api_key, key)] = entry
            while len(self._entries) > MAX_ENTRIES:
                del self._entries[next(iter(self._entries))]
