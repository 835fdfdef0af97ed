"""The panel through the host's API, with the plugin found through its entry point."""

from __future__ import annotations

from typing import Any

import pytest
from lookup_backend import API_KEY, BackendState, serve

from megadesk_core.plugins import IntegrationRegistry
from megadesk_core.testing import TenantClient, TenantFactory


def blocks_by_type(panel: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {block["type"]: block for block in panel["blocks"]}


async def test_the_plugin_is_found_through_its_entry_point(megadesk_registry: IntegrationRegistry) -> None:
    loaded = megadesk_registry.get("lookup")
    assert loaded is not None
    assert loaded.source.startswith("entry point lookup = megadesk_lookup.plugin (megadesk-lookup")
    assert list(loaded.actions) == ["add_note"]


async def test_a_match_by_email_shows_the_record_its_orders_and_a_link(
    megadesk_configured_tenant: TenantClient, backend: BackendState
) -> None:
    tenant = megadesk_configured_tenant
    ticket = await tenant.new_ticket(email="ada@example.com")
    sidebar = await tenant.sidebar(ticket)
    (panel,) = sidebar["panels"]
    assert panel["integration"] == "lookup" and panel["status"] == "ok"
    assert panel["verified"] is False  # matched by email only
    blocks = blocks_by_type(panel)
    assert "choice" not in blocks  # cus_4's ada@example.com.au came back from the loose search, and was dropped

    fields = blocks["key_value"]
    assert fields["title"] == "Ada Lovelace"
    assert [(i["label"], i["value"]) for i in fields["items"]] == [
        ("Name", "Ada Lovelace"),
        ("Email", "ada@example.com"),
        ("Plan", "Pro"),
        ("Lifetime value", "1234.5"),
        ("Vip", "Yes"),
    ]
    assert fields["items"][1]["href"] == "mailto:ada@example.com"

    orders = blocks["table"]
    assert [c["label"] for c in orders["columns"]] == ["Order", "Date", "Total", "Status"]
    assert [c["align"] for c in orders["columns"]] == ["start", "start", "end", "start"]
    assert [r["id"] for r in orders["rows"]] == ["o-3", "o-2"]
    assert orders["rows"][0]["cells"]["id"]["href"] == "https://backoffice.example.com/orders/o-3"

    assert blocks["links"]["links"] == [
        {"label": "Open the customer record", "href": "https://backoffice.example.com/customers/cus_1"}
    ]
    assert blocks["actions"]["buttons"] == [
        {"action": "add_note", "label": "Add a note", "target": "cus_1", "prefill": {}}
    ]
    assert {r["authorization"] for r in backend.requests} == {f"Bearer {API_KEY}"}


SETTINGS_CHECK_QUERY = {"email": "megadesk-settings-check@example.invalid"}


async def test_a_customer_named_in_custom_data_is_verified(
    megadesk_configured_tenant: TenantClient, backend: BackendState
) -> None:
    tenant = megadesk_configured_tenant
    ticket = await tenant.new_ticket(email="someone-else@example.com", data={"customerId": "cus_2"})
    panel = await tenant.panel(ticket)
    assert panel["verified"] is True
    blocks = blocks_by_type(panel)
    assert blocks["key_value"]["title"] == "Grace Hopper"
    assert blocks["table"]["rows"] == [] and blocks["table"]["empty_text"] == "No orders yet"
    assert "links" not in blocks
    # resolve_customer reads the record and sidebar_panel reuses it (the render's memo); no search
    renders = [r for r in backend.requests if r["path"] != "/api/customers" or r["query"] != SETTINGS_CHECK_QUERY]
    assert [(r["path"], r["query"]) for r in renders] == [("/api/customers/cus_2", {})]


async def test_numeric_ids_work(megadesk_configured_tenant: TenantClient, backend: BackendState) -> None:
    tenant = megadesk_configured_tenant
    panel = await tenant.panel(await tenant.new_ticket(data={"customerId": 42}))
    assert panel["status"] == "ok" and blocks_by_type(panel)["key_value"]["title"] == "Numeric Id"


async def test_an_unknown_customer_id_is_an_error_not_an_empty_panel(
    megadesk_configured_tenant: TenantClient, backend: BackendState
) -> None:
    tenant = megadesk_configured_tenant
    panel = await tenant.panel(await tenant.new_ticket(email="ada@example.com", data={"customerId": "cus_404"}))
    assert panel["status"] == "error"
    assert panel["error"]["code"] == "not_found"
    assert "names customer cus_404" in panel["error"]["message"]


async def test_an_id_cannot_escape_the_customers_path(
    megadesk_configured_tenant: TenantClient, backend: BackendState
) -> None:
    tenant = megadesk_configured_tenant
    panel = await tenant.panel(await tenant.new_ticket(data={"customerId": "../admin"}))
    assert panel["error"]["code"] == "not_found"
    # the id went out as one path segment, not as a way up to /api/admin
    assert backend.raw_paths[-1] == "/api/customers/..%2Fadmin"


async def test_several_matches_let_the_agent_choose(
    megadesk_configured_tenant: TenantClient, backend: BackendState
) -> None:
    tenant = megadesk_configured_tenant
    ticket = await tenant.new_ticket(email="grace@example.com")
    panel = await tenant.panel(ticket)
    choice = blocks_by_type(panel)["choice"]
    assert [(o["value"], o["selected"]) for o in choice["options"]] == [("cus_2", True), ("cus_3", False)]

    chosen = await tenant.panel(ticket, select="cus_3")
    assert blocks_by_type(chosen)["key_value"]["title"] == "Grace H. (old account)"
    assert chosen["verified"] is False
    # a selection that is not among the matches is ignored
    other = await tenant.panel(ticket, select="cus_1")
    assert blocks_by_type(other)["key_value"]["title"] == "Grace Hopper"


async def test_the_tenant_chooses_the_fields_and_how_many_orders(
    megadesk_tenant: TenantFactory, backend_url: str, backend: BackendState
) -> None:
    tenant = await megadesk_tenant("acme", integration="lookup")
    await tenant.configure(
        "lookup", {"base_url": backend_url, "api_key": API_KEY, "fields": ["plan", "missing", "name"], "max_orders": 1}
    )
    blocks = blocks_by_type(await tenant.panel(await tenant.new_ticket(email="ada@example.com")))
    assert [i["label"] for i in blocks["key_value"]["items"]] == ["Plan", "Name"]
    assert [r["id"] for r in blocks["table"]["rows"]] == ["o-3"]


@pytest.mark.parametrize(
    ("email", "data", "title"),
    [(None, None, "Nothing to look up"), ("nobody@example.com", None, "No customer found")],
)
async def test_nothing_to_show_is_an_empty_panel(
    megadesk_configured_tenant: TenantClient,
    backend: BackendState,
    email: str | None,
    data: dict[str, Any] | None,
    title: str,
) -> None:
    tenant = megadesk_configured_tenant
    panel = await tenant.panel(await tenant.new_ticket(email=email, data=data))
    assert panel["status"] == "empty"
    assert panel["blocks"][0]["type"] == "notice"
    assert panel["blocks"][0]["title"] == title


@pytest.mark.parametrize(
    ("status", "code", "message"),
    [
        (403, "authentication_failed", "rejected the API key (HTTP 403)"),
        (429, "rate_limited", "asked us to slow down"),
        (503, "upstream_unavailable", "failed (HTTP 503)"),
        (405, "unexpected_response", "unexpected HTTP 405"),
    ],
)
async def test_upstream_failures_become_the_hosts_errors(
    megadesk_configured_tenant: TenantClient, backend: BackendState, status: int, code: str, message: str
) -> None:
    tenant = megadesk_configured_tenant
    ticket = await tenant.new_ticket(email="ada@example.com")
    backend.status_override = status
    panel = await tenant.panel(ticket)
    assert panel["status"] == "error"
    assert panel["error"]["code"] == code
    assert message in panel["error"]["message"]
    assert API_KEY not in str(panel)


async def test_a_server_error_on_one_record_is_upstream_unavailable(
    megadesk_configured_tenant: TenantClient, backend: BackendState
) -> None:
    tenant = megadesk_configured_tenant
    panel = await tenant.panel(await tenant.new_ticket(email="boom@example.com"))
    assert panel["error"]["code"] == "upstream_unavailable"


async def test_a_slow_api_times_out_as_upstream_unavailable(
    megadesk_configured_tenant: TenantClient, backend: BackendState
) -> None:
    tenant = megadesk_configured_tenant
    ticket = await tenant.new_ticket(email="ada@example.com")
    backend.delay_seconds = 2.0  # the plugin's timeout option is 1s in these tests
    panel = await tenant.panel(ticket)
    assert panel["error"]["code"] == "upstream_unavailable"
    assert "did not answer in time" in panel["error"]["message"]


async def test_an_unreachable_api_is_upstream_unavailable(
    megadesk_tenant: TenantFactory, backend: BackendState
) -> None:
    tenant = await megadesk_tenant("acme", integration="lookup")
    with serve() as gone_url:  # checked and saved while it answers; it stops before the panel
        await tenant.configure("lookup", {"base_url": gone_url, "api_key": API_KEY})
    panel = await tenant.panel(await tenant.new_ticket(email="ada@example.com"))
    assert panel["error"]["code"] == "upstream_unavailable"
    assert "cannot be reached" in panel["error"]["message"]
