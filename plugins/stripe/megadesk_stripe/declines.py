"""Why a card payment failed, in words an agent can repeat to the customer.

Stripe reports a decline as a ``code`` (``card_declined``, ``expired_card``...) and, for
``card_declined``, a bank's ``decline_code`` (``insufficient_funds``...). The common ones are
turned into a plain sentence here; anything else falls back to Stripe's own message.

Some reasons must not be told to the customer (Stripe's guidance: a card reported lost or
stolen, suspected fraud): the customer hears the generic sentence, and only the agent's note
names the real reason.
"""

from __future__ import annotations

from dataclasses import dataclass

from megadesk_stripe.records import DeclineRecord

GENERIC = (
    "The card issuer declined the payment without giving a reason; the customer should contact "
    "their bank or pay with another card."
)

_SENTENCES: dict[str, str] = {
    "generic_decline": GENERIC,
    "do_not_honor": GENERIC,
    "insufficient_funds": "The card has insufficient funds; the customer can pay with another card or try again "
    "once funds are available.",
    "expired_card": "The card has expired; the customer should pay with another card or update its expiry date.",
    "incorrect_cvc": "The card's security code (CVC) was wrong; the customer should enter it again.",
    "invalid_cvc": "The card's security code (CVC) was wrong; the customer should enter it again.",
    "incorrect_number": "The card number was wrong; the customer should enter it again or use another card.",
    "invalid_number": "The card number was wrong; the customer should enter it again or use another card.",
    "invalid_expiry_month": "The card's expiry month was wrong; the customer should enter it again.",
    "invalid_expiry_year": "The card's expiry year was wrong; the customer should enter it again.",
    "incorrect_zip": "The postal code did not match the card; the customer should check it and try again.",
    "processing_error": "An error occurred while the card was processed; the customer can try again in a few minutes.",
    "try_again_later": "The bank could not approve the payment just now; the customer can try again later.",
    "card_velocity_exceeded": "The card's balance or credit limit was reached; the customer can pay with another "
    "card or ask their bank.",
    "withdrawal_count_limit_exceeded": "The card's limit on payments was reached; the customer can pay with "
    "another card or ask their bank.",
    "card_not_supported": "The card does not support this kind of purchase; the customer should use another card.",
    "currency_not_supported": "The card does not support this currency; the customer should use another card.",
    "authentication_required": "The bank asked the customer to confirm the payment (3-D Secure), which did not "
    "happen; the customer should try again and complete the bank's check.",
}

# Reasons Stripe says to present to the customer as a generic decline.
_NOT_FOR_THE_CUSTOMER = frozenset(
    {
        "lost_card",
        "stolen_card",
        "pickup_card",
        "restricted_card",
        "fraudulent",
        "merchant_blacklist",
        "security_violation",
    }
)


@dataclass(frozen=True)
class DeclineReason:
    sentence: str
    """What the agent can tell the customer."""
    code: str | None
    """Stripe's most specific code, for the agent (``insufficient_funds``)."""
    confidential: bool = False
    """The real reason must not be told to the customer (the sentence is the generic one)."""

    @property
    def text(self) -> str:
        note = f" (Stripe: {self.code}" if self.code else ""
        if self.code and self.confidential:
            note += "; do not tell the customer this reason"
        return f"Declined: {self.sentence}{note + ')' if note else ''}"


def decline_reason(decline: DeclineRecord) -> DeclineReason:
    code = decline.decline_code or decline.code
    if code in _NOT_FOR_THE_CUSTOMER:
        return DeclineReason(GENERIC, code, confidential=True)
    # The bank's decline_code is the most specific; a code we have no sentence for is better
    # told in Stripe's words than as a generic decline.
    for candidate in (decline.decline_code, decline.code):
        if candidate and candidate in _SENTENCES:
            return DeclineReason(_SENTENCES[candidate], code)
    message = (decline.message or "").strip()
    if message and message != "Your card was declined.":
        return DeclineReason(message if message.endswith(".") else message + ".", code)
    return DeclineReason(GENERIC, code)
