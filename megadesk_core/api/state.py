"""What one running app holds: settings, database, loaded integrations and the key ring."""

from __future__ import annotations

from dataclasses import dataclass

from megadesk_core.api.token_cache import TokenCache
from megadesk_core.db.engine import Database
from megadesk_core.keyring import KeyRing
from megadesk_core.outbound import OutboundHTTP
from megadesk_core.plugins import IntegrationRegistry
from megadesk_core.services.changes import ChangeFeed
from megadesk_core.services.heartbeat import ClaimTiming
from megadesk_core.services.shared_renders import SharedRenders
from megadesk_core.services.sidebar import PanelRenderer
from megadesk_core.services.webhooks import WebhookReceiver
from megadesk_core.settings import Settings


@dataclass(frozen=True)
class HostState:
    settings: Settings
    database: Database
    registry: IntegrationRegistry
    keyring: KeyRing
    renders: SharedRenders
    outbound: OutboundHTTP
    tokens: TokenCache
    changes: ChangeFeed
    webhooks: WebhookReceiver

    @property
    def claim_timing(self) -> ClaimTiming:
        return ClaimTiming.from_settings(self.settings)

    @property
    def renderer(self) -> PanelRenderer:
        return PanelRenderer(self.registry, self.keyring, self.renders)
