"""One ``stripe.StripeClient`` per tenant key, built with the pinned API version.

Every Stripe request goes through the host's outbound layer (:mod:`megadesk_core.outbound`):
the client's httpx client is built over a transport from ``context.http``, so the host counts
and traces Stripe calls per tenant, applies its deadline and user agent, and refuses private
addresses. stripe-python keeps its own retries (``max_network_retries``: it knows Stripe's
``Stripe-Should-Retry`` header and adds idempotency keys), so the layer's are off. The
operator's ``api_base`` (the emulator, in demos and tests) is a trusted origin: the operator
configured it, no tenant can change it.

Clients are cached under a hash of the key, the process options and the layer's label (tenant,
deadline); the key itself is never a dict key, a log field or part of a message. An httpx
connection pool belongs to the event loop that opened it, so the cache starts afresh when it is
used from another loop (tests run one loop per test; the app runs one loop).
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import OrderedDict
from dataclasses import dataclass

import httpx
import stripe

from megadesk_core.outbound import IntegrationHTTP, process_http
from megadesk_core.outbound.budget import RequestBudget
from megadesk_stripe.permissions import is_test_key
from megadesk_stripe.settings import StripeOptions

STRIPE_API_VERSION = "2026-10-28.endive"
"""The Stripe API version every request asks for; the tests check it matches stripe-python's."""
LIVE_REQUESTS_PER_SECOND = 80.0
TEST_REQUESTS_PER_SECOND = 20.0
"""Below Stripe's documented limits (100 a second in live mode, 25 in test mode, per account),
so that the account's other users (the tenant's back office, other tools) keep some room.
Operators change them with ``MEGADESK_OUTBOUND_BUDGETS`` (``stripe:live``, ``stripe:test``)."""


def request_budget(api_key: str) -> RequestBudget:
    """The budget of the account behind ``api_key``: live or test, told apart by a short hash
    of the key (never the key)."""
    account = hashlib.sha256(api_key.encode()).hexdigest()[:12]
    if is_test_key(api_key):
        return RequestBudget(name="test", per_second=TEST_REQUESTS_PER_SECOND, account=account)
    return RequestBudget(name="live", per_second=LIVE_REQUESTS_PER_SECOND, account=account)


@dataclass(frozen=True)
class _Entry:
    client: stripe.StripeClient
    http_client: stripe.HTTPXClient


def _fingerprint(api_key: str, options: StripeOptions, http: IntegrationHTTP) -> str:
    material = "\0".join(
        [
            api_key,
            options.api_base or "",
            str(options.max_network_retries),
            str(options.timeout_seconds),
            http.cache_key,
        ]
    )
    return hashlib.sha256(material.encode()).hexdigest()


class HostHTTPXClient(stripe.HTTPXClient):
    """stripe-python's httpx client, sending through the host's outbound layer.

    ``stripe.HTTPXClient`` takes no transport: its own ``httpx.AsyncClient`` (``_client_async``,
    which every async request uses) is replaced with one over ``transport``.
    """

    def __init__(self, transport: httpx.AsyncBaseTransport, timeout: float) -> None:
        super().__init__(timeout=timeout, allow_sync_methods=False)
        self._client_async = httpx.AsyncClient(transport=transport)


def build_client(
    api_key: str, options: StripeOptions, http: IntegrationHTTP | None = None
) -> tuple[stripe.StripeClient, stripe.HTTPXClient]:
    http = http or process_http("stripe")
    trusted = [options.api_base] if options.api_base else []
    transport = http.transport(retries=False, trusted_origins=trusted, budget=request_budget(api_key))
    http_client = HostHTTPXClient(transport, timeout=http.timeout(options.timeout_seconds))
    client = stripe.StripeClient(
        api_key,
        stripe_version=STRIPE_API_VERSION,
        base_addresses={"api": options.api_base} if options.api_base else None,
        max_network_retries=options.max_network_retries,
        http_client=http_client,
    )
    return client, http_client


class ClientCache:
    """Stripe clients by key fingerprint, for the running event loop; the least recently used
    are closed beyond ``max_clients`` (keys an admin only tried out, rotated keys)."""

    def __init__(self, max_clients: int = 256) -> None:
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._max_clients = max_clients
        self._closing: set[asyncio.Task[None]] = set()

    def get(self, api_key: str, options: StripeOptions, http: IntegrationHTTP | None = None) -> stripe.StripeClient:
        """The client for ``api_key``, sending through ``http`` (default: the process's layer,
        without a tenant: a settings check)."""
        http = http or process_http("stripe")
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            # The old clients' connections belong to a loop that is gone or elsewhere.
            self._entries = OrderedDict()
            self._loop = loop
        fingerprint = _fingerprint(api_key, options, http)
        entry = self._entries.get(fingerprint)
        if entry is None:
            entry = _Entry(*build_client(api_key, options, http))
            self._entries[fingerprint] = entry
            while len(self._entries) > self._max_clients:
                _, evicted = self._entries.popitem(last=False)
                task = loop.create_task(_close(evicted))
                self._closing.add(task)
                task.add_done_callback(self._closing.discard)
        else:
            self._entries.move_to_end(fingerprint)
        return entry.client

    def __len__(self) -> int:
        return len(self._entries)

    async def aclose(self) -> None:
        entries, self._entries = self._entries, OrderedDict()
        if self._loop is not asyncio.get_running_loop():
            return
        for entry in entries.values():
            await _close(entry)
        if self._closing:
            await asyncio.gather(*self._closing)


async def _close(entry: _Entry) -> None:
    await entry.http_client.close_async()  # type: ignore[no-untyped-call]  # untyped in stripe-python
