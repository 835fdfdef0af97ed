"""Turning loaded integrations and installations into API responses."""

from __future__ import annotations

from megadesk_core.api.schemas import ActionOut, IntegrationOut, SettingsOut
from megadesk_core.db.models import IntegrationInstallation
from megadesk_core.plugins import LoadedIntegration, implements_hook
from megadesk_core.services.installations import SettingsView, secret_field_names, view
from megadesk_core.services.webhooks import webhook_path
from megadesk_core.types import SettingsCheck


def action_out(integration: LoadedIntegration, row: IntegrationInstallation | None) -> list[ActionOut]:
    check = SettingsCheck.model_validate(row.settings_check) if row and row.settings_check else SettingsCheck()
    return [
        ActionOut(
            name=spec.name,
            title=spec.title,
            description=spec.description,
            confirmation=spec.confirmation,
            danger=spec.danger,
            requires_verified_customer=spec.requires_verified_customer,
            payload_schema=spec.payload_model.model_json_schema(),
            unavailable_reason=check.unavailable_reason(spec.feature),
        )
        for spec in integration.actions.values()
    ]


def integration_out(integration: LoadedIntegration, row: IntegrationInstallation | None) -> IntegrationOut:
    manifest = integration.manifest
    return IntegrationOut(
        name=manifest.name,
        title=manifest.title,
        description=manifest.description,
        source=integration.source,
        hook_api_version=manifest.hook_api_version,
        panel_schema_version=manifest.panel_schema_version,
        enabled=bool(row and row.enabled),
        configured=row is not None,
        settings_schema=manifest.settings_model.model_json_schema(),
        secret_fields=sorted(secret_field_names(manifest.settings_model)),
        actions=action_out(integration, row),
    )


def settings_out(settings_view: SettingsView) -> SettingsOut:
    return SettingsOut(
        integration=settings_view.integration,
        enabled=settings_view.enabled,
        configured=settings_view.configured,
        settings=settings_view.settings,
        secrets=settings_view.secrets,
        check=settings_view.check,
    )


def settings_out_for(integration: LoadedIntegration, row: IntegrationInstallation | None) -> SettingsOut:
    out = settings_out(view(row, integration.manifest))
    if row is not None and implements_hook(integration.plugin, "webhook"):
        return out.model_copy(update={"webhook_path": webhook_path(row.id)})
    return out
