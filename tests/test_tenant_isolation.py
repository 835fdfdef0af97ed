"""The tenant-isolation matrix, generated from the app's route table.

Every route and method, called by every kind of caller: no token, a bad token, and the agent and
the admin of tenant A on tenant B's resources (B's ticket, B's configured integration). A new
route is in the matrix without an edit here; one whose path parameters the matrix cannot fill,
or that is public without being on the public list, fails the test until someone decides.
"""

from __future__ import annotations

import inspect
from typing import Any

import pytest
from litestar.routes import HTTPRoute

pytestmark = pytest.mark.security

B_SUBJECT = "B-only subject 7f3a"
B_EMAIL = "b-customer@example.com"
B_GREETING = "B greeting 91c2"
B_SECRET = "b-secret-token-5511"

PATH_VALUES = {"ticket_id": "T-B", "name": "sample", "integration": "sample", "action": "add_note"}
"""Tenant B's resources, by path parameter name."""

BODIES: dict[str, Any] = {
    "upsertTicket": {"subject": "written by A"},
    "putIntegrationSettings": {"settings": {"api_token": "a-token-12345"}},
    "runAction": {"target": "c-B", "text": "from A"},
}

PUBLIC_PREFIXES = ("/healthz", "/readyz", "/api/v1/schema/panel", "/schema", "/preview", "/api/v1/webhooks")
"""Routes anyone may call: probes, schemas, the preview page (its token stays in the browser), the
webhook endpoint (an unguessable URL; the plugin checks the payload's signature)."""

B_MARKERS = (B_SUBJECT, B_EMAIL, B_GREETING, B_SECRET, "c-B")


def _routes(app) -> list[tuple[str, str, Any]]:
    found = []
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            for method in sorted(handler.http_methods - {"HEAD", "OPTIONS"}):
                found.append((route.path_format, method, handler))
    # Reads first, PUT last: A's admin may create a ticket T-B of A's own, which must not turn a
    # later read of B's T-B into a (correct, but untested) read of A's.
    return sorted(found, key=lambda item: ["GET", "POST", "DELETE", "PATCH", "PUT"].index(item[1]))


def _secured(handler) -> bool:
    return any(getattr(layer, "security", None) for layer in handler.ownership_layers)


def _role(handler) -> str:
    parameters = inspect.signature(handler.fn).parameters
    if "admin" in parameters:
        return "admin"
    if "agent" in parameters:
        return "agent"
    return "any"


def _fill(path_format: str) -> str:
    path = path_format
    for name, value in PATH_VALUES.items():
        path = path.replace("{" + name + "}", value)
    assert "{" not in path, f"{path_format}: add its path parameter to PATH_VALUES (tenant B's resource)"
    return path


async def _tenant_b(megadesk_tenant):
    b = await megadesk_tenant("bravo")
    await b.configure("sample", {"api_token": B_SECRET, "greeting": B_GREETING})
    await b.upsert_ticket(
        "T-B", email=B_EMAIL, subject=B_SUBJECT, custom_data={"integrations": {"sample": {"contactId": "c-B"}}}
    )
    return b


async def _b_state(b) -> Any:
    ticket = (await b.client.get("/api/v1/tickets/T-B", headers=b.agent_headers)).json()
    settings = (await b.client.get("/api/v1/integrations/sample/settings", headers=b.admin_headers)).json()
    audit = (await b.client.get("/api/v1/audit", headers=b.admin_headers)).json()
    return ticket, settings, [entry["id"] for entry in audit]


async def test_every_route_refuses_other_tenants_and_anonymous_callers(megadesk_app, megadesk_tenant):
    b = await _tenant_b(megadesk_tenant)
    a = await megadesk_tenant("alpha")  # has no ticket T-B and no sample configured
    before = await _b_state(b)
    callers = {
        "no token": {},
        "bad token": {"Authorization": "Bearer mdk_not-a-real-token"},
        "A agent": a.agent_headers,
        "A admin": a.admin_headers,
    }
    checked = 0
    for path_format, method, handler in _routes(megadesk_app):
        if not _secured(handler):
            assert path_format.startswith(PUBLIC_PREFIXES), f"{method} {path_format} is public but not on the list"
            continue
        path = _fill(path_format)
        operation = str(handler.operation_id)
        body = BODIES.get(operation)
        for caller, headers in callers.items():
            response = await a.client.request(
                method, path, json=body, headers={**headers, "Idempotency-Key": f"iso-{checked}"}
            )
            checked += 1
            where = f"{caller}: {method} {path} -> {response.status_code} {response.text[:200]}"
            assert response.status_code < 500, where
            assert not any(marker in response.text for marker in B_MARKERS), where
            if caller in ("no token", "bad token"):
                assert response.status_code == 401, where
                assert response.headers["content-type"].startswith("application/problem+json"), where
            elif caller == "A agent" and _role(handler) == "admin":
                assert response.status_code == 403, where
            elif "{ticket_id}" in path_format and method != "PUT":
                assert response.status_code == 404, where  # B's ticket does not exist for A
            elif "{name}" in path_format and _role(handler) == "agent":
                assert response.status_code == 404, where  # not enabled for A
    print(f"\nisolation matrix: {checked} requests")  # docs/reliability.md
    assert checked >= 4 * 14, "the matrix lost routes"
    assert await _b_state(b) == before  # nothing A did touched B's ticket, settings or audit log
