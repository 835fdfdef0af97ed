"""Product names, kept per Stripe account key between renders.

A subscription's price names its product by id, and expanding ``data.items.data.price.product``
on a list is deeper than Stripe allows, so a name would cost a request after the subscriptions
arrive: a second round trip on every render. Names rarely change, so they are kept here, filled
when an admin saves the settings (the settings check lists the products) and on first use, when
the list is requested alongside the panel's other reads. A product the kept list lacks (created
since) is shown by its price's nickname for that render and marks the list stale, so the next
render lists the products again alongside its reads: never a request after the others.
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass

NAMES_TTL_SECONDS = 900.0
"""How long a list of names is trusted; a renamed product shows its new name after this."""


def account_of(api_key: str) -> str:
    """The key under which one Stripe key's names are kept (a hash: never the key itself)."""
    return hashlib.sha256(api_key.encode()).hexdigest()


@dataclass(frozen=True)
class _Entry:
    names: Mapping[str, str]
    fetched_at: float
    stale: bool = False


class ProductNames:
    """Product id -> name by account; the least recently used accounts are dropped beyond
    ``max_accounts``."""

    def __init__(
        self,
        ttl_seconds: float = NAMES_TTL_SECONDS,
        max_accounts: int = 1024,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._ttl = ttl_seconds
        self._max_accounts = max_accounts
        self._clock = clock

    def names(self, account: str) -> Mapping[str, str] | None:
        """The kept names, or ``None`` when they must be listed again (never listed, expired,
        or stale because a product was missing)."""
        entry = self._entries.get(account)
        if entry is None or entry.stale or self._clock() - entry.fetched_at > self._ttl:
            return None
        self._entries.move_to_end(account)
        return entry.names

    def store(self, account: str, names: Mapping[str, str]) -> None:
        self._entries[account] = _Entry(dict(names), self._clock())
        self._entries.move_to_end(account)
        while len(self._entries) > self._max_accounts:
            self._entries.popitem(last=False)

    def mark_stale(self, account: str) -> None:
        entry = self._entries.get(account)
        if entry is not None:
            self._entries[account] = _Entry(entry.names, entry.fetched_at, stale=True)

    def clear(self) -> None:
        self._entries.clear()
