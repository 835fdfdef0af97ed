"""Calling one integration's hooks the way the host does (under a deadline), checking what they raise and render."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import anyio
from pydantic import BaseModel, ValidationError

from megadesk_core.contract.findings import Findings, describe, leaks, source_location
from megadesk_core.contract.panels import check_panel
from megadesk_core.errors import IntegrationError
from megadesk_core.hook_calls import call_with_named_arguments
from megadesk_core.panel import Panel
from megadesk_core.plugins import IntegrationRegistry, LoadedIntegration
from megadesk_core.types import ActionSpec, IntegrationContext, ResolvedCustomer, SettingsCheck, TicketContext

_CODE = re.compile(r"^[a-z][a-z0-9_]*$")


class StopScenario(Exception):
    """A scenario cannot go on (the problem is already recorded)."""


@dataclass
class ScenarioRun:
    registry: IntegrationRegistry
    integration: LoadedIntegration
    specs: Mapping[str, ActionSpec]
    impls: frozenset[str]
    timeout: float
    found: Findings
    current_hook: str = ""
    locations: Mapping[str, str | None] = field(default_factory=dict)
    """Each hook implementation's ``file:line``: problems found in a call point there."""

    @property
    def name(self) -> str:
        return self.integration.name

    def context(self, settings: BaseModel, settings_check: SettingsCheck | None = None) -> IntegrationContext:
        """What the host hands the hooks for the contract's tenant."""
        return IntegrationContext(
            tenant_id="megadesk-contract",
            integration=self.name,
            settings=settings,
            options=self.integration.options,
            settings_check=settings_check,
        )

    async def call(self, hook: str, where: str, **kwargs: Any) -> Any:
        self.current_hook = hook
        self.found.at = self.locations.get(hook)
        try:
            with anyio.fail_after(self.timeout):
                return await self.registry.call_raw(self.name, hook, **kwargs)
        except TimeoutError as exc:
            self.found.error("timeout", where, f"{hook} did not answer within {self.timeout:g}s.")
            raise StopScenario from exc

    async def run_action(self, spec: ActionSpec, where: str, **arguments: Any) -> Any:
        """The action's own handler when it declares one, else the ``run_action`` hook."""
        if spec.handler is None:
            return await self.call("run_action", where, action=spec.name, **arguments)
        self.current_hook = f"{spec.name} handler"
        self.found.at = source_location(spec.handler)
        try:
            with anyio.fail_after(self.timeout):
                return await call_with_named_arguments(spec.handler, arguments)
        except TimeoutError as exc:
            self.found.error("timeout", where, f"the {spec.name} handler did not answer within {self.timeout:g}s.")
            raise StopScenario from exc

    def check_error(self, exc: IntegrationError, where: str, secrets: Sequence[str]) -> None:
        if not exc.message or not str(exc.message).strip():
            self.found.error("error-message", where, f"{type(exc).__name__} has no message; agents read it.")
        if leaks(str(exc.message), secrets):
            self.found.error("secret-in-message", where, f"the {type(exc).__name__} message contains a secret.")
        if not _CODE.match(exc.code):
            self.found.warn("error-code", where, f"error code {exc.code!r} should be a lower-case slug.")

    def unexpected(self, exc: Exception, where: str, expected: str) -> None:
        if isinstance(exc, IntegrationError):
            self.found.error(
                "unexpected-error",
                where,
                f"raised {type(exc).__name__} ({exc.code}): {exc.message!r}; the scenario expected {expected}.",
            )
        else:
            self.found.error(
                "bare-exception",
                where,
                f"raised {describe(exc)}. Hooks raise megadesk_core.errors.IntegrationError subclasses "
                "(NotFoundError, UpstreamUnavailableError, ...) so the agent is told what happened; anything "
                "else becomes an opaque 'failed' panel.",
                self.found.raised_at(exc),
            )

    async def render(
        self, context: IntegrationContext, ticket: TicketContext, where: str, secrets: Sequence[str]
    ) -> tuple[ResolvedCustomer | None, Panel | None]:
        customer: ResolvedCustomer | None = None
        if "resolve_customer" in self.impls:
            result = await self.call("resolve_customer", f"{where}: resolve_customer", context=context, ticket=ticket)
            if result is not None and not isinstance(result, ResolvedCustomer):
                try:
                    result = ResolvedCustomer.model_validate(result)
                except ValidationError as exc:
                    self.found.error(
                        "customer-type",
                        f"{where}: resolve_customer",
                        f"returned {type(result).__name__}, not a ResolvedCustomer or None "
                        f"({exc.error_count()} errors).",
                    )
                    raise StopScenario from exc
            customer = result
            if customer is not None and customer.verified and not ticket.custom_data:
                self.found.error(
                    "verified-without-custom-data",
                    f"{where}: resolve_customer",
                    "returned verified=True for a ticket with no Custom Data for this integration; only a "
                    "record the ticket names is verified, an email match is verified=False.",
                )
        result = await self.call(
            "sidebar_panel", f"{where}: sidebar_panel", context=context, ticket=ticket, customer=customer
        )
        panel = check_panel(result, self.name, f"{where}: sidebar_panel", self.specs, customer, secrets, self.found)
        return customer, panel
