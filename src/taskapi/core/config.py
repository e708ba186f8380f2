"""Settings from the environment (TASKAPI_*) and .env, validated once at start-up."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

MIN_SECRET_BYTES = 32
# Development without TASKAPI_JWT_SECRET signs with this: random per process, so a deploy
# that forgets TASKAPI_ENV never signs with a value anyone else knows.
_EPHEMERAL_DEVELOPMENT_SECRET = secrets.token_urlsafe(48)
_REPO_ROOT = Path(__file__).resolve().parents[3]


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
    # How many password hashes may run at once, so a login flood cannot starve the workers.
    password_hash_concurrency: int = Field(default=2, ge=1)

    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    cors_origins: list[str] = []
    contract_path: Path = _REPO_ROOT / "openapi" / "openapi.yaml"
    log_level: str = "INFO"
    # Swagger UI at /docs and ReDoc at /redoc: on by default, off in production unless
    # TASKAPI_DOCS=true. /openapi.json is always served: clients and generators need it.
    docs: bool | None = None

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
