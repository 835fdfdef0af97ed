"""The seam where the host sees every upstream call: to count, budget and trace them.

The host calls each registered :class:`OutboundObserver` before and after every attempt (a
retry is a second attempt). A :class:`OutboundCall` names the tenant, the integration, the
upstream host, the method and a path template; never a header, a query string or a body, so
no key or customer email reaches an observer. :class:`CallCounter` is the in-memory one.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import Counter
from dataclasses import dataclass
from typing import Protocol

log = logging.getLogger(__name__)

_WORD = re.compile(r"[a-z_-]{1,32}|v[0-9]{1,3}")  # an endpoint word, or an API version


@dataclass(frozen=True)
class OutboundCall:
    """One attempt at an upstream request. ``tenant_id`` is ``None`` outside a tenant's render
    or action (a settings check)."""

    tenant_id: str | None
    integration: str
    host: str
    method: str
    path: str
    attempt: int = 1


class OutboundObserver(Protocol):
    """Sees every upstream attempt. Must be quick and must not raise (what it raises is logged
    and ignored: an observer never fails a request)."""

    def before(self, call: OutboundCall) -> None: ...

    def after(self, call: OutboundCall, status: int | None, duration: float) -> None:
        """``status`` is ``None`` when no response came (refused, unreachable, timed out);
        ``duration`` is in seconds."""


def path_template(path: str) -> str:
    """``/v1/customers/cus_123/notes`` -> ``/v1/customers/{id}/notes``: ids (anything but a short
    lower-case word) become ``{id}``, so calls group by endpoint and no id or email is kept."""
    segments = path.split("/")
    return "/".join(s if not s or _WORD.fullmatch(s) else "{id}" for s in segments)


def notify_before(observers: tuple[OutboundObserver, ...], call: OutboundCall) -> None:
    for observer in observers:
        try:
            observer.before(call)
        except Exception:
            log.exception("outbound observer %s failed in before()", type(observer).__name__)


def notify_after(
    observers: tuple[OutboundObserver, ...], call: OutboundCall, status: int | None, duration: float
) -> None:
    for observer in observers:
        try:
            observer.after(call, status, duration)
        except Exception:
            log.exception("outbound observer %s failed in after()", type(observer).__name__)


CallKey = tuple[str | None, str, str, str, str]
"""(tenant_id, integration, host, method, path template)."""


class CallCounter:
    """Counts finished attempts per tenant, integration, host, method and path (thread-safe:
    sync hooks call out from worker threads)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.counts: Counter[CallKey] = Counter()
        self.statuses: Counter[int | None] = Counter()

    def before(self, call: OutboundCall) -> None:
        pass

    def after(self, call: OutboundCall, status: int | None, duration: float) -> None:
        with self._lock:
            self.counts[(call.tenant_id, call.integration, call.host, call.method, call.path)] += 1
            self.statuses[status] += 1

    def total(self, *, tenant_id: str | None = None, integration: str | None = None, host: str | None = None) -> int:
        """Attempts matching every filter given."""
        with self._lock:
            return sum(
                n
                for (tenant, name, upstream, _m, _p), n in self.counts.items()
                if (tenant_id is None or tenant == tenant_id)
                and (integration is None or name == integration)
                and (host is None or upstream == host)
            )

    def clear(self) -> None:
        with self._lock:
            self.counts.clear()
            self.statuses.clear()
