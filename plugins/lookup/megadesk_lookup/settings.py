"""What a tenant's admin enters (:class:`LookupSettings`) and what the operator sets for the
process (:class:`LookupOptions`). The host encrypts ``api_key`` and hands it back decrypted."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr, StringConstraints, field_validator

from megadesk_core.outbound import IntegrationHTTP, OutboundRefusedError, process_http

FieldName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]


def normalise_base_url(value: str) -> str:
    """``value`` without a trailing slash, or a ``ValueError`` saying what is wrong with its form.

    Where it points (https, not the server's own network) depends on the operator's
    ``allow_private_hosts`` option and the host's outbound policy, which settings validation cannot
    see: :func:`base_url_problem` checks that when the settings are saved, and the host's outbound
    layer before every request.
    """
    parts = urlsplit(value.strip())
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("https", "http") or not host:
        raise ValueError("must be an https URL such as https://backoffice.example.com/api")
    if parts.username or parts.password:
        raise ValueError("must not contain a user name or password; put the key in api_key")
    if parts.query or parts.fragment:
        raise ValueError("must not have a query string or fragment")
    try:
        # What the client will parse: a host it refuses (0177.0.0.1, full-width letters) is an
        # invalid setting now, not a failed request later.
        httpx.URL(value.strip())
    except httpx.InvalidURL as exc:
        raise ValueError(f"is not a URL the server can send requests to ({exc}); use a plain host name") from None
    return value.strip().rstrip("/")


def base_url_problem(base_url: str, options: LookupOptions, http: IntegrationHTTP | None = None) -> str | None:
    """Why the server must not send the tenant's key to ``base_url``, or ``None``: the host's
    outbound policy (:mod:`megadesk_core.outbound`), widened by the operator's
    ``allow_private_hosts``. The host name is resolved and checked separately, before each request."""
    http = http or process_http("lookup")
    refusal = http.url_problem(base_url, allow_private_hosts=options.allow_private_hosts)
    return None if refusal is None else refusal_message(refusal)


def refusal_message(refusal: OutboundRefusedError) -> str:
    """The host's refusal, said in terms of the setting an admin can change."""
    if refusal.kind == "scheme":
        return "base_url must use https (the API key is sent with every request)"
    if refusal.kind == "host":
        return (
            f"base_url must point to an API on the internet, not to {refusal.problem}: the server would send "
            "the API key there and show what it answers"
        )
    if refusal.kind == "resolves":
        return f"base_url must point to an API on the internet, but {refusal.problem}"
    return f"base_url must be a URL the server can call: {refusal.problem}"


class LookupSettings(BaseModel):
    """Per-tenant settings, entered by an admin."""

    model_config = ConfigDict(extra="forbid")

    base_url: str = Field(
        max_length=500,
        description="Root of your customer API, e.g. https://backoffice.example.com/api (https, on the "
        "internet: not localhost or a private, loopback or link-local address).",
    )
    api_key: SecretStr = Field(min_length=1, max_length=500, description="Sent as 'Authorization: Bearer <key>'.")
    fields: list[FieldName] | None = Field(
        default=None,
        max_length=30,
        description="The customer fields to show, in this order. Unset shows every top-level field.",
    )
    max_orders: int = Field(default=5, ge=0, le=50, description="How many recent orders to list (0 hides them).")

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        return normalise_base_url(value)

    @field_validator("api_key")
    @classmethod
    def _strip_key(cls, value: SecretStr) -> SecretStr:
        # A key pasted with a trailing newline is still the key.
        key = value.get_secret_value().strip()
        if not key:
            raise ValueError("must not be blank")
        return SecretStr(key)


class LookupOptions(BaseModel):
    """Process-level options, set by the operator in ``MEGADESK_PLUGIN_OPTIONS``."""

    model_config = ConfigDict(extra="forbid")

    timeout_seconds: float = Field(
        default=5.0, gt=0, le=30, description="Per-request timeout; keep it under the host's panel deadline."
    )
    allow_private_hosts: bool = Field(
        default=False,
        description="Development and tests only: accept base URLs on this server or its network (localhost, "
        "loopback, private, link-local and other non-public addresses) and plain http, for this integration "
        "only (MEGADESK_OUTBOUND_ALLOW_PRIVATE_HOSTS does it for every integration). Never in production: "
        "any tenant admin could then make the server send requests into its own network.",
    )
