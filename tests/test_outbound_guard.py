"""The SSRF guard of the host's outbound layer: every refused form, pinning, redirects.

Moved here from the lookup plugin (its guard is now the host's); ``plugins/lookup/tests``
checks that the plugin uses it and names ``base_url``.
"""

from __future__ import annotations

import ipaddress
import socket

import httpx
import pytest

from megadesk_core.outbound import (
    HostUnresolvedError,
    IPAddress,
    OutboundHTTP,
    OutboundPolicy,
    OutboundRefusedError,
    check_url,
    resolve,
    url_problem,
)

DEFAULT = OutboundPolicy()
ALLOWED = OutboundPolicy(allow_private_hosts=True)
PUBLIC = [ipaddress.ip_address("93.184.215.14"), ipaddress.ip_address("2606:2800:21f:cb07:6820:80da:af6b:8b2c")]
FULL_WIDTH_LOCALHOST = "\uff4c\uff4f\uff43\uff41\uff4c\uff48\uff4f\uff53\uff54"


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://backoffice.example.com/api", "it is not https"),
        ("http://127.0.0.1:6379", "127.0.0.1, a loopback address"),  # the worse problem first
        ("https://localhost:6379", "localhost, this server"),
        ("https://admin.localhost", "admin.localhost, this server"),
        ("https://LOCALHOST./api", "localhost., this server"),
        ("https://127.0.0.1:5432", "127.0.0.1, a loopback address"),
        ("https://127.0.0.1./api", "127.0.0.1., a loopback address"),
        ("https://127.255.255.254", "127.255.255.254, a loopback address"),
        ("https://2130706433/api", "2130706433, a loopback address"),
        ("https://127.1", "127.1, a loopback address"),
        ("https://0x7f.0.0.1/api", "0x7f.0.0.1, a loopback address"),
        ("https://0x7f000001/api", "0x7f000001, a loopback address"),
        ("https://0177.0.0.1/api", "0177.0.0.1, a loopback address"),  # octal: httpx cannot parse it
        ("https://[::1]:8000", "::1, a loopback address"),
        ("https://[::ffff:127.0.0.1]", "::ffff:127.0.0.1, a loopback address"),
        ("https://[::ffff:7f00:1]", "::ffff:7f00:1, a loopback address"),
        ("https://[64:ff9b::a00:1]", "64:ff9b::a00:1, a private address"),  # NAT64 of 10.0.0.1
        ("https://[2002:a00:1::]", "2002:a00:1::, a private address"),  # 6to4 of 10.0.0.1
        ("https://0.0.0.0:8000", "0.0.0.0, an unspecified address"),
        ("https://0/api", "0, an unspecified address"),
        ("https://[::]", "::, an unspecified address"),
        ("https://10.0.0.5/api", "10.0.0.5, a private address"),
        ("https://172.16.3.4", "172.16.3.4, a private address"),
        ("https://192.168.1.20", "192.168.1.20, a private address"),
        ("https://[fd00::1]", "fd00::1, a private address"),
        ("https://169.254.169.254/latest", "169.254.169.254, a link-local address"),
        ("https://[fe80::1]", "fe80::1, a link-local address"),
        ("https://100.64.0.1", "100.64.0.1, a shared (carrier-grade NAT) address"),
        ("https://224.0.0.1", "224.0.0.1, a multicast address"),
        ("https://[ff02::1]", "ff02::1, a multicast address"),
        ("https://240.0.0.1", "240.0.0.1, a reserved address"),
        ("https://192.0.2.1", "192.0.2.1, a private address"),  # documentation range
        ("https://198.18.0.1", "198.18.0.1, a private address"),  # benchmarking range
    ],
)
def test_urls_on_the_servers_network_are_refused(url: str, reason: str) -> None:
    with pytest.raises(OutboundRefusedError) as info:
        check_url(url, DEFAULT)
    assert reason in info.value.problem
    assert info.value.kind in ("host", "scheme")
    assert "was not sent" in str(info.value)
    if "0177" not in url:
        check_url(url, ALLOWED)  # the operator's development setting lifts it


@pytest.mark.parametrize(
    "url",
    [
        f"https://{FULL_WIDTH_LOCALHOST}/api",  # NFKC folds it to "localhost": httpx refuses to encode it
        "https://\uff11\uff12\uff17.0.0.1/api",  # full-width digits
        "https://exa\u200bmple.com/",  # a zero-width space
        "ftp://example.com/file",
        "file:///etc/passwd",
        "https:///no-host",
        "gopher://127.0.0.1:6379/_INFO",
    ],
)
def test_urls_httpx_cannot_call_are_a_refusal_not_a_crash(url: str) -> None:
    refusal = url_problem(url, DEFAULT)
    assert refusal is not None
    assert refusal.kind in ("unparseable", "host")
    assert url_problem(url, ALLOWED) is not None  # nobody can call them


@pytest.mark.parametrize(
    "url", ["https://backoffice.example.com/api", "https://93.184.215.14", "https://[2606:4700::1]", "https://1.1.1.1"]
)
def test_public_https_urls_pass(url: str) -> None:
    assert url_problem(url, DEFAULT) is None


def test_a_refusal_never_shows_credentials_or_the_query() -> None:
    refusal = url_problem("https://user:hunter2@127.0.0.1/api?email=ada@example.com", DEFAULT)
    assert refusal is not None
    assert "hunter2" not in str(refusal) and "ada@example.com" not in str(refusal)


def test_trusted_origins_are_the_operators_exact_origins() -> None:
    policy = DEFAULT.widened(trusted_origins=("http://127.0.0.1:12111",))
    check_url("http://127.0.0.1:12111/v1/customers", policy)
    assert url_problem("http://127.0.0.1:12112/v1/customers", policy) is not None  # another port
    assert url_problem("https://127.0.0.1:12111/v1/customers", policy) is not None  # another scheme


def _layer(
    resolved: list[IPAddress] | Exception, seen: list[httpx.Request], answer: httpx.Response | None = None
) -> tuple[OutboundHTTP, dict[str, object]]:
    async def resolver(host: str, port: int) -> list[IPAddress]:
        if isinstance(resolved, Exception):
            raise resolved
        return resolved

    def handle(request: httpx.Request) -> httpx.Response:
        # A snapshot: the guard sends a copy of the request to each address.
        seen.append(httpx.Request(request.method, request.url, headers=request.headers, extensions=request.extensions))
        if request.url.host == str(PUBLIC[0]):
            raise httpx.ConnectError("connection refused")  # the first address is down
        return answer or httpx.Response(200, json={"ok": True})

    return OutboundHTTP(), {"network": httpx.MockTransport(handle), "resolver": resolver}


@pytest.mark.parametrize(
    "resolved",
    [
        [ipaddress.ip_address("127.0.0.1")],
        [ipaddress.ip_address("10.1.2.3")],
        [PUBLIC[0], ipaddress.ip_address("169.254.169.254")],  # one bad address is enough
        [ipaddress.ip_address("::ffff:192.168.0.1")],
        [ipaddress.ip_address("fe80::1")],
    ],
)
async def test_a_name_that_resolves_to_the_servers_network_is_refused(resolved: list[IPAddress]) -> None:
    seen: list[httpx.Request] = []
    outbound, fakes = _layer(resolved, seen)
    async with outbound.for_integration("acme").client(base_url="https://crm.example.com/api/", **fakes) as client:  # type: ignore[arg-type]
        with pytest.raises(OutboundRefusedError) as info:
            await client.get("customers")
    assert info.value.kind == "resolves"
    assert "crm.example.com resolves to" in info.value.problem
    assert seen == []


async def test_requests_go_to_the_checked_address_under_the_host_name() -> None:
    """No second lookup between the check and the connection (DNS rebinding): the request is
    sent to a checked address, with the name in the Host header and for TLS (SNI, certificate)."""
    seen: list[httpx.Request] = []
    outbound, fakes = _layer(PUBLIC, seen)
    async with outbound.for_integration("acme").client(base_url="https://crm.example.com/api/", **fakes) as client:  # type: ignore[arg-type]
        response = await client.get("customers", params={"email": "a@example.com"})
    assert response.status_code == 200
    assert [r.url.host for r in seen] == [str(a) for a in PUBLIC]  # the first refused the connection
    final = seen[-1]
    assert final.headers["host"] == "crm.example.com"
    assert final.extensions["sni_hostname"] == "crm.example.com"
    assert final.url.raw_path == b"/api/customers?email=a%40example.com"


async def test_a_name_that_does_not_resolve_is_unreachable_not_refused() -> None:
    seen: list[httpx.Request] = []
    outbound, fakes = _layer(socket.gaierror(-2, "Name or service not known"), seen)
    async with outbound.for_integration("acme").client(base_url="https://crm.example.com/", **fakes) as client:  # type: ignore[arg-type]
        with pytest.raises(HostUnresolvedError, match="does not resolve"):
            await client.get("x")
    assert seen == []


async def test_redirects_are_not_followed_by_default() -> None:
    seen: list[httpx.Request] = []
    redirect = httpx.Response(302, headers={"Location": "http://169.254.169.254/latest/meta-data"})
    outbound, fakes = _layer([PUBLIC[1]], seen, redirect)
    async with outbound.for_integration("acme").client(base_url="https://crm.example.com/", **fakes) as client:  # type: ignore[arg-type]
        response = await client.get("x")
    assert response.status_code == 302
    assert len(seen) == 1


async def test_a_followed_redirect_is_checked_like_any_request() -> None:
    seen: list[httpx.Request] = []
    redirect = httpx.Response(302, headers={"Location": "http://169.254.169.254/latest/meta-data"})
    outbound, fakes = _layer([PUBLIC[1]], seen, redirect)
    http = outbound.for_integration("acme")
    async with http.client(base_url="https://crm.example.com/", follow_redirects=True, **fakes) as client:  # type: ignore[arg-type]
        with pytest.raises(OutboundRefusedError, match=r"169\.254\.169\.254, a link-local address"):
            await client.get("x")
    assert len(seen) == 1  # the hop to the metadata service was never sent


async def test_an_unparseable_url_is_a_refusal_from_the_client_too() -> None:
    http = OutboundHTTP().for_integration("acme")
    with pytest.raises(OutboundRefusedError):
        http.client(base_url="https://0177.0.0.1/api/")
    with pytest.raises(OutboundRefusedError):
        http.client(base_url=f"https://{FULL_WIDTH_LOCALHOST}/api/")
    async with http.client() as client:
        with pytest.raises(OutboundRefusedError) as info:
            await client.get("https://0177.0.0.1/api")
    assert info.value.kind == "unparseable"
    async with http.client() as client:
        with pytest.raises(OutboundRefusedError):
            await client.get("http://127.0.0.1:9/")  # a literal address: refused before any connection


async def test_the_system_resolver_finds_loopback_for_localhost() -> None:
    addresses = await resolve("localhost", 443)
    assert addresses
    assert all(a.is_loopback for a in addresses)
