"""Stripe-shaped API errors.

Every failure the emulator reports is a :class:`StripeError`; the HTTP layer turns it into
``{"error": {...}}`` with the matching status, exactly the shape stripe-python parses into
``InvalidRequestError``, ``CardError``, ``PermissionError`` and friends.
"""

from __future__ import annotations

from typing import Any

JsonDict = dict[str, Any]

DOCS = "https://stripe.com/docs/error-codes/"


class StripeError(Exception):
    def __init__(
        self,
        status: int,
        type_: str,
        message: str,
        *,
        code: str | None = None,
        param: str | None = None,
        extra: JsonDict | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.type = type_
        self.message = message
        self.code = code
        self.param = param
        self.extra = extra or {}
        self.headers = headers or {}

    def body(self, request_id: str | None = None) -> JsonDict:
        error: JsonDict = {"type": self.type, "message": self.message}
        if self.code is not None:
            error["code"] = self.code
            error["doc_url"] = DOCS + self.code.replace("_", "-")
        if self.param is not None:
            error["param"] = self.param
        error.update(self.extra)
        if request_id is not None:
            error["request_log_url"] = f"https://dashboard.stripe.com/test/logs/{request_id}"
        return {"error": error}


def invalid_request(
    message: str, *, code: str | None = None, param: str | None = None, status: int = 400
) -> StripeError:
    return StripeError(status, "invalid_request_error", message, code=code, param=param)


def unknown_parameter(name: str) -> StripeError:
    return invalid_request(f"Received unknown parameter: {name}", code="parameter_unknown", param=name)


def missing_parameter(name: str) -> StripeError:
    return invalid_request(f"Missing required param: {name}.", code="parameter_missing", param=name)


def invalid_integer(name: str, value: object) -> StripeError:
    return invalid_request(f"Invalid integer: {value}", code="parameter_invalid_integer", param=name)


def invalid_boolean(name: str, value: object) -> StripeError:
    return invalid_request(f"Invalid boolean: {value}", param=name)


def invalid_choice(name: str, choices: list[str]) -> StripeError:
    listed = ", ".join(choices[:-1]) + f", or {choices[-1]}" if len(choices) > 1 else choices[0]
    return invalid_request(f"Invalid {name}: must be one of {listed}", param=name)


def no_such(kind: str, object_id: str, param: str = "id") -> StripeError:
    """Stripe's 404: ``No such customer: 'cus_x'``; ``kind`` is the human name."""
    return invalid_request(f"No such {kind}: '{object_id}'", code="resource_missing", param=param, status=404)


def authentication(message: str) -> StripeError:
    return StripeError(401, "authentication_error", message)


def permission(message: str) -> StripeError:
    # Real Stripe answers restricted-key denials with 403 and type invalid_request_error.
    return StripeError(403, "invalid_request_error", message)


def idempotency(message: str) -> StripeError:
    return StripeError(400, "idempotency_error", message)


def rate_limit() -> StripeError:
    return StripeError(
        429,
        "invalid_request_error",
        "Request rate limit exceeded. You can learn more about rate limits here https://stripe.com/docs/rate-limits.",
        code="rate_limit",
    )


def api_error(status: int = 500) -> StripeError:
    return StripeError(
        status,
        "api_error",
        "An unknown error occurred. Please retry your request, or contact Stripe support if the problem persists.",
    )


def unrecognized_url(method: str, path: str) -> StripeError:
    return invalid_request(
        f"Unrecognized request URL ({method}: {path}). Please see https://stripe.com/docs "
        "or we can help at https://support.stripe.com/.",
        status=404,
    )


def fault_error(status: int) -> StripeError:
    """The body a real Stripe would send for an injected status."""
    if status == 429:
        return rate_limit()
    if status >= 500:
        return api_error(status)
    if status == 401:
        return authentication("Injected authentication failure.")
    if status == 403:
        return permission("Injected permission failure.")
    if status == 402:
        return StripeError(402, "card_error", "Your card was declined.", code="card_declined")
    if status == 409:
        return invalid_request(
            "This object cannot be accessed right now because another API request or Stripe "
            "process is currently accessing it.",
            code="lock_timeout",
            status=409,
        )
    return invalid_request("Injected invalid request.", status=status)
