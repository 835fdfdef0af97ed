"""What the host's outbound layer does to every call: retries (only when safe), deadlines,
the user agent, and the observers that count calls per tenant and upstream."""

from __future__ import annotations

import asyncio
import ipaddress
import time
from collections.abc import Callable

import httpx
import pytest
from pydantic import BaseModel

from megadesk_core.outbound import (
    CallCounter,
    IntegrationHTTP,
    IPAddress,
    OutboundCall,
    OutboundHTTP,
    OutboundPolicy,
    path_template,
)
from megadesk_core.types import IntegrationContext

PUBLIC = ipaddress.ip_address("93.184.215.14")
Handler = Callable[[httpx.Request], httpx.Response]


async def public_dns(host: str, port: int) -> list[IPAddress]:
    return [PUBLIC]


def layer(
    *, panel_deadline: float = 8.0, max_retries: int = 2, timeout: float = 5.0, tenant_id: str | None = "t-1"
) -> tuple[IntegrationHTTP, CallCounter]:
    outbound = OutboundHTTP(
        policy=OutboundPolicy(max_retries=max_retries, timeout_seconds=timeout), panel_deadline_seconds=panel_deadline
    )
    counter = CallCounter()
    outbound.add_observer(counter)
    return outbound.for_integration("acme", tenant_id=tenant_id), counter


def answering(*responses: httpx.Response | Exception) -> tuple[httpx.MockTransport, list[httpx.Request]]:
    """A network answering ``responses`` in turn (the last one again when they run out)."""
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        answer = responses[min(len(seen), len(responses)) - 1]
        if isinstance(answer, Exception):
            raise answer
        return answer

    return httpx.MockTransport(handle), seen


def client(http: IntegrationHTTP, network: httpx.MockTransport, **kwargs: object) -> httpx.AsyncClient:
    return http.client(base_url="https://api.example.com/", network=network, resolver=public_dns, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("method", ["GET", "HEAD", "OPTIONS"])
@pytest.mark.parametrize("status", [502, 503, 504])
async def test_idempotent_requests_are_retried_on_gateway_errors(method: str, status: int) -> None:
    http, counter = layer()
    network, seen = answering(httpx.Response(status), httpx.Response(200))
    async with client(http, network) as api:
        response = await api.request(method, "things")
    assert response.status_code == 200
    assert len(seen) == 2
    assert counter.total() == 2  # every attempt is seen


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
async def test_other_requests_are_sent_once(method: str) -> None:
    http, _ = layer()
    network, seen = answering(httpx.Response(503), httpx.Response(200))
    async with client(http, network) as api:
        response = await api.request(method, "things", json={"a": 1})
    assert response.status_code == 503
    assert len(seen) == 1


async def test_a_write_with_an_idempotency_key_is_retried_with_its_body() -> None:
    http, _ = layer()
    network, seen = answering(httpx.ConnectError("refused"), httpx.Response(201))
    async with client(http, network) as api:
        response = await api.post("notes", json={"text": "hi"}, headers={"Idempotency-Key": "k-1"})
    assert response.status_code == 201
    assert [r.read() for r in seen] == [b'{"text":"hi"}'] * 2


async def test_connection_errors_are_retried_a_bounded_number_of_times() -> None:
    http, counter = layer(max_retries=2)
    network, seen = answering(httpx.ConnectError("refused"))
    async with client(http, network) as api:
        with pytest.raises(httpx.ConnectError):
            await api.get("things")
    assert len(seen) == 3  # one attempt and two retries
    assert counter.statuses[None] == 3


@pytest.mark.parametrize(("retry_after", "attempts"), [("1", 2), ("0", 2), ("120", 1), (None, 1)])
async def test_429_is_retried_only_when_retry_after_is_short(retry_after: str | None, attempts: int) -> None:
    http, _ = layer()
    headers = {"Retry-After": retry_after} if retry_after is not None else {}
    network, seen = answering(httpx.Response(429, headers=headers), httpx.Response(200))
    async with client(http, network) as api:
        await api.get("things")
    assert len(seen) == attempts


@pytest.mark.parametrize("status", [400, 401, 404, 409, 500])
async def test_other_failures_are_not_retried(status: int) -> None:
    http, _ = layer()
    network, seen = answering(httpx.Response(status), httpx.Response(200))
    async with client(http, network) as api:
        assert (await api.get("things")).status_code == status
    assert len(seen) == 1


async def test_no_retries_when_the_library_retries_itself() -> None:
    http, _ = layer()
    network, seen = answering(httpx.Response(503), httpx.Response(200))
    async with client(http, network, retries=False) as api:
        assert (await api.get("things")).status_code == 503
    assert len(seen) == 1


def test_the_plugin_may_ask_for_less_time_never_more() -> None:
    http, _ = layer(panel_deadline=3.0, timeout=2.0)
    assert http.timeout() == 2.0  # the host's per-request timeout
    assert http.timeout(0.5) == 0.5
    assert http.timeout(60) == 3.0  # capped at the panel deadline
    action = OutboundHTTP(action_deadline_seconds=20).for_integration("acme", purpose="action")
    assert action.timeout(60) == 20


async def test_every_timeout_of_a_request_is_capped_at_the_deadline() -> None:
    http, _ = layer(panel_deadline=2.0)
    network, seen = answering(httpx.Response(200))
    async with client(http, network) as api:
        await api.get("things", timeout=httpx.Timeout(None))  # "no timeout" is not allowed either
        await api.get("things", timeout=httpx.Timeout(0.5))
    assert all(0 < value <= 2.0 for value in seen[0].extensions["timeout"].values())
    assert set(seen[1].extensions["timeout"].values()) == {0.5}


async def test_retries_stop_at_the_deadline() -> None:
    http, _ = layer(panel_deadline=0.3, max_retries=5)
    network, seen = answering(httpx.Response(503, headers={"Retry-After": "0.2"}))
    started = time.monotonic()
    async with client(http, network) as api:
        assert (await api.get("things")).status_code == 503
    assert time.monotonic() - started < 0.5
    assert len(seen) == 2


async def test_a_slow_upstream_times_out_within_the_deadline() -> None:
    async def slow(request: httpx.Request) -> httpx.Response:
        timeout = request.extensions["timeout"]["read"]
        await asyncio.sleep(timeout)  # what a real read timeout does
        raise httpx.ReadTimeout("slow", request=request)

    http, _ = layer(panel_deadline=0.2)
    async with http.client(
        base_url="https://api.example.com/", network=httpx.MockTransport(slow), resolver=public_dns
    ) as api:
        started = time.monotonic()
        with pytest.raises(httpx.ReadTimeout):
            await api.get("things", timeout=30)
    assert time.monotonic() - started < 0.5


async def test_the_user_agent_names_the_host_and_the_integration() -> None:
    http, _ = layer()
    network, seen = answering(httpx.Response(200))
    async with client(http, network) as api:
        await api.get("things")
        await api.get("things", headers={"User-Agent": "Stripe/v1 PythonBindings/16.1.0"})
    assert seen[0].headers["user-agent"].startswith("megadesk/")
    assert seen[0].headers["user-agent"].endswith(" (+acme)")
    assert seen[1].headers["user-agent"] == f"{seen[0].headers['user-agent']} Stripe/v1 PythonBindings/16.1.0"


async def test_observers_see_tenant_integration_host_and_path_template_never_secrets() -> None:
    http, counter = layer(tenant_id="tenant-42")
    calls: list[tuple[OutboundCall, int | None]] = []

    class Recorder:
        def before(self, call: OutboundCall) -> None:
            pass

        def after(self, call: OutboundCall, status: int | None, duration: float) -> None:
            calls.append((call, status))

    http.outbound.add_observer(Recorder())
    network, _ = answering(httpx.Response(404))
    async with http.client(
        base_url="https://api.example.com/",
        headers={"Authorization": "Bearer sk_live_secret"},
        network=network,
        resolver=public_dns,
    ) as api:
        await api.get("v1/customers/cus_ABC123/notes", params={"email": "ada@example.com"})
    ((call, status),) = calls
    assert call == OutboundCall("tenant-42", "acme", "api.example.com", "GET", "/v1/customers/{id}/notes", 1)
    assert status == 404
    assert "secret" not in repr(calls) and "ada@example.com" not in repr(calls)
    assert counter.total(tenant_id="tenant-42", integration="acme", host="api.example.com") == 1
    assert counter.total(tenant_id="someone-else") == 0


async def test_an_observer_that_raises_does_not_fail_the_call() -> None:
    http, counter = layer()

    class Broken:
        def before(self, call: OutboundCall) -> None:
            raise RuntimeError("boom")

        def after(self, call: OutboundCall, status: int | None, duration: float) -> None:
            raise RuntimeError("boom")

    http.outbound.add_observer(Broken())
    network, _ = answering(httpx.Response(200))
    async with client(http, network) as api:
        assert (await api.get("things")).status_code == 200
    assert counter.total() == 1


@pytest.mark.parametrize(
    ("path", "template"),
    [
        ("/v1/customers/cus_ABC123", "/v1/customers/{id}"),
        ("/api/customers/42/notes", "/api/customers/{id}/notes"),
        ("/v1/payment_intents", "/v1/payment_intents"),
        ("/a%40b.com", "/{id}"),
        ("/", "/"),
    ],
)
def test_path_templates_keep_the_endpoint_not_the_ids(path: str, template: str) -> None:
    assert path_template(path) == template


def test_a_context_built_without_the_host_still_gets_the_guarded_layer() -> None:
    class NoSettings(BaseModel):
        pass

    context = IntegrationContext(tenant_id="t-9", integration="acme", settings=NoSettings(), purpose="action")
    assert context.http.tenant_id == "t-9" and context.http.integration == "acme"
    assert context.http.policy.allow_private_hosts is False
