"""Settings: the start-up refusal of weak secrets, TASKAPI_* variables, .env, database URLs."""

from __future__ import annotations

import logging
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from taskapi.core.config import Settings
from taskapi.main import create_app

STRONG_SECRET = secrets.token_urlsafe(48)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No TASKAPI_* or DATABASE_URL from the caller, and a working directory without .env."""
    for name in list(os.environ):
        if name.startswith("TASKAPI_") or name == "DATABASE_URL":
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.fr("001-auth/FR-012")
class TestJwtSecretOutsideDevelopment:
    @pytest.mark.parametrize("env", ["production", "test"])
    @pytest.mark.parametrize(
        "secret",
        ["change-me", "s" * 31, ""],
        ids=["placeholder", "31-bytes", "empty"],
    )
    def test_weak_secret_is_refused_naming_the_setting(self, env: str, secret: str) -> None:
        with pytest.raises(ValidationError, match="TASKAPI_JWT_SECRET"):
            Settings(env=env, jwt_secret=secret)

    def test_unset_secret_is_refused_naming_the_setting(self) -> None:
        with pytest.raises(ValidationError, match="TASKAPI_JWT_SECRET"):
            Settings(env="production")

    def test_32_byte_secret_is_accepted(self) -> None:
        secret = secrets.token_urlsafe(24)
        assert len(secret.encode()) == 32

        settings = Settings(env="production", jwt_secret=secret)

        assert settings.jwt_secret.get_secret_value() == secret

    def test_secret_length_counts_bytes_not_characters(self) -> None:
        # 16 two-byte characters are 32 bytes.
        settings = Settings(env="production", jwt_secret="é" * 16)

        assert settings.env == "production"

    def test_app_refuses_to_start_in_production_without_a_secret(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("TASKAPI_ENV", "production")

        with pytest.raises(ValidationError, match="TASKAPI_JWT_SECRET"):
            create_app()

    def test_app_starts_in_production_with_a_strong_secret(
        self, monkeypatch: pytest.MonkeyPatch, clean_environment: Path
    ) -> None:
        monkeypatch.setenv("TASKAPI_ENV", "production")
        monkeypatch.setenv("TASKAPI_JWT_SECRET", STRONG_SECRET)
        monkeypatch.setenv("TASKAPI_DATABASE_URL", f"sqlite:///{clean_environment / 'prod.db'}")

        app = create_app()

        assert app.state.settings.env == "production"

    def test_unprefixed_jwt_secret_variable_is_not_read(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("TASKAPI_ENV", "production")
        monkeypatch.setenv("JWT_SECRET", STRONG_SECRET)

        with pytest.raises(ValidationError, match="TASKAPI_JWT_SECRET"):
            Settings()


@pytest.mark.fr("001-auth/FR-012", "008-abuse-resistance/FR-012")
class TestAnySetSecretMustBeStrong:
    """A weak secret is refused even when TASKAPI_ENV is left at its development default."""

    @pytest.mark.parametrize(
        "secret", ["changeme", "s" * 31, ""], ids=["placeholder", "31", "empty"]
    )
    def test_weak_secret_is_refused_in_development(self, secret: str) -> None:
        with pytest.raises(ValidationError, match="TASKAPI_JWT_SECRET"):
            Settings(jwt_secret=secret)

    def test_weak_secret_from_the_environment_stops_the_app(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("TASKAPI_JWT_SECRET", "changeme")

        with pytest.raises(ValidationError, match="TASKAPI_JWT_SECRET"):
            create_app()


@pytest.mark.fr("001-auth/FR-012", "008-abuse-resistance/FR-013")
class TestRefusalsDoNotEchoInput:
    """A refused setting is named, never shown: the input may be a secret or a password."""

    @pytest.mark.parametrize("env", ["development", "production"])
    def test_weak_secret_is_not_in_the_error(self, env: str) -> None:
        secret = "Qz9-hunter2-Kv"

        with pytest.raises(ValidationError) as raised:
            Settings(env=env, jwt_secret=secret)

        message = str(raised.value)
        assert "TASKAPI_JWT_SECRET" in message
        assert "input_value" not in message
        for start in range(len(secret) - 3):
            assert secret[start : start + 4] not in message

    def test_database_password_is_not_in_the_error(self) -> None:
        # A refusal of the whole configuration used to print every input, URL included.
        with pytest.raises(ValidationError) as raised:
            Settings(env="production", database_url="postgresql://app:pa55word-xyz@db/tasks")

        assert "TASKAPI_JWT_SECRET" in str(raised.value)
        assert "pa55word" not in str(raised.value)

    def test_start_up_failure_prints_no_part_of_the_secret(self, clean_environment: Path) -> None:
        secret = "jwQZ-hunter2-Xk"
        completed = subprocess.run(
            [sys.executable, "-c", "from taskapi.main import create_app; create_app()"],
            env={**os.environ, "TASKAPI_ENV": "production", "TASKAPI_JWT_SECRET": secret},
            capture_output=True,
            text=True,
            check=False,
        )

        assert completed.returncode != 0
        assert "TASKAPI_JWT_SECRET" in completed.stderr
        for start in range(len(secret) - 3):
            assert secret[start : start + 4] not in completed.stderr


@pytest.mark.fr("001-auth/FR-012")
class TestDevelopmentDefaults:
    def test_development_without_a_secret_signs_with_a_random_one(self) -> None:
        settings = Settings()

        assert settings.env == "development"
        assert settings.jwt_secret is None
        assert len(settings.signing_secret.encode()) >= 32
        assert Settings().signing_secret == settings.signing_secret  # stable in one process

    def test_the_random_secret_differs_between_processes(self) -> None:
        probe = "from taskapi.core.config import Settings; print(Settings().signing_secret)"
        runs = {
            subprocess.run(
                [sys.executable, "-c", probe], capture_output=True, text=True, check=True
            ).stdout
            for _ in range(2)
        }
        assert len(runs) == 2

    def test_a_configured_secret_is_used_in_development_too(self) -> None:
        settings = Settings(jwt_secret=STRONG_SECRET)

        assert settings.signing_secret == STRONG_SECRET

    def test_app_starts_in_development_and_warns_about_the_secret(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        caplog.set_level(logging.WARNING, logger="taskapi")

        app = create_app()

        assert app.state.settings.env == "development"
        assert any("TASKAPI_JWT_SECRET" in r.getMessage() for r in caplog.records)

    @pytest.mark.fr("003-platform/FR-013")
    def test_database_defaults_to_sqlite_under_var(self) -> None:
        assert Settings().database_url == "sqlite+aiosqlite:///var/taskapi.db"

    @pytest.mark.fr("001-auth/FR-007")
    def test_token_lifetime_defaults_to_fifteen_minutes(self) -> None:
        assert Settings().access_token_ttl_seconds == 900


@pytest.mark.fr("003-platform/FR-013")
class TestDatabaseUrl:
    def test_database_url_variable_is_read(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("DATABASE_URL", "postgresql+asyncpg://app@db.internal/tasks")

        assert Settings().database_url == "postgresql+asyncpg://app@db.internal/tasks"

    def test_taskapi_database_url_wins_over_database_url(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("DATABASE_URL", "postgresql+asyncpg://app@generic/tasks")
        monkeypatch.setenv("TASKAPI_DATABASE_URL", "postgresql+asyncpg://app@specific/tasks")

        assert Settings().database_url == "postgresql+asyncpg://app@specific/tasks"

    @pytest.mark.parametrize(
        ("given", "used"),
        [
            ("postgresql://app:pw@db/tasks", "postgresql+asyncpg://app:pw@db/tasks"),
            ("postgres://app@db:5433/tasks", "postgresql+asyncpg://app@db:5433/tasks"),
            ("sqlite:///var/other.db", "sqlite+aiosqlite:///var/other.db"),
            ("postgresql+asyncpg://app@db/tasks", "postgresql+asyncpg://app@db/tasks"),
            ("sqlite+aiosqlite:///var/x.db", "sqlite+aiosqlite:///var/x.db"),
        ],
        ids=["postgresql", "postgres", "sqlite", "asyncpg-kept", "aiosqlite-kept"],
    )
    def test_sync_urls_are_pinned_to_the_async_drivers(
        self, monkeypatch: pytest.MonkeyPatch, given: str, used: str
    ) -> None:
        monkeypatch.setenv("DATABASE_URL", given)

        assert Settings().database_url == used


@pytest.mark.fr("001-auth/FR-012")
class TestEnvironmentVariables:
    def test_taskapi_prefix_configures_the_app(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("TASKAPI_ENV", "production")
        monkeypatch.setenv("TASKAPI_JWT_SECRET", STRONG_SECRET)
        monkeypatch.setenv("TASKAPI_ACCESS_TOKEN_TTL_SECONDS", "120")
        monkeypatch.setenv("TASKAPI_CORS_ORIGINS", '["https://app.example"]')

        settings = Settings()

        assert settings.env == "production"
        assert settings.jwt_secret.get_secret_value() == STRONG_SECRET
        assert settings.access_token_ttl_seconds == 120
        assert settings.cors_origins == ["https://app.example"]

    @pytest.mark.fr("001-auth/FR-007")
    @pytest.mark.parametrize("ttl", ["59", "86401"])
    def test_token_lifetime_outside_60_to_86400_seconds_is_refused(
        self, monkeypatch: pytest.MonkeyPatch, ttl: str
    ) -> None:
        monkeypatch.setenv("TASKAPI_ACCESS_TOKEN_TTL_SECONDS", ttl)

        with pytest.raises(ValidationError, match="access_token_ttl_seconds"):
            Settings()

    def test_dotenv_file_is_read(self, clean_environment: Path) -> None:
        (clean_environment / ".env").write_text(
            f"TASKAPI_ENV=production\nTASKAPI_JWT_SECRET={STRONG_SECRET}\n", encoding="utf-8"
        )

        settings = Settings()

        assert settings.env == "production"
        assert settings.jwt_secret.get_secret_value() == STRONG_SECRET

    def test_environment_wins_over_dotenv(
        self, monkeypatch: pytest.MonkeyPatch, clean_environment: Path
    ) -> None:
        (clean_environment / ".env").write_text(
            "TASKAPI_ACCESS_TOKEN_TTL_SECONDS=300\n", encoding="utf-8"
        )
        monkeypatch.setenv("TASKAPI_ACCESS_TOKEN_TTL_SECONDS", "600")

        assert Settings().access_token_ttl_seconds == 600
