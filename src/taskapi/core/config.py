"""Settings from the environment (TASKAPI_*) and .env, validated once at start-up."""

from __future__ import annotations

import ipaddress
import os
import secrets
from pathlib import Path
from typing import Literal

from limits import parse as parse_rate
from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

MIN_SECRET_BYTES = 32
# Development without TASKAPI_JWT_SECRET signs with this: random per process, so a deploy
# that forgets TASKAPI_ENV never signs with a value anyone else knows.
_EPHEMERAL_DEVELOPMENT_SECRET = secrets.token_urlsafe(48)
_REPO_ROOT = Path(__file__).resolve().parents[3]
_DAY = 86_400


def _default_hash_workers() -> int:
    """One Argon2 worker per core this process may use, less one for the event loop."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, (cores or 1) - 1)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="TASKAPI_",
        env_file=".env",
        extra="ignore",
        frozen=True,
        # A refused setting must not be echoed into logs: the input may be a secret or a
        # database URL with a password in it. The error still names the setting.
        hide_input_in_errors=True,
    )

    env: Literal["development", "test", "production"] = "development"
    database_url: str = Field(
        default="sqlite+aiosqlite:///var/taskapi.db",
        validation_alias=AliasChoices("TASKAPI_DATABASE_URL", "DATABASE_URL", "database_url"),
    )
    db_pool_size: int = Field(default=10, ge=1)
    db_max_overflow: int = Field(default=10, ge=0)
    db_echo: bool = False
    # A pooler in front of PostgreSQL: "transaction" for PgBouncer-style transaction pooling
    # (no prepared statement outlives its statement), "none" for a direct server, "auto" to
    # treat hosts named like Neon's pooled endpoints ("...-pooler...") as transaction poolers.
    db_pooler: Literal["auto", "none", "transaction"] = "auto"
    # Bounds that turn an unreachable database into a quick 503 instead of a hanging request.
    db_connect_timeout_seconds: float = Field(default=5.0, gt=0, le=120)
    db_command_timeout_seconds: float = Field(default=15.0, gt=0, le=600)

    jwt_secret: SecretStr | None = None
    jwt_issuer: str = "taskapi"
    jwt_audience: str = "taskapi"
    access_token_ttl_seconds: int = Field(default=900, ge=60, le=86_400)

    # Argon2id cost; the defaults are pwdlib's recommended ones. Lower them only in tests.
    argon2_time_cost: int = Field(default=3, ge=1)
    argon2_memory_cost_kib: int = Field(default=65_536, ge=1024)
    # How many password hashes may run at once, so a login flood cannot starve the workers,
    # and how many more may wait for one; past that, sign-in and registration get a 503 at
    # once instead of queueing for seconds.
    # The default leaves one core to the event loop: Argon2 on every core starves all routes.
    password_hash_concurrency: int = Field(default_factory=_default_hash_workers, ge=1)
    password_hash_queue: int = Field(default=8, ge=0)
    # The nice value of the hashing threads (Linux, per thread): at 19 the event loop always
    # gets the CPU first, and hashing gets what is left. 0 hashes at normal priority.
    password_hash_niceness: int = Field(default=19, ge=0, le=19)
    # How long a sign-in or registration refused for a full waiting room waits for its 503:
    # a client that retries as soon as it is refused (a flood) is held to one attempt per
    # delay per connection, so refusals cannot take the CPU that hashing and reads need.
    password_busy_refusal_delay_seconds: float = Field(default=0.25, ge=0, le=5)

    # Rate limits (limits' notation: "600/minute", "10/hour", "5 per 30 seconds").
    # Counts live in this process unless a Redis URL is given, which every instance shares.
    rate_limit_enabled: bool = True
    rate_limit_storage_url: str | None = None
    rate_limit_key_prefix: str = Field(default="taskapi", min_length=1, max_length=100)
    rate_limit_user: str = "600/minute"
    rate_limit_register: str = "10/hour"
    rate_limit_password_reset: str = "5/hour"  # noqa: S105 - a rate, not a password
    # Refresh-token exchanges per client address (a client refreshes every 15 minutes).
    rate_limit_refresh: str = "60/minute"
    rate_limit_sign_in_address: str = "30/minute"
    rate_limit_sign_in_account: str = "10/minute"
    rate_limit_chat: str = "20/minute"
    # Consecutive failed sign-ins allowed before back-off starts (per account, per address);
    # each further failure doubles the wait, from the base up to the cap. Failures are
    # forgotten an hour after the first, or at the account's next successful sign-in.
    sign_in_free_failures_account: int = Field(default=5, ge=1)
    sign_in_free_failures_address: int = Field(default=20, ge=1)
    sign_in_backoff_base_seconds: int = Field(default=2, ge=1)
    sign_in_backoff_max_seconds: int = Field(default=900, ge=1)
    sign_in_failure_window_seconds: int = Field(default=3600, ge=60)
    # Proxies (addresses or networks) whose X-Forwarded-For is believed for the client
    # address that per-address budgets count; nobody's by default.
    trusted_proxies: list[str] = []

    # Sessions: a refresh token dies after this long unused, and no session outlives the
    # absolute limit, however often it refreshes.
    refresh_idle_ttl_seconds: int = Field(default=30 * _DAY, ge=300)
    session_absolute_ttl_seconds: int = Field(default=90 * _DAY, ge=300)
    # Signing in beyond this many live sessions ends the least recently used ones.
    max_sessions_per_user: int = Field(default=50, ge=1, le=1000)

    # Chat turns: how much of a conversation's history a turn reads (the most recent messages,
    # at most this many and this many characters), how many rounds of tool calls the
    # assistant may make, the longest message accepted (the contract's bound is 4000; this
    # may only lower it), and how long a turn's lease on its conversation lasts before
    # another instance may take it over (a crashed instance's turn).
    chat_history_messages: int = Field(default=20, ge=0, le=1000)
    chat_history_chars: int = Field(default=16_000, ge=0, le=1_000_000)
    chat_max_steps: int = Field(default=5, ge=1, le=50)
    chat_message_max_chars: int = Field(default=4000, ge=1, le=4000)
    chat_turn_lease_seconds: int = Field(default=120, ge=5, le=3600)

    # Password policy: the minimum zxcvbn score (0-4) a new password must reach.
    password_min_score: int = Field(default=3, ge=0, le=4)

    # Password reset: how long an emailed token is valid, and the link it is sent in.
    password_reset_ttl_seconds: int = Field(default=1800, ge=60, le=_DAY)
    password_reset_url: str = "http://127.0.0.1:8000/reset-password#token={token}"  # noqa: S105

    # Outgoing mail. Without a host, development and test write messages to the log;
    # production sends nothing and logs an error for each message instead.
    smtp_host: str | None = None
    smtp_port: int = Field(default=587, ge=1, le=65_535)
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_security: Literal["starttls", "tls", "none"] = "starttls"
    smtp_timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    smtp_sender: str = "Tasks <no-reply@localhost>"

    # The outbox: work done after the response (sending mail), retried with backoff.
    outbox_poll_seconds: float = Field(default=15.0, gt=0, le=3600)
    outbox_max_attempts: int = Field(default=8, ge=1, le=100)
    outbox_retry_base_seconds: float = Field(default=30.0, gt=0, le=3600)

    # Chat assistants: "builtin" is the offline command interpreter (no network, no key);
    # "openai" talks to OpenAI or any OpenAI-compatible server (Ollama, vLLM, llama.cpp)
    # through the official SDK. The timeout bounds each model request of a turn (a 504).
    chat_provider: Literal["builtin", "openai"] = "builtin"
    chat_openai_base_url: str = "https://api.openai.com/v1"
    chat_openai_model: str | None = Field(default=None, min_length=1, max_length=200)
    chat_openai_api_key: SecretStr | None = None
    chat_openai_stream: bool = True
    chat_provider_timeout_seconds: float = Field(default=30.0, gt=0, le=600)

    # Chat tools (and MCP): the longest tool result, as JSON text, that an assistant or an
    # MCP client receives; a longer one is cut down and marked as truncated.
    chat_tool_result_max_chars: int = Field(default=4000, ge=500, le=100_000)

    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    # The production server (taskapi.server) refuses a request head (request line and
    # headers) larger than this with 431, and closes a connection that has not sent a
    # complete head within the timeout (slow or silent clients).
    max_header_bytes: int = Field(default=16_384, ge=8_192, le=1_048_576)
    header_timeout_seconds: float = Field(default=10.0, gt=0, le=60)
    cors_origins: list[str] = []
    contract_path: Path = _REPO_ROOT / "openapi" / "openapi.yaml"
    log_level: str = "INFO"
    # Swagger UI at /docs and ReDoc at /redoc: on by default, off in production unless
    # TASKAPI_DOCS=true. /openapi.json is always served: clients and generators need it.
    docs: bool | None = None
    # FastAPI's native OpenTelemetry (spans, metrics and logs per request, sent to the global
    # providers). Off unless asked for: when off it costs nothing per request; when on, each
    # request first asks the global providers whether anyone listens.
    telemetry: bool = False

    @field_validator(
        "rate_limit_user",
        "rate_limit_register",
        "rate_limit_password_reset",
        "rate_limit_refresh",
        "rate_limit_sign_in_address",
        "rate_limit_sign_in_account",
        "rate_limit_chat",
    )
    @classmethod
    def _parse_rate(cls, value: str) -> str:
        try:
            parse_rate(value)
        except ValueError as exc:
            msg = f"{exc}; write it like 600/minute, 10/hour or 5 per 30 seconds"
            raise ValueError(msg) from exc
        return value

    @field_validator("rate_limit_storage_url")
    @classmethod
    def _supported_storage(cls, url: str | None) -> str | None:
        if url is not None and not url.startswith(("redis://", "rediss://", "redis+unix://")):
            msg = "must be a redis://, rediss:// or redis+unix:// URL (unset: in memory)"
            raise ValueError(msg)
        return url

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, proxies: list[str]) -> list[str]:
        for proxy in proxies:
            try:
                ipaddress.ip_network(proxy, strict=False)
            except ValueError as exc:
                msg = f"{proxy!r} is not an IP address or network"
                raise ValueError(msg) from exc
        return proxies

    @field_validator("database_url")
    @classmethod
    def _use_async_driver(cls, url: str) -> str:
        """Accept the usual sync URLs and pin the async drivers this app runs on."""
        for prefix, async_prefix in (
            ("postgresql://", "postgresql+asyncpg://"),
            ("postgres://", "postgresql+asyncpg://"),
            ("sqlite://", "sqlite+aiosqlite://"),
        ):
            if url.startswith(prefix):
                return async_prefix + url.removeprefix(prefix)
        return url

    @field_validator("password_reset_url")
    @classmethod
    def _reset_url_has_a_token_slot(cls, url: str) -> str:
        if url.count("{token}") != 1 or not url.startswith(("https://", "http://")):
            msg = (
                "TASKAPI_PASSWORD_RESET_URL must be an http(s) URL containing {token} exactly "
                "once, for example https://tasks.example.com/reset-password#token={token}"
            )
            raise ValueError(msg)
        return url

    @field_validator("chat_openai_base_url")
    @classmethod
    def _http_base_url(cls, url: str) -> str:
        if not url.startswith(("https://", "http://")):
            msg = "must be an http(s) URL, for example http://127.0.0.1:11434/v1 for Ollama"
            raise ValueError(msg)
        return url

    @model_validator(mode="after")
    def _openai_provider_is_configured(self) -> Settings:
        """The openai provider needs a model and a key; servers that ignore keys take any."""
        if self.chat_provider != "openai":
            return self
        key = self.chat_openai_api_key
        missing = [
            name
            for name, absent in (
                ("TASKAPI_CHAT_OPENAI_MODEL", self.chat_openai_model is None),
                ("TASKAPI_CHAT_OPENAI_API_KEY", key is None or not key.get_secret_value()),
            )
            if absent
        ]
        if missing:
            msg = (
                f"TASKAPI_CHAT_PROVIDER=openai needs {' and '.join(missing)} (a server that "
                "ignores keys, such as Ollama, accepts any non-empty key)"
            )
            raise ValueError(msg)
        return self

    @model_validator(mode="after")
    def _refuse_weak_secret(self) -> Settings:
        """Any secret that is set must be strong; only development may leave it unset.

        An unset secret in development means a random one per process (see
        `signing_secret`); a weak value someone typed is refused in every environment,
        because a deploy that forgets TASKAPI_ENV would otherwise sign with it.
        """
        if self.jwt_secret is None and self.env == "development":
            return self
        secret = self.jwt_secret.get_secret_value() if self.jwt_secret is not None else ""
        if len(secret.encode()) < MIN_SECRET_BYTES:
            when = (
                "whenever it is set"
                if self.jwt_secret is not None
                else f"when TASKAPI_ENV={self.env}"
            )
            msg = (
                f"TASKAPI_JWT_SECRET must be a random value of at least {MIN_SECRET_BYTES} "
                f"bytes {when} (generate one with: "
                "python -c 'import secrets; print(secrets.token_urlsafe(48))')"
            )
            raise ValueError(msg)
        return self

    @property
    def docs_enabled(self) -> bool:
        return self.docs if self.docs is not None else self.env != "production"

    @property
    def signing_secret(self) -> str:
        """The key for access tokens and list cursors."""
        if self.jwt_secret is None:
            return _EPHEMERAL_DEVELOPMENT_SECRET
        return self.jwt_secret.get_secret_value()
