"""Refuse malformed requests before routing and parsing can fail on them (500s found by fuzzing).

An ASGI middleware, so it runs before Litestar reads the body:

* a body larger than :data:`MAX_BODY_BYTES` is refused (413);
* a non-empty body on ``POST``/``PUT``/``PATCH`` must be JSON (``application/json`` or
  ``application/*+json``), otherwise 415: a JSON body sent as ``text/plain`` used to be parsed;
* JSON nested deeper than :data:`MAX_JSON_DEPTH` is refused (400) before any recursive parser or
  validator meets it (about 1,000 levels raised ``RecursionError``: a 500);
* a NUL character in the path is a 404 (nothing stored can have one in its name) and in a header
  a 400: PostgreSQL text cannot hold it, so it would fail on the first query that uses it.

NUL characters inside JSON bodies are the request models' business (422 naming the field, and
for actions an audited attempt), not this module's; query parameters never reach the database
as text.
"""

from __future__ import annotations

import json
import re
from http import HTTPStatus
from typing import Any, cast

from litestar.enums import ScopeType
from litestar.types import (
    ASGIApp,
    HTTPRequestEvent,
    HTTPResponseBodyEvent,
    HTTPResponseStartEvent,
    Receive,
    ReceiveMessage,
    Scope,
    Send,
)

from megadesk_core.errors import PROBLEM_MEDIA_TYPE, problem_body
from megadesk_core.text_safety import NUL_MESSAGE

MAX_BODY_BYTES = 1024 * 1024
"""Largest request body: tickets, settings and action payloads are a few kilobytes."""

MAX_JSON_DEPTH = 64
"""Deepest nesting of arrays and objects in a request body; real payloads use a handful."""

BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})

# A JSON string (escapes included), written so the regex engine never backtracks deeply.
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_BRACKET = re.compile(rb"[\[\]{}]")


def json_depth_exceeds(body: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether ``body`` nests arrays/objects deeper than ``limit``, without parsing it.

    Brackets inside strings do not count. Malformed JSON is left to the real parser (400).
    """
    depth = 0
    for match in _BRACKET.finditer(_JSON_STRING.sub(b'""', body)):
        if match.group() in (b"[", b"{"):
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


def is_json_media_type(content_type: str) -> bool:
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type == "application/json" or (media_type.startswith("application/") and media_type.endswith("+json"))


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return ""


def _nul_problem(scope: Scope) -> tuple[int, str, str, list[dict[str, Any]]] | None:
    """The refusal for a NUL character in the path or a header, or ``None``."""
    if "\x00" in scope.get("path", ""):
        # Nothing stored can have a NUL in its name (PostgreSQL text cannot hold one): not found.
        return 404, "not_found", "Nothing has that name: the path contains a NUL character.", []
    for raw_name, raw_value in scope.get("headers", []):
        if b"\x00" in raw_value:
            header = bytes(raw_name).decode("latin-1")
            return (
                400,
                "invalid_header",
                f"The header {header!r} contains a NUL character.",
                [{"field": header, "message": NUL_MESSAGE}],
            )
    return None


async def send_problem(
    scope: Scope, send: Send, status: int, code: str, detail: str, errors: list[dict[str, Any]] | None = None
) -> None:
    problem = problem_body(status, code, detail, instance=scope.get("path"), errors=errors)
    problem["title"] = HTTPStatus(status).phrase if problem["title"] == "Error" else problem["title"]
    body = json.dumps(problem).encode()
    start: HTTPResponseStartEvent = {
        "type": "http.response.start",
        "status": status,
        "headers": [(b"content-type", PROBLEM_MEDIA_TYPE.encode()), (b"content-length", str(len(body)).encode())],
    }
    await send(start)
    end: HTTPResponseBodyEvent = {"type": "http.response.body", "body": body, "more_body": False}
    await send(end)


class RequestLimitsMiddleware:
    """Apply the limits above; pass everything else through unchanged."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        refusal = _nul_problem(scope)
        if refusal is not None:
            await send_problem(scope, send, *refusal)
            return
        if scope["method"] not in BODY_METHODS:
            await self.app(scope, receive, send)
            return
        body, more = b"", True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += bytes(cast("bytes", message.get("body", b"")))
            more = bool(message.get("more_body", False))
            if len(body) > MAX_BODY_BYTES:
                await send_problem(
                    scope, send, 413, "body_too_large", f"The request body is larger than {MAX_BODY_BYTES} bytes."
                )
                return
        if body.strip():
            if not is_json_media_type(_header(scope, b"content-type")):
                await send_problem(
                    scope,
                    send,
                    415,
                    "unsupported_media_type",
                    "The request body must be JSON: send it with 'Content-Type: application/json'.",
                    [{"field": "Content-Type", "message": "must be application/json"}],
                )
                return
            if json_depth_exceeds(body):
                await send_problem(
                    scope,
                    send,
                    400,
                    "json_too_deep",
                    f"The JSON body nests arrays and objects deeper than {MAX_JSON_DEPTH} levels.",
                    [{"field": "(body)", "message": f"at most {MAX_JSON_DEPTH} levels of nesting"}],
                )
                return
        await self.app(scope, _replay(body, receive), send)


def _replay(body: bytes, original: Receive) -> Receive:
    """A ``receive`` that hands the buffered body to the app, then defers to the real one
    (which reports the client's disconnect)."""
    sent = False

    async def receive() -> ReceiveMessage:
        nonlocal sent
        if not sent:
            sent = True
            request: HTTPRequestEvent = {"type": "http.request", "body": body, "more_body": False}
            return request
        return await original()

    return receive
