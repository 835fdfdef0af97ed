"""Process configuration, from ``MEGADESK_*`` environment variables and an optional ``.env``.

Nothing reads settings at import time: the CLI builds a :class:`Settings` and hands it to
:func:`megadesk_core.app.create_app`; tests build their own.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


def _split_names(value: object) -> object:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="MEGADESK_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    data_dir: Path = Field(
        default=Path(".megadesk"),
        description="Folder for the embedded default's SQLite database and generated key file.",
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL, e.g. postgresql://user@host/db. Default: SQLite in data_dir.",
    )
    encryption_keys: SecretStr | None = Field(
        default=None,
        description="Key ring for settings secrets: comma-separated 'key_id:base64-32-bytes', "
        "newest (used to encrypt) first. Generate one with 'megadesk keys generate'.",
    )
    encryption_keys_file: Path | None = Field(
        default=None, description="A file holding the key ring in the same format (one per line)."
    )
    plugins_allow: Annotated[list[str] | None, NoDecode] = Field(
        default=None,
        description="Comma-separated entry-point names to load; unset loads all, empty loads none.",
    )
    plugins_block: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Comma-separated entry-point names never to load."
    )
    plugin_options: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description='Process-level plugin options as JSON, e.g. {"stripe": {"api_base": "http://127.0.0.1:12111"}}.',
    )
    database_pool_size: int = Field(
        default=5, ge=1, le=1000, description="Pooled database connections one process keeps open."
    )
    database_max_overflow: int = Field(
        default=10, ge=0, le=1000, description="Extra connections one process may open under load, beyond the pool."
    )
    database_pool_timeout_seconds: float = Field(
        default=30.0, gt=0, le=600, description="How long a request waits for a pooled connection before it fails."
    )
    panel_timeout_seconds: float = Field(default=8.0, gt=0, le=60)
    action_timeout_seconds: float = Field(default=30.0, gt=0, le=300)
    claim_heartbeat_seconds: float = Field(
        default=5.0,
        gt=0,
        le=60,
        description="How often a process renews the claim of an action it is running (its Idempotency-Key).",
    )
    claim_expiry_seconds: float = Field(
        default=30.0,
        gt=0,
        le=600,
        description="A claim not renewed for this long belongs to a process presumed dead: recovery resolves "
        "it and a retry may take it over. At least twice claim_heartbeat_seconds.",
    )
    recovery_interval_seconds: float = Field(
        default=60.0,
        ge=0,
        le=3600,
        description="How often each process looks for actions left pending by a dead process and asks the "
        "plugin what happened (read-only); also once at start-up. 0: only at start-up and 'megadesk recover'.",
    )
    redis_url: str | None = Field(
        default=None,
        description="Redis for the panel cache shared by all app processes, e.g. redis://127.0.0.1:6379/0.",
    )
    panel_cache_seconds: float = Field(
        default=15.0,
        ge=0,
        le=3600,
        description="How long a rendered panel is served as fresh (in this process, or in Redis with redis_url); "
        "0 turns the cache off (concurrent renders of one panel are still shared).",
    )
    panel_stale_seconds: float = Field(
        default=600.0,
        ge=0,
        le=86400,
        description="How long past its fresh time a panel may still be served, marked with its age: at once "
        "while one render refreshes it, or when the upstream fails or is over its request budget. Never after "
        "an action changed it.",
    )
    webhook_rate_per_minute: int = Field(
        default=600,
        ge=1,
        le=100_000,
        description="Webhook deliveries a tenant may send per minute (all its integrations together); more get a "
        "429, which senders such as Stripe retry later.",
    )
    webhook_tolerance_seconds: int = Field(
        default=300,
        ge=10,
        le=86400,
        description="How old a webhook event may be; an older one is refused as a replay. Event ids are "
        "remembered this long, so a second delivery of one is ignored.",
    )
    token_cache_seconds: float = Field(
        default=5.0,
        ge=0,
        le=60,
        description="How long a process trusts a token it checked: a revoked token ('megadesk tokens revoke') "
        "keeps working for at most this long. 0: check every request.",
    )
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    auto_migrate: bool | None = Field(
        default=None,
        description="Apply database migrations when the app starts. Unset: only on SQLite (the embedded "
        "default, one process); on PostgreSQL run 'megadesk migrate' per deploy, or set true.",
    )
    log_level: str = "INFO"

    @model_validator(mode="after")
    def _expiry_outlasts_heartbeats(self) -> Settings:
        if self.claim_expiry_seconds < 2 * self.claim_heartbeat_seconds:
            raise ValueError(
                "claim_expiry_seconds must be at least twice claim_heartbeat_seconds, or a live process's "
                "claim could be taken over between two heartbeats"
            )
        return self

    @field_validator("plugins_allow", "plugins_block", mode="before")
    @classmethod
    def _split_comma_separated(cls, value: object) -> object:
        return _split_names(value)

    def migrate_on_startup(self) -> bool:
        """Whether start-up applies migrations: as set, else only on SQLite. A server database is
        shared by many processes and deploys; its schema changes once per deploy, on purpose."""
        if self.auto_migrate is not None:
            return self.auto_migrate
        return self.resolved_database_url().startswith("sqlite")

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'megadesk.sqlite3').resolve()}"

    # Running several processes, and readiness (docs/operations.md).
    workers: int = Field(
        default=1,
        ge=1,
        le=64,
        description="Processes 'megadesk serve' starts (uvicorn workers); more than one needs redis_url.",
    )
    plugins_required: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Comma-separated entry-point names this host must serve: /readyz is 503 while one is not loaded "
        "(and start-up stops with plugins_fail_fast).",
    )

    plugins_fail_fast: bool = Field(
        default=False,
        description="Stop start-up when a plugin named in plugins_required is refused or missing, instead of "
        "serving the others with /readyz at 503.",
    )

    @field_validator("plugins_required", mode="before")
    @classmethod
    def _split_required_names(cls, value: object) -> object:
        return _split_names(value)

    # The outbound HTTP layer every plugin's upstream calls go through (megadesk_core/outbound).
    outbound_allow_private_hosts: bool = Field(
        default=False,
        description="Development and tests only: let plugins call this server and its network (localhost, "
        "private, loopback, link-local and other non-public addresses) and plain http. Never in production: "
        "a tenant admin could then make the server send requests into its own network.",
    )
    outbound_timeout_seconds: float = Field(
        default=5.0,
        gt=0,
        le=300,
        description="Per-request timeout of the clients the host gives plugins; no request outlives the panel "
        "or action deadline, whatever a plugin asks.",
    )
    outbound_max_retries: int = Field(
        default=2,
        ge=0,
        le=5,
        description="Retries of an idempotent upstream request (GET/HEAD/OPTIONS or with an Idempotency-Key) "
        "after a connection error, 502/503/504 or a 429 with a short Retry-After.",
    )
    outbound_budgets: dict[str, float] = Field(
        default_factory=dict,
        description="Override plugins' request budgets per upstream account, requests a second, as JSON keyed "
        '"integration:budget", e.g. {"stripe:live": 50, "stripe:test": 10}; 0 turns one off. Shared by all '
        "processes through redis_url.",
    )

    # What an operator sees: metrics, logs, traces (docs/operations.md#observability).
    log_format: Literal["text", "json"] = Field(
        default="text",
        description="'json': one JSON object per log line, with the request id, tenant, integration and action.",
    )
    metrics_token: SecretStr | None = Field(
        default=None,
        description="Bearer token of GET /metrics (Prometheus), at least 16 characters; unset: no /metrics endpoint.",
    )
    metrics_tenant_labels: int = Field(
        default=0,
        ge=0,
        le=1000,
        description="How many tenants get their own 'tenant' label on the host's metrics (the first seen; the "
        "others are 'other'); 0: none.",
    )
    otel_enabled: bool = Field(
        default=False,
        description="Trace requests with OpenTelemetry (install megadesk-core[otel]); exported over OTLP as the "
        "standard OTEL_* variables say, or to the provider 'opentelemetry-instrument' set up.",
    )

    @field_validator("metrics_token")
    @classmethod
    def _long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 16:
            raise ValueError(
                "the metrics token must have at least 16 characters, e.g. "
                "python -c 'import secrets; print(secrets.token_urlsafe(32))'"
            )
        return value
