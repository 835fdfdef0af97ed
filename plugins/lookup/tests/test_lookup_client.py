"""The HTTP client alone, against httpx.MockTransport: every failure maps to a host error."""

from __future__ import annotations

import ipaddress

import httpx
import pytest
from megadesk_lookup.client import LookupClient
from megadesk_lookup.records import InvalidResponseError
from megadesk_lookup.settings import LookupSettings

from megadesk_core.errors import (
    ActionRefusedError,
    AuthenticationFailedError,
    IntegrationError,
    InvalidInputError,
    NotFoundError,
    RateLimitedError,
    UpstreamUnavailableError,
)
from megadesk_core.outbound import IPAddress

SETTINGS = LookupSettings(base_url="https://crm.example.com/api", api_key="secret-key-1")
PUBLIC = ipaddress.ip_address("93.184.215.14")


async def public_dns(host: str, port: int) -> list[IPAddress]:
    return [PUBLIC]


def client_answering(response: httpx.Response | Exception, seen: list[httpx.Request] | None = None) -> LookupClient:
    def handle(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(request)
        if isinstance(response, Exception):
            raise response
        return response

    return LookupClient(SETTINGS, transport=httpx.MockTransport(handle), resolver=public_dns)


@pytest.mark.parametrize(
    ("response", "error", "code"),
    [
        (httpx.Response(401), AuthenticationFailedError, "authentication_failed"),
        (httpx.Response(403), AuthenticationFailedError, "authentication_failed"),
        (httpx.Response(404), NotFoundError, "not_found"),
        (httpx.Response(429, headers={"Retry-After": "12"}), RateLimitedError, "rate_limited"),
        (httpx.Response(500), UpstreamUnavailableError, "upstream_unavailable"),
        (httpx.Response(502), UpstreamUnavailableError, "upstream_unavailable"),
        (httpx.Response(422, json={"message": "text too long"}), InvalidInputError, "invalid_input"),
        (httpx.Response(409, json={"message": "locked"}), ActionRefusedError, "action_refused"),
        (
            httpx.Response(302, headers={"Location": "https://elsewhere.example/"}),
            IntegrationError,
            "unexpected_response",
        ),
        (httpx.Response(200, text="<html>login</html>"), InvalidResponseError, "invalid_response"),
        (httpx.Response(200, json={"id": "other"}), InvalidResponseError, "invalid_response"),
        (httpx.ConnectError("refused"), UpstreamUnavailableError, "upstream_unavailable"),
        (httpx.ReadTimeout("slow"), UpstreamUnavailableError, "upstream_unavailable"),
    ],
)
async def test_failures_map_to_the_hosts_errors(
    response: httpx.Response | Exception, error: type[IntegrationError], code: str
) -> None:
    async with client_answering(response) as api:
        with pytest.raises(error) as info:
            await api.get_customer("cus_1")
    assert info.value.code == code
    assert "secret-key-1" not in info.value.message
    assert info.value.message.startswith("The customer API at crm.example.com")


async def test_retry_after_and_upstream_reasons_are_kept() -> None:
    async with client_answering(httpx.Response(429, headers={"Retry-After": "12"})) as api:
        with pytest.raises(RateLimitedError) as info:
            await api.find_by_email("a@example.com")
    assert info.value.retry_after == 12
    async with client_answering(httpx.Response(422, json={"message": "text too long"})) as api:
        with pytest.raises(InvalidInputError, match=r"HTTP 422\): text too long$"):
            await api.add_note("cus_1", "x", idempotency_key="k")


async def test_requests_carry_the_key_and_quote_ids() -> None:
    seen: list[httpx.Request] = []
    async with client_answering(httpx.Response(201, json={"id": "n-1"}), seen) as api:
        assert await api.add_note("a/b c", "hello", idempotency_key="idem-1") == "n-1"
    (request,) = seen
    assert request.url.raw_path == b"/api/customers/a%2Fb%20c/notes"
    assert (request.url.host, request.headers["host"]) == (str(PUBLIC), "crm.example.com")  # the checked address
    assert request.headers["authorization"] == "Bearer secret-key-1"
    assert request.headers["idempotency-key"] == "idem-1"
    assert request.read() == b'{"text":"hello"}'


@pytest.mark.parametrize(
    "body",
    [[], {"customers": {}}, {"customers": [{"name": "no id"}]}, {"customers": [{"id": "c", "orders": {}}]}],
)
async def test_a_search_answer_in_another_format_is_an_invalid_response(body: object) -> None:
    async with client_answering(httpx.Response(200, json=body)) as api:
        with pytest.raises(InvalidResponseError, match="Customer lookup format"):
            await api.find_by_email("a@example.com")
