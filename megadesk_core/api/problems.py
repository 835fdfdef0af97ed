"""RFC 9457 problem details for every error the API returns."""

from __future__ import annotations

import logging
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.types import ExceptionHandlersMap

from megadesk_core.errors import IntegrationError, RateLimitedError
from megadesk_core.problems import PROBLEM_MEDIA_TYPE, problem_body, status_title
from megadesk_core.services.actions import ActionRequestError
from megadesk_core.services.configure import NotConfiguredError, SettingsRejectedError

log = logging.getLogger(__name__)


class ProblemError(Exception):
    """Raised by handlers: becomes a problem response with ``status``, ``code`` and ``detail``."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        *,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.errors = errors or []
        self.headers = headers or {}


def not_found(what: str) -> ProblemError:
    return ProblemError(404, "not_found", f"{what} not found.")


def problem_response(
    request: Request[Any, Any, Any],
    status: int,
    code: str,
    detail: str,
    *,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response[dict[str, Any]]:
    body = problem_body(status, code, detail, instance=request.url.path, errors=errors)
    return Response(body, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers)


def handle_problem(request: Request[Any, Any, Any], exc: ProblemError) -> Response[dict[str, Any]]:
    return problem_response(request, exc.status, exc.code, exc.detail, errors=exc.errors, headers=exc.headers)


def handle_action_request(request: Request[Any, Any, Any], exc: ActionRequestError) -> Response[dict[str, Any]]:
    return problem_response(request, exc.status, exc.code, exc.message, errors=exc.errors)


def handle_integration_error(request: Request[Any, Any, Any], exc: IntegrationError) -> Response[dict[str, Any]]:
    headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, RateLimitedError) else None
    errors = [{"field": exc.field, "message": exc.message}] if exc.field else None
    return problem_response(request, exc.status, exc.code, exc.message, errors=errors, headers=headers)


def handle_http_exception(request: Request[Any, Any, Any], exc: HTTPException) -> Response[dict[str, Any]]:
    errors: list[dict[str, Any]] | None = None
    if isinstance(exc, ValidationException) and isinstance(exc.extra, list):
        errors = [
            {"field": str(item.get("key") or "(body)"), "message": str(item.get("message"))}
            for item in exc.extra
            if isinstance(item, dict)
        ]
    code = "invalid_request" if exc.status_code == 400 else status_title(exc.status_code).lower().replace(" ", "_")
    return problem_response(request, exc.status_code, code, str(exc.detail), errors=errors, headers=exc.headers)


def handle_settings_rejected(request: Request[Any, Any, Any], exc: SettingsRejectedError) -> Response[dict[str, Any]]:
    return problem_response(request, 422, exc.code, exc.message, errors=exc.errors)


def handle_not_configured(request: Request[Any, Any, Any], exc: NotConfiguredError) -> Response[dict[str, Any]]:
    return problem_response(request, 409, "not_configured", str(exc))


def handle_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem_response(request, 500, "internal_error", "Something went wrong on our side; it was logged.")


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    ProblemError: handle_problem,
    ActionRequestError: handle_action_request,
    IntegrationError: handle_integration_error,
    SettingsRejectedError: handle_settings_rejected,
    NotConfiguredError: handle_not_configured,
    HTTPException: handle_http_exception,
    Exception: handle_unexpected,
}
