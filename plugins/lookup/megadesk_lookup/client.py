"""Every call to the tenant's customer API, and how its failures map to the host's errors.

One client per hook call, from the host's outbound layer (``context.http``,
:mod:`megadesk_core.outbound`): the layer refuses a ``base_url`` on the server's own network,
resolves the host name and connects to the address it checked, applies the host's deadline,
user agent and retries, and counts the calls. What stays here is the lookup API itself: the
bearer key, the paths, and turning each failure into a message naming the setting to change.
Redirects are not followed, so the bearer key only ever goes to ``base_url``.
"""

from __future__ import annotations

import logging
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
from megadesk_core.outbound import HostUnresolvedError, IntegrationHTTP, OutboundRefusedError, Resolver, process_http
from megadesk_lookup.records import CustomerRecord, InvalidResponseError, parse_customer, parse_search, record_id
from megadesk_lookup.settings import LookupOptions, LookupSettings, refusal_message

log = logging.getLogger(__name__)

MAX_UPSTREAM_MESSAGE = 200


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
    """The customer API of one tenant. Use as ``async with LookupClient(settings, options, http=context.http) as api``.

    ``http`` is the host's outbound layer (default: the process's, for ``check_settings``);
    ``transport`` and ``resolver`` replace the network and the name resolution (tests).
    """

    def __init__(
        self,
        settings: LookupSettings,
        options: LookupOptions | None = None,
        *,
        http: IntegrationHTTP | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        resolver: Resolver | None = None,
    ) -> None:
        self._options = options or LookupOptions()
        self.host = urlsplit(settings.base_url).netloc
        self._refusal: OutboundRefusedError | None = None
        self._http: httpx.AsyncClient | None = None
        try:
            self._http = (http or process_http("lookup")).client(
                base_url=settings.base_url + "/",
                headers={
                    "Authorization": f"Bearer {settings.api_key.get_secret_value()}",
                    "Accept": "application/json",
                },
                timeout=self._options.timeout_seconds,
                # The operator's option, for this integration only (tests run a fake API on 127.0.0.1).
                allow_private_hosts=self._options.allow_private_hosts,
                network=transport,
                resolver=resolver,
            )
        except OutboundRefusedError as refusal:
            self._refusal = refusal  # reported by the first request, like any refusal

    async def __aenter__(self) -> LookupClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._http is not None:
            await self._http.aclose()

    def _refused(self, refusal: OutboundRefusedError) -> InvalidInputError:
        log.warning("customer API at %s refused: %s", self.host, refusal.problem)
        return InvalidInputError(
            f"{refusal_message(refusal)}. An admin should change base_url in the Customer lookup settings.",
            field="base_url",
        )

    async def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        if self._http is None:
            assert self._refusal is not None
            raise self._refused(self._refusal)
        try:
            response = await self._http.request(method, path, **kwargs)
        except OutboundRefusedError as refusal:
            raise self._refused(refusal) from None
        except HostUnresolvedError as exc:
            raise UpstreamUnavailableError(
                f"The customer API at {self.host} cannot be reached (its host name does not resolve). Try again "
                "later; if it persists, an admin should check base_url in the Customer lookup settings."
            ) from exc
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
