"""When a failed request is sent again, and after how long.

Only a request that is safe to repeat is retried: GET, HEAD, OPTIONS, or any request carrying
an ``Idempotency-Key`` header (the upstream then returns the first result instead of acting
twice). Only failures that say "try again": a connection that could not be made, 502/503/504,
and 429 when its ``Retry-After`` is short. Backoff is small and bounded; the caller also stops
when the host's deadline would pass.
"""

from __future__ import annotations

import email.utils
import random
import time

import httpx

from megadesk_core.outbound.errors import HostUnresolvedError, OutboundRefusedError

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
RETRIED_STATUSES = frozenset({502, 503, 504})
BASE_DELAY_SECONDS = 0.1
MAX_DELAY_SECONDS = 1.0
MAX_RETRY_AFTER_SECONDS = 2.0
"""A 429 asking for a longer wait is returned as it is: the plugin reports it as rate limited."""

_RETRIED_ERRORS = (httpx.ConnectError, httpx.ConnectTimeout, httpx.RemoteProtocolError)


def is_idempotent(request: httpx.Request) -> bool:
    return request.method.upper() in IDEMPOTENT_METHODS or "idempotency-key" in request.headers


def can_resend(request: httpx.Request) -> bool:
    """Whether the body can be sent a second time (bytes can; a one-shot stream cannot)."""
    return isinstance(request.stream, httpx.ByteStream)


def backoff(attempt: int) -> float:
    """Seconds before retry number ``attempt`` (1, 2, ...): exponential, jittered, capped."""
    return min(MAX_DELAY_SECONDS, BASE_DELAY_SECONDS * 2.0 ** (attempt - 1)) * random.uniform(0.5, 1.0)  # noqa: S311  # jitter, not a secret


def retry_after(response: httpx.Response) -> float | None:
    """``Retry-After`` in seconds (a number or an HTTP date), or ``None`` if absent or unreadable."""
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def delay_for_response(response: httpx.Response, attempt: int) -> float | None:
    """How long to wait before retrying after ``response``, or ``None`` not to retry."""
    if response.status_code == 429:
        wait = retry_after(response)
        return wait if wait is not None and wait <= MAX_RETRY_AFTER_SECONDS else None
    if response.status_code in RETRIED_STATUSES:
        wait = retry_after(response)
        if wait is not None:
            return wait if wait <= MAX_RETRY_AFTER_SECONDS else None
        return backoff(attempt)
    return None


def delay_for_error(error: Exception, attempt: int) -> float | None:
    """How long to wait before retrying after ``error``, or ``None`` not to retry. A refusal or
    a name that does not resolve will not change in a second."""
    if isinstance(error, (OutboundRefusedError, HostUnresolvedError)):
        return None
    return backoff(attempt) if isinstance(error, _RETRIED_ERRORS) else None
