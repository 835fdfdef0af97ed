"""The RFC 9457 problem document, shared by the API's error handlers and stored action replays."""

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
