"""The recorded cassettes hold no secrets, and the recording filters do what they say."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from stripe_testing import CASSETTES_DIR, FILTERED_REQUEST_HEADERS, scrub_request, scrub_response, vcr_settings

KEY_OR_TOKEN = re.compile(r"(sk|rk)_(test|live)_[A-Za-z0-9]{10,}|Bearer", re.IGNORECASE)
CASSETTES = sorted(CASSETTES_DIR.rglob("*.yaml"))


def test_there_are_cassettes() -> None:
    assert len(CASSETTES) >= 10


@pytest.mark.parametrize("cassette", CASSETTES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_cassette_has_no_key_or_token(cassette: Path) -> None:
    text = cassette.read_text()
    found = KEY_OR_TOKEN.search(text)
    assert found is None, f"{cassette} contains {found.group(0)[:12]}..."
    lowered = text.lower()
    for header in (
        "authorization:",
        "x-stripe-client-user-agent:",
        "x-stripe-client-telemetry:",
        "idempotency-key:",
        "request-id:",
        "set-cookie:",
    ):
        assert header not in lowered, f"{cassette} records the {header[:-1]} header"
    assert "_secret_" not in text, f"{cassette} records a client secret"


def test_request_filters() -> None:
    settings = vcr_settings()
    assert {
        "authorization",
        "x-stripe-client-user-agent",
        "x-stripe-client-telemetry",
        "user-agent",
        "idempotency-key",
    } <= set(FILTERED_REQUEST_HEADERS)
    assert settings["match_on"] == ["method", "path", "query", "body"]

    class Request:
        uri = "http://127.0.0.1:53211/v1/customers?limit=1"

    assert scrub_request(Request()).uri == "http://stripe-emulator.local/v1/customers?limit=1"


def test_response_filters() -> None:
    body = {"id": "pi_1", "client_secret": "pi_1_secret_abc", "note": "key sk_live_ABCDEFGHIJKLMNOP"}
    response = {
        "status": {"code": 200, "message": "OK"},
        "headers": {
            "Request-Id": ["req_1"],
            "Content-Type": ["application/json"],
            "Set-Cookie": ["x=1"],
            "Idempotency-Key": ["k"],
            "Stripe-Version": ["2026-10-28.endive"],
        },
        "body": {"string": json.dumps(body).encode()},
    }
    scrubbed = scrub_response(response)
    assert set(scrubbed["headers"]) == {"Content-Type", "Stripe-Version"}
    assert json.loads(scrubbed["body"]["string"]) == {"id": "pi_1", "client_secret": "redacted", "note": "key [hidden]"}
