"""The host's contract check, run on the installed plugin with the fake customer API."""

from __future__ import annotations

from lookup_backend import API_KEY, REVOKED_KEY, BackendState

from megadesk_core.contract import ContractAction, ContractScenario
from megadesk_core.errors import AuthenticationFailedError, NotFoundError, UpstreamUnavailableError
from megadesk_core.testing import ContractRunner
from megadesk_core.types import TicketContext


async def test_the_lookup_plugin_meets_the_contract(megadesk_contract: ContractRunner, backend: BackendState) -> None:
    settings = {"base_url": backend.base_url, "api_key": API_KEY}
    note = {"target": "cus_1", "text": "contract note"}
    report = await megadesk_contract(
        scenarios=[
            ContractScenario(
                name="email match",
                settings=settings,
                ticket=TicketContext(ticket_id="T-1", requester_email="ada@example.com"),
                expect_customer=True,
                actions=[ContractAction("add_note", {**note, "identity_confirmed": True})],
            ),
            ContractScenario(
                name="named in Custom Data",
                settings=settings,
                ticket=TicketContext(ticket_id="T-2", custom_data={"customerId": "cus_1"}),
                expect_customer=True,
                actions=[ContractAction("add_note", note)],
            ),
            ContractScenario(
                name="several matches",
                settings=settings,
                ticket=TicketContext(ticket_id="T-3", requester_email="grace@example.com", selection="cus_3"),
            ),
            ContractScenario(
                name="nobody",
                settings=settings,
                ticket=TicketContext(ticket_id="T-4", requester_email="nobody@example.com"),
                expect_customer=False,
            ),
            ContractScenario(
                name="unknown id",
                settings=settings,
                ticket=TicketContext(ticket_id="T-5", custom_data={"customerId": "cus_404"}),
                expect_error=NotFoundError,
            ),
            ContractScenario(
                name="revoked key",
                settings={**settings, "api_key": REVOKED_KEY},
                ticket=TicketContext(ticket_id="T-6", requester_email="ada@example.com"),
                expect_error=AuthenticationFailedError,
            ),
            ContractScenario(
                name="backend down",
                settings=settings,
                ticket=TicketContext(ticket_id="T-7", requester_email="boom@example.com"),
                expect_error=UpstreamUnavailableError,
            ),
        ]
    )
    assert report.scenarios_run == 7
    assert report.problems == []
    assert len(backend.notes) == 2  # the foreign-target probes added none
