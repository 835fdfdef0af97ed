"""The API's one exception-to-response mapping: every error becomes an RFC 9457 problem.

What a host error says (status, code, message, fields, headers) is decided by its class in
:mod:`megadesk_core.errors`; this module only writes the response. Litestar's own HTTP errors
(unknown route, validation of parameters) and anything unexpected are mapped here too.
"""

from __future__ import annotations

import logging
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.types import ExceptionHandlersMap

from megadesk_core.errors import PROBLEM_MEDIA_TYPE, MegadeskError, problem_body, status_title

log = logging.getLogger(__name__)


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
    return Response(body, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers or None)


def handle_megadesk_error(request: Request[Any, Any, Any], exc: MegadeskError) -> Response[dict[str, Any]]:
    return problem_response(request, exc.status, exc.code, exc.message, errors=exc.errors, headers=exc.headers)


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


def handle_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem_response(request, 500, "internal_error", "Something went wrong on our side; it was logged.")


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    MegadeskError: handle_megadesk_error,
    HTTPException: handle_http_exception,
    Exception: handle_unexpected,
}
