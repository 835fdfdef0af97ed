"""The ASGI application: authentication, permissions, idempotency, faults, expansion.

Request pipeline for ``/v1``: injected latency/fault -> API key -> route -> permission
-> idempotency replay -> parameter validation -> handler (under the store lock) ->
expansion -> JSON. ``/_emulator`` goes to :mod:`stripe_emulator.control`.
"""

from __future__ import annotations

import asyncio
import copy
import json
import logging
from typing import Any

from stripe_emulator import control as control_api
from stripe_emulator import forms
from stripe_emulator.asgi import Receive, Request, Response, Scope, Send, lifespan, read_request, send_response
from stripe_emulator.context import Call
from stripe_emulator.errors import StripeError, api_error, fault_error, invalid_request, unrecognized_url
from stripe_emulator.expand import expand
from stripe_emulator.ids import new_id, now
from stripe_emulator.keys import ApiKey, KeyRing
from stripe_emulator.params import EXPAND, validate
from stripe_emulator.routes import RESOURCE_OF_KIND, Route, match
from stripe_emulator.services import customers, invoices
from stripe_emulator.store import Store

JsonDict = dict[str, Any]

API_VERSION = "2026-10-28.endive"
logger = logging.getLogger("stripe_emulator")


def _json(body: JsonDict) -> bytes:
    return json.dumps(body, indent=2).encode("utf-8")


def _error_response(error: StripeError, request_id: str) -> Response:
    return Response(error.status, _json(error.body(request_id)), dict(error.headers))


class EmulatorApp:
    """An ASGI app serving one :class:`Store`. Use :func:`create_app` to build it."""

    def __init__(self, store: Store, *, control_enabled: bool = True) -> None:
        self.store = store
        self.control_enabled = control_enabled

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        request = await read_request(scope, receive)
        request_id = new_id("request")
        if request.path.startswith("/_emulator/") and self.control_enabled:
            response = control_api.handle(self.store, request)
        else:
            response = await self._api(request, request_id)
        response.headers.setdefault("Request-Id", request_id)
        await send_response(send, response)

    # -- /v1 -----------------------------------------------------------------------------

    async def _api(self, request: Request, request_id: str) -> Response:
        store = self.store
        store.requests.record(request.method, request.path)
        fault = store.faults.take(request.method, request.path)
        delay_ms = store.latency_ms + (fault.delay_ms if fault else 0)
        if delay_ms:
            await asyncio.sleep(delay_ms / 1000)
        if fault is not None and fault.drop:
            return Response(0, b"", drop=True)
        if fault is not None and fault.status is not None:
            # Injected failures happen "in front of" the API, so they are never stored
            # for idempotent replay: a retry with the same key gets a real answer.
            return _error_response(fault_error(fault.status), request_id)
        try:
            response = self._dispatch(request, request_id)
        except StripeError as error:
            response = _error_response(error, request_id)
        response.headers.setdefault("Stripe-Version", request.headers.get("stripe-version", API_VERSION))
        return response

    def _dispatch(self, request: Request, request_id: str) -> Response:
        store = self.store
        api_key = store.keys.authenticate(request.headers.get("authorization"))
        found = match(request.method, request.path)
        if found is None:
            raise unrecognized_url(request.method, request.path)
        route, path_args = found
        KeyRing.authorize(api_key, route.resource, route.access)
        raw = forms.decode(request.query)
        if request.method == "POST" and request.body:
            raw.update(forms.decode(request.body))
        idempotency_key = request.headers.get("idempotency-key")
        if request.method == "GET":
            idempotency_key = None
        with store.lock:
            if idempotency_key:
                stored = store.idempotency.lookup(api_key.key, idempotency_key, request.method, request.path, raw)
                if stored is not None:
                    return Response(
                        stored.status,
                        stored.body,
                        {
                            "Idempotent-Replayed": "true",
                            "Original-Request": stored.request_id,
                            "Idempotency-Key": idempotency_key,
                        },
                    )
            if request.method == "GET":
                response = self._execute(route, path_args, raw, api_key, request_id)
            else:
                with store.delivering():
                    response = self._execute(route, path_args, raw, api_key, request_id)
            if idempotency_key:
                response.headers["Idempotency-Key"] = idempotency_key
                if response.status < 500:
                    store.idempotency.save(
                        api_key.key,
                        idempotency_key,
                        request.method,
                        request.path,
                        raw,
                        response.status,
                        response.body,
                        request_id,
                    )
            return response

    def _execute(
        self, route: Route, path_args: dict[str, str], raw: JsonDict, api_key: ApiKey, request_id: str
    ) -> Response:
        try:
            params = validate(raw, route.spec.extend(expand=EXPAND))
            expand_paths: list[str] = params.pop("expand", None) or []
            call = Call(self.store, params, path_args, api_key, now())
            result = route.handler(call)
            body = self._expand(result, expand_paths, api_key)
            return Response(200, _json(body))
        except StripeError as error:
            return _error_response(error, request_id)
        except Exception:
            # A bug in the emulator must not kill the connection: answer like Stripe's 500.
            logger.exception("emulator error handling %s %s", route.method, route.template)
            return _error_response(api_error(), request_id)

    def _expand(self, result: JsonDict, paths: list[str], api_key: ApiKey) -> JsonDict:
        if not paths:
            # Serialised at once, still under the store lock: no copy needed.
            return result
        store = self.store

        def resolve(object_id: str) -> JsonDict | None:
            found = store.get(object_id)
            if found is None:
                return None
            resource = RESOURCE_OF_KIND.get(str(found.get("object")))
            if resource is not None:
                KeyRing.authorize(api_key, resource, "read")
            return copy.deepcopy(found)

        def include(node: JsonDict, field: str) -> JsonDict | None:
            kind = node.get("object")
            if kind == "invoice":
                KeyRing.authorize(api_key, "invoices", "read")
                return invoices.include(store, node, field)
            if kind == "customer":
                KeyRing.authorize(api_key, "subscriptions", "read")
                return customers.include(store, node, field)
            return None

        def guard(node: JsonDict, field: str) -> None:
            # A charge's refunds are embedded, not ids, but showing them still needs Refunds: Read.
            if node.get("object") == "charge" and field == "refunds":
                KeyRing.authorize(api_key, "refunds", "read")

        if len(paths) > 20:
            raise invalid_request("You cannot expand more than 20 properties.", param="expand")
        return expand(result, paths, resolve, include, guard)


def create_app(store: Store | None = None, *, latency_ms: int | None = None, control: bool = True) -> EmulatorApp:
    """An ASGI app for ``store`` (a fresh empty one by default).

    ``control`` enables the ``/_emulator/*`` test endpoints; ``latency_ms`` sets the
    store's global latency.
    """
    store = store if store is not None else Store()
    if latency_ms is not None:
        store.set_latency(latency_ms)
    return EmulatorApp(store, control_enabled=control)
