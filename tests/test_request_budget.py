"""The upstream request budget on the outbound layer: a burst is refused before it is sent (in
this process, or shared through Redis), and the panel says the upstream is busy."""

from __future__ import annotations

import asyncio
import ipaddress
import uuid

import httpx
import pytest
from pydantic import BaseModel

from megadesk_core import hookimpl
from megadesk_core.errors import RateLimitedError
from megadesk_core.outbound import IPAddress, OutboundHTTP
from megadesk_core.outbound.budget import BUDGET_HEADER, RequestBudget, RequestBudgets, budget_refusals
from megadesk_core.plugins import load_integrations
from megadesk_core.types import IntegrationManifest, KeyValueBlock, KeyValueItem, Panel, ResolvedCustomer

PUBLIC = ipaddress.ip_address("93.184.215.14")


async def public_dns(host: str, port: int) -> list[IPAddress]:
    return [PUBLIC]


class NoSettings(BaseModel):
    pass


class BudgetedCRM:
    """Calls its API through the host's layer, with a budget of 3 requests a second."""

    def __init__(self) -> None:
        self.sent = 0

    @hookimpl
    def manifest(self) -> IntegrationManifest:
        return IntegrationManifest(name="budgeted", title="Budgeted CRM", settings_model=NoSettings)

    @hookimpl
    def resolve_customer(self) -> ResolvedCustomer:
        return ResolvedCustomer(id="c-1", verified=True)

    @hookimpl
    async def sidebar_panel(self, context) -> Panel:
        def answer(request: httpx.Request) -> httpx.Response:
            self.sent += 1
            return httpx.Response(200, json={"n": self.sent})

        async with context.http.client(
            base_url="https://crm.example.com/",
            network=httpx.MockTransport(answer),
            resolver=public_dns,
            budget=RequestBudget(name="live", per_second=3),
        ) as client:
            response = await client.get("contacts/c-1")
        if response.status_code == 429:
            raise RateLimitedError("Budgeted CRM answered 429.")
        return Panel(title="Budgeted CRM", blocks=[KeyValueBlock(items=[KeyValueItem(label="n", value="x")])])


@pytest.fixture
def crm() -> BudgetedCRM:
    return BudgetedCRM()


@pytest.fixture
def megadesk_registry(megadesk_settings, crm):
    return load_integrations(extra_plugins=[crm], load_entry_points=False)


async def test_a_burst_beyond_the_budget_is_never_sent_and_its_panels_say_busy(megadesk_tenant, crm):
    acme = await megadesk_tenant("acme")
    enabled = await acme.client.post("/api/v1/integrations/budgeted/enable", headers=acme.admin_headers)
    assert enabled.status_code == 200, enabled.text
    for n in range(8):
        await acme.upsert_ticket(f"T-{n}", email="pat@example.com")
    panels = await asyncio.gather(*(acme.panel(f"T-{n}", "budgeted") for n in range(8)))
    assert crm.sent == 3  # nothing beyond the budget reached the upstream
    from prometheus_client import REGISTRY

    refused = REGISTRY.get_sample_value(
        "megadesk_request_budget_total", {"integration": "budgeted", "outcome": "refused", "tenant": ""}
    )
    assert refused is not None and refused >= 5
    busy = [p for p in panels if p["status"] == "error"]
    assert len(busy) == 5
    assert {p["error"]["code"] for p in busy} == {"upstream_busy"}
    assert busy[0]["error"]["message"].startswith("Budgeted CRM is busy: Megadesk is holding back requests")


async def _burst(budgets: RequestBudgets, tenant: str, count: int) -> tuple[int, list[httpx.Response], list[str]]:
    outbound = OutboundHTTP(budgets=budgets)
    sent = 0

    def answer(request: httpx.Request) -> httpx.Response:
        nonlocal sent
        sent += 1
        return httpx.Response(200)

    http = outbound.for_integration("crm", tenant_id=tenant)
    with budget_refusals() as refused:
        async with http.client(
            base_url="https://crm.example.com/",
            network=httpx.MockTransport(answer),
            resolver=public_dns,
            budget=RequestBudget(name="test", per_second=5, account="acct-1"),
        ) as client:
            responses = await asyncio.gather(*(client.get("contacts") for _ in range(count)))
    return sent, responses, refused.names


async def test_the_layer_answers_429_itself_over_budget_without_retrying():
    sent, responses, refused = await _burst(RequestBudgets(), "t-1", 12)
    assert sent == 5
    refusals = [r for r in responses if r.status_code == 429]
    assert len(refusals) == 7 and refused == ["crm:test"] * 7
    assert refusals[0].headers[BUDGET_HEADER] == "exhausted" and refusals[0].headers["Retry-After"] == "1"
    # Another tenant has its own budget.
    assert (await _burst(RequestBudgets(), "t-2", 1))[0] == 1


async def test_an_operator_override_changes_or_lifts_a_budget():
    assert (await _burst(RequestBudgets(overrides={"crm:test": 2}), "t-1", 6))[0] == 2
    assert (await _burst(RequestBudgets(overrides={"crm:test": 0}), "t-1", 6))[0] == 6


async def test_the_budget_is_shared_by_processes_through_redis(redis_url):
    tenant = uuid.uuid4().hex
    first, second = RequestBudgets(redis_url), RequestBudgets(redis_url)
    try:
        sent = [(await _burst(budgets, tenant, 4))[0] for budgets in (first, second)]
    finally:
        await first.close()
        await second.close()
    assert sent == [4, 1]  # 5 a second for both processes together


async def test_a_redis_outage_falls_back_to_this_process():
    budgets = RequestBudgets("redis://127.0.0.1:1/0")
    try:
        assert (await _burst(budgets, "t-1", 8))[0] == 5
    finally:
        await budgets.close()
