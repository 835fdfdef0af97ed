"""Admin endpoints: integrations, their settings for the tenant, the audit log."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter
from sqlmodel.ext.asyncio.session import AsyncSession

from megadesk_core.api.input_bounds import MAX_ROW_ID
from megadesk_core.api.integrations_views import integration_out, settings_out_for
from megadesk_core.api.schemas import AuditEntryOut, IntegrationOut, SettingsOut, SettingsUpdate
from megadesk_core.api.state import HostState
from megadesk_core.errors import not_found
from megadesk_core.plugins import LoadedIntegration
from megadesk_core.services import audit, configure
from megadesk_core.services.installations import get_installation
from megadesk_core.services.tenants import Principal


def _integration(host: HostState, name: str) -> LoadedIntegration:
    integration = host.registry.get(name)
    if integration is None:
        raise not_found(f"Integration {name!r}")
    return integration


class AdminController(Controller):
    path = "/api/v1"
    tags = ["admin"]

    @get("/integrations", operation_id="listIntegrations", summary="Installed integrations and this tenant's state")
    async def list_integrations(
        self,
        host: NamedDependency[HostState],
        admin: NamedDependency[Principal],
        db_session: NamedDependency[AsyncSession],
    ) -> list[IntegrationOut]:
        return [
            integration_out(i, await get_installation(db_session, admin.tenant_id, i.name))
            for i in sorted(host.registry.integrations.values(), key=lambda i: i.name)
        ]

    @get("/integrations/{name:str}/settings", operation_id="getIntegrationSettings")
    async def get_settings(
        self,
        host: NamedDependency[HostState],
        admin: NamedDependency[Principal],
        db_session: NamedDependency[AsyncSession],
        name: FromPath[str],
    ) -> SettingsOut:
        integration = _integration(host, name)
        return settings_out_for(integration, await get_installation(db_session, admin.tenant_id, name))

    @put("/integrations/{name:str}/settings", operation_id="putIntegrationSettings")
    async def put_settings(
        self,
        host: NamedDependency[HostState],
        admin: NamedDependency[Principal],
        db_session: NamedDependency[AsyncSession],
        name: FromPath[str],
        data: JSONBody[SettingsUpdate],
    ) -> SettingsOut:
        """Validate, check and store settings. Secret fields left out keep their stored value;
        secret values are never returned."""
        integration = _integration(host, name)
        row = await configure.configure(
            db_session,
            host.registry,
            host.keyring,
            admin,
            integration,
            data.settings,
            enabled=data.enabled,
            check_timeout=host.settings.action_timeout_seconds,
        )
        return settings_out_for(integration, row)

    @post("/integrations/{name:str}/enable", operation_id="enableIntegration", status_code=200)
    async def enable(
        self,
        host: NamedDependency[HostState],
        admin: NamedDependency[Principal],
        db_session: NamedDependency[AsyncSession],
        name: FromPath[str],
    ) -> SettingsOut:
        integration = _integration(host, name)
        row = await configure.enable(
            db_session,
            host.registry,
            host.keyring,
            admin,
            integration,
            check_timeout=host.settings.action_timeout_seconds,
        )
        return settings_out_for(integration, row)

    @post("/integrations/{name:str}/disable", operation_id="disableIntegration", status_code=200)
    async def disable(
        self,
        host: NamedDependency[HostState],
        admin: NamedDependency[Principal],
        db_session: NamedDependency[AsyncSession],
        name: FromPath[str],
    ) -> SettingsOut:
        integration = _integration(host, name)
        return settings_out_for(integration, await configure.disable(db_session, admin, integration))

    @get("/audit", operation_id="listAuditEntries", summary="The tenant's audit log, newest first")
    async def list_audit(
        self,
        admin: NamedDependency[Principal],
        db_session: NamedDependency[AsyncSession],
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 100,
        before: Annotated[
            int | None,
            QueryParameter(ge=1, le=MAX_ROW_ID, description="Only entries with a smaller id (paging)."),
        ] = None,
    ) -> list[AuditEntryOut]:
        entries = await audit.list_entries(db_session, admin.tenant_id, limit=limit, before_id=before)
        return [
            AuditEntryOut(
                id=e.id or 0,
                created_at=e.created_at,
                actor_name=e.actor_name,
                actor_role=e.actor_role,
                ticket_id=e.ticket_external_id,
                integration=e.integration,
                action=e.action,
                target=e.target,
                outcome=e.outcome,
                detail=e.detail,
                request_id=e.request_id,
                customer_id=e.customer_id,
                amount=e.amount,
                currency=e.currency,
                reference=e.reference,
                request=e.request,
                completed_at=e.completed_at,
            )
            for e in entries
        ]
