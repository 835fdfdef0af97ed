"""Calling one integration's hooks the way the host does: one typed method per hook.

Each method calls the plugin (``async`` implementations on the event loop, plain ones in a
worker thread), awaits what needs awaiting, validates the result against the spec's type and
returns it, so the host's callers never see ``Any``. A result that does not validate raises
``pydantic.ValidationError``; callers turn that into an error panel or a problem response.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

import anyio.to_thread
from pydantic import BaseModel

from megadesk_core.panel import Panel
from megadesk_core.plugins import IntegrationRegistry, LoadedIntegration, resolved
from megadesk_core.types import (
    ActingPrincipal,
    ActionPayload,
    ActionResult,
    ActionSpec,
    IntegrationContext,
    RecoveredAction,
    ResolvedCustomer,
    SettingsCheck,
    TicketContext,
    WebhookResult,
)


class IntegrationHooks:
    """The hooks of one loaded integration."""

    def __init__(self, registry: IntegrationRegistry, integration: LoadedIntegration) -> None:
        self._registry = registry
        self.integration = integration

    async def _call(self, hook: str, **kwargs: Any) -> Any:
        return await self._registry.call_raw(self.integration.name, hook, **kwargs)

    async def check_settings(self, settings: BaseModel) -> SettingsCheck | None:
        result = await self._call("check_settings", settings=settings, options=self.integration.options)
        return None if result is None else SettingsCheck.model_validate(result)

    async def resolve_customer(self, context: IntegrationContext, ticket: TicketContext) -> ResolvedCustomer | None:
        result = await self._call("resolve_customer", context=context, ticket=ticket)
        return None if result is None else ResolvedCustomer.model_validate(result)

    async def sidebar_panel(
        self, context: IntegrationContext, ticket: TicketContext, customer: ResolvedCustomer | None
    ) -> Panel:
        return Panel.model_validate(
            await self._call("sidebar_panel", context=context, ticket=ticket, customer=customer)
        )

    async def run_action(
        self,
        context: IntegrationContext,
        ticket: TicketContext,
        customer: ResolvedCustomer,
        spec: ActionSpec,
        payload: ActionPayload,
        idempotency_key: str,
        principal: ActingPrincipal | None = None,
        earlier_attempt_unknown: bool = False,
    ) -> ActionResult:
        """The action's own handler when it declares one, else the ``run_action`` hook."""
        arguments: dict[str, Any] = {
            "context": context,
            "ticket": ticket,
            "customer": customer,
            "payload": payload,
            "idempotency_key": idempotency_key,
            "principal": principal,
            "earlier_attempt_unknown": earlier_attempt_unknown,
        }
        if spec.handler is not None:
            result = await call_with_named_arguments(spec.handler, arguments)
        else:
            result = await self._call("run_action", action=spec.name, **arguments)
        return ActionResult.model_validate(result)

    async def recover_action(
        self,
        context: IntegrationContext,
        ticket: TicketContext,
        customer: ResolvedCustomer | None,
        spec: ActionSpec,
        payload: ActionPayload,
        idempotency_key: str,
    ) -> RecoveredAction | None:
        """What the plugin found out about a lost attempt; ``None`` without the hook."""
        result = await self._call(
            "recover_action",
            context=context,
            ticket=ticket,
            customer=customer,
            action=spec.name,
            payload=payload,
            idempotency_key=idempotency_key,
        )
        return None if result is None else RecoveredAction.model_validate(result)

    async def webhook(
        self, context: IntegrationContext, body: bytes, headers: Mapping[str, str]
    ) -> WebhookResult | None:
        result = await self._call("webhook", context=context, body=body, headers=headers)
        return None if result is None else WebhookResult.model_validate(result)

    async def shutdown(self) -> None:
        await self._call("shutdown")


async def call_with_named_arguments(function: Any, arguments: dict[str, Any]) -> Any:
    """Call ``function`` with the ``arguments`` it names (as pluggy does for hooks), plain
    functions in a worker thread, and await the result."""
    parameters = inspect.signature(function).parameters
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())
    named = arguments if takes_any else {k: v for k, v in arguments.items() if k in parameters}
    if inspect.iscoroutinefunction(function):
        result = function(**named)
    else:
        # abandon_on_cancel: the deadline around this call fires on time; the thread finishes alone.
        result = await anyio.to_thread.run_sync(lambda: function(**named), abandon_on_cancel=True)
    return await resolved(result)
