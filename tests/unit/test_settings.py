"""Settings: defaults that run on a development machine, every problem named at once."""

from __future__ import annotations

import pytest

from restosync_adapters.settings import DEV_API_SECRET, Settings, SettingsError, describe


def test_defaults_need_no_variables_on_a_development_machine() -> None:
    settings = Settings.from_env({})
    assert settings.database_url.startswith("postgresql://")
    assert settings.db_pool_size == 20
    assert settings.worker_concurrency == 5
    assert settings.port == 8000
    assert settings.swagger_enabled is False
    assert settings.uses_dev_secrets


def test_values_are_decoded_into_their_types() -> None:
    settings = Settings.from_env(
        {"DB_POOL_SIZE": "7", "SWAGGER_ENABLED": "true", "PORT": "9001", "SLACK_WEBHOOK_URL": "https://hooks.example/x"}
    )
    assert (settings.db_pool_size, settings.swagger_enabled, settings.port) == (7, True, 9001)
    assert settings.slack_webhook_url == "https://hooks.example/x"


def test_every_problem_is_named_in_one_message() -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_env(
            {"PORT": "eighty", "DB_POOL_SIZE": "0", "API_SECRET": "short", "SWAGGER_ENABLED": "maybe",
             "REDIS_URL": "http://nope", "FRONTEND_URL": "not a url"}
        )
    message = str(caught.value)
    for name in ("PORT", "DB_POOL_SIZE", "API_SECRET", "SWAGGER_ENABLED", "REDIS_URL", "FRONTEND_URL"):
        assert name in message, name
    assert len(caught.value.problems) == 6


def test_production_refuses_the_development_secrets() -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({"ENV": "production"})
    assert "AGENT_SECRET" in str(caught.value)
    assert "API_SECRET" in str(caught.value)


def test_production_starts_with_real_secrets() -> None:
    settings = Settings.from_env(
        {"ENV": "production", "AGENT_SECRET": "a-real-agent-secret-xyz", "API_SECRET": "r" * 40}
    )
    assert settings.is_production and not settings.uses_dev_secrets


def test_api_secret_must_have_32_characters() -> None:
    with pytest.raises(SettingsError, match="API_SECRET must be at least 32"):
        Settings.from_env({"API_SECRET": "x" * 31})
    assert Settings.from_env({"API_SECRET": "x" * 32}).api_secret == "x" * 32
    assert len(DEV_API_SECRET) >= 32


def test_cors_origins_are_the_frontend_and_base_urls() -> None:
    settings = Settings.from_env({"FRONTEND_URL": "https://shop.example/", "BASE_URL": "https://api.example"})
    assert settings.cors_origins == ["https://api.example", "https://shop.example"]


def test_env_example_documents_every_variable() -> None:
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / ".env.example").read_text()
    documented = {line.split("=", 1)[0] for line in text.splitlines() if "=" in line and not line.startswith("#")}
    missing = [name for name, _, _ in describe() if name not in documented]
    assert missing == []


def test_the_configuration_doc_lists_every_variable() -> None:
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "docs" / "configuration.md").read_text()
    missing = [name for name, _, _ in describe() if f"`{name}`" not in text]
    assert missing == []
