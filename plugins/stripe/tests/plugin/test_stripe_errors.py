"""Stripe errors become the host's errors, with messages that say what to do and hold no key."""

from __future__ import annotations

import pytest
import stripe
from megadesk_stripe import permissions
from megadesk_stripe.errors import AlreadyRefundedError, scrub, stripe_errors, translate

from megadesk_core.errors import (
    ActionRefusedError,
    AuthenticationFailedError,
    InvalidInputError,
    MissingPermissionError,
    NotFoundError,
    RateLimitedError,
    UpstreamUnavailableError,
)

FULL_KEY = "rk_live_51AbCdEfGhIjKlMnOpQrStUvWx"


def _error(
    cls: type[stripe.StripeError],
    message: str,
    status: int,
    code: str | None = None,
    error_type: str = "invalid_request_error",
    **kwargs: object,
) -> stripe.StripeError:
    body = {"error": {"type": error_type, "code": code, "message": message}}
    return cls(
        message,
        http_body=None,
        http_status=status,
        json_body=body,
        headers={"request-id": "req_1"},
        code=code,
        **kwargs,
    )


def test_permission_error_names_the_permission_from_stripes_message() -> None:
    exc = _error(
        stripe.PermissionError,
        "The provided key 'rk_test_*****************************AbCd' does not have the required permissions "
        "for this endpoint on account 'acct_1'. Having the 'rak_refund_write' permission would allow this "
        "request to continue.",
        403,
    )
    mapped = translate(exc, permissions.REFUNDS_WRITE)
    assert isinstance(mapped, MissingPermissionError)
    assert "Refunds: Write (rak_refund_write)" in mapped.message
    assert "dashboard" in mapped.message


def test_permission_error_falls_back_to_the_endpoints_permission() -> None:
    exc = _error(stripe.PermissionError, "This key does not have permission.", 403)
    mapped = translate(exc, permissions.INVOICES_READ)
    assert isinstance(mapped, MissingPermissionError)
    assert "Invoices: Read (rak_invoice_read)" in mapped.message


@pytest.mark.parametrize(
    ("exc", "expected", "fragment"),
    [
        (
            _error(stripe.RateLimitError, "Too many requests", 429, code="rate_limit", error_type="rate_limit_error"),
            RateLimitedError,
            "try again in a few seconds",
        ),
        (
            _error(stripe.InvalidRequestError, "No such customer: 'cus_x'", 404, code="resource_missing", param="id"),
            NotFoundError,
            "No such customer",
        ),
        (
            _error(stripe.CardError, "Your card was declined.", 402, code="card_declined", param="payment_method"),
            ActionRefusedError,
            "Your card was declined.",
        ),
        (
            _error(
                stripe.InvalidRequestError,
                "Received unknown parameter: foo",
                400,
                code="parameter_unknown",
                param="foo",
            ),
            InvalidInputError,
            "unknown parameter",
        ),
        (
            _error(
                stripe.InvalidRequestError,
                "Charge ch_1 has already been refunded.",
                400,
                code="charge_already_refunded",
                param=None,
            ),
            AlreadyRefundedError,  # an ActionRefusedError the refund actions recognise
            "already been refunded",
        ),
        (
            stripe.APIConnectionError("Network error"),  # type: ignore[no-untyped-call]
            UpstreamUnavailableError,
            "Could not reach Stripe",
        ),
        (_error(stripe.APIError, "Internal error", 500, error_type="api_error"), UpstreamUnavailableError, "try again"),
        (
            _error(stripe.AuthenticationError, "Invalid API Key provided: rk_test_****AbCd", 401),
            AuthenticationFailedError,
            "rejected",
        ),
    ],
)
def test_mapping(exc: stripe.StripeError, expected: type[Exception], fragment: str) -> None:
    mapped = translate(exc)
    assert type(mapped) is expected
    assert fragment in mapped.message


def test_rate_limit_honours_retry_after() -> None:
    exc = _error(stripe.RateLimitError, "slow down", 429, error_type="rate_limit_error")
    exc.headers = {"retry-after": "7"}
    mapped = translate(exc)
    assert isinstance(mapped, RateLimitedError)
    assert mapped.retry_after == 7


def test_full_keys_never_reach_a_message() -> None:
    exc = _error(stripe.AuthenticationError, f"Invalid API Key provided: {FULL_KEY} (Bearer {FULL_KEY})", 401)
    mapped = translate(exc)
    assert FULL_KEY not in mapped.message
    assert "Bearer rk" not in mapped.message
    assert scrub(f"key {FULL_KEY} masked sk_test_****1234") == "key [hidden key] masked sk_test_****1234"


def test_context_manager_chains_the_stripe_error() -> None:
    with pytest.raises(NotFoundError) as caught, stripe_errors(permissions.CUSTOMERS_READ):
        raise _error(stripe.InvalidRequestError, "No such customer", 404, code="resource_missing", param="id")
    assert isinstance(caught.value.__cause__, stripe.InvalidRequestError)
