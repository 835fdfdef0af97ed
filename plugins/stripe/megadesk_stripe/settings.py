"""The Stripe integration's configuration: per-tenant settings and process-level options.

:class:`StripeSettings` is what a help desk admin enters for their tenant (the host encrypts
the key and hands it back decrypted). :class:`StripeOptions` is set by the operator of the
Megadesk process through the host's plugin options (``MEGADESK_PLUGIN_OPTIONS``), never by a
tenant: it is the only way to send Stripe calls somewhere other than ``api.stripe.com``.
"""

from __future__ import annotations

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, SecretStr, field_validator


class StripeSettings(BaseModel):
    """Per-tenant settings, entered by an admin."""

    model_config = ConfigDict(extra="forbid")

    restricted_key: SecretStr = Field(
        description="A Stripe restricted key (rk_live_... or rk_test_...) with the permissions "
        "listed in the integration's docs. A full secret key (sk_...) works but grants far more "
        "than the integration needs.",
    )
    payment_history_limit: int = Field(
        default=10, ge=1, le=100, description="How many recent payments the sidebar lists (1-100)."
    )

    @field_validator("restricted_key")
    @classmethod
    def _strip(cls, value: SecretStr) -> SecretStr:
        # A key pasted with a trailing newline or space is still the key.
        return SecretStr(value.get_secret_value().strip())


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
