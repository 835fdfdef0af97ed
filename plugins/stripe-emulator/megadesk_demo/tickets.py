"""The demo's help-desk tickets, one per situation an agent meets, pointing at the seeded world."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from stripe_emulator.seed import DemoWorld, SeededCustomer


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
        _ticket("T-1009", "I don't recognise this charge, refund it", world.disputed_customer),  # disputed
        _ticket("T-1010", "Where is my refund?", world.pending_refund_customer),  # refund pending
        _ticket("T-1011", "You said you refunded me, nothing arrived", world.failed_refund_customer),  # failed
        _ticket("T-1012", "Why did my payment fail?", world.declined_customer),  # insufficient funds
        # Stored in capitals, written in lower case: found by email; one seat's worth to refund in part.
        DemoTicket("T-1013", "I only use one of the two seats", "sam.seats@example.com"),
        _ticket("T-1014", "Which plan am I still paying for?", world.plans_customer),  # live behind ended ones
        _ticket("T-1015", "Can you list every seat I paid for?", world.plans_customer),  # payments: show more
    ]


def _ticket(ticket_id: str, subject: str, customer: SeededCustomer) -> DemoTicket:
    return DemoTicket(ticket_id, subject, customer.email, customer.id)
