"""A tenant admin must not be able to point the server at its own network (SSRF).

The guard itself is the host's (``megadesk_core.outbound``, tested in ``tests/test_outbound_*.py``);
these tests check that the plugin uses it and says what an admin should change. They run with
the plugin's default process options: private hosts are refused. The other test modules allow
them (``conftest.py``), because the fake customer API is on 127.0.0.1.
"""

from __future__ import annotations

import ipaddress
import socket

import httpx
import pytest
from lookup_backend import API_KEY, BackendState
from megadesk_lookup.client import LookupClient
from megadesk_lookup.settings import LookupOptions, LookupSettings, base_url_problem
from pydantic import ValidationError

from megadesk_core.errors import InvalidInputError, UpstreamUnavailableError
from megadesk_core.outbound import IPAddress, resolve
from megadesk_core.testing import TenantFactory

DEFAULT = LookupOptions()
ALLOWED = LookupOptions(allow_private_hosts=True)
UNPARSEABLE = {
    "https://0177.0.0.1/api",
    "https://\uff4c\uff4f\uff43\uff41\uff4c\uff48\uff4f\uff53\uff54/api",
    "https://\uff11\uff12\uff17.0.0.1/api",
}
PUBLIC = [ipaddress.ip_address("93.184.215.14"), ipaddress.ip_address("2606:2800:21f:cb07:6820:80da:af6b:8b2c")]


@pytest.fixture
def megadesk_plugin_options() -> dict[str, dict[str, object]]:
    return {"lookup": {"timeout_seconds": 1.0}}  # allow_private_hosts left at its default, False


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://backoffice.example.com/api", "must use https"),
        ("http://127.0.0.1:6379", "127.0.0.1, a loopback address"),  # the worse problem first
        ("https://localhost:6379", "localhost, this server"),
        ("https://admin.localhost", "admin.localhost, this server"),
        ("https://LOCALHOST./api", "localhost., this server"),
        ("https://127.0.0.1:5432", "127.0.0.1, a loopback address"),
        ("https://2130706433/api", "2130706433, a loopback address"),
        ("https://127.1", "127.1, a loopback address"),
        ("https://[::1]:8000", "::1, a loopback address"),
        ("https://[::ffff:127.0.0.1]", "::ffff:127.0.0.1, a loopback address"),
        ("https://0.0.0.0:8000", "0.0.0.0, an unspecified address"),
        ("https://10.0.0.5/api", "10.0.0.5, a private address"),
        ("https://192.168.1.20", "192.168.1.20, a private address"),
        ("https://[fd00::1]", "fd00::1, a private address"),
        ("https://169.254.169.254/latest", "169.254.169.254, a link-local address"),
        ("https://100.64.0.1", "100.64.0.1, a shared (carrier-grade NAT) address"),
        ("https://224.0.0.1", "224.0.0.1, a multicast address"),
        ("https://240.0.0.1", "240.0.0.1, a reserved address"),
        ("https://0177.0.0.1/api", "0177.0.0.1, a loopback address"),  # octal: httpx cannot parse it
        ("https://0x7f.0.0.1/api", "0x7f.0.0.1, a loopback address"),
        ("https://127.0.0.1./api", "127.0.0.1., a loopback address"),
        ("https://\uff4c\uff4f\uff43\uff41\uff4c\uff48\uff4f\uff53\uff54/api", "cannot be used"),  # full-width
        ("https://\uff11\uff12\uff17.0.0.1/api", "cannot be used"),  # full-width digits
    ],
)
def test_base_urls_on_the_servers_network_are_refused(url: str, reason: str) -> None:
    # The guard refuses each of these on its own, whatever the settings model let through...
    problem = base_url_problem(url, DEFAULT)
    assert problem is not None
    assert problem.startswith("base_url must")
    assert reason in problem
    if url in UNPARSEABLE:
        # ...and a URL httpx cannot read is not even valid settings, whatever the option.
        with pytest.raises(ValidationError, match="is not a URL the server can send requests to"):
            LookupSettings(base_url=url, api_key="k")
    else:  # well formed, but not somewhere the key may go without the operator's development option
        settings = LookupSettings(base_url=url, api_key="k")
        assert base_url_problem(settings.base_url, ALLOWED) is None


@pytest.mark.parametrize(
    "url", ["https://backoffice.example.com/api", "https://93.184.215.14", "https://[2606:4700::1]"]
)
def test_public_https_urls_pass(url: str) -> None:
    assert base_url_problem(url, DEFAULT) is None


@pytest.mark.parametrize(
    "url",
    [
        "the fake API",  # itself: http://127.0.0.1:<port>, which answers
        "http://127.0.0.1:6379",
        "http://localhost:5432",
        "https://127.0.0.1:5432",
        "https://169.254.169.254/latest/meta-data",
        "https://0177.0.0.1/api",
        "https://\uff4c\uff4f\uff43\uff41\uff4c\uff48\uff4f\uff53\uff54/api",
    ],
)
async def test_saving_such_a_base_url_is_refused_before_any_request(
    megadesk_tenant: TenantFactory, backend: BackendState, url: str
) -> None:
    url = backend.base_url if url == "the fake API" else url
    tenant = await megadesk_tenant("evil")
    response = await tenant.put_settings("lookup", {"base_url": url, "api_key": API_KEY})
    assert response.status_code == 422, response.text
    (error,) = response.json()["errors"]
    assert error["field"] == "base_url"
    if url in UNPARSEABLE:
        assert "is not a URL the server can send requests to" in error["message"]
    else:
        assert error["message"].startswith("base_url must")
    assert API_KEY not in response.text
    assert backend.requests == []  # the key went nowhere
    settings = await tenant.client.get("/api/v1/integrations/lookup/settings", headers=tenant.admin_headers)
    assert settings.json().get("settings") in (None, {})  # nothing saved


def _client(url: str, resolved: list[IPAddress] | Exception, seen: list[httpx.Request]) -> LookupClient:
    async def resolver(host: str, port: int) -> list[IPAddress]:
        assert (host, port) == ("crm.example.com", 443)
        if isinstance(resolved, Exception):
            raise resolved
        return resolved

    def handle(request: httpx.Request) -> httpx.Response:
        # A snapshot: the client sends the same request object again to the next address.
        seen.append(httpx.Request(request.method, request.url, headers=request.headers, extensions=request.extensions))
        if request.url.host == str(PUBLIC[0]):
            raise httpx.ConnectError("connection refused")  # the first address is down
        return httpx.Response(200, json={"customers": []})

    settings = LookupSettings(base_url=url, api_key="secret-key-1")
    return LookupClient(settings, DEFAULT, transport=httpx.MockTransport(handle), resolver=resolver)


@pytest.mark.parametrize(
    "resolved",
    [
        [ipaddress.ip_address("127.0.0.1")],
        [ipaddress.ip_address("10.1.2.3")],
        [PUBLIC[0], ipaddress.ip_address("169.254.169.254")],  # one bad address is enough
        [ipaddress.ip_address("::ffff:192.168.0.1")],
    ],
)
async def test_a_name_that_resolves_to_the_servers_network_is_refused(resolved: list[IPAddress]) -> None:
    seen: list[httpx.Request] = []
    async with _client("https://crm.example.com/api", resolved, seen) as api:
        with pytest.raises(InvalidInputError) as info:
            await api.find_by_email("a@example.com")
    assert info.value.field == "base_url"
    assert "crm.example.com resolves to" in info.value.message
    assert "An admin should change base_url" in info.value.message
    assert seen == []


async def test_requests_go_to_the_checked_address_under_the_host_name() -> None:
    """No second lookup between the check and the connection (DNS rebinding): the request is
    sent to a checked address, with the name in the Host header and for TLS (SNI, certificate)."""
    seen: list[httpx.Request] = []
    async with _client("https://crm.example.com/api", PUBLIC, seen) as api:
        assert await api.find_by_email("a@example.com") == []
    assert [r.url.host for r in seen] == [str(a) for a in PUBLIC]  # the first refused the connection
    final = seen[-1]
    assert final.headers["host"] == "crm.example.com"
    assert final.extensions["sni_hostname"] == "crm.example.com"
    assert final.url.raw_path == b"/api/customers?email=a%40example.com"


async def test_a_name_that_does_not_resolve_is_unavailable_not_refused() -> None:
    seen: list[httpx.Request] = []
    async with _client("https://crm.example.com/api", socket.gaierror(-2, "Name or service not known"), seen) as api:
        with pytest.raises(UpstreamUnavailableError, match="does not resolve"):
            await api.find_by_email("a@example.com")
    assert seen == []


async def test_settings_stored_before_the_check_are_refused_at_request_time() -> None:
    seen: list[httpx.Request] = []
    async with _client("http://127.0.0.1:6379", PUBLIC, seen) as api:
        with pytest.raises(InvalidInputError, match=r"not to 127\.0\.0\.1, a loopback address") as info:
            await api.get_customer("cus_1")
    assert info.value.field == "base_url"
    assert seen == []


async def test_the_system_resolver_finds_loopback_for_localhost() -> None:
    addresses = await resolve("localhost", 443)
    assert addresses
    assert all(a.is_loopback for a in addresses)
