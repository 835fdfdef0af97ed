"""The SSRF guard as an httpx transport: check, resolve, check every address, pin.

Before each request (each redirect hop too: every hop comes through here) the URL is checked
(:func:`~megadesk_core.outbound.policy.check_url`), its host name resolved here and every
address checked; the connection then goes to an address that passed, not to a second lookup, so
a name that answers a public address to the check and a private one to the connection (DNS
rebinding) gets nowhere. The Host header, the TLS server name and the certificate check still
use the host name (httpx's ``sni_hostname`` extension).

Connections are pooled per host name, so that a connection whose certificate was checked for
one name never carries a request for another name on the same address.

Environment proxies (``HTTPS_PROXY``) are not used: through a proxy the proxy would pick the
address, and the guard could not pin it.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import ssl

import httpx

from megadesk_core.outbound.addresses import IPAddress, Resolver, address_problem, literal_address, resolve
from megadesk_core.outbound.errors import HostUnresolvedError, OutboundRefusedError
from megadesk_core.outbound.policy import OutboundPolicy, check_url, origin_of

log = logging.getLogger(__name__)

_CONNECT_FAILURES = (httpx.ConnectError, httpx.ConnectTimeout)


@functools.cache
def tls_context() -> ssl.SSLContext:
    # Building a context loads the CA bundle (tens of ms): once per process, not per client.
    return httpx.create_ssl_context()


class PinningTransport(httpx.AsyncBaseTransport):
    """Sends requests only where ``policy`` allows, to the addresses it checked.

    ``network`` replaces what actually sends (tests pass ``httpx.MockTransport``); ``resolver``
    replaces the system's name resolution (tests).
    """

    def __init__(
        self,
        policy: OutboundPolicy,
        *,
        network: httpx.AsyncBaseTransport | None = None,
        resolver: Resolver | None = None,
        resolve_timeout: float = 5.0,
    ) -> None:
        self._policy = policy
        self._network = network
        self._resolve = resolver or resolve
        self._resolve_timeout = resolve_timeout
        self._pools: dict[str, httpx.AsyncBaseTransport] = {}

    def _pool(self, host: str) -> httpx.AsyncBaseTransport:
        if self._network is not None:
            return self._network
        pool = self._pools.get(host)
        if pool is None:
            pool = self._pools[host] = httpx.AsyncHTTPTransport(verify=tls_context(), trust_env=False)
        return pool

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        check_url(request.url, self._policy)
        host = request.url.raw_host.decode("ascii").lower()
        trusted = origin_of(str(request.url)) in self._policy.trusted_origins
        if trusted or self._policy.allow_private_hosts or literal_address(host.rstrip(".")) is not None:
            # Nothing to resolve: the operator allowed it, or the literal address passed the check.
            return await self._pool(host).handle_async_request(request)
        addresses = await self._checked_addresses(request, host)
        pool = self._pool(host)
        for address in addresses[:-1]:
            try:
                return await pool.handle_async_request(_pinned(request, host, address))
            except _CONNECT_FAILURES:
                continue  # nothing was sent: the next address is safe to try
        return await pool.handle_async_request(_pinned(request, host, addresses[-1]))

    async def _checked_addresses(self, request: httpx.Request, host: str) -> list[IPAddress]:
        port = request.url.port or (443 if request.url.scheme == "https" else 80)
        try:
            async with asyncio.timeout(self._resolve_timeout):
                addresses = await self._resolve(host, port)
        except (OSError, TimeoutError) as exc:
            log.warning("outbound: %s does not resolve: %s", host, type(exc).__name__)
            raise HostUnresolvedError(host, request=request) from None
        if not addresses:
            raise HostUnresolvedError(host, request=request)
        for address in addresses:
            reason = address_problem(address)
            if reason is not None:
                raise OutboundRefusedError(
                    f"{host} resolves to {address}, {reason}",
                    kind="resolves",
                    target=origin_of(str(request.url)),
                    address=str(address),
                    request=request,
                )
        return addresses

    async def aclose(self) -> None:
        pools, self._pools = self._pools, {}
        for pool in pools.values():
            await pool.aclose()
        if self._network is not None:
            await self._network.aclose()


def _pinned(request: httpx.Request, host: str, address: IPAddress) -> httpx.Request:
    """A copy of ``request`` sent to ``address``, with the host name kept for Host and TLS.
    A copy, so that a retry of ``request`` is checked and resolved again."""
    return httpx.Request(
        request.method,
        request.url.copy_with(host=str(address)),
        headers=request.headers,
        stream=request.stream,
        extensions={**request.extensions, "sni_hostname": host},
    )
