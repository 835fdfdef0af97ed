"""Every call to the tenant's customer API, and how its failures map to the host's errors.

One ``httpx.AsyncClient`` per hook call: a panel makes one or two requests, and a client
kept between calls would be tied to the event loop that made it. Redirects are not followed,
so the bearer key only ever goes to ``base_url``; and ``base_url`` must be on the internet, not
on the server's own network (:mod:`megadesk_lookup.hosts`): checked before every request, with
the host name resolved here and the request sent to the address that passed the check.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import ssl
from types import TracebackType
from typing import Any
from urllib.parse import quote, urlsplit
from urllib.request import getproxies

import httpx

from megadesk_core.errors import (
    ActionRefusedError,
    AuthenticationFailedError,
    IntegrationError,
    InvalidInputError,
    NotFoundError,
    RateLimitedError,
    UpstreamUnavailableError,
)
from megadesk_lookup import hosts
from megadesk_lookup.records import CustomerRecord, InvalidResponseError, parse_customer, parse_search, record_id
from megadesk_lookup.settings import LookupOptions, LookupSettings, base_url_problem

log = logging.getLogger(__name__)

USER_AGENT = "megadesk-lookup/0.1"
MAX_UPSTREAM_MESSAGE = 200


@functools.cache
def _tls_context() -> ssl.SSLContext:
    # Building a context loads the CA bundle (tens of ms): do it once, not per client.
    return httpx.create_ssl_context()


def _retry_after(response: httpx.Response) -> int:
    try:
        return max(1, int(response.headers.get("retry-after", "5")))
    except ValueError:
        return 5


def _upstream_message(response: httpx.Response) -> str | None:
    """The API's own short explanation of a refusal (``{"message": ...}``), if it sent one."""
    try:
        body = response.json()
    except ValueError:
        return None
    message = body.get("message") if isinstance(body, dict) else None
    if isinstance(message, str) and 0 < len(message) <= MAX_UPSTREAM_MESSAGE:
        return message
    return None


def error_for(response: httpx.Response, host: str) -> IntegrationError:
    """The host error for a response that is not a success."""
    status = response.status_code
    api = f"The customer API at {host}"
    if status in (401, 403):
        return AuthenticationFailedError(
            f"{api} rejected the API key (HTTP {status}). An admin should enter a valid key in the "
            "Customer lookup settings.",
            field="api_key",
        )
    if status == 404:
        return NotFoundError(f"{api} has no such record (HTTP 404).")
    if status == 429:
        return RateLimitedError(
            f"{api} asked us to slow down (HTTP 429). Try again shortly.", retry_after=_retry_after(response)
        )
    if status >= 500:
        return UpstreamUnavailableError(f"{api} failed (HTTP {status}). Try again later.")
    reason = _upstream_message(response)
    detail = f": {reason}" if reason else "."
    if status in (400, 422):
        return InvalidInputError(f"{api} refused the request (HTTP {status}){detail}")
    if status == 409:
        return ActionRefusedError(f"{api} refused the request (HTTP 409){detail}")
    return IntegrationError(
        f"{api} answered with an unexpected HTTP {status}. Check base_url in the Customer lookup settings.",
        code="unexpected_response",
    )


class LookupClient:
    """The customer API of one tenant. Use as ``async with LookupClient(settings, options) as api``.

    ``resolver`` replaces the system's name resolution (tests).
    """

    def __init__(
        self,
        settings: LookupSettings,
        options: LookupOptions | None = None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        resolver: hosts.Resolver | None = None,
    ) -> None:
        self._options = options or LookupOptions()
        self._base_url = settings.base_url
        parts = urlsplit(settings.base_url)
        self.host = parts.netloc
        self._hostname = (parts.hostname or "").lower()
        self._port = parts.port or (443 if parts.scheme == "https" else 80)
        self._resolve = resolver or hosts.resolve
        # httpx uses the environment's proxy (HTTPS_PROXY, ALL_PROXY) unless given a transport.
        # Through a proxy the connection is the proxy's to make: the name is still checked here,
        # but the request cannot be pinned to the checked address (see the README).
        proxies = getproxies()
        self._proxied = transport is None and bool(proxies.get("https") or proxies.get("all"))
        self._http = httpx.AsyncClient(
            base_url=settings.base_url + "/",
            headers={
                "Authorization": f"Bearer {settings.api_key.get_secret_value()}",
                "Accept": "application/json",
                "User-Agent": USER_AGENT,
            },
            timeout=self._options.timeout_seconds,
            follow_redirects=False,
            verify=_tls_context(),
            transport=transport,
        )

    async def __aenter__(self) -> LookupClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._http.aclose()

    def _refused(self, problem: str) -> InvalidInputError:
        log.warning("customer API at %s refused: %s", self.host, problem)
        return InvalidInputError(
            f"{problem}. An admin should change base_url in the Customer lookup settings.", field="base_url"
        )

    async def _addresses(self) -> list[hosts.IPAddress] | None:
        """The checked addresses to send requests to; ``None``: let httpx connect to ``base_url``
        as it is (the operator allows private hosts, or the host is a checked literal address)."""
        problem = base_url_problem(self._base_url, self._options)
        if problem is not None:
            raise self._refused(problem)
        if self._options.allow_private_hosts or hosts.literal_address(self._hostname) is not None:
            return None
        try:
            async with asyncio.timeout(self._options.timeout_seconds):
                addresses = await self._resolve(self._hostname, self._port)
        except (OSError, TimeoutError) as exc:
            log.warning("customer API at %s: the name does not resolve: %s", self.host, type(exc).__name__)
            raise UpstreamUnavailableError(
                f"The customer API at {self.host} cannot be reached (its host name does not resolve). Try again "
                "later; if it persists, an admin should check base_url in the Customer lookup settings."
            ) from exc
        if not addresses:
            raise UpstreamUnavailableError(f"The customer API at {self.host} cannot be reached (no address).")
        for address in addresses:
            reason = hosts.address_problem(address)
            if reason is not None:
                raise self._refused(
                    f"base_url must point to an API on the internet, but {self._hostname} resolves to {address}, "
                    f"{reason}"
                )
        return addresses

    async def _send(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` to the first checked address that accepts a connection; TLS still
        checks the certificate against the host name (``sni_hostname``), and the Host header is
        the name's. Nothing was sent when a connection fails, so trying the next address is safe."""
        addresses = await self._addresses()
        if addresses is None or self._proxied:
            return await self._http.send(request)
        request.extensions["sni_hostname"] = self._hostname
        for address in addresses[:-1]:
            request.url = request.url.copy_with(host=str(address))
            try:
                return await self._http.send(request)
            except (httpx.ConnectError, httpx.ConnectTimeout):
                continue
        request.url = request.url.copy_with(host=str(addresses[-1]))
        return await self._http.send(request)

    async def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        request = self._http.build_request(method, path, **kwargs)
        try:
            response = await self._send(request)
        except httpx.TimeoutException as exc:
            log.warning("customer API at %s timed out: %s %s", self.host, method, path.split("?")[0])
            raise UpstreamUnavailableError(
                f"The customer API at {self.host} did not answer in time. Try again later."
            ) from exc
        except httpx.TransportError as exc:
            log.warning("customer API at %s unreachable: %s", self.host, type(exc).__name__)
            raise UpstreamUnavailableError(
                f"The customer API at {self.host} cannot be reached. Try again later; if it persists, "
                "an admin should check base_url in the Customer lookup settings."
            ) from exc
        if not response.is_success:
            log.info("customer API at %s answered HTTP %s to %s", self.host, response.status_code, method)
            raise error_for(response, self.host)
        try:
            return response.json()
        except ValueError as exc:
            raise InvalidResponseError(
                f"The customer API at {self.host} did not send JSON. Check base_url in the Customer lookup settings."
            ) from exc

    async def find_by_email(self, email: str) -> list[CustomerRecord]:
        return parse_search(await self._request("GET", "customers", params={"email": email}))

    async def get_customer(self, customer_id: str) -> CustomerRecord:
        record = parse_customer(await self._request("GET", f"customers/{quote(customer_id, safe='')}"))
        if record.id != customer_id:
            raise InvalidResponseError(
                f"The customer API at {self.host} answered a request for customer {customer_id} with customer "
                f"{record.id}."
            )
        return record

    async def add_note(self, customer_id: str, text: str, *, idempotency_key: str) -> str | None:
        """Add a note; returns the note's id if the API sent one."""
        body = await self._request(
            "POST",
            f"customers/{quote(customer_id, safe='')}/notes",
            json={"text": text},
            headers={"Idempotency-Key": idempotency_key},
        )
        return record_id(body.get("id")) if isinstance(body, dict) else None
