"""Turn stripe-python's errors into the host's errors, with messages an agent or admin can act on.

Stripe's own messages are kept (they are specific and safe: Stripe masks keys), minus anything
that looks like a whole API key, which is replaced before the message goes anywhere.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import stripe

from megadesk_core.errors import (
    ActionRefusedError,
    AuthenticationFailedError,
    IntegrationError,
    InvalidInputError,
    MissingPermissionError,
    NotFoundError,
    RateLimitedError,
    UpstreamUnavailableError,
)
from megadesk_stripe.permissions import Permission, describe_permission, permission_in_message

_FULL_KEY = re.compile(r"\b(?:sk|rk|pk)_(?:test|live)_[A-Za-z0-9]{6,}")
_BEARER = re.compile(r"Bearer\s+\S+", re.IGNORECASE)


class AlreadyRefundedError(ActionRefusedError):
    """Stripe refused a refund because the charge has nothing left to refund
    (``charge_already_refunded``): a refund made under another idempotency key, or none of ours."""


def scrub(text: str) -> str:
    """Hide whole API keys and bearer tokens in ``text`` (masked keys like ``sk_test_****1234`` stay)."""
    return _BEARER.sub("Bearer [hidden]", _FULL_KEY.sub("[hidden key]", text))


def _stripe_message(exc: stripe.StripeError) -> str:
    return scrub(exc.user_message or exc.__class__.__name__)


def _retry_after(exc: stripe.StripeError) -> int:
    value = (exc.headers or {}).get("retry-after") or (exc.headers or {}).get("Retry-After")
    try:
        return max(1, int(value)) if value else 5
    except ValueError:
        return 5


def translate(exc: stripe.StripeError, permission: Permission | None = None) -> IntegrationError:
    """The host error for a Stripe error. ``permission`` is what the failed call needs, used
    when Stripe's permission error does not name one."""
    message = _stripe_message(exc)
    if isinstance(exc, stripe.AuthenticationError):
        return AuthenticationFailedError(
            f"Stripe rejected the API key ({message}). The key may have been revoked, rolled or "
            "mistyped: an admin should paste a current key into the Stripe integration's settings."
        )
    if isinstance(exc, stripe.PermissionError):
        code = permission_in_message(message) or (permission.code if permission else None)
        needed = describe_permission(code) if code else "a permission it does not have"
        return MissingPermissionError(
            f"The Stripe key lacks {needed}. An admin should edit the restricted key in the Stripe "
            f"dashboard (Developers -> API keys) to add it. Stripe said: {message}"
        )
    if isinstance(exc, stripe.RateLimitError):
        return RateLimitedError(
            "Stripe is rate limiting this account's requests; try again in a few seconds.",
            retry_after=_retry_after(exc),
        )
    if isinstance(exc, stripe.CardError):
        return ActionRefusedError(f"Stripe declined it: {message}", code="card_declined")
    if isinstance(exc, stripe.InvalidRequestError):
        if exc.code == "resource_missing":
            return NotFoundError(f"Stripe has no such object: {message}")
        if exc.code == "charge_already_refunded":
            return AlreadyRefundedError(f"Stripe refused it: {message}")
        if exc.http_status == 400 and exc.code in (
            None,
            "parameter_unknown",
            "parameter_invalid_integer",
            "parameter_invalid_empty",
            "parameter_missing",
        ):
            return InvalidInputError(f"Stripe did not accept the request: {message}")
        return ActionRefusedError(f"Stripe refused it: {message}")
    if isinstance(exc, stripe.IdempotencyError):
        return ActionRefusedError(
            "Stripe refused a repeated request that differs from the first one with the same "
            f"idempotency key; reload the panel and try again. Stripe said: {message}"
        )
    if isinstance(exc, stripe.APIConnectionError):
        return UpstreamUnavailableError("Could not reach Stripe (network error or timeout); try again in a moment.")
    return UpstreamUnavailableError(
        f"Stripe returned an error ({exc.http_status or 'no status'}); try again in a moment. Stripe said: {message}"
    )


@contextmanager
def stripe_errors(permission: Permission | None = None) -> Iterator[None]:
    """Raise the host's error for any Stripe error inside the block (the original is chained)."""
    try:
        yield
    except stripe.StripeError as exc:
        raise translate(exc, permission) from exc
