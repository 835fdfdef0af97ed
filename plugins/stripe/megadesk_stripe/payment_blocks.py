"""The payment history's blocks: the payments table (refund, dispute, receipt and decline state)
and the warning an open dispute puts at the top of the panel. Pure functions: no Stripe calls."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from megadesk_core.panel import (
    ActionButton,
    Badge,
    Link,
    LinksBlock,
    NoticeBlock,
    TableBlock,
    TableCell,
    TableColumn,
    TablePage,
    TableRow,
    Tone,
)
from megadesk_stripe.blocks import PARTIAL_REFUND_ACTION, REFUND_ACTION, dashboard_url, optional_columns, status_label
from megadesk_stripe.declines import decline_reason
from megadesk_stripe.disputes import DisputeRecord
from megadesk_stripe.money import format_amount
from megadesk_stripe.records import PaymentRecord
from megadesk_stripe.resolution import day

_PAYMENT_TONES: dict[str, Tone] = {
    "succeeded": "success",
    "processing": "info",
    "requires_payment_method": "warning",
    "requires_action": "warning",
    "requires_confirmation": "warning",
    "requires_capture": "info",
}


DisputesByPayment = Mapping[str, Sequence[DisputeRecord]]
"""The disputes read for disputed payments, by payment intent id (a payment missing here is
disputed but its dispute could not be read)."""


def dispute_summary(dispute: DisputeRecord) -> str:
    """``"Disputed $29.00 (fraudulent): needs a response; evidence due 2024-03-01"``."""
    text = (
        f"Disputed {format_amount(dispute.amount, dispute.currency)} "
        f"({dispute.reason.replace('_', ' ')}): {dispute.status_text}"
    )
    if dispute.is_open and dispute.evidence_due_by:
        text += f"; evidence due {day(dispute.evidence_due_by)}"
    return text


def _payment_status(payment: PaymentRecord, disputes: Sequence[DisputeRecord] | None) -> tuple[str, Tone, list[str]]:
    """Status text, badge tone and notes (sentences for the payment's details cell)."""
    if payment.disputed:
        if not disputes:
            return "disputed", "danger", ["Disputed; the dispute's details could not be read."]
        latest = disputes[0]
        tone: Tone = "danger" if latest.is_open else "neutral"
        status = "disputed" if latest.is_open else f"dispute {latest.status_text}"
        return status, tone, [dispute_summary(d) for d in disputes]
    refund_state = payment.refund_state
    if refund_state is not None:
        tones: dict[str, Tone] = {
            "refunded": "neutral",
            "refund pending": "info",
            "refund failed": "danger",
            "partly refunded": "warning",
        }
        return refund_state, tones[refund_state], []
    return status_label(payment.status), _PAYMENT_TONES.get(payment.status, "neutral"), []


def _refund_notes(payment: PaymentRecord) -> list[str]:
    """What happened to refunds that are not (yet) money back."""
    currency = payment.currency
    hints = []
    if payment.pending_refund_amount:
        hints.append(
            f"refund of {format_amount(payment.pending_refund_amount, currency)} pending: not back with the "
            "customer yet"
        )
    for refund in payment.unsuccessful_refunds:
        reason = f" ({refund.failure_reason.replace('_', ' ')})" if refund.failure_reason else ""
        hints.append(f"refund of {format_amount(refund.amount, currency)} {refund.status}{reason}: no money went back")
    return hints


def _payment_row(
    payment: PaymentRecord, test_mode: bool, can_refund: bool, disputes: Sequence[DisputeRecord] | None
) -> TableRow:
    status, tone, notes = _payment_status(payment, disputes)
    # Short figures go under the status; sentences go to the details cell, which wraps.
    hints = []
    if payment.captured_amount < payment.amount and payment.status == "succeeded":
        hints.append(
            f"{format_amount(payment.captured_amount, payment.currency)} of "
            f"{format_amount(payment.amount, payment.currency)} captured"
        )
    if payment.settled_refund_amount:
        hints.append(
            f"{format_amount(payment.settled_refund_amount, payment.currency)} of "
            f"{format_amount(payment.captured_amount, payment.currency)} refunded"
        )
    notes += _refund_notes(payment)
    if payment.has_failed_attempt and payment.decline is not None:
        notes.append(decline_reason(payment.decline).text)
    buttons = []
    if can_refund and payment.can_refund:
        remaining = format_amount(payment.refundable_amount, payment.currency)
        label = "Refund again" if payment.refund_state == "refund failed" else "Refund"
        buttons.append(ActionButton(action=REFUND_ACTION, label=f"{label} {remaining}", target=payment.id))
        buttons.append(ActionButton(action=PARTIAL_REFUND_ACTION, label="Refund part…", target=payment.id))
    cells = {
        "date": TableCell(text=day(payment.created)),
        "amount": TableCell(
            text=format_amount(payment.amount, payment.currency),
            href=dashboard_url(test_mode, "payments", payment.id),
        ),
        "status": TableCell(text=status, badge=Badge(label=status, tone=tone), hint="; ".join(hints) or None),
        "description": TableCell(text=payment.description or ""),
    }
    if notes:
        # A dispute's sentence links to it (a status cell's badge stands in for its text and link).
        dispute_href = dashboard_url(test_mode, "disputes", disputes[0].id) if disputes else None
        cells["details"] = TableCell(text="; ".join(notes), href=dispute_href)
    if payment.receipt_url:
        cells["receipt"] = TableCell(text="Receipt", href=payment.receipt_url)
    return TableRow(id=payment.id, cells=cells, actions=buttons)


def payments_block(
    payments: list[PaymentRecord],
    limit: int,
    test_mode: bool,
    can_refund: bool,
    disputes: DisputesByPayment | None = None,
    *,
    next_page: str | None = None,
) -> TableBlock:
    columns = [
        TableColumn(key="date", label="Date"),
        TableColumn(key="amount", label="Amount", align="end"),
        TableColumn(key="status", label="Status"),
        TableColumn(key="description", label="Description"),
    ]
    rows = [_payment_row(p, test_mode, can_refund, (disputes or {}).get(p.id)) for p in payments]
    columns += optional_columns(rows, {"details": "Details", "receipt": "Receipt"})
    return TableBlock(
        title=f"Recent payments (last {limit})",
        columns=columns,
        rows=rows,
        empty_text="No payments.",
        next_page=TablePage(cursor=next_page, label=f"Show {limit} older") if next_page else None,
    )


def dispute_warning(
    payments: list[PaymentRecord], disputes: DisputesByPayment, test_mode: bool
) -> list[NoticeBlock | LinksBlock]:
    """A warning at the top of the panel for each payment with an open dispute (or a dispute
    that could not be read), and links to those disputes in the dashboard."""
    lines: list[str] = []
    links: list[Link] = []
    for payment in payments:
        if not payment.disputed:
            continue
        paid = f"{format_amount(payment.amount, payment.currency)} on {day(payment.created)} ({payment.id})"
        found = disputes.get(payment.id)
        if not found:
            lines.append(f"The payment of {paid} is disputed; its details could not be read")
            continue
        for dispute in found:
            if dispute.is_open:
                lines.append(f"{paid}: {dispute_summary(dispute)}")
                links.append(Link(label=f"Dispute {dispute.id}", href=dashboard_url(test_mode, "disputes", dispute.id)))
    if not lines:
        return []
    warning = NoticeBlock(
        tone="danger",
        title="Open dispute" if len(lines) == 1 else f"{len(lines)} open disputes",
        text="; ".join(lines)
        + ". A disputed payment cannot be refunded: do not promise a refund. The dispute is answered "
        "in the Stripe dashboard.",
    )
    return [warning, LinksBlock(links=links)] if links else [warning]
