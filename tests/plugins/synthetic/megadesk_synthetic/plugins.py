"""Fifteen integrations that each stand for one upstream round trip: the panel answers after
``latency_ms`` (a process option, ``MEGADESK_PLUGIN_OPTIONS={"synthetic01": {"latency_ms": 100}}``),
as if it called an API that far away. The benchmark enables them next to Stripe to see what
fifteen more integrations add to a sidebar (``k16_over_k1``)."""

from __future__ import annotations

import asyncio

from pydantic import BaseModel, Field

from megadesk_core import hookimpl
from megadesk_core.types import (
    IntegrationContext,
    IntegrationManifest,
    KeyValueBlock,
    KeyValueItem,
    Panel,
    ResolvedCustomer,
    TicketContext,
)


class NoSettings(BaseModel):
    pass


class SyntheticOptions(BaseModel):
    latency_ms: float = Field(default=100.0, ge=0, le=10_000)


class Synthetic:
    def __init__(self, number: int) -> None:
        self.name = f"synthetic{number:02d}"

    @hookimpl
    def manifest(self) -> IntegrationManifest:
        return IntegrationManifest(
            name=self.name,
            title=f"Synthetic {self.name[-2:]}",
            settings_model=NoSettings,
            options_model=SyntheticOptions,
        )

    @hookimpl
    async def resolve_customer(self, ticket: TicketContext) -> ResolvedCustomer | None:
        return ResolvedCustomer(id=ticket.requester_email or ticket.id, verified=False)

    @hookimpl
    async def sidebar_panel(self, context: IntegrationContext[NoSettings, SyntheticOptions]) -> Panel:
        options = context.options
        await asyncio.sleep((options.latency_ms if options else 100.0) / 1000)
        return Panel(
            title=self.manifest().title, blocks=[KeyValueBlock(items=[KeyValueItem(label="plan", value="Pro")])]
        )


synthetic01, synthetic02, synthetic03, synthetic04, synthetic05 = (Synthetic(n) for n in range(1, 6))
synthetic06, synthetic07, synthetic08, synthetic09, synthetic10 = (Synthetic(n) for n in range(6, 11))
synthetic11, synthetic12, synthetic13, synthetic14, synthetic15 = (Synthetic(n) for n in range(11, 16))
