"""Stripe's test cards: which ``pm_card_*`` / ``tok_*`` names exist and how they behave."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Decline:
    code: str
    decline_code: str
    message: str
    seller_message: str
    outcome_type: str = "issuer_declined"
    network_status: str = "declined_by_network"


@dataclass(frozen=True)
class TestCard:
    name: str
    brand: str
    last4: str
    funding: str = "credit"
    country: str = "US"
    decline: Decline | None = None
    # Stripe checks a card when it is attached: most declining cards fail there too,
    # ``chargeCustomerFail`` (4000 0000 0000 0341) attaches and fails only on charge.
    declines_on_attach: bool = True


_GENERIC = Decline(
    "card_declined",
    "generic_decline",
    "Your card was declined.",
    "The bank did not return any further details with this decline.",
)

CARDS: dict[str, TestCard] = {
    card.name: card
    for card in (
        TestCard("visa", "visa", "4242"),
        TestCard("visa_debit", "visa", "5556", funding="debit"),
        TestCard("mastercard", "mastercard", "4444"),
        TestCard("amex", "amex", "8431"),
        TestCard("jp", "visa", "0003", country="JP"),
        TestCard("gb", "visa", "0000", country="GB"),
        TestCard("chargeDeclined", "visa", "0002", decline=_GENERIC),
        TestCard("chargeCustomerFail", "visa", "0341", decline=_GENERIC, declines_on_attach=False),
        TestCard(
            "chargeDeclinedInsufficientFunds",
            "visa",
            "9995",
            decline=Decline(
                "card_declined",
                "insufficient_funds",
                "Your card has insufficient funds.",
                "The bank returned the decline code `insufficient_funds`.",
            ),
        ),
        TestCard(
            "chargeDeclinedLostCard",
            "visa",
            "9987",
            decline=Decline(
                "card_declined",
                "lost_card",
                "Your card was declined.",
                "The bank returned the decline code `lost_card`.",
            ),
        ),
        TestCard(
            "chargeDeclinedStolenCard",
            "visa",
            "9979",
            decline=Decline(
                "card_declined",
                "stolen_card",
                "Your card was declined.",
                "The bank returned the decline code `stolen_card`.",
            ),
        ),
        TestCard(
            "chargeDeclinedExpiredCard",
            "visa",
            "0069",
            decline=Decline(
                "expired_card",
                "expired_card",
                "Your card has expired.",
                "The bank returned the decline code `expired_card`.",
            ),
        ),
        TestCard(
            "chargeDeclinedIncorrectCvc",
            "visa",
            "0127",
            decline=Decline(
                "incorrect_cvc",
                "incorrect_cvc",
                "Your card's security code is incorrect.",
                "The bank returned the decline code `incorrect_cvc`.",
            ),
        ),
        TestCard(
            "chargeDeclinedProcessingError",
            "visa",
            "0119",
            decline=Decline(
                "processing_error",
                "processing_error",
                "An error occurred while processing your card. Try again in a little bit.",
                "The bank returned the decline code `processing_error`.",
            ),
        ),
    )
}


def card_for_payment_method_name(name: str) -> TestCard | None:
    """``pm_card_visa`` -> the visa test card; ``None`` for anything else."""
    if name.startswith("pm_card_"):
        return CARDS.get(name.removeprefix("pm_card_"))
    return None


def card_for_token(token: str) -> TestCard | None:
    """``tok_visa`` -> the visa test card; ``None`` for anything else."""
    if token.startswith("tok_"):
        return CARDS.get(token.removeprefix("tok_"))
    return None
