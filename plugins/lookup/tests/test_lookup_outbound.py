"""The plugin calls its API through the host's outbound layer: the host sees each call,
labelled with the tenant."""

from __future__ import annotations

from lookup_backend import BackendState

from megadesk_core.outbound import CallCounter
from megadesk_core.testing import TenantClient


async def test_a_lookup_panel_renders_calls_are_counted(
    megadesk_configured_tenant: TenantClient, megadesk_outbound_calls: CallCounter, backend: BackendState
) -> None:
    counter = megadesk_outbound_calls
    counter.clear()  # the settings check's call
    tenant = megadesk_configured_tenant
    ticket = await tenant.new_ticket(email="ada@example.com")
    (panel,) = (await tenant.sidebar(ticket))["panels"]
    assert panel["status"] == "ok", panel

    upstream = backend.base_url.removeprefix("http://").split("/", 1)[0]
    by_path = {(method, path): n for (_t, _i, host, method, path), n in counter.counts.items() if host == upstream}
    assert by_path == {("GET", "/api/customers"): 1, ("GET", "/api/customers/{id}"): 1}
    (tenant_id,) = {tenant_id for tenant_id, *_ in counter.counts}
    assert tenant_id is not None
    assert counter.total(tenant_id=tenant_id, integration="lookup") == 2
