"""Each request's id and context: taken from ``X-Request-ID`` when sane, else made; returned
in the response's ``X-Request-ID``; bound for logs, audit rows and metrics while the request
runs (:mod:`~megadesk_core.observability.context`). With JSON logs, one access line per request
(uvicorn's own access log is then off: it would be plain text without the id)."""

from __future__ import annotations

import logging
import time

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from megadesk_core.observability import tracing
from megadesk_core.observability.context import REQUEST_ID_HEADER, request_id_from, request_scope

access_log = logging.getLogger("megadesk.access")

_HEADER = REQUEST_ID_HEADER.encode()


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp, *, log_access: bool = False) -> None:
        self.app = app
        self.log_access = log_access

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        request_id = request_id_from(_header(scope, _HEADER))
        route = str(scope.get("path_template") or "")
        method = str(scope.get("method", ""))
        tracing.name_server_span(method, route, request_id)
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [(k, v) for k, v in message.get("headers", []) if bytes(k).lower() != _HEADER]
                message["headers"] = [*headers, (_HEADER, request_id.encode())]
            await send(message)

        with request_scope(request_id):
            try:
                await self.app(scope, receive, send_with_id)
            finally:
                if self.log_access:
                    duration_ms = round((time.perf_counter() - started) * 1000, 1)
                    access_log.info(
                        "%s %s %s %.1fms",
                        method,
                        route,
                        status,
                        duration_ms,
                        extra={
                            "http": {"method": method, "route": route, "status": status, "duration_ms": duration_ms}
                        },
                    )
