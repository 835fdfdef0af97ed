"""Rendering the sidebar: one panel per enabled integration, concurrently, each isolated.

A plugin that raises, returns something that is not a panel, or misses its deadline yields an
error panel for its integration alone; the other panels still render.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from pydantic import ValidationError

from megadesk_core.db.models import IntegrationInstallation, Ticket
from megadesk_core.errors import MegadeskError, SettingsUnreadableError
from megadesk_core.hashing import fingerprint
from megadesk_core.hook_calls import IntegrationHooks
from megadesk_core.keyring import KeyRing
from megadesk_core.panel import PanelError, Sidebar, SidebarPanel
from megadesk_core.panel_cache import PanelCache
from megadesk_core.plugins import IntegrationRegistry, LoadedIntegration
from megadesk_core.refusals import refused_panel
from megadesk_core.services.installations import integration_context
from megadesk_core.services.tickets import ticket_context
from megadesk_core.types import IntegrationContext, ResolvedCustomer, TicketContext

log = logging.getLogger(__name__)


def error_panel(integration: LoadedIntegration, code: str, message: str) -> SidebarPanel:
    return SidebarPanel(
        integration=integration.name,
        title=integration.manifest.title,
        status="error",
        error=PanelError(code=code, message=message),
    )


async def render_panel(
    hooks: IntegrationHooks,
    context: IntegrationContext,
    ticket: TicketContext,
    customer: ResolvedCustomer | None = None,
) -> SidebarPanel:
    """Resolve the customer (unless the caller already has) and render the panel; no error
    handling (see :func:`guarded`)."""
    if customer is None:
        customer = await hooks.resolve_customer(context, ticket)
    panel = await hooks.sidebar_panel(context, ticket, customer)
    # The host, not the plugin's panel, says whether the match is verified: it is what the host
    # enforces on actions, and a plugin that forgets the flag must not hide the label.
    verified = customer.verified if customer is not None else panel.verified
    return SidebarPanel(
        integration=hooks.integration.name,
        title=panel.title,
        status=panel.status,
        verified=verified,
        # The note explains the label, so it goes with the label and never without it.
        verification_note=panel.verification_note if verified is False else None,
        blocks=panel.blocks,
    )


async def guarded(
    integration: LoadedIntegration, timeout: float, render: Callable[[], Awaitable[SidebarPanel]]
) -> SidebarPanel:
    """Run ``render`` under a deadline and turn every failure into an error panel."""
    title = integration.manifest.title
    try:
        async with asyncio.timeout(timeout):
            return await render()
    except TimeoutError:
        log.warning("integration %s missed its %.1fs panel deadline", integration.name, timeout)
        return error_panel(integration, "timeout", f"{title} did not answer in time. Reload to try again.")
    except MegadeskError as exc:
        if isinstance(exc, SettingsUnreadableError):
            log.error("settings of integration %s are unusable: %s", integration.name, exc.message)
        return error_panel(integration, exc.code, exc.message)
    except ValidationError:
        log.exception("integration %s returned an invalid panel", integration.name)
        return error_panel(integration, "invalid_panel", f"{title} returned a panel this host cannot show.")
    except Exception:
        log.exception("integration %s failed to render its panel", integration.name)
        return error_panel(integration, "plugin_error", f"{title} failed to render; the error was logged.")


@dataclass(frozen=True)
class PanelRenderer:
    """Renders panels for tickets, through the shared panel cache."""

    registry: IntegrationRegistry
    keyring: KeyRing
    cache: PanelCache
    timeout: float

    async def panel(
        self,
        ticket: Ticket,
        row: IntegrationInstallation,
        integration: LoadedIntegration,
        selection: str | None = None,
        *,
        fresh: bool = False,
        customer: ResolvedCustomer | None = None,
    ) -> SidebarPanel:
        """One integration's panel; ``fresh`` skips the cache (the result still refills it).
        ``customer``: already resolved for this ticket and selection (after an action)."""
        # Settings and ticket changes move updated_at, so they change the key by themselves.
        state = fingerprint(ticket.external_id, ticket.updated_at.isoformat(), selection, row.updated_at.isoformat())
        key = await self.cache.key(row.tenant_id, integration.name, state)
        if key is not None and not fresh and (cached := await self.cache.get(key)) is not None:
            return cached

        async def render() -> SidebarPanel:
            context = integration_context(row, self.keyring, integration.manifest, integration.options)
            try:
                view = ticket_context(ticket, integration.name, selection)
                return await render_panel(IntegrationHooks(self.registry, integration), context, view, customer)
            finally:
                await context.memo.aclose()

        panel = await guarded(integration, self.timeout, render)
        if key is not None:
            await self.cache.put(key, panel)
        return panel

    async def sidebar(
        self,
        ticket: Ticket,
        installations: list[IntegrationInstallation],
        *,
        selection: dict[str, str] | None = None,
        fresh: bool = False,
    ) -> Sidebar:
        """Every enabled integration's panel, rendered concurrently."""
        selection = selection or {}
        jobs = []
        refused: list[SidebarPanel] = []
        for row in installations:
            integration = self.registry.get(row.integration)
            if integration is None:
                # Refused at start-up: its tenants see that it is broken, not that it vanished. Not
                # installed or blocked in this process: the operator's choice, nothing to show.
                if (refusal := self.registry.rejected.get(row.integration)) is not None:
                    refused.append(refused_panel(row.integration, refusal))
                continue
            jobs.append(self.panel(ticket, row, integration, selection.get(integration.name), fresh=fresh))
        panels = [*await asyncio.gather(*jobs), *refused]
        return Sidebar(
            ticket_id=ticket.external_id, panels=sorted(panels, key=lambda p: (p.title.lower(), p.integration))
        )
