"""Every call to the tenant's customer API, and how its failures map to the host's errors.

One ``httpx.AsyncClient`` per hook call: a panel makes one or two requests, and a client
kept between calls would be tied to the event loop that made it. Redirects are not followed,
so the bearer key only ever goes to ``base_url``.
"""

from __future__ import annotations

import functools
import logging
import ssl
from types import TracebackType
from typing import Any
from urllib.parse import quote, urlsplit

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
from megadesk_lookup.records import CustomerRecord, InvalidResponseError, parse_customer, parse_search, record_id
from megadesk_lookup.settings import LookupOptions, LookupSettings

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
    """The customer API of one tenant. Use as ``async with LookupClient(settings, options) as api``."""

    def __init__(
        self,
        settings: LookupSettings,
        options: LookupOptions | None = None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.host = urlsplit(settings.base_url).netloc
        self._http = httpx.AsyncClient(
            base_url=settings.base_url + "/",
            headers={
                "Authorization": f"Bearer {settings.api_key.get_secret_value()}",
                "Accept": "application/json",
                "User-Agent": USER_AGENT,
            },
            timeout=(options or LookupOptions()).timeout_seconds,
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

    async def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = await self._http.request(method, path, **kwargs)
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
