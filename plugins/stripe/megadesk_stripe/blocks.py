"""The panel's blocks (customer, subscriptions, notices), built from records; the payment history's
are in :mod:`megadesk_stripe.payment_blocks`. Pure functions: no Stripe calls here."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

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
from megadesk_stripe.records import CustomerRecord, SubscriptionRecord, UnreadableSubscription
from megadesk_stripe.resolution import day

REFUND_ACTION = "refund_payment"
CANCEL_ACTION = "cancel_subscription"
PARTIAL_REFUND_ACTION = "partial_refund"
RESUME_ACTION = "resume_subscription"

_SUBSCRIPTION_TONES: dict[str, Tone] = {
    "active": "success",
    "trialing": "info",
    "past_due": "warning",
    "unpaid": "danger",
    "incomplete": "warning",
}


def dashboard_url(test_mode: bool, kind: str, object_id: str) -> str:
    """A link to an object in the Stripe dashboard, e.g. ``kind="customers"``."""
    mode = "/test" if test_mode else ""
    return f"https://dashboard.stripe.com{mode}/{kind}/{object_id}"


def status_label(status: str) -> str:
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


def _subscription_row(sub: SubscriptionRecord, test_mode: bool, can_cancel: bool, can_resume: bool) -> TableRow:
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
    if can_resume and sub.cancel_at_period_end and not sub.is_final:
        buttons.append(ActionButton(action=RESUME_ACTION, label="Resume", target=sub.id))
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
                text=status_label(sub.status),
                badge=Badge(label=status_label(sub.status), tone=_SUBSCRIPTION_TONES.get(sub.status, "neutral")),
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


ENDED_SHOWN = 5
"""Ended (canceled, expired) subscriptions shown at most, newest first; every other one shows."""


def shown_subscriptions(
    subs: Sequence[SubscriptionRecord | UnreadableSubscription],
) -> list[SubscriptionRecord | UnreadableSubscription]:
    """Every subscription that is not over, whatever their number, then the newest ended ones."""
    ended = [s for s in subs if isinstance(s, SubscriptionRecord) and s.is_final]
    current = [s for s in subs if not (isinstance(s, SubscriptionRecord) and s.is_final)]
    return current + ended[:ENDED_SHOWN]


def subscriptions_block(
    subs: Sequence[SubscriptionRecord | UnreadableSubscription], test_mode: bool, can_cancel: bool, can_resume: bool
) -> TableBlock:
    columns = [
        TableColumn(key="plan", label="Plan"),
        TableColumn(key="price", label="Price", align="end"),
        TableColumn(key="status", label="Status"),
        TableColumn(key="period_end", label="Current period ends"),
    ]
    rows = [
        _subscription_row(s, test_mode, can_cancel, can_resume)
        if isinstance(s, SubscriptionRecord)
        else _unreadable_row(s, test_mode)
        for s in shown_subscriptions(subs)
    ]
    columns += optional_columns(rows, {"invoice": "Invoice", "invoice_pdf": "PDF"})
    return TableBlock(title="Subscriptions", columns=columns, rows=rows, empty_text="No subscriptions.")


def optional_columns(rows: Sequence[TableRow], labels: Mapping[str, str]) -> list[TableColumn]:
    """The columns of ``labels`` (key -> label, in order) that some row has a cell for: a column
    nobody fills would only take width in a narrow sidebar."""
    present = {key for row in rows for key in row.cells}
    return [TableColumn(key=key, label=label) for key, label in labels.items() if key in present]


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
