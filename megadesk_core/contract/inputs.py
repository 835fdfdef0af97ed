"""What a test asks the contract check to do: scenarios (settings and a ticket) and the actions to run in them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from megadesk_core.errors import IntegrationError
from megadesk_core.types import TicketContext


@dataclass(frozen=True)
class ContractAction:
    """An action to run in a scenario, with the payload an agent would send."""

    name: str
    payload: Mapping[str, Any]
    expect_error: type[IntegrationError] | None = None
    """The action must fail with this error type (or a subclass) instead of succeeding."""
    check_foreign_target: bool = True
    """Also send the payload with a ``target`` that is not the customer's: it must be refused."""


@dataclass(frozen=True)
class ContractScenario:
    """A situation to put the plugin in: a tenant's settings and a ticket, and what should happen.

    ``ticket.custom_data`` is this integration's own Custom Data block, as the host hands it to
    the plugin. ``settings`` are what an admin would submit (secrets in clear).
    """

    settings: Mapping[str, Any]
    ticket: TicketContext
    name: str = ""
    expect_error: type[IntegrationError] | None = None
    """The scenario must end in this error (or a subclass), raised by ``check_settings``,
    ``resolve_customer`` or ``sidebar_panel``, instead of a panel."""
    expect_customer: bool | None = None
    """``True``: ``resolve_customer`` must find a customer; ``False``: it must find none."""
    actions: Sequence[ContractAction] = ()
    check_settings: bool = True
    """Call ``check_settings`` first, as the host does when an admin saves the settings."""

    @property
    def label(self) -> str:
        return f"scenario {self.name or self.ticket.ticket_id!r}"
