"""An inline test integration whose panel uses every block type of the panel schema.

It knows a few billing accounts (in memory, per plugin instance). A ticket names one in its
Custom Data (``{"accountId": ...}``: verified) or is matched by the requester's email (not
verified; several matches give a choice block). ``cancel_plan`` has a boolean, a Literal and
needs a verified customer; ``add_credit`` has a number and a string and does not.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from megadesk_core import hookimpl
from megadesk_core.errors import ActionRefusedError, InvalidInputError
from megadesk_core.panel import Tone
from megadesk_core.types import (
    ActionButton,
    ActionPayload,
    ActionResult,
    ActionsBlock,
    ActionSpec,
    Badge,
    BadgesBlock,
    Block,
    ChoiceBlock,
    ChoiceOption,
    CustomerCandidate,
    IntegrationManifest,
    KeyValueBlock,
    KeyValueItem,
    Link,
    LinksBlock,
    NoticeBlock,
    Panel,
    ResolvedCustomer,
    TableBlock,
    TableCell,
    TableColumn,
    TableRow,
    TicketContext,
)

XSS = '<img src=x onerror="window.__xss = 1">'


class ShowcaseSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CancelPlanPayload(ActionPayload):
    target: str = Field(pattern=r"^sub_[a-z0-9_]+$", description="The subscription (sub_...).")
    when: Literal["period_end", "immediately"] = Field(
        default="period_end", description="Immediately ends the service now; at period end it stops renewing."
    )
    refund_latest_invoice: bool = Field(default=False, description="Also refund the latest invoice.")


class AddCreditPayload(ActionPayload):
    amount: int = Field(ge=1, le=500, description="In whole euros.")
    reason: str = Field(min_length=3, max_length=120, description="Shown on the customer's next invoice.")
    category: Literal["goodwill", "billing_error", "outage", "promotion", "other"] = "goodwill"


@dataclass
class Subscription:
    id: str
    plan: str
    cents: int
    status: str = "active"
    renews: str = "2026-12-01"
    ends_at_period_end: bool = False
    via_reseller: bool = False


@dataclass
class Account:
    id: str
    name: str
    email: str
    tags: list[tuple[str, Tone]] = field(default_factory=list)
    subscriptions: list[Subscription] = field(default_factory=list)
    credit_cents: int = 0
    overdue: bool = False
    silent_about_verification: bool = False
    """The panel leaves ``verified`` unset although the match is by email: the host still refuses."""


def _accounts() -> dict[str, Account]:
    accounts = [
        Account(
            "acct_ada",
            "Ada Lovelace",
            "ada@example.com",
            tags=[("VIP", "success"), ("EU", "neutral"), ("Annual billing", "info")],
            subscriptions=[
                Subscription("sub_ada_pro", "Pro", 4900),
                Subscription("sub_ada_seats", "Extra seats x 3", 1500, status="trialing", renews="2026-12-14"),
            ],
            credit_cents=1250,
        ),
        Account(
            "acct_bob",
            "Bob Builder",
            "bob@example.com",
            tags=[("Overdue", "danger")],
            subscriptions=[
                Subscription("sub_bob_team", "Team", 9900, status="past_due"),
                Subscription("sub_bob_legacy", "Legacy (reseller)", 2900, via_reseller=True),
            ],
            overdue=True,
        ),
        Account(
            "acct_cy_home",
            "Cy Young (home)",
            "cy@example.com",
            subscriptions=[Subscription("sub_cy_home", "Basic", 900)],
        ),
        Account(
            "acct_cy_work",
            "Cy Young (work)",
            "cy@example.com",
            subscriptions=[Subscription("sub_cy_work", "Pro", 4900)],
        ),
        Account(
            "acct_quinn",
            "Quinn Quiet",
            "quinn@example.com",
            subscriptions=[Subscription("sub_quinn", "Basic", 900)],
            silent_about_verification=True,
        ),
        Account(
            "acct_mallory",
            XSS,
            "mallory@example.com",
            tags=[(XSS, "warning")],
            subscriptions=[Subscription("sub_mallory", f"Plan {XSS}", 100)],
        ),
    ]
    return {a.id: a for a in accounts}


def euros(cents: int) -> str:
    return f"€{cents // 100:,}.{cents % 100:02d}"


class ShowcasePlugin:
    def __init__(self) -> None:
        self.accounts = _accounts()

    @hookimpl
    def manifest(self) -> IntegrationManifest:
        return IntegrationManifest(name="showcase", title="Showcase Billing", settings_model=ShowcaseSettings)

    @hookimpl
    def resolve_customer(self, ticket: TicketContext) -> ResolvedCustomer | None:
        if account_id := ticket.custom_data.get("accountId"):
            return ResolvedCustomer(id=str(account_id), verified=True)
        matches = [a for a in self.accounts.values() if a.email == ticket.requester_email]
        if not matches:
            return None
        chosen = next((a for a in matches if a.id == ticket.selection), matches[0])
        others = [CustomerCandidate(id=a.id, label=a.name, description=a.id) for a in matches if a is not chosen]
        return ResolvedCustomer(id=chosen.id, verified=False, matched_by="email", alternatives=others)

    @hookimpl
    def sidebar_panel(self, ticket: TicketContext, customer: ResolvedCustomer | None) -> Panel:
        if customer is None:
            return Panel(
                title="Showcase Billing",
                status="empty",
                blocks=[
                    NoticeBlock(
                        tone="neutral",
                        title="No billing account for this requester",
                        text="Add the account id to the ticket's Custom Data to link one.",
                    )
                ],
            )
        account = self.accounts[customer.id]
        blocks: list[Block] = []
        if customer.alternatives:
            options = [ChoiceOption(value=account.id, label=account.name, description=account.id, selected=True)]
            options += [
                ChoiceOption(value=c.id, label=c.label, description=c.description) for c in customer.alternatives
            ]
            options.sort(key=lambda o: o.value)
            blocks.append(ChoiceBlock(label="Several accounts use this email: which one is it?", options=options))
        if account.overdue:
            blocks.append(
                NoticeBlock(tone="warning", title="Payment overdue", text="The last invoice failed on 2026-11-01.")
            )
        blocks += [
            KeyValueBlock(
                title="Account",
                items=[
                    KeyValueItem(label="Name", value=account.name),
                    KeyValueItem(label="Email", value=account.email, href=f"mailto:{account.email}"),
                    KeyValueItem(
                        label="Account id", value=account.id, href=f"https://billing.example.com/accounts/{account.id}"
                    ),
                    KeyValueItem(label="Credit", value=euros(account.credit_cents)),
                    KeyValueItem(
                        label="Standing",
                        badge=Badge(label="overdue", tone="danger")
                        if account.overdue
                        else Badge(label="good", tone="success"),
                    ),
                ],
            ),
            BadgesBlock(badges=[Badge(label=label, tone=tone) for label, tone in account.tags]),
            self._subscriptions(account),
            LinksBlock(
                links=[
                    Link(label="Open in Showcase", href=f"https://billing.example.com/accounts/{account.id}"),
                    Link(label="Invoices", href=f"https://billing.example.com/accounts/{account.id}/invoices"),
                ]
            ),
            ActionsBlock(buttons=[ActionButton(action="add_credit", label="Add credit", target=account.id)]),
        ]
        verified = None if account.silent_about_verification else customer.verified
        return Panel(title="Showcase Billing", verified=verified, blocks=blocks)

    def _subscriptions(self, account: Account) -> TableBlock:
        tones: dict[str, Tone] = {"active": "success", "trialing": "info", "past_due": "warning", "canceled": "neutral"}
        rows = []
        for sub in account.subscriptions:
            buttons = []
            if sub.status != "canceled":
                if not sub.ends_at_period_end:
                    buttons.append(
                        ActionButton(
                            action="cancel_plan",
                            label="Cancel at period end",
                            target=sub.id,
                            prefill={"when": "period_end"},
                        )
                    )
                buttons.append(
                    ActionButton(
                        action="cancel_plan", label="Cancel now", target=sub.id, prefill={"when": "immediately"}
                    )
                )
            status = sub.status.replace("_", " ")
            rows.append(
                TableRow(
                    id=sub.id,
                    cells={
                        "plan": TableCell(text=sub.plan, href=f"https://billing.example.com/subscriptions/{sub.id}"),
                        "amount": TableCell(text=f"{euros(sub.cents)}/mo"),
                        "status": TableCell(
                            text=status,
                            badge=Badge(label=status, tone=tones.get(sub.status, "neutral")),
                            hint="ends at period end" if sub.ends_at_period_end else None,
                        ),
                        "renews": TableCell(text="—" if sub.status == "canceled" else sub.renews),
                    },
                    actions=buttons,
                )
            )
        return TableBlock(
            title="Subscriptions",
            columns=[
                TableColumn(key="plan", label="Plan"),
                TableColumn(key="amount", label="Amount", align="end"),
                TableColumn(key="status", label="Status"),
                TableColumn(key="renews", label="Renews"),
            ],
            rows=rows,
            empty_text="No subscriptions.",
        )

    @hookimpl
    def actions(self) -> list[ActionSpec]:
        return [
            ActionSpec(
                name="cancel_plan",
                title="Cancel subscription",
                payload_model=CancelPlanPayload,
                confirmation="Cancel this subscription? Canceling immediately cannot be undone.",
                description="Cancels now or at the end of the current period.",
                danger=True,
                requires_verified_customer=True,
            ),
            ActionSpec(
                name="add_credit",
                title="Add credit",
                payload_model=AddCreditPayload,
                confirmation="Add account credit? It is used on the customer's next invoice.",
                requires_verified_customer=False,
            ),
        ]

    @hookimpl
    def run_action(self, customer: ResolvedCustomer, action: str, payload: ActionPayload) -> ActionResult:
        account = self.accounts[customer.id]
        if isinstance(payload, AddCreditPayload):
            if payload.amount > 100:
                raise InvalidInputError("Credit above €100 needs a team lead's approval.", field="amount")
            account.credit_cents += payload.amount * 100
            return ActionResult(
                message=f"Added {euros(payload.amount * 100)} credit",
                target=payload.target,
                reference=f"credit_{len(payload.reason)}",
            )
        assert isinstance(payload, CancelPlanPayload), action
        sub = next((s for s in account.subscriptions if s.id == payload.target), None)
        if sub is None:
            raise ActionRefusedError(f"{payload.target} is not a subscription of {account.id}; nothing was changed.")
        if sub.via_reseller:
            raise ActionRefusedError(
                f"{sub.id} is billed through a reseller and cannot be canceled here; nothing was changed. "
                "Ask the reseller to cancel it."
            )
        if payload.when == "immediately":
            sub.status = "canceled"
            message = f"Canceled {sub.plan} ({sub.id}) immediately"
        else:
            sub.ends_at_period_end = True
            message = f"{sub.plan} ({sub.id}) will end on {sub.renews}"
        details: dict[str, str | int | float | bool | None] = {"refunded": payload.refund_latest_invoice}
        return ActionResult(message=message, target=sub.id, reference=f"evt_{sub.id}", details=details)
