"""The emulator's state: every object, keys, idempotency cache and faults, behind one lock.

Objects are kept as plain JSON-ready dicts in their current API shape. References
between them are ids (``payment_intent.latest_charge == "ch_..."``); expansion swaps in
copies at response time, so the stored graph stays normalised.
"""

from __future__ import annotations

import copy
import itertools
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from stripe_emulator.errors import no_such
from stripe_emulator.faults import Fault, FaultRegistry
from stripe_emulator.idempotency import IdempotencyCache
from stripe_emulator.ids import kind_of
from stripe_emulator.keys import KeyRing
from stripe_emulator.requests_log import RequestLog
from stripe_emulator.webhooks import WebhookEndpoint

JsonDict = dict[str, Any]

# How Stripe names each kind in "No such ..." messages.
_HUMAN_NAMES = {"payment_method": "PaymentMethod"}


class Store:
    def __init__(self, *, latency_ms: int = 0) -> None:
        self.lock = threading.RLock()
        self.keys = KeyRing(self.lock)
        self.idempotency = IdempotencyCache(self.lock)
        self.faults = FaultRegistry(self.lock)
        self.requests = RequestLog(self.lock)
        self.latency_ms = latency_ms
        self._objects: dict[str, JsonDict] = {}
        self._order: dict[str, int] = {}
        self._sequence = itertools.count()
        # Which test card each PaymentMethod was made from; decides declines. Kept off
        # the objects because Stripe's PaymentMethod has no such field.
        self.card_of: dict[str, str] = {}
        self.webhooks = WebhookEndpoint()

    @contextmanager
    def delivering(self) -> Iterator[None]:
        """Send the changes made inside the block as webhook events (when an endpoint is set)."""
        with self.lock:
            before = self.webhooks.snapshot(self._objects)
        try:
            yield
        finally:
            if before is not None:
                with self.lock:
                    events = self.webhooks.events(before, self._objects)
                self.webhooks.deliver(events)

    # -- objects -------------------------------------------------------------------------

    def add(self, obj: JsonDict) -> JsonDict:
        with self.lock:
            self._objects[obj["id"]] = obj
            self._order.setdefault(obj["id"], next(self._sequence))
        return obj

    def replace(self, obj: JsonDict) -> JsonDict:
        """Store ``obj`` under its id, keeping the original creation order."""
        return self.add(obj)

    def get(self, object_id: str) -> JsonDict | None:
        """The live stored object (mutate only while holding :attr:`lock`)."""
        with self.lock:
            return self._objects.get(object_id)

    def require(self, kind: str, object_id: str, param: str = "id") -> JsonDict:
        with self.lock:
            found = self._objects.get(object_id)
        if found is None or found.get("object") != kind or kind_of(object_id) is None:
            raise no_such(_HUMAN_NAMES.get(kind, kind), object_id, param)
        return found

    def require_live(self, kind: str, object_id: str, param: str = "id") -> JsonDict:
        """Like :meth:`require` but a deleted object counts as missing."""
        found = self.require(kind, object_id, param)
        if found.get("deleted"):
            raise no_such(_HUMAN_NAMES.get(kind, kind), object_id, param)
        return found

    def all(self, kind: str) -> list[JsonDict]:
        """Live objects of ``kind``, newest first (ties broken by creation order)."""
        with self.lock:
            found = [o for o in self._objects.values() if o.get("object") == kind and not o.get("deleted")]
            return sorted(found, key=self.sort_key, reverse=True)

    def sort_key(self, obj: Mapping[str, Any]) -> tuple[int, int]:
        return int(obj.get("created") or 0), self._order.get(str(obj["id"]), 0)

    def snapshot(self, object_id: str) -> JsonDict | None:
        """A deep copy of an object, for tests and the Python API."""
        with self.lock:
            found = self._objects.get(object_id)
            return copy.deepcopy(found) if found is not None else None

    def counts(self) -> dict[str, int]:
        with self.lock:
            totals: dict[str, int] = {}
            for obj in self._objects.values():
                kind = str(obj.get("object"))
                if obj.get("deleted"):
                    kind = f"deleted_{kind}"
                totals[kind] = totals.get(kind, 0) + 1
            return dict(sorted(totals.items()))

    # -- housekeeping --------------------------------------------------------------------

    def reset(self) -> None:
        """Forget all objects, restricted keys, idempotent responses, faults and request counts."""
        with self.lock:
            self._objects.clear()
            self._order.clear()
            self.card_of.clear()
            self.keys.reset()
            self.idempotency.reset()
            self.faults.clear()
            self.requests.reset()
            self.webhooks.clear()

    def create_restricted_key(self, permissions: Mapping[str, str]) -> str:
        """A new ``rk_test_`` key; ``permissions`` maps resource -> none|read|write."""
        return self.keys.create_restricted_key(permissions)

    def add_fault(
        self,
        match: str,
        *,
        method: str | None = None,
        status: int | None = None,
        times: int | None = 1,
        delay_ms: int = 0,
        drop: bool = False,
    ) -> Fault:
        return self.faults.add(match, method=method, status=status, times=times, delay_ms=delay_ms, drop=drop)

    def clear_faults(self) -> None:
        self.faults.clear()

    def set_latency(self, latency_ms: int) -> None:
        if latency_ms < 0:
            raise ValueError("latency_ms must not be negative")
        with self.lock:
            self.latency_ms = latency_ms

    def summary(self) -> JsonDict:
        with self.lock:
            return {
                "objects": self.counts(),
                "keys": self.keys.describe(),
                "faults": [f.to_dict() for f in self.faults.list()],
                "latency_ms": self.latency_ms,
                "idempotency_entries": len(self.idempotency),
            }
