"""The panel's blocks, built from records. Pure functions: no Stripe calls here."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from megadesk_core.panel import (
    ActionButton,
    Badge,
    KeyValueBlock,
    KeyValueItem,
    Link,
    LinksBlock,
    NoticeBlock,
    TableBlock,
    TableCell,
    TableColumn,
    TableRow,
    Tone,
)
from megadesk_stripe.declines import decline_reason
from megadesk_stripe.disputes import DisputeRecord
from megadesk_stripe.money import format_amount, format_price
from megadesk_stripe.records import CustomerRecord, PaymentRecord, SubscriptionRecord, UnreadableSubscription
from megadesk_stripe.resolution import day

REFUND_ACTION = "refund_payment"
CANCEL_ACTION = "cancel_subscription"

_SUBSCRIPTION_TONES: dict[str, Tone] = {
    "active": "success",
    "trialing": "info",
    "past_due": "warning",
    "unpaid": "danger",
    "incomplete": "warning",
}
_PAYMENT_TONES: dict[str, Tone] = {
    "succeeded": "success",
    "processing": "info",
    "requires_payment_method": "warning",
    "requires_action": "warning",
    "requires_confirmation": "warning",
    "requires_capture": "info",
}


def dashboard_url(test_mode: bool, kind: str, object_id: str) -> str:
    """A link to an object in the Stripe dashboard, e.g. ``kind="customers"``."""
    mode = "/test" if test_mode else ""
    return f"https://dashboard.stripe.com{mode}/{kind}/{object_id}"


def _label(status: str) -> str:
    return status.replace("_", " ")


def balance_text(customer: CustomerRecord) -> str:
    """Stripe's balance is what the customer owes (positive) or has as credit (negative)."""
    if customer.currency is None:
        return "none" if customer.balance == 0 else str(customer.balance)
    amount = format_amount(abs(customer.balance), customer.currency)
    if customer.balance < 0:
        return f"{amount} credit"
    return f"{amount} owed" if customer.balance else amount


def customer_block(customer: CustomerRecord, test_mode: bool) -> KeyValueBlock:
    delinquent = bool(customer.delinquent)
    return KeyValueBlock(
        title="Customer",
        items=[
            KeyValueItem(label="Name", value=customer.name or "(no name)"),
            KeyValueItem(label="Email", value=customer.email or "(no email)"),
            KeyValueItem(
                label="Stripe id",
                value=customer.id,
                href=dashboard_url(test_mode, "customers", customer.id),
            ),
            KeyValueItem(label="Created", value=day(customer.created)),
            KeyValueItem(label="Balance", value=balance_text(customer)),
            KeyValueItem(
                label="Delinquent",
                value="yes" if delinquent else "no",
                badge=Badge(label="delinquent", tone="danger") if delinquent else None,
            ),
        ],
    )


def _subscription_row(sub: SubscriptionRecord, test_mode: bool, can_cancel: bool) -> TableRow:
    plan = ", ".join(
        f"{item.product_name} x {item.quantity}" if item.quantity > 1 else item.product_name for item in sub.items
    )
    prices = ", ".join(
        format_price(item.unit_amount * item.quantity, item.currency, item.interval, item.interval_count)
        for item in sub.items
        if item.unit_amount is not None
    )
    notes = []
    # Once canceled, the flag and date that said when it would cancel are history, not news.
    if sub.cancel_at_period_end and not sub.is_final:
        notes.append("cancels at period end")
    elif sub.cancel_at and not sub.is_final:
        notes.append(f"cancels {day(sub.cancel_at)}")
    if sub.status == "trialing" and sub.trial_end:
        notes.append(f"trial ends {day(sub.trial_end)}")
    period_end = sub.current_period_end
    buttons: list[ActionButton] = []
    if can_cancel and not sub.is_final:
        if not sub.cancel_at_period_end:
            buttons.append(
                ActionButton(
                    action=CANCEL_ACTION,
                    label="Cancel at period end",
                    target=sub.id,
                    prefill={"at_period_end": True, "refund_latest_invoice": False},
                )
            )
        buttons.append(
            ActionButton(
                action=CANCEL_ACTION,
                label="Cancel now",
                target=sub.id,
                prefill={"at_period_end": False, "refund_latest_invoice": False},
            )
        )
    return TableRow(
        id=sub.id,
        cells={
            "plan": TableCell(text=plan or sub.id, href=dashboard_url(test_mode, "subscriptions", sub.id)),
            "price": TableCell(text=prices or "—"),
            "status": TableCell(
                text=_label(sub.status),
                badge=Badge(label=_label(sub.status), tone=_SUBSCRIPTION_TONES.get(sub.status, "neutral")),
                hint="; ".join(notes) or None,
            ),
            "period_end": TableCell(
                text=day(period_end) if period_end and not sub.is_final else "—",
                hint="cancels then" if sub.cancel_at_period_end and not sub.is_final else None,
            ),
            **_invoice_cells(sub),
        },
        actions=buttons,
    )


def _invoice_cells(sub: SubscriptionRecord) -> dict[str, TableCell]:
    cells = {}
    if sub.latest_invoice_url:
        cells["invoice"] = TableCell(text="Latest", href=sub.latest_invoice_url)
    if sub.latest_invoice_pdf:
        cells["invoice_pdf"] = TableCell(text="PDF", href=sub.latest_invoice_pdf)
    return cells


def _unreadable_row(sub: UnreadableSubscription, test_mode: bool) -> TableRow:
    return TableRow(
        id=sub.id,
        cells={
            "plan": TableCell(
                text=sub.id,
                href=dashboard_url(test_mode, "subscriptions", sub.id),
                hint=f"{sub.reason} Open it in the Stripe dashboard.",
            ),
            "price": TableCell(text="—"),
            "status": TableCell(text="unavailable", badge=Badge(label="unavailable", tone="warning")),
            "period_end": TableCell(text="—"),
        },
    )


def subscriptions_block(
    subs: Sequence[SubscriptionRecord | UnreadableSubscription], test_mode: bool, can_cancel: bool
) -> TableBlock:
    columns = [
        TableColumn(key="plan", label="Plan"),
        TableColumn(key="price", label="Price", align="end"),
        TableColumn(key="status", label="Status"),
        TableColumn(key="period_end", label="Current period ends"),
    ]
    readable = [s for s in subs if isinstance(s, SubscriptionRecord)]
    if any(s.latest_invoice_url for s in readable):
        columns.append(TableColumn(key="invoice", label="Invoice"))
    if any(s.latest_invoice_pdf for s in readable):
        columns.append(TableColumn(key="invoice_pdf", label="PDF"))
    return TableBlock(
        title="Subscriptions",
        columns=columns,
        rows=[
            _subscription_row(s, test_mode, can_cancel)
            if isinstance(s, SubscriptionRecord)
            else _unreadable_row(s, test_mode)
            for s in subs
        ],
        empty_text="No subscriptions.",
    )


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
    return _label(payment.status), _PAYMENT_TONES.get(payment.status, "neutral"), []


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
) -> TableBlock:
    columns = [
        TableColumn(key="date", label="Date"),
        TableColumn(key="amount", label="Amount", align="end"),
        TableColumn(key="status", label="Status"),
        TableColumn(key="description", label="Description"),
    ]
    rows = [_payment_row(p, test_mode, can_refund, (disputes or {}).get(p.id)) for p in payments]
    if any("details" in r.cells for r in rows):
        columns.append(TableColumn(key="details", label="Details"))
    if any(p.receipt_url for p in payments):
        columns.append(TableColumn(key="receipt", label="Receipt"))
    return TableBlock(
        title=f"Recent payments (last {limit})",
        columns=columns,
        rows=rows,
        empty_text="No payments.",
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


def section_unavailable(title: str, reason: str) -> NoticeBlock:
    """A section that could not be loaded, shown where it would be; the rest of the panel stands."""
    return NoticeBlock(tone="warning", title=f"{title} unavailable", text=f"{reason} Reload the panel to try again.")


def unavailable_notice(unavailable: Mapping[str, str]) -> NoticeBlock:
    lines = [f"{feature}: {reason}" for feature, reason in unavailable.items()]
    return NoticeBlock(
        tone="warning",
        title="Some Stripe features are unavailable with this key",
        text="; ".join(lines) + ". An admin can add the missing permissions to the restricted key.",
    )
