"""The Stripe integration's configuration: per-tenant settings and process-level options.

:class:`StripeSettings` is what a help desk admin enters for their tenant (the host encrypts
the key and hands it back decrypted). :class:`StripeOptions` is set by the operator of the
Megadesk process through the host's plugin options (``MEGADESK_PLUGIN_OPTIONS``), never by a
tenant: it is the only way to send Stripe calls somewhere other than ``api.stripe.com``.
"""

from __future__ import annotations

import re

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, SecretStr, field_validator

_CURRENCY = re.compile(r"^[a-z]{3}$")
MAX_KEY_LENGTH = 255
"""Stripe's keys are well under this (its idempotency keys share the limit); longer is a paste error."""


class StripeSettings(BaseModel):
    """Per-tenant settings, entered by an admin."""

    model_config = ConfigDict(extra="forbid")

    restricted_key: SecretStr = Field(
        min_length=1,
        max_length=MAX_KEY_LENGTH,
        description="A Stripe restricted key (rk_live_... or rk_test_...) with the permissions "
        "listed in the integration's docs. A full secret key (sk_...) works but grants far more "
        "than the integration needs.",
    )
    payment_history_limit: int = Field(
        default=10, ge=1, le=100, description="How many recent payments the sidebar lists (1-100)."
    )
    webhook_signing_secret: SecretStr | None = Field(
        default=None,
        max_length=MAX_KEY_LENGTH,
        description="The signing secret (whsec_...) of the Stripe webhook endpoint that sends this tenant's "
        "events to Megadesk's webhook URL (shown with these settings). With it, a change made in the Stripe "
        "dashboard reaches open sidebars at once.",
    )

    agent_refund_caps: dict[str, int] = Field(
        default_factory=dict,
        description="The most an agent may refund in one action, per currency, in Stripe's minor units "
        '(e.g. {"usd": 5000} is $50.00, {"jpy": 5000} is ¥5,000). Above it only an admin may refund. '
        "A currency without a cap: no limit for agents.",
    )

    @field_validator("agent_refund_caps")
    @classmethod
    def _currency_caps(cls, value: dict[str, int]) -> dict[str, int]:
        caps: dict[str, int] = {}
        for currency, cap in value.items():
            code = currency.strip().lower()
            if not _CURRENCY.match(code):
                raise ValueError(f"{currency[:20]!r} is not a currency code (three letters, e.g. usd)")
            if cap < 0:
                raise ValueError(f"the cap for {code} is negative; use 0 to let only admins refund {code}")
            caps[code] = cap
        return caps

    @field_validator("restricted_key", mode="before")
    @classmethod
    def _not_too_long(cls, value: object) -> object:
        # Said before the generic "at most 255 items", and without echoing the value (a secret).
        raw = value.get_secret_value() if isinstance(value, SecretStr) else value
        if isinstance(raw, str) and len(raw.strip()) > MAX_KEY_LENGTH:
            raise ValueError(
                f"is {len(raw.strip())} characters long, and Stripe keys are at most {MAX_KEY_LENGTH}: "
                "paste only the key (rk_live_... or rk_test_...)"
            )
        return value

    @field_validator("restricted_key", "webhook_signing_secret")
    @classmethod
    def _strip(cls, value: SecretStr | None) -> SecretStr | None:
        # A key pasted with a trailing newline or space is still the key.
        return None if value is None else SecretStr(value.get_secret_value().strip())


class StripeOptions(BaseModel):
    """Process-level options, set by the operator (e.g. to point at the Stripe emulator)."""

    model_config = ConfigDict(extra="forbid")

    api_base: str | None = Field(
        default=None,
        description="Base URL of the Stripe API; unset means https://api.stripe.com. Set it to "
        "the Stripe emulator's URL for demos and tests.",
    )
    max_network_retries: int = Field(default=2, ge=0, le=5)
    timeout_seconds: float = Field(default=10.0, gt=0, le=80)

    @field_validator("api_base")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        AnyHttpUrl(value)  # raises a ValidationError for anything but an http(s) URL
        return value.rstrip("/")
