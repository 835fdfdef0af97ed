"""Rendering the sidebar: one panel per enabled integration, concurrently, each isolated.

A plugin that raises, returns something that is not a panel, or misses its deadline yields an
error panel for its integration alone; the other panels still render.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from pydantic import ValidationError

from megadesk_core.db.models import IntegrationInstallation, Ticket
from megadesk_core.errors import MegadeskError, SettingsUnreadableError
from megadesk_core.hook_calls import IntegrationHooks
from megadesk_core.keyring import KeyRing
from megadesk_core.observability import metrics
from megadesk_core.observability.rendering import observed_panel
from megadesk_core.outbound.budget import budget_refusals
from megadesk_core.panel import PANEL_SCHEMA_VERSION, PanelError, SidebarPanel
from megadesk_core.panel_cache import PanelCache, StoredPanel
from megadesk_core.plugins import IntegrationRegistry, LoadedIntegration
from megadesk_core.refusals import refused_panel
from megadesk_core.services.installations import integration_context
from megadesk_core.services.shared_renders import BUSY, SharedRenders
from megadesk_core.services.sidebar_state import SidebarState, panel_state
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
        objects=panel.objects,
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


def busy_panel(integration: LoadedIntegration) -> SidebarPanel:
    title = integration.manifest.title
    return error_panel(
        integration,
        BUSY,
        f"{title} is busy: Megadesk is holding back requests to stay within {title}'s rate limit. "
        "Reload in a few seconds.",
    )


@dataclass(frozen=True)
class PanelRenderer:
    """Renders panels for tickets, through the app's shared renders (cache, single-flight)."""

    registry: IntegrationRegistry
    keyring: KeyRing
    renders: SharedRenders

    @property
    def cache(self) -> PanelCache:
        return self.renders.cache

    async def stored_panel(
        self,
        ticket: Ticket,
        row: IntegrationInstallation,
        integration: LoadedIntegration,
        selection: str | None = None,
        *,
        fresh: bool = False,
        customer: ResolvedCustomer | None = None,
        page: str | None = None,
    ) -> StoredPanel:
        """One integration's panel as served (JSON); ``fresh`` skips the kept panel (the result
        still refills it). ``customer``: already resolved for this ticket and selection.
        ``page``: a table's next page (``TableBlock.next_page.cursor``), passed to the plugin."""
        state = panel_state(ticket.external_id, ticket.updated_at, selection, row.updated_at, page)
        key = await self.cache.key(row.tenant_id, integration.name, state)
        flight = self.renders.flight(row.tenant_id, integration.name, key or state)

        async def render() -> StoredPanel:
            hooks = IntegrationHooks(self.registry, integration)

            async def hook_calls() -> SidebarPanel:
                context = integration_context(row, self.keyring, integration.manifest, integration.options)
                try:
                    view = ticket_context(ticket, integration.name, selection, page)
                    return await render_panel(hooks, context, view, customer)
                finally:
                    await context.memo.aclose()

            async def budgeted() -> SidebarPanel:
                with budget_refusals() as refused:
                    panel = await guarded(integration, self.renders.render_timeout, hook_calls)
                if panel.status == "error" and refused.names:
                    log.warning(
                        "integration %s held back by its request budget (%s)", integration.name, refused.names[0]
                    )
                    return busy_panel(integration)
                return panel

            return StoredPanel.of(await observed_panel(integration.name, budgeted))

        return await self.renders.serve(key, flight, integration.name, integration.manifest.title, render, fresh=fresh)

    async def stored_sidebar(
        self,
        ticket: Ticket,
        installations: list[IntegrationInstallation],
        *,
        selection: dict[str, str] | None = None,
        fresh: bool = False,
    ) -> list[StoredPanel]:
        """Every enabled integration's panel, rendered concurrently, in display order."""
        selection = selection or {}
        started = time.perf_counter()
        jobs = []
        refused = []
        for row in installations:
            integration = self.registry.get(row.integration)
            if integration is None:
                if (panel := self.refused(row.integration)) is not None:
                    refused.append(panel)
                continue
            jobs.append(self.stored_panel(ticket, row, integration, selection.get(integration.name), fresh=fresh))
        panels = [*await asyncio.gather(*jobs), *refused]
        metrics.sidebar_built(time.perf_counter() - started)
        return sorted(panels, key=lambda p: (p.title.lower(), p.integration))

    async def kept_sidebar(
        self, tenant_id: str, ticket_id: str, state: SidebarState, *, selection: dict[str, str] | None = None
    ) -> list[StoredPanel] | None:
        """Every panel of the ticket if each is kept and fresh, or stale with its refresh already
        running (the warm path: nothing to render, no full row to read), in display order; else
        ``None``."""
        selection = selection or {}
        started = time.perf_counter()
        kept = []
        for name, installation_updated_at in state.installations:
            if self.registry.get(name) is None:
                if (refused := self.refused(name)) is not None:
                    kept.append(refused)
                continue
            state_key = panel_state(ticket_id, state.ticket_updated_at, selection.get(name), installation_updated_at)
            key = await self.cache.key(tenant_id, name, state_key)
            panel = (
                await self.renders.kept(key, self.renders.flight(tenant_id, name, key), name)
                if key is not None
                else None
            )
            if panel is None:
                return None
            kept.append(panel)
        metrics.sidebar_built(time.perf_counter() - started)
        return sorted(kept, key=lambda p: (p.title.lower(), p.integration))

    def refused(self, integration: str) -> StoredPanel | None:
        """The error panel of an integration this process refused at start-up: its tenants see
        that it is broken, not that it vanished. ``None`` for one not installed or blocked here
        (the operator's choice: nothing to show)."""
        refusal = self.registry.rejected.get(integration)
        return StoredPanel.of(refused_panel(integration, refusal)) if refusal is not None else None


def sidebar_json(ticket_id: str, panels: list[StoredPanel]) -> bytes:
    """The :class:`Sidebar` JSON from kept panel JSON, without parsing it again (the warm path)."""
    head = json.dumps({"schema_version": PANEL_SCHEMA_VERSION, "ticket_id": ticket_id}, separators=(",", ":"))
    return f'{head[:-1]},"panels":[{",".join(p.body for p in panels)}]}}'.encode()
