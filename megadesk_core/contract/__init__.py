"""The plugin contract: what the host expects of an integration, checked in one go.

The host refuses a broken plugin at start-up only for what it must (a bad manifest, a
misspelled hook); the rest (a panel it cannot draw, a secret kept in clear, a bare exception
that becomes an opaque error panel) would otherwise show up at request time, in front of an
agent. :func:`run_contract` puts the plugin through the host's expectations and lists every
problem, each with a stable ``code``, where it is, and what to do::

    from megadesk_core.contract import ContractAction, ContractScenario, run_contract
    from megadesk_core.errors import NotFoundError
    from megadesk_core.types import TicketContext

    await run_contract(
        registry,  # or a plugin module, or an installed entry point's name
        "acme",
        scenarios=[
            ContractScenario(
                name="by email",
                settings={"api_key": "k-123456"},
                ticket=TicketContext(ticket_id="T-1", requester_email="ada@example.com"),
                actions=[ContractAction("add_note", {"target": "c-1", "text": "hi", "identity_confirmed": True})],
            ),
            ContractScenario(
                name="unknown id",
                settings={"api_key": "k-123456"},
                ticket=TicketContext(ticket_id="T-2", custom_data={"contactId": "nope"}),
                expect_error=NotFoundError,
            ),
        ],
    )

It raises :class:`ContractViolation` (an ``AssertionError``, so pytest reports a failure)
listing every error; :func:`check_plugin` returns the :class:`ContractReport` instead. In
tests, the ``megadesk_contract`` fixture of :mod:`megadesk_core.testing` does the same for the
plugin under test. Scenarios run the hooks directly, the way the host calls them (one plugin,
under a deadline): point their settings at a fake or a test account, never at production.

The check is a package of small modules, one job each: :mod:`.findings` (problems and the
report), :mod:`.inputs` (scenarios and actions), :mod:`.settings_model` and :mod:`.declarations`
(what the plugin declares), :mod:`.panels` (what it renders), :mod:`.calls`, :mod:`.scenarios`
and :mod:`.actions` (running it), :mod:`.loading` (finding it) and :mod:`.runner` (the entry
points). Import from :mod:`megadesk_core.contract` itself; the modules are not an API.
"""

from __future__ import annotations

from megadesk_core.contract.actions import FOREIGN_TARGET as FOREIGN_TARGET
from megadesk_core.contract.declarations import REQUIRED_HOOKS, SYNC_ONLY_HOOKS
from megadesk_core.contract.findings import ContractReport, ContractViolation, Problem
from megadesk_core.contract.findings import Severity as Severity
from megadesk_core.contract.inputs import ContractAction, ContractScenario
from megadesk_core.contract.runner import check_plugin, run_contract

__all__ = [
    "REQUIRED_HOOKS",
    "SYNC_ONLY_HOOKS",
    "ContractAction",
    "ContractReport",
    "ContractScenario",
    "ContractViolation",
    "Problem",
    "check_plugin",
    "run_contract",
]
