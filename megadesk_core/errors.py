"""Every error the host answers with, and the RFC 9457 problem document it becomes.

One hierarchy, one mapping: each class carries its HTTP ``status`` and a stable ``code``, and
:func:`problem_body` is the only shape an error takes on the wire (the API's single exception
handler uses it, and stored action replays store it).

* :class:`IntegrationError` and its subclasses are what plugins raise; the host shows their
  message as written.
* :class:`RequestError` is the host refusing a request (a bad ticket id, a missing
  Idempotency-Key, an action the agent may not run...).

Messages are read by agents and admins: say what went wrong and what to do next. Never put a
secret (an API key, a token) in a message; the host shows messages as they are.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

PROBLEM_MEDIA_TYPE = "application/problem+json"

_TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Content too large",
    415: "Unsupported media type",
    422: "Unprocessable content",
    424: "Failed dependency",
    429: "Too many requests",
    500: "Internal server error",
    502: "Bad gateway",
    503: "Service unavailable",
}


def status_title(status: int) -> str:
    return _TITLES.get(status, "Error")


def problem_body(
    status: int, code: str, detail: str, *, instance: str | None = None, errors: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": f"https://megadesk.example/problems/{code.replace('_', '-')}",
        "title": status_title(status),
        "status": status,
        "detail": detail,
        "code": code,
    }
    if instance is not None:
        body["instance"] = instance
    if errors:
        body["errors"] = errors
    return body


def field_errors(exc: ValidationError) -> list[dict[str, Any]]:
    """A validation error as ``[{"field", "message"}]``, without the input values (secrets)."""
    return [
        {"field": ".".join(str(p) for p in err["loc"]) or "(body)", "message": err["msg"]}
        for err in exc.errors(include_url=False, include_input=False)
    ]


class MegadeskError(Exception):
    """Base of every error the host maps to a response: ``status``, ``code``, ``message``, the
    fields it is about (``errors``) and response ``headers``."""

    status: int = 500
    code: str = "internal_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    @property
    def errors(self) -> list[dict[str, Any]]:
        return []

    @property
    def headers(self) -> dict[str, str]:
        return {}

    def problem(self, instance: str | None = None) -> dict[str, Any]:
        return problem_body(self.status, self.code, self.message, instance=instance, errors=self.errors)


class RequestError(MegadeskError):
    """The host refuses a request; nothing reached a plugin (or what did changed nothing)."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        errors: list[dict[str, Any]] | None = None,
        *,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message, code=code)
        self.status = status
        self._errors = errors or []
        self._headers = headers or {}

    @property
    def errors(self) -> list[dict[str, Any]]:
        return self._errors

    @property
    def headers(self) -> dict[str, str]:
        return self._headers


def not_found(what: str) -> RequestError:
    return RequestError(404, "not_found", f"{what} not found.")


class IntegrationError(MegadeskError):
    """What plugins raise. ``code`` is a stable machine-readable slug, ``status`` the HTTP status."""

    status: int = 502
    code: str = "integration_error"

    def __init__(self, message: str, *, code: str | None = None, field: str | None = None) -> None:
        super().__init__(message, code=code)
        self.field = field
        """The settings or payload field the error is about, when there is one."""

    @property
    def errors(self) -> list[dict[str, Any]]:
        return [{"field": self.field, "message": self.message}] if self.field else []


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

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class UpstreamUnavailableError(IntegrationError):
    """Upstream failed or could not be reached; trying again later may work."""

    status = 502
    code = "upstream_unavailable"


class WebhookRejectedError(IntegrationError):
    """A webhook delivery the plugin refuses: a bad or missing signature, a malformed body."""

    status = 400
    code = "webhook_rejected"


class SettingsUnreadableError(MegadeskError):
    """Stored settings cannot be used: the key is wrong, the row was tampered with or copied, or
    the plugin no longer accepts them. The message names fields, never values."""

    status = 424
    code = "settings_unreadable"
