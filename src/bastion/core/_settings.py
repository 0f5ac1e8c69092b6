"""Settings read from the environment, with production safety checks."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal, Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from bastion.core._observability_settings import MIN_METRICS_TOKEN_BYTES, ObservabilitySettings
from bastion.core._ratelimit_settings import RateLimitSettings
from bastion.core._secret_files import secrets_dir_source
from bastion.core._security_settings import (
    JwtAlgorithm,
    SecuritySettings,
    security_setting_problems,
)
from bastion.core._setting_types import (
    DatabaseUrlSetting,
    NetworkSetting,
    PathPrefixSetting,
    RedisUrlSetting,
)

__all__ = [
    "DEFAULT_DATABASE_URL",
    "DEFAULT_SECRET_KEY",
    "MIN_METRICS_TOKEN_BYTES",
    "MIN_SECRET_KEY_BYTES",
    "BastionSettings",
    "Environment",
    "JwtAlgorithm",
]

#: The development signing key. Production refuses to start with it.
DEFAULT_SECRET_KEY = "bastion-development-secret-key-do-not-use-in-production"  # noqa: S105
#: The shortest signing key production accepts, in UTF-8 bytes.
MIN_SECRET_KEY_BYTES = 32
#: The development database: a SQLite file in the working directory. Production never defaults to it.
DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./bastion.db"


class Environment(StrEnum):
    """Where the app runs; production turns on the strict checks."""

    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class BastionSettings(SecuritySettings, ObservabilitySettings, RateLimitSettings):
    """Every setting bastion reads, from `BASTION_*` environment variables.

    Host apps subclass it to add their own settings; the `BASTION_` prefix and
    the production checks are inherited. Values come from arguments, then the
    environment, then one file per setting in the directory `BASTION_SECRETS_DIR`
    names (Docker or Kubernetes secrets), then the defaults; no `.env` file is read.

    Keys and connection URLs (`secret_key`, `database_url`, `redis_url`,
    `ratelimit_storage_url`, the JWT keys, `metrics_token`) are `SecretStr`: reprs, dumps and
    errors show `**********`, and `.get_secret_value()` gives the value.
    """

    model_config = SettingsConfigDict(
        env_prefix="BASTION_",
        extra="ignore",
        frozen=True,
        validate_default=True,
        # A refusal must not print what it refuses: the input holds keys and DSNs.
        hide_input_in_errors=True,
    )

    environment: Environment = Field(
        default=Environment.DEVELOPMENT,
        description="`development`, `test` or `production`; production enforces the safety checks.",
    )
    app_name: str = Field(
        default="bastion", min_length=1, description="Service name (OpenAPI title, logs)."
    )
    app_version: str = Field(default="0.1.0", description="Service version shown in OpenAPI.")
    app_description: str = Field(default="", description="OpenAPI description (Markdown).")
    contact_name: str | None = Field(default=None, description="OpenAPI contact name.")
    contact_url: str | None = Field(default=None, description="OpenAPI contact URL.")
    contact_email: str | None = Field(default=None, description="OpenAPI contact e-mail.")
    license_name: str | None = Field(default=None, description="OpenAPI license name.")
    license_url: str | None = Field(default=None, description="OpenAPI license URL.")
    api_prefix: str = Field(
        default="/api/v1",
        pattern=r"^(/[A-Za-z0-9._~-]+)*$",
        description="Prefix the app's routers are mounted under (empty for none).",
    )
    docs_enabled: bool | None = Field(
        default=None,
        description="Serve `/docs`, `/redoc`, `/openapi.json`; unset means on in development only.",
    )
    database_url: DatabaseUrlSetting = Field(
        default=SecretStr(DEFAULT_DATABASE_URL),
        description="SQLAlchemy async URL (`sqlite+aiosqlite://...` or `postgresql+asyncpg://...`); required in production.",
    )
    redis_url: RedisUrlSetting = Field(
        default=None, description="Redis URL for shared state; unset means none."
    )
    secret_key: SecretStr = Field(
        default=SecretStr(DEFAULT_SECRET_KEY),
        description="Signing secret (tokens, cursors, CSRF). At least 32 bytes in production.",
    )
    log_level: str = Field(default="INFO", description="Root log level.")
    log_json: bool | None = Field(
        default=None, description="JSON log lines; unset means JSON in production, text elsewhere."
    )
    configure_logging: bool = Field(
        default=True,
        description="Let `create_app` configure stdlib logging (off if the host does).",
    )
    access_log: bool = Field(
        default=True, description="Log one access line per request (`bastion.access`)."
    )
    access_log_sample: float = Field(
        default=1.0,
        ge=0,
        le=1,
        description="Share of requests (0 to 1) whose access line is written; a 5xx always is.",
    )
    ready_timeout: float = Field(
        default=2.0, gt=0, description="Default timeout, in seconds, of each `/ready` check."
    )

    # --- persistence ---
    database_echo: bool = Field(
        default=False, description="Log every SQL statement (development only)."
    )
    database_pool_size: int = Field(
        default=15,
        ge=1,
        description="Connections the pool opens as needed and keeps open (PostgreSQL).",
    )
    database_max_overflow: int = Field(
        default=0,
        ge=0,
        description="Extra connections opened under load beyond the pool size, each closed again when returned.",
    )
    database_pool_recycle: int = Field(
        default=1800,
        ge=-1,
        description="Seconds after which a pooled connection is replaced (-1: never).",
    )
    database_pool_pre_ping: bool = Field(
        default=False,
        description="Ping each pooled PostgreSQL connection (three round trips) before handing it out; off, a connection the server closed is still replaced for free.",
    )
    database_pool_timeout: float = Field(
        default=10.0, gt=0, description="Seconds to wait for a free pooled connection."
    )
    database_connect_timeout: float = Field(
        default=5.0, gt=0, description="Seconds to open a PostgreSQL connection before a 503."
    )
    database_statement_timeout: float = Field(
        default=5.0,
        ge=0,
        description="Seconds a PostgreSQL statement may wait for its answer before a 503 (0: no limit).",
    )
    database_schema: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,62}$",
        description="PostgreSQL schema that is the whole `search_path` (no fallback to `public`); unset means the server default.",
    )
    sqlite_busy_timeout: int = Field(
        default=5000, ge=0, description="Milliseconds SQLite waits for a lock before failing."
    )

    # --- edge ---
    security_headers_enabled: bool = Field(
        default=True, description="Add the security headers to every response."
    )
    hsts_enabled: bool = Field(
        default=False,
        description="Send `Strict-Transport-Security` (only when every client reaches the app over HTTPS).",
    )
    hsts_max_age: int = Field(default=31536000, ge=0, description="HSTS `max-age`, in seconds.")
    content_security_policy: str = Field(
        default="default-src 'none'; frame-ancestors 'none'",
        description="`Content-Security-Policy` of API responses (the docs pages get their own).",
    )
    cors_allow_origins: list[str] = Field(
        default_factory=list,
        description='Origins allowed cross-origin (JSON list; `["*"]` for any); empty denies all.',
    )
    cors_allow_methods: list[str] = Field(
        default_factory=lambda: ["GET", "POST", "PUT", "PATCH", "DELETE"],
        description="Methods a cross-origin request may use.",
    )
    cors_allow_headers: list[str] = Field(
        default_factory=lambda: [
            "Authorization",
            "Content-Type",
            "If-Match",
            "X-Request-ID",
            "Idempotency-Key",
            "X-CSRF-Token",
        ],
        description="Request headers a cross-origin request may send.",
    )
    cors_expose_headers: list[str] = Field(
        default_factory=lambda: [
            "X-Request-ID",
            "ETag",
            "RateLimit-Limit",
            "RateLimit-Remaining",
            "RateLimit-Reset",
            "RateLimit-Policy",
            "RateLimit",
            "Retry-After",
            "Idempotent-Replayed",
        ],
        description="Response headers cross-origin scripts may read.",
    )
    cors_allow_credentials: bool = Field(
        default=False, description="Allow cookies and credentials cross-origin (never with `*`)."
    )
    cors_max_age: int = Field(
        default=600, ge=0, description="How long, in seconds, browsers cache a preflight answer."
    )
    trusted_hosts: list[str] = Field(
        default_factory=list,
        description="Allowed `Host` values (`*.example.com` wildcards); empty turns the check off.",
    )
    trusted_proxies: list[NetworkSetting] = Field(
        default_factory=list,
        description="Proxy CIDRs whose forwarding header (`FORWARDED_HEADER`) names the client.",
    )
    forwarded_header: Literal["X-Forwarded-For", "Forwarded"] = Field(
        default="X-Forwarded-For",
        description="The one header the trusted proxies write (`X-Forwarded-For` or `Forwarded`); the other is never read.",
    )
    body_limit: int = Field(
        default=1048576, ge=0, description="Largest request body, in bytes (413 above it)."
    )
    body_limit_routes: dict[PathPrefixSetting, Annotated[int, Field(ge=0)]] = Field(
        default_factory=dict,
        description="Per-path-prefix body limits in bytes (JSON object), overriding `BODY_LIMIT`.",
    )
    request_timeout: float = Field(
        default=30.0, ge=0, description="Seconds a request may take before a 504 (0 turns it off)."
    )
    request_timeout_routes: dict[PathPrefixSetting, Annotated[float, Field(ge=0)]] = Field(
        default_factory=dict,
        description="Per-path-prefix timeouts in seconds (JSON object; 0 turns it off there).",
    )
    redis_socket_timeout: float = Field(
        default=1.0,
        gt=0,
        description="Socket and connect timeout, in seconds, of the Redis client.",
    )
    idempotency_ttl: int = Field(
        default=86400,
        ge=1,
        description="Seconds an idempotency record replays its first response (24 h).",
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """pydantic-settings' sources, in its order, with the `BASTION_SECRETS_DIR` files."""
        files = secrets_dir_source(settings_cls)
        return (
            init_settings,
            env_settings,
            dotenv_settings,
            *(() if files is None else (files,)),
            file_secret_settings,
        )

    @property
    def is_production(self) -> bool:
        """Whether the app runs in production."""
        return self.environment is Environment.PRODUCTION

    @property
    def docs_active(self) -> bool:
        """Whether the interactive docs and the OpenAPI document are served."""
        if self.docs_enabled is None:
            return self.environment is Environment.DEVELOPMENT
        return self.docs_enabled

    @property
    def json_logs(self) -> bool:
        """Whether log lines are JSON."""
        return self.is_production if self.log_json is None else self.log_json

    @model_validator(mode="after")
    def _check_production(self) -> Self:
        if not self.is_production:
            return self
        prefix = self.model_config.get("env_prefix", "")
        key = self.secret_key.get_secret_value()
        if not key or key == DEFAULT_SECRET_KEY or len(key.encode()) < MIN_SECRET_KEY_BYTES:
            raise ValueError(
                f"{prefix}SECRET_KEY must be set to a random value of at least "
                f"{MIN_SECRET_KEY_BYTES} bytes in production (it is default, empty or short)"
            )
        if "database_url" not in self.model_fields_set:
            raise ValueError(
                f"{prefix}DATABASE_URL must be set explicitly in production "
                "(the development default is a SQLite file in the working directory)"
            )
        # A subclass may default docs on; production only serves them when asked explicitly.
        if self.docs_enabled and "docs_enabled" not in self.model_fields_set:
            raise ValueError(
                f"{prefix}DOCS_ENABLED must be set explicitly to serve the docs in production"
            )
        return self

    @model_validator(mode="after")
    def _check_security(self) -> Self:
        prefix = self.model_config.get("env_prefix", "")
        problems = security_setting_problems(self, production=self.is_production)
        if problems:
            raise ValueError("; ".join(f"{prefix}{problem}" for problem in problems))
        return self
