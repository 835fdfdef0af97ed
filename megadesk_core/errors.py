"""Errors that plugins raise and the host maps to RFC 9457 problem responses.

Messages are read by agents and admins: say what went wrong and what to do next. Never put a
secret (an API key, a token) in a message; the host shows messages as they are.
"""

from __future__ import annotations


class IntegrationError(Exception):
    """Base class. ``code`` is a stable machine-readable slug, ``status`` the HTTP status."""

    status: int = 502
    code: str = "integration_error"

    def __init__(self, message: str, *, code: str | None = None, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        """The settings or payload field the error is about, when there is one."""
        if code is not None:
            self.code = code


class NotFoundError(IntegrationError):
    """The external object does not exist (or not for this customer)."""

    status = 404
    code = "not_found"


class ActionRefusedError(IntegrationError):
    """The action makes no sense in the object's current state, or is not allowed on it."""

    status = 409
    code = "action_refused"


class InvalidInputError(IntegrationError):
    """The request was understood but its values are wrong."""

    status = 422
    code = "invalid_input"


class MissingPermissionError(IntegrationError):
    """The tenant's credentials lack a permission; the message names it."""

    status = 424
    code = "missing_permission"


class AuthenticationFailedError(IntegrationError):
    """The tenant's credentials were rejected upstream (revoked or mistyped key)."""

    status = 424
    code = "authentication_failed"


class RateLimitedError(IntegrationError):
    """Upstream asked us to slow down; ``retry_after`` is in seconds."""

    status = 429
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int = 5, code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.retry_after = retry_after


class UpstreamUnavailableError(IntegrationError):
    """Upstream failed or could not be reached; trying again later may work."""

    status = 502
    code = "upstream_unavailable"
