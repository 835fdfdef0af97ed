"""The Litestar application factory."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from typing import TYPE_CHECKING, Any

from litestar import Litestar, Router, get
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.logging.config import LoggingConfig
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme

from megadesk_core.api.admin import AdminController
from megadesk_core.api.agent import IntegrationActionsController, TicketController
from megadesk_core.api.dependencies import DEPENDENCIES
from megadesk_core.api.health import ReadinessProbe, health, readiness
from megadesk_core.api.openapi_responses import declare_responses, forbid_extra_fields
from megadesk_core.api.preview import preview_router
from megadesk_core.api.problems import EXCEPTION_HANDLERS
from megadesk_core.api.request_limits import RequestLimitsMiddleware
from megadesk_core.api.schemas import WhoAmI
from megadesk_core.api.state import HostState
from megadesk_core.api.stream import stream_sidebars
from megadesk_core.api.token_cache import TokenCache
from megadesk_core.api.webhooks import receive_webhook
from megadesk_core.db.engine import Database
from megadesk_core.keyring import KeyRing
from megadesk_core.observability.setup import instrument
from megadesk_core.outbound import OutboundHTTP
from megadesk_core.outbound import install as install_outbound
from megadesk_core.outbound.budget import RequestBudgets
from megadesk_core.panel import panel_json_schema
from megadesk_core.panel_cache import make_panel_cache
from megadesk_core.plugins import IntegrationRegistry
from megadesk_core.services.changes import ChangeFeed
from megadesk_core.services.recovery import recovery_loop
from megadesk_core.services.shared_renders import SharedRenders
from megadesk_core.services.tenants import Principal
from megadesk_core.services.webhooks import WebhookGate, WebhookReceiver
from megadesk_core.settings import Settings
from megadesk_core.startup import prepare

if TYPE_CHECKING:
    from opentelemetry.trace import TracerProvider

API_VERSION = "1.0.0"
QUIET_LOGGERS = ("httpx", "httpcore", "stripe", "urllib3")


@get("/api/v1/schema/panel", operation_id="panelJsonSchema", tags=["meta"], sync_to_thread=False)
def panel_schema() -> dict[str, Any]:
    """The JSON Schema of the sidebar and panel documents (panel schema version 1)."""
    return panel_json_schema()


@get("/api/v1/me", operation_id="whoAmI", tags=["meta"], sync_to_thread=False)
def who_am_i(principal: NamedDependency[Principal]) -> WhoAmI:
    return WhoAmI(tenant=principal.tenant_slug, token_name=principal.name, role=principal.role.value)


def create_app(
    settings: Settings | None = None,
    *,
    registry: IntegrationRegistry | None = None,
    keyring: KeyRing | None = None,
    extra_route_handlers: list[Any] | None = None,
    tracer_provider: TracerProvider | None = None,
) -> Litestar:
    """Build the app: migrate (embedded default), check the key ring, load plugins.

    Tests may pass a ready ``registry`` (e.g. with plugins registered directly), and a
    ``tracer_provider`` used when ``settings.otel_enabled``.
    """
    settings = settings or Settings()
    keyring, registry = prepare(settings, keyring=keyring, registry=registry)
    database = Database.for_settings(settings)
    panel_cache = make_panel_cache(settings.redis_url, settings.panel_cache_seconds, settings.panel_stale_seconds)
    renders = SharedRenders(panel_cache, settings.panel_timeout_seconds)
    changes = ChangeFeed(settings.redis_url)
    changes.on_change(lambda change: renders.note_change(change.tenant_id, change.integration))
    webhook_gate = WebhookGate(settings.redis_url, settings.webhook_rate_per_minute, settings.webhook_tolerance_seconds)
    # Every plugin's upstream calls go through this one layer; contexts and check_settings get it
    # labelled with their tenant and integration (megadesk_core/outbound).
    outbound = OutboundHTTP.from_settings(settings)
    budgets = outbound.budgets = RequestBudgets(settings.redis_url, settings.outbound_budgets)
    install_outbound(outbound)
    observed = instrument(settings, outbound, tracer_provider=tracer_provider)
    host = HostState(
        settings=settings,
        database=database,
        registry=registry,
        keyring=keyring,
        renders=renders,
        outbound=outbound,
        tokens=TokenCache(settings.token_cache_seconds),
        changes=changes,
        webhooks=WebhookReceiver(
            database, registry, keyring, renders, changes, webhook_gate, settings.webhook_tolerance_seconds
        ),
    )
    readiness_probe = ReadinessProbe(
        database, registry, redis_url=settings.redis_url, required_plugins=settings.plugins_required
    )

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        # Attempts a dead process left pending are resolved without a human retry (read-only).
        recovering = asyncio.create_task(
            recovery_loop(settings, registry, keyring, panel_cache), name="action-recovery"
        )
        try:
            yield
        finally:
            recovering.cancel()
            with suppress(asyncio.CancelledError):
                await recovering
            await renders.close()
            await changes.close()
            await webhook_gate.close()
            await host.registry.shutdown()
            await panel_cache.close()
            await budgets.close()
            await readiness_probe.close()
            await database.dispose()

    app = Litestar(
        route_handlers=[
            health,
            readiness,
            panel_schema,
            # Declared where it is enforced, so the OpenAPI document shows the public routes
            # (probes, schemas) without a security requirement.
            Router(
                path="/",
                route_handlers=[
                    who_am_i,
                    AdminController,
                    TicketController,
                    IntegrationActionsController,
                    stream_sidebars,
                ],
                security=[{"bearer": []}],
            ),
            receive_webhook,
            preview_router,
            *observed.route_handlers,
            *(extra_route_handlers or []),
        ],
        dependencies=DEPENDENCIES,
        exception_handlers=EXCEPTION_HANDLERS,
        middleware=[*observed.middleware, RequestLimitsMiddleware],
        plugins=observed.plugins,
        lifespan=[lifespan],
        logging_config=LoggingConfig(
            root={"level": settings.log_level.upper(), "handlers": ["queue_listener"]},
            # HTTP client libraries log every request URL at INFO (customer emails in query
            # strings): keep them to warnings.
            loggers={name: {"level": "WARNING", "propagate": True} for name in QUIET_LOGGERS},
            log_exceptions="never",  # the problem handlers log what is unexpected (5xx)
            **observed.logging,  # text or JSON lines, with the request's id and tenant
        ),
        state=State({"host": host, "readiness": readiness_probe}),
        openapi_config=OpenAPIConfig(
            title="Megadesk Integrations",
            version=API_VERSION,
            path="/schema",
            components=Components(
                security_schemes={"bearer": SecurityScheme(type="http", scheme="bearer", description="API token")}
            ),
        ),
    )
    declare_responses(app)
    forbid_extra_fields(app)
    return app
