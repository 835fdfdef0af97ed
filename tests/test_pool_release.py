"""No pooled database connection is held while a plugin runs.

A plugin waits at a barrier until all 100 sidebar requests have reached it. With a pool of 5
connections (no overflow) that completes only if each request gave its connection back before
calling the plugin; a request that held it would leave 95 others waiting for the pool, and the
barrier would never fill (they fail at the pool timeout instead). No timing is asserted.
"""

from __future__ import annotations

import asyncio

import httpx
import pytest
from pydantic import BaseModel

from megadesk_core import hookimpl
from megadesk_core.plugins import load_integrations
from megadesk_core.types import (
    ActionPayload,
    ActionResult,
    ActionSpec,
    IntegrationManifest,
    Panel,
    ResolvedCustomer,
    TicketContext,
)

RENDERS = 100
POOL_SIZE = 5


class NoSettings(BaseModel):
    pass


class GatePlugin:
    """Every render (or action) waits until ``parties`` of them are in the plugin at once."""

    def __init__(self, parties: int) -> None:
        self.barrier = asyncio.Barrier(parties)

    @hookimpl
    def manifest(self) -> IntegrationManifest:
        return IntegrationManifest(name="gate", title="Gate", settings_model=NoSettings)

    @hookimpl
    async def resolve_customer(self, ticket: TicketContext) -> ResolvedCustomer:
        return ResolvedCustomer(id=ticket.ticket_id, verified=True)

    @hookimpl
    async def sidebar_panel(self, customer: ResolvedCustomer) -> Panel:
        await self.barrier.wait()
        return Panel(title="Gate")

    @hookimpl
    def actions(self) -> list[ActionSpec]:
        return [ActionSpec(name="pass_gate", title="Pass", payload_model=ActionPayload, confirmation="Pass?")]

    @hookimpl
    async def run_action(self, customer: ResolvedCustomer) -> ActionResult:
        await self.barrier.wait()
        return ActionResult(message="passed", target=customer.id)


@pytest.fixture
def megadesk_settings(megadesk_settings):
    return megadesk_settings.model_copy(
        update={
            "database_pool_size": POOL_SIZE,
            "database_max_overflow": 0,
            # A regression fails here after a few seconds rather than hanging the suite.
            "database_pool_timeout_seconds": 5.0,
            "panel_timeout_seconds": 30.0,
            "action_timeout_seconds": 30.0,
        }
    )


@pytest.fixture
def gate() -> GatePlugin:
    return GatePlugin(parties=RENDERS)


@pytest.fixture
def megadesk_registry(gate):
    return load_integrations(extra_plugins=[gate], load_entry_points=False)


@pytest.fixture
async def concurrent_client(megadesk_app):
    # Litestar's test client runs one request at a time; ASGITransport runs them concurrently
    # on this event loop, as a server would.
    transport = httpx.ASGITransport(app=megadesk_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://megadesk.test") as client:
        yield client


@pytest.fixture
async def gated_tenant(megadesk_tenant):
    acme = await megadesk_tenant("acme")
    assert (await acme.client.post("/api/v1/integrations/gate/enable", headers=acme.admin_headers)).is_success
    for number in range(RENDERS):
        await acme.upsert_ticket(f"T-{number}", email=f"person{number}@example.com")
    return acme


async def test_100_sidebars_waiting_on_a_plugin_need_no_more_than_a_pool_of_5(gated_tenant, concurrent_client):
    async def sidebar(number: int) -> httpx.Response:
        return await concurrent_client.get(f"/api/v1/tickets/T-{number}/sidebar", headers=gated_tenant.agent_headers)

    responses = await asyncio.wait_for(asyncio.gather(*(sidebar(n) for n in range(RENDERS))), timeout=60)

    assert [r.status_code for r in responses] == [200] * RENDERS
    statuses = {panel["status"] for r in responses for panel in r.json()["panels"]}
    assert statuses == {"ok"}


async def test_100_actions_waiting_on_a_plugin_need_no_more_than_a_pool_of_5(gated_tenant, concurrent_client):
    async def act(number: int) -> httpx.Response:
        return await concurrent_client.post(
            f"/api/v1/tickets/T-{number}/panels/gate/actions/pass_gate",
            json={"target": f"T-{number}"},
            headers={**gated_tenant.agent_headers, "Idempotency-Key": f"key-{number}"},
        )

    responses = await asyncio.wait_for(asyncio.gather(*(act(n) for n in range(RENDERS))), timeout=60)

    assert [r.status_code for r in responses] == [200] * RENDERS
    audit = await gated_tenant.client.get("/api/v1/audit", params={"limit": 500}, headers=gated_tenant.admin_headers)
    outcomes = [entry["outcome"] for entry in audit.json() if entry["action"] == "gate.pass_gate"]
    assert outcomes == ["succeeded"] * RENDERS
