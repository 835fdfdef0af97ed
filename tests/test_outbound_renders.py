"""The observer seam is real: a Stripe panel render's calls, made by stripe-python against the
emulator, reach the host's observers labelled with the tenant, the integration and the upstream.
(The lookup plugin's render is counted in plugins/lookup/tests/test_lookup_outbound.py.)"""

from __future__ import annotations

from stripe_emulator.server import EmulatorHandle
from stripe_on_the_emulator import *  # noqa: F403 (its fixtures)

from megadesk_core.outbound import CallCounter
from megadesk_core.testing import TenantClient, TenantFactory


async def test_a_stripe_panel_renders_calls_are_counted_per_tenant(
    megadesk_configured_tenant: TenantClient,
    megadesk_tenant: TenantFactory,
    megadesk_outbound_calls: CallCounter,
    emulator: EmulatorHandle,
) -> None:
    assert emulator.demo is not None
    counter = megadesk_outbound_calls  # the host's observer seam, as the testing plugin registers it
    tenant = megadesk_configured_tenant
    counter.clear()  # the settings check's calls (no tenant yet) are not this render's
    ticket = await tenant.new_ticket(data={"customerId": emulator.demo.ada.id})
    sidebar = await tenant.sidebar(ticket)
    (panel,) = sidebar["panels"]
    assert panel["status"] == "ok", panel

    upstream = emulator.base_url.removeprefix("http://")
    calls = dict(counter.counts)
    assert calls, "the render's Stripe calls did not reach the observer"
    tenants = {tenant_id for tenant_id, *_ in calls}
    assert len(tenants) == 1 and None not in tenants  # all labelled with the one tenant
    assert {(integration, host) for _t, integration, host, _m, _p in calls} == {("stripe", upstream)}
    assert ("GET", "/v1/customers/{id}") in {(method, path) for *_, method, path in calls}
    assert counter.statuses[200] == counter.total()
    rendered = counter.total()

    # Another tenant's render of the same customer, with the same key, is counted apart.
    (first_tenant,) = tenants
    other = await megadesk_tenant("other", integration="stripe")
    await other.configure("stripe", {"restricted_key": emulator.secret_key})
    counter.clear()
    other_ticket = await other.new_ticket(data={"customerId": emulator.demo.ada.id})
    await other.sidebar(other_ticket)
    (second_tenant,) = {tenant_id for tenant_id, *_ in counter.counts}
    assert second_tenant not in (None, first_tenant)
    assert counter.total(tenant_id=second_tenant) == rendered
