"""The tenant's cap on what an agent may refund in one action (``agent_refund_caps``).

Enforced here, server-side, for every action that refunds (a full refund, a partial one, the
latest invoice's payment on cancel) before anything is sent to Stripe; the dialog only shows
who acts. Above the cap only an admin may refund. No principal (a host that does not say who
acts) counts as an agent.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from megadesk_core.errors import ActionRefusedError
from megadesk_core.types import ActingPrincipal
from megadesk_stripe.money import format_amount


class RefundCapError(ActionRefusedError):
    status = 403
    code = "refund_above_agent_cap"


@dataclass(frozen=True)
class RefundCaps:
    """The caps by currency (minor units) and who is acting."""

    caps: Mapping[str, int] = field(default_factory=dict)
    principal: ActingPrincipal | None = None

    def check(self, amount: int, currency: str) -> None:
        """Refuse a refund of ``amount`` (minor units of ``currency``) above the agents' cap,
        unless an admin runs it."""
        cap = self.caps.get(currency.lower())
        if cap is None or amount <= cap or (self.principal is not None and self.principal.is_admin):
            return
        who = f"{self.principal.name} acts as an agent" if self.principal is not None else "the caller is no admin"
        raise RefundCapError(
            f"Refunding {format_amount(amount, currency)} is above what an agent may refund in one action "
            f"({format_amount(cap, currency)} in {currency.upper()}), and {who}. Nothing was refunded: "
            "ask an admin to run this refund, or refund a smaller part."
        )


NO_CAPS = RefundCaps()
"""No cap: what a caller that passes none gets (the tenant has set no caps)."""
