"""The panel's blocks, built from records. Pure functions: no Stripe calls here."""

from __future__ import annotations

from collections.abc import Mapping

from megadesk_core.panel import (
    ActionButton,
    Badge,
    KeyValueBlock,
    KeyValueItem,
    NoticeBlock,
    TableBlock,
    TableCell,
    TableColumn,
    TableRow,
    Tone,
)
from megadesk_stripe.money import format_amount, format_price
from megadesk_stripe.records import CustomerRecord, PaymentRecord, SubscriptionRecord
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
    if sub.cancel_at_period_end:
        notes.append("cancels at period end")
    elif sub.cancel_at:
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
                hint="cancels then" if sub.cancel_at_period_end else None,
            ),
        },
        actions=buttons,
    )


def subscriptions_block(subs: list[SubscriptionRecord], test_mode: bool, can_cancel: bool) -> TableBlock:
    return TableBlock(
        title="Subscriptions",
        columns=[
            TableColumn(key="plan", label="Plan"),
            TableColumn(key="price", label="Price", align="end"),
            TableColumn(key="status", label="Status"),
            TableColumn(key="period_end", label="Current period ends"),
        ],
        rows=[_subscription_row(s, test_mode, can_cancel) for s in subs],
        empty_text="No subscriptions.",
    )


def _payment_row(payment: PaymentRecord, test_mode: bool, can_refund: bool) -> TableRow:
    refund_state = payment.refund_state
    if refund_state is not None:
        status, tone = refund_state, ("neutral" if refund_state == "refunded" else "warning")
    else:
        status, tone = _label(payment.status), _PAYMENT_TONES.get(payment.status, "neutral")
    hints = []
    if payment.captured_amount < payment.amount and payment.status == "succeeded":
        hints.append(
            f"{format_amount(payment.captured_amount, payment.currency)} of "
            f"{format_amount(payment.amount, payment.currency)} captured"
        )
    if payment.amount_refunded:
        hints.append(
            f"{format_amount(payment.amount_refunded, payment.currency)} of "
            f"{format_amount(payment.captured_amount, payment.currency)} refunded"
        )
    hint = "; ".join(hints) or None
    buttons = []
    if can_refund and payment.can_refund:
        remaining = format_amount(payment.refundable_amount, payment.currency)
        buttons.append(ActionButton(action=REFUND_ACTION, label=f"Refund {remaining}", target=payment.id))
    return TableRow(
        id=payment.id,
        cells={
            "date": TableCell(text=day(payment.created)),
            "amount": TableCell(
                text=format_amount(payment.amount, payment.currency),
                href=dashboard_url(test_mode, "payments", payment.id),
            ),
            "status": TableCell(text=status, badge=Badge(label=status, tone=tone), hint=hint),
            "description": TableCell(text=payment.description or ""),
        },
        actions=buttons,
    )


def payments_block(payments: list[PaymentRecord], limit: int, test_mode: bool, can_refund: bool) -> TableBlock:
    return TableBlock(
        title=f"Recent payments (last {limit})",
        columns=[
            TableColumn(key="date", label="Date"),
            TableColumn(key="amount", label="Amount", align="end"),
            TableColumn(key="status", label="Status"),
            TableColumn(key="description", label="Description"),
        ],
        rows=[_payment_row(p, test_mode, can_refund) for p in payments],
        empty_text="No payments.",
    )


def unavailable_notice(unavailable: Mapping[str, str]) -> NoticeBlock:
    lines = [f"{feature}: {reason}" for feature, reason in unavailable.items()]
    return NoticeBlock(
        tone="warning",
        title="Some Stripe features are unavailable with this key",
        text="; ".join(lines) + ". An admin can add the missing permissions to the restricted key.",
    )
