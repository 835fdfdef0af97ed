"""Demo data: a small, believable account for demos and help-desk walkthroughs.

Content (names, emails, amounts, relative dates, statuses) is fixed; ids are random and
timestamps are relative to the moment of seeding.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from stripe_emulator.context import Call
from stripe_emulator.errors import StripeError
from stripe_emulator.ids import now
from stripe_emulator.keys import FULL_SECRET_KEY, ApiKey
from stripe_emulator.services import (
    billing,
    catalog,
    customers,
    disputes,
    payment_intents,
    payment_methods,
    refunds,
)
from stripe_emulator.store import Store

DAY = 24 * 60 * 60


class SeededCustomer(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    email: str | None
    name: str | None
    created: int
    subscription_ids: list[str] = Field(default_factory=list)
    payment_intent_ids: list[str] = Field(default_factory=list)


class AdaPayments(BaseModel):
    """Ada's one-off PaymentIntents, one per outcome a support agent meets."""

    model_config = ConfigDict(frozen=True)

    succeeded: str
    failed: str
    refunded: str
    partially_refunded: str


class DemoWorld(BaseModel):
    """What :func:`seed_demo` created; ``model_dump(mode="json")`` gives plain JSON."""

    model_config = ConfigDict(frozen=True)

    secret_key: str
    pro_product_id: str
    pro_price_id: str
    """Pro plan, 29.00 USD per month."""
    pro_price_jpy_id: str
    """Pro plan, ¥5,000 per month (JPY is zero-decimal: unit_amount 5000)."""

    ada: SeededCustomer
    ada_subscription_id: str
    ada_payments: AdaPayments
    grace: SeededCustomer
    """Has no name: only findable by email."""
    shared_email: str
    shared_customers: list[SeededCustomer]
    """Two customers with one email, newest first (as ``customers.list`` returns them)."""
    shared_subscription_id: str
    jpy_customer: SeededCustomer
    jpy_subscription_id: str
    cancel_at_period_end_customer: SeededCustomer
    cancel_at_period_end_subscription_id: str
    past_due_customer: SeededCustomer
    past_due_subscription_id: str
    past_due_invoice_id: str
    deleted_customer_id: str
    disputed_customer: SeededCustomer
    disputed_payment_id: str
    dispute_id: str
    """Open (needs a response): the payment must not be refunded."""
    pending_refund_customer: SeededCustomer
    pending_refund_payment_id: str
    failed_refund_customer: SeededCustomer
    failed_refund_payment_id: str
    declined_customer: SeededCustomer
    declined_payment_id: str
    """Declined for insufficient funds."""
    seats_customer: SeededCustomer
    """Stored as SAM.SEATS@EXAMPLE.COM; the ticket writes it in lower case."""
    seats_payment_id: str
    """58.00 USD for two seats: one seat's worth is to be refunded."""
    plans_customer: SeededCustomer
    plans_live_subscription_id: str
    """Older than the customer's six ended subscriptions."""


class _Seeder:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.now = now()
        self.key = ApiKey(FULL_SECRET_KEY)
        self.payments: dict[str, list[str]] = {}
        self.subscriptions: dict[str, list[str]] = {}

    def ago(self, days: float) -> int:
        return self.now - int(days * DAY)

    def call(self, params: dict[str, Any], at: int, **path: str) -> Call:
        return Call(self.store, params, path, self.key, at)

    def customer(self, days_ago: float, email: str, name: str | None, **extra: Any) -> str:
        created = customers.create(self.call({"email": email, "name": name, **extra}, self.ago(days_ago)))
        return str(created["id"])

    def card_on_file(self, customer_id: str, days_ago: float, test_card: str = "pm_card_visa") -> None:
        method = payment_methods.resolve(self.store, test_card, self.ago(days_ago))
        payment_methods.attach(self.store, method, customer_id)
        customer = self.store.require("customer", customer_id)
        customer["invoice_settings"]["default_payment_method"] = method["id"]

    def payment(
        self,
        customer_id: str,
        days_ago: float,
        amount: int,
        currency: str,
        description: str,
        test_card: str = "pm_card_visa",
    ) -> str:
        params = {
            "amount": amount,
            "currency": currency,
            "customer": customer_id,
            "description": description,
            "payment_method": test_card,
            "confirm": True,
            "automatic_payment_methods": {"enabled": True, "allow_redirects": "never"},
        }
        try:
            intent = payment_intents.create(self.call(params, self.ago(days_ago)))
        except StripeError as error:
            # A declining test card raises the 402 a client would get; the intent exists.
            intent = error.extra["payment_intent"]
        self.payments.setdefault(customer_id, []).append(str(intent["id"]))
        return str(intent["id"])

    def refund(self, intent_id: str, days_ago: float, amount: int | None = None) -> str:
        params: dict[str, Any] = {"payment_intent": intent_id, "reason": "requested_by_customer"}
        if amount is not None:
            params["amount"] = amount
        return str(refunds.refund(self.store, at=self.ago(days_ago), params=params)["id"])

    def subscribe(self, customer_id: str, price_id: str, days_ago: float, renewals: int = 0) -> str:
        sub = billing.create_subscription(
            self.store,
            at=self.ago(days_ago),
            customer_id=customer_id,
            lines=[billing.LineRequest(price_id)],
        )
        for _ in range(renewals):
            billing.advance(self.store, sub, at=self.now, outcome="paid")
        self.subscriptions.setdefault(customer_id, []).append(str(sub["id"]))
        return str(sub["id"])

    def summary(self, customer_id: str) -> SeededCustomer:
        customer = self.store.require("customer", customer_id)
        return SeededCustomer(
            id=customer_id,
            email=customer.get("email"),
            name=customer.get("name"),
            created=int(customer.get("created") or 0),
            subscription_ids=self.subscriptions.get(customer_id, []),
            payment_intent_ids=self.payments.get(customer_id, []),
        )


def seed_demo(store: Store) -> DemoWorld:
    """Create the demo account in ``store`` (added to whatever is already there)."""
    with store.lock:
        return _seed(_Seeder(store))


def _seed(s: _Seeder) -> DemoWorld:
    store = s.store
    product = catalog.create_product(
        store, at=s.ago(500), name="Pro plan", description="Everything in Megadesk, billed monthly."
    )
    usd = catalog.create_price(
        store,
        at=s.ago(500),
        product=product["id"],
        unit_amount=2900,
        currency="usd",
        interval="month",
        nickname="Pro monthly (USD)",
    )
    jpy = catalog.create_price(
        store,
        at=s.ago(500),
        product=product["id"],
        unit_amount=5000,
        currency="jpy",
        interval="month",
        nickname="Pro monthly (JPY)",
    )

    # (a) Ada: verified, long-standing, monthly Pro plan, one payment of each outcome.
    ada = s.customer(
        400,
        "ada@example.com",
        "Ada Lovelace",
        description="Verified account",
        phone="+44 20 7946 0018",
        metadata={"verified": "true", "account_id": "acct-1001"},
    )
    s.card_on_file(ada, 400)
    ada_sub = s.subscribe(ada, usd["id"], 75, renewals=2)
    succeeded = s.payment(ada, 60, 4900, "usd", "Priority support add-on")
    refunded = s.payment(ada, 30, 1500, "usd", "Ebook: Notes on the Analytical Engine")
    s.refund(refunded, 29)
    failed = s.payment(ada, 20, 12000, "usd", "Annual upgrade", test_card="pm_card_chargeDeclined")
    partial = s.payment(ada, 10, 8000, "usd", "Team workshop seat")
    s.refund(partial, 9, amount=3000)

    # (b) Grace: no name on file, so only her email finds her.
    grace = s.customer(200, "grace@example.com", None)
    s.payment(grace, 100, 1900, "usd", "Starter pack")

    # (c) One email, two customers: an older subscriber and a newer duplicate.
    shared_email = "shared@example.com"
    shared_old = s.customer(300, shared_email, "Sam Rivera")
    s.card_on_file(shared_old, 300)
    shared_sub = s.subscribe(shared_old, usd["id"], 20)
    shared_new = s.customer(15, shared_email, "Samira Rivera")

    # (d) A customer paying in yen: 5000 means ¥5,000.
    yuki = s.customer(120, "yuki@example.jp", "Yuki Tanaka")
    s.card_on_file(yuki, 120, "pm_card_jp")
    yuki_sub = s.subscribe(yuki, jpy["id"], 40, renewals=1)

    # (e) A subscription that ends at the end of the current period.
    katherine = s.customer(90, "katherine@example.com", "Katherine Johnson")
    s.card_on_file(katherine, 90)
    leaving_sub = s.subscribe(katherine, usd["id"], 25)
    billing.set_cancel_at_period_end(store.require("subscription", leaving_sub), True)

    # (f) A renewal that failed: past_due with an open invoice.
    alan = s.customer(150, "alan@example.com", "Alan Turing")
    s.card_on_file(alan, 150)
    due_sub = s.subscribe(alan, usd["id"], 35)
    past_due = billing.advance(store, store.require("subscription", due_sub), at=s.now, outcome="failed")

    # (g) A payment the customer's bank disputes (fraudulent, needs a response).
    marie = s.customer(80, "marie@example.com", "Marie Curie")
    s.payment(marie, 50, 2900, "usd", "Pro plan, paid by card")
    disputed = s.payment(marie, 12, 19900, "usd", "Lab equipment license")
    dispute = disputes.open_dispute(store, disputed, at=s.ago(3), status="needs_response", reason="fraudulent")

    # (h) A refund on its way: pending, not back with the customer yet.
    rosalind = s.customer(70, "rosalind@example.com", "Rosalind Franklin")
    waiting = s.payment(rosalind, 8, 4500, "usd", "Conference ticket")
    refunds.set_status(store, s.refund(waiting, 2), "pending")

    # (i) A refund that failed (the card was closed): the money is still with the business.
    hedy = s.customer(65, "hedy@example.com", "Hedy Lamarr")
    bounced = s.payment(hedy, 20, 6000, "usd", "Frequency-hopping course")
    refunds.set_status(store, s.refund(bounced, 15), "failed", "expired_or_canceled_card")

    # (j) A card declined for insufficient funds.
    dorothy = s.customer(45, "dorothy@example.com", "Dorothy Hodgkin")
    declined = s.payment(dorothy, 1, 29900, "usd", "Annual plan", test_card="pm_card_chargeDeclinedInsufficientFunds")

    # (k) Two seats bought, one used: part of the payment goes back. Saved in capitals; the
    # ticket writes the address in lower case (Stripe's list filter would miss it).
    sam = s.customer(40, "SAM.SEATS@EXAMPLE.COM", "Sam Seats")
    seats = s.payment(sam, 6, 5800, "usd", "Team plan, 2 seats")

    # (l) Plans come and go: the live subscription is older than six ended ones.
    lin = s.customer(300, "lin@example.com", "Lin Plans")
    s.card_on_file(lin, 300)
    lin_live = s.subscribe(lin, usd["id"], 10)
    for n in range(6):
        ended = s.subscribe(lin, usd["id"], 9 - n)
        billing.cancel(store, store.require("subscription", ended), s.ago(8.5 - n))
    # ... and extra seats bought one at a time: more payments than the sidebar lists at once
    # (the payment history's "show more").
    for n in range(5):
        s.payment(lin, 20 + n, 900, "usd", f"Extra seat #{n + 1}")

    # A customer who has since been deleted.
    charles = s.customer(365, "charles@example.com", "Charles Babbage")
    customers.delete(s.call({}, s.ago(100), id=charles))

    return DemoWorld(
        secret_key=FULL_SECRET_KEY,
        pro_product_id=product["id"],
        pro_price_id=usd["id"],
        pro_price_jpy_id=jpy["id"],
        ada=s.summary(ada),
        ada_subscription_id=ada_sub,
        ada_payments=AdaPayments(succeeded=succeeded, failed=failed, refunded=refunded, partially_refunded=partial),
        grace=s.summary(grace),
        shared_email=shared_email,
        shared_customers=[s.summary(shared_new), s.summary(shared_old)],
        shared_subscription_id=shared_sub,
        jpy_customer=s.summary(yuki),
        jpy_subscription_id=yuki_sub,
        cancel_at_period_end_customer=s.summary(katherine),
        cancel_at_period_end_subscription_id=leaving_sub,
        past_due_customer=s.summary(alan),
        past_due_subscription_id=due_sub,
        past_due_invoice_id=str(past_due["latest_invoice"]),
        deleted_customer_id=charles,
        disputed_customer=s.summary(marie),
        disputed_payment_id=disputed,
        dispute_id=str(dispute["id"]),
        pending_refund_customer=s.summary(rosalind),
        pending_refund_payment_id=waiting,
        failed_refund_customer=s.summary(hedy),
        seats_customer=s.summary(sam),
        seats_payment_id=seats,
        plans_customer=s.summary(lin),
        plans_live_subscription_id=lin_live,
        failed_refund_payment_id=bounced,
        declined_customer=s.summary(dorothy),
        declined_payment_id=declined,
    )
