"""Settings of one bot process, read from the environment and `.env`."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///data/pairstretch.sqlite3"
DEFAULT_API_BASE_URL = "https://api.telegram.org/bot"

# The shape @BotFather hands out: a numeric bot id, a colon, 35 URL-safe characters.
_TOKEN_SHAPE = re.compile(r"^\d{5,16}:[A-Za-z0-9_-]{30,64}$")
# The placeholder in .env.example has the right shape; Telegram would only refuse it later.
EXAMPLE_TOKEN = "123456789:replace-with-the-token-from-botfather"


class Settings(BaseSettings):
    """Everything a deployment can set; the names are the environment variables."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    telegram_bot_token: SecretStr
    database_url: str = DEFAULT_DATABASE_URL
    telegram_api_base_url: str = DEFAULT_API_BASE_URL
    session_time_scale: Annotated[float, Field(gt=0, le=10)] = 1.0
    reminder_grace_minutes: Annotated[int, Field(ge=0, le=24 * 60)] = 60
    log_level: str = "INFO"

    @field_validator("telegram_bot_token")
    @classmethod
    def _token_has_botfathers_shape(cls, value: SecretStr) -> SecretStr:
        if not _TOKEN_SHAPE.match(value.get_secret_value()):
            raise ValueError("does not look like a token from @BotFather (123456:ABC-...)")
        if value.get_secret_value() == EXAMPLE_TOKEN:
            raise ValueError("is still the placeholder: put the token from @BotFather in .env")
        return value

    @field_validator("telegram_api_base_url")
    @classmethod
    def _base_url_is_http(cls, value: str) -> str:
        if not re.match(r"^https?://[^\s/]+", value):
            raise ValueError("must be an http:// or https:// URL")
        return value

    @field_validator("database_url")
    @classmethod
    def _database_url_is_async(cls, value: str) -> str:
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError("must start with sqlite+aiosqlite:// or postgresql+asyncpg://")
        return value

    @field_validator("log_level")
    @classmethod
    def _log_level_is_known(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("must be DEBUG, INFO, WARNING, ERROR or CRITICAL")
        return level


class SettingsError(Exception):
    """A setting is missing or malformed; the message is one line for a human."""


def load_settings() -> Settings:
    """Read the settings, turning pydantic's report into one line that says what to do."""
    try:
        return Settings()  # type: ignore[call-arg]
    except ValidationError as error:
        first = error.errors()[0]
        name = str(first["loc"][0]).upper() if first["loc"] else "settings"
        if first["type"] == "missing":
            if name == "TELEGRAM_BOT_TOKEN":
                raise SettingsError(
                    "TELEGRAM_BOT_TOKEN is not set: get a token from @BotFather and put it "
                    "in .env (see .env.example)"
                ) from None
            raise SettingsError(f"{name} is not set (see .env.example)") from None
        message = str(first["msg"]).removeprefix("Value error, ")
        raise SettingsError(f"{name} {message} (see .env.example)") from None
