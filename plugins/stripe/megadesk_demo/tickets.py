"""The demo's help-desk tickets, one per situation an agent meets, pointing at the seeded world."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from stripe_emulator.seed import DemoWorld


@dataclass(frozen=True)
class DemoTicket:
    id: str
    subject: str
    email: str | None
    stripe_customer_id: str | None = None

    def custom_data(self) -> dict[str, Any]:
        if self.stripe_customer_id is None:
            return {}
        return {"integrations": {"stripe": {"customerId": self.stripe_customer_id}}}


def demo_tickets(world: DemoWorld) -> list[DemoTicket]:
    ada = world.ada
    return [
        DemoTicket("T-1001", "Please refund my last payment", ada.email, ada.id),
        DemoTicket("T-1002", "Charged twice?", "Grace@Example.com"),  # unverified, and not the stored case
        DemoTicket("T-1003", "Cancel my subscription", world.shared_email),
        DemoTicket("T-1004", "Question about pricing", "nobody@example.com"),
        DemoTicket("T-1005", "Receipt for my yen payment, please", world.jpy_customer.email, world.jpy_customer.id),
        DemoTicket(
            "T-1006",
            "Changed my mind about leaving",
            world.cancel_at_period_end_customer.email,
            world.cancel_at_period_end_customer.id,
        ),
        DemoTicket("T-1007", "My card was declined", world.past_due_customer.email, world.past_due_customer.id),
        DemoTicket("T-1008", "Old account", "charles@example.com", world.deleted_customer_id),
    ]
