"""Disputes (chargebacks and inquiries) on the customer's payments.

A charge only says *that* it is disputed (``charge.disputed``); the dispute itself is read
with ``GET /v1/disputes?payment_intent=...``, and only for payments that are disputed, so a
panel without disputes costs no request for them. A disputed payment cannot be refunded
(Stripe refuses: the dispute decides where the money goes).
"""

from __future__ import annotations

from dataclasses import dataclass

import stripe

from megadesk_stripe.records import expandable_id

OPEN_DISPUTE_STATUSES = frozenset({"warning_needs_response", "warning_under_review", "needs_response", "under_review"})
"""Still undecided: the agent must not promise anything, and someone may need to respond."""

_STATUS_TEXT = {
    "warning_needs_response": "inquiry, needs a response",
    "warning_under_review": "inquiry, under review",
    "warning_closed": "inquiry closed",
    "needs_response": "needs a response",
    "under_review": "under review",
    "won": "won",
    "lost": "lost",
    "prevented": "prevented",
}


@dataclass(frozen=True)
class DisputeRecord:
    id: str
    amount: int
    currency: str
    status: str
    reason: str
    evidence_due_by: int | None
    payment_intent_id: str | None

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_DISPUTE_STATUSES

    @property
    def status_text(self) -> str:
        return _STATUS_TEXT.get(self.status, self.status.replace("_", " "))


def dispute_record(dispute: stripe.Dispute) -> DisputeRecord:
    details = dispute.evidence_details
    return DisputeRecord(
        id=dispute.id,
        amount=dispute.amount,
        currency=dispute.currency,
        status=dispute.status,
        reason=dispute.reason,
        evidence_due_by=details.due_by if details else None,
        payment_intent_id=expandable_id(dispute.payment_intent),
    )
