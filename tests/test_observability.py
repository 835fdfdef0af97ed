"""What an operator sees: metrics after a sidebar and an action, JSON log lines carrying the
request id the response returned (and the audit row too), request ids taken or made."""

from __future__ import annotations

import asyncio
import io
import json
import logging

import pytest
from litestar.testing import AsyncTestClient
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr, ValidationError

from megadesk_core.app import create_app
from megadesk_core.observability.context import request_id_from
from megadesk_core.observability.logs import RequestContextFilter
from megadesk_core.observability.metrics import OTHER_TENANTS, TenantLabels
from megadesk_core.settings import Settings

SECRET = "sample-secret-token-123"
METRICS_TOKEN = "metrics-token-0123456789"


def _samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def _value(samples, name: str, **labels: str) -> float:
    """The sum of ``name``'s samples whose labels include ``labels``."""
    wanted = set(labels.items())
    return sum(value for (sample, found), value in samples.items() if sample == name and wanted <= found)


@pytest.fixture
def megadesk_settings(megadesk_settings):
    return megadesk_settings.model_copy(
        update={"metrics_token": SecretStr(METRICS_TOKEN), "metrics_tenant_labels": 5, "log_format": "json"}
    )


async def _scrape(client) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    response = await client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert response.status_code == 200, response.text
    assert "T-1" not in response.text and "ada@example.com" not in response.text  # no ticket id, no email
    return _samples(response.text)


async def test_metrics_count_a_sidebar_and_an_action(megadesk_tenant, megadesk_client):
    acme = await megadesk_tenant("acme")
    await acme.configure("sample", {"api_token": SECRET})
    await acme.upsert_ticket(
        "T-1", email="ada@example.com", custom_data={"integrations": {"sample": {"contactId": "c-1"}}}
    )

    refused = await megadesk_client.get("/metrics")
    assert refused.status_code == 401
    assert (await megadesk_client.get("/metrics", headers=acme.admin_headers)).status_code == 401  # not a tenant's

    before = await _scrape(megadesk_client)
    await acme.sidebar("T-1")
    done = await acme.run_action("T-1", "sample", "add_note", {"target": "c-1", "text": "hello"})
    assert done.status_code == 200, done.text
    after = await _scrape(megadesk_client)

    def delta(name: str, **labels: str) -> float:
        return _value(after, name, **labels) - _value(before, name, **labels)

    assert delta("megadesk_sidebar_seconds_count", tenant="acme") == 1
    # The sidebar's render and the action's re-render of the panel.
    assert delta("megadesk_panel_seconds_count", integration="sample", status="ok", tenant="acme") == 2
    assert delta("megadesk_actions_total", integration="sample", action="add_note", outcome="succeeded") == 1
    sidebar_route = "/api/v1/tickets/{ticket_id}/sidebar"
    assert delta("megadesk_http_requests_total", path=sidebar_route, method="GET", status_code="200") == 1


async def test_without_a_token_setting_there_is_no_metrics_endpoint(megadesk_app, megadesk_client):
    host = megadesk_app.state["host"]
    assert host.settings.metrics_token is not None
    plain = create_app(host.settings.model_copy(update={"metrics_token": None}), registry=host.registry)
    async with AsyncTestClient(app=plain) as client:
        assert (await client.get("/metrics")).status_code == 404


def test_a_short_metrics_token_is_refused():
    with pytest.raises(ValidationError, match="at least 16 characters"):
        Settings(_env_file=None, metrics_token="short")


def _capture_log_lines() -> io.StringIO:
    """Where the app's log handler writes, redirected (it is Litestar's queued handler)."""
    (handler,) = [
        h for h in logging.getLogger().handlers if any(isinstance(f, RequestContextFilter) for f in h.filters)
    ]
    buffer = io.StringIO()
    for writer in handler.listener.handlers:  # type: ignore[attr-defined]
        writer.setStream(buffer)
    return buffer


async def _lines(buffer: io.StringIO, predicate) -> list[dict]:
    """The JSON lines written so far that match, waiting a little for the logging thread."""
    for _ in range(100):
        lines = [json.loads(line) for line in buffer.getvalue().splitlines() if line.strip()]
        if matching := [line for line in lines if predicate(line)]:
            return matching
        await asyncio.sleep(0.02)
    raise AssertionError(f"no matching log line in {buffer.getvalue()!r}")


async def test_json_log_lines_carry_the_request_id_the_response_returned(megadesk_tenant, megadesk_client):
    acme = await megadesk_tenant("acme")
    await acme.configure("sample", {"api_token": SECRET})
    await acme.upsert_ticket("T-1", custom_data={"integrations": {"sample": {"raise": True}}})
    buffer = _capture_log_lines()

    response = await acme.client.get(
        "/api/v1/tickets/T-1/sidebar", headers={**acme.agent_headers, "X-Request-ID": "req-7f3a.1"}
    )
    assert response.status_code == 200
    assert response.headers["x-request-id"] == "req-7f3a.1"

    # The plugin's failure, logged with the request, the tenant and the integration.
    (failure,) = await _lines(buffer, lambda line: line["logger"] == "megadesk_core.services.sidebar")
    assert failure["request_id"] == "req-7f3a.1"
    assert failure["tenant"] == "acme"
    assert failure["integration"] == "sample"
    assert failure["level"] == "ERROR" and "RuntimeError" in failure["exception"]
    # The access line: route template, never the ticket id.
    (access,) = await _lines(
        buffer, lambda line: line["logger"] == "megadesk.access" and line["request_id"] == "req-7f3a.1"
    )
    assert access["http"]["route"] == "/api/v1/tickets/{ticket_id}/sidebar"
    assert access["http"]["status"] == 200
    assert "T-1" not in json.dumps(access)

    # A header that is not a sane id is replaced by a new one, which the response says.
    odd = await acme.client.get("/api/v1/me", headers={**acme.agent_headers, "X-Request-ID": "two words\tand a tab"})
    made = odd.headers["x-request-id"]
    assert made != "two words\tand a tab" and len(made) == 32
    await _lines(buffer, lambda line: line.get("request_id") == made)


async def test_the_audit_row_carries_the_actions_request_id(megadesk_tenant):
    acme = await megadesk_tenant("acme")
    await acme.configure("sample", {"api_token": SECRET})
    await acme.upsert_ticket("T-1", custom_data={"integrations": {"sample": {"contactId": "c-1"}}})
    response = await acme.client.post(
        "/api/v1/tickets/T-1/panels/sample/actions/add_note",
        json={"target": "c-1", "text": "hello"},
        headers={**acme.agent_headers, "Idempotency-Key": "k-1"},
    )
    assert response.status_code == 200, response.text
    request_id = response.headers["x-request-id"]
    entries = (await acme.client.get("/api/v1/audit", headers=acme.admin_headers)).json()
    action_rows = [e for e in entries if e["action"] == "sample.add_note"]
    assert [(e["outcome"], e["request_id"]) for e in action_rows] == [("succeeded", request_id)]
    settings_rows = [e for e in entries if e["action"] != "sample.add_note"]
    assert settings_rows and all(e["request_id"] for e in settings_rows)  # admin changes carry theirs
    assert request_id not in {e["request_id"] for e in settings_rows}


def test_tenant_labels_are_bounded():
    labels = TenantLabels(2)
    assert [labels.label(t) for t in ("acme", "globex", "acme", "initech", None)] == [
        "acme",
        "globex",
        "acme",
        OTHER_TENANTS,
        "",
    ]
    assert TenantLabels().label("acme") == ""  # off by default


@pytest.mark.parametrize(
    ("header", "kept"),
    [
        ("3f2a1b6e-8c1d-4f7a-9b1e-2a3b4c5d6e7f", True),
        ("Root=1-67891233-abcdef012345678912345678", True),
        ("", False),
        ("x" * 129, False),
        ("line\nbreak", False),
        ('quote"', False),
        (None, False),
    ],
)
def test_a_request_id_is_taken_only_when_sane(header, kept):
    made = request_id_from(header)
    assert (made == header) is kept
    if not kept:
        assert len(made) == 32 and int(made, 16) >= 0
