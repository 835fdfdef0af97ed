"""Every response the API gives, declared in the OpenAPI document (``/schema/openapi.json``).

Litestar documents a handler's success response and, for validation, an error body that is not
ours (we answer RFC 9457 problems, ``application/problem+json``). A client generated from the
document, or a conformance fuzzer, needs the truth: :func:`declare_responses` adds a problem
response for each status a route can answer, from rules that follow how the host works:

* every route: 400 (a malformed request: query parameters, headers, a JSON body);
* routes behind a token: 401 (no or bad token) and 403 (the token's role may not);
* routes with path parameters: 404 (nothing by that name for this tenant);
* routes that take a body: 413 (too large), 415 (not JSON), 422 (invalid values);
* plus what :data:`EXTRA_STATUSES` lists per operation (conflicts, upstream failures).

The rules run over the app's route table, so a new route gets them without an edit here.
:func:`forbid_extra_fields` then marks the request models that refuse unknown fields
(``extra="forbid"``) with ``additionalProperties: false``, which Litestar leaves out.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from http import HTTPStatus
from typing import Any

from litestar import Litestar
from litestar.handlers import HTTPRouteHandler
from litestar.openapi import ResponseSpec
from litestar.openapi.spec import OpenAPIType, Schema
from litestar.routes import HTTPRoute
from pydantic import BaseModel, Field

from megadesk_core.errors import PROBLEM_MEDIA_TYPE


class FieldProblem(BaseModel):
    field: str = Field(description="The parameter, header or body field (dotted path) the error is about.")
    message: str


class Problem(BaseModel):
    """An RFC 9457 problem document: what went wrong and what to do next."""

    type: str = Field(description="A URI naming the kind of problem.")
    title: str
    status: int = Field(ge=400, le=599)
    detail: str = Field(description="For a person: what went wrong and what to do next.")
    code: str = Field(description="Stable, machine-readable slug (e.g. not_found, invalid_payload).")
    instance: str | None = Field(default=None, description="The request path.")
    errors: list[FieldProblem] | None = Field(default=None, description="One entry per invalid field.")


UPSTREAM = (424, 429, 502, 503)
"""An integration's upstream refused (missing permission, bad key), throttled, failed or timed out."""

EXTRA_STATUSES: dict[str, tuple[int, ...]] = {
    "runAction": (409, *UPSTREAM),
    "putIntegrationSettings": (409, *UPSTREAM),
    "enableIntegration": (409, *UPSTREAM),
}
"""Statuses beyond the rules, by operation id."""

DESCRIPTIONS = {
    400: "The request is malformed (parameters, headers or JSON body); `errors` names the fields.",
    401: "No valid API token: send `Authorization: Bearer <token>`.",
    403: "The token's role may not do this.",
    404: "No such resource for this tenant.",
    409: "Conflicts with the current state (e.g. not configured, identity not confirmed, idempotency key reused).",
    413: "The request body is too large.",
    415: "The request body is not JSON: send `Content-Type: application/json`.",
    422: "The values are invalid; `errors` names the fields.",
    424: "The integration's credentials lack a permission or were rejected upstream.",
    429: "Upstream rate limit: retry after `Retry-After` seconds.",
    502: "Upstream failed or could not be reached; retry later.",
    503: "Upstream did not answer in time, or the service is unavailable; retry later.",
}

BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


def problem_response(status: int) -> ResponseSpec:
    return ResponseSpec(
        data_container=Problem,
        media_type=PROBLEM_MEDIA_TYPE,
        description=DESCRIPTIONS.get(status, HTTPStatus(status).phrase),
        generate_examples=False,
    )


def _secured(handler: HTTPRouteHandler) -> bool:
    return any(bool(layer.security) for layer in handler.ownership_layers if hasattr(layer, "security"))


def problem_statuses(route: HTTPRoute, handler: HTTPRouteHandler) -> set[int]:
    """The problem statuses ``handler`` (one of ``route``'s) can answer."""
    statuses = {400}
    if _secured(handler):
        statuses |= {401, 403}
    if route.path_parameters:
        statuses.add(404)
    if BODY_METHODS & set(handler.http_methods):
        statuses |= {413, 415, 422}
    statuses.update(EXTRA_STATUSES.get(str(handler.operation_id or ""), ()))
    return statuses


def documented_routes(app: Litestar) -> Iterable[tuple[HTTPRoute, HTTPRouteHandler]]:
    for route in app.routes:
        if isinstance(route, HTTPRoute):
            for handler in route.route_handlers:
                if handler.resolve_include_in_schema():
                    yield route, handler


def _models(base: type[BaseModel]) -> Iterator[type[BaseModel]]:
    for model in base.__subclasses__():
        yield model
        yield from _models(model)


def forbid_extra_fields(app: Litestar) -> None:
    """Build the document now and say ``additionalProperties: false`` where the model forbids
    extra fields (a client or fuzzer would otherwise send them and be refused with a 400)."""
    schemas = (app.openapi_schema.components.schemas or {}) if app.openapi_schema.components else {}
    forbidding = {model.__name__ for model in _models(BaseModel) if model.model_config.get("extra") == "forbid"}
    for name, schema in schemas.items():
        if name in forbidding and isinstance(schema, Schema) and schema.type == OpenAPIType.OBJECT:
            schema.additional_properties = False


def declare_responses(app: Litestar) -> None:
    """Add the problem responses to every documented route of ``app`` (before the document is built)."""
    for route, handler in documented_routes(app):
        declared: dict[int, Any] = {status: problem_response(status) for status in problem_statuses(route, handler)}
        declared.update(handler.responses or {})  # a handler's own declaration wins
        handler.responses = declared
