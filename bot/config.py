"""Settings of one bot process, read from the environment and `.env`."""

from __future__ import annotations

import re
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///data/pairstretch.sqlite3"
DEFAULT_API_BASE_URL = "https://api.telegram.org/bot"

# The shape @BotFather hands out: a numeric bot id, a colon, 35 URL-safe characters.
_TOKEN_SHAPE = re.compile(r"^\d{5,16}:[A-Za-z0-9_-]{30,64}$")
# The placeholder in .env.example has the right shape; Telegram would only refuse it later.
EXAMPLE_TOKEN = "123456789:replace-with-the-token-from-botfather"
# What Telegram accepts as setWebhook's secret_token, and sends back in every push.
_WEBHOOK_SECRET_SHAPE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
# Served by the webhook listener itself, so the webhook's own path must be another one.
RESERVED_PATHS = frozenset({"/healthz", "/metrics"})


class Settings(BaseSettings):
    """Everything a deployment can set; the names are the environment variables."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    telegram_bot_token: SecretStr
    database_url: str = DEFAULT_DATABASE_URL
    telegram_api_base_url: str = DEFAULT_API_BASE_URL
    session_time_scale: Annotated[float, Field(gt=0, le=10)] = 1.0
    reminder_grace_minutes: Annotated[int, Field(ge=0, le=24 * 60)] = 60
    # How often each worker looks for session timers due (bot/timer_poller.py): the most
    # a timer armed by a worker that died is late. Scaled with SESSION_TIME_SCALE.
    timer_poll_seconds: Annotated[float, Field(gt=0, le=60)] = 1.0
    # A reminder copy claimed by a worker that stopped before marking it is taken over
    # by any worker after this long; it must outlast sending one claimed batch.
    reminder_takeover_seconds: Annotated[int, Field(ge=1, le=24 * 3600)] = 180
    # Telegram's budget for the whole deployment: messages a second over all workers,
    # shared through Redis when REDIS_URL is set, else split evenly among WORKERS.
    telegram_rate_limit: Annotated[int, Field(ge=1, le=1000)] = 30
    redis_url: str | None = None
    workers: Annotated[int, Field(ge=1, le=64)] = 1
    log_level: str = "INFO"
    log_format: Literal["text", "json"] = "text"
    # Webhook mode, when WEBHOOK_URL is set; otherwise the bot long-polls.
    webhook_url: str | None = None
    webhook_listen: str = "0.0.0.0:8080"
    webhook_secret: SecretStr | None = None

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

    @field_validator("redis_url")
    @classmethod
    def _redis_url_is_redis(cls, value: str | None) -> str | None:
        if not value:
            return None
        if not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must start with redis://, rediss:// or unix://")
        return value

    @field_validator("log_level")
    @classmethod
    def _log_level_is_known(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("must be DEBUG, INFO, WARNING, ERROR or CRITICAL")
        return level

    @field_validator("log_format", mode="before")
    @classmethod
    def _log_format_any_case(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

    @field_validator("webhook_url")
    @classmethod
    def _webhook_url_is_https(cls, value: str | None) -> str | None:
        if not value:
            return None
        # Telegram pushes only to HTTPS; an http:// URL would be refused by setWebhook.
        parts = urlsplit(value)
        if parts.scheme != "https" or not parts.hostname:
            raise ValueError("must be an https:// URL that Telegram can reach")
        if (parts.path or "/") in RESERVED_PATHS:
            raise ValueError("must not end in /healthz or /metrics: the listener serves those")
        return value

    @field_validator("webhook_listen")
    @classmethod
    def _listen_is_host_and_port(cls, value: str) -> str:
        listen_address(value)
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _secret_is_telegrams_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        if not _WEBHOOK_SECRET_SHAPE.match(value.get_secret_value()):
            raise ValueError("must be 1-256 characters of A-Z, a-z, 0-9, _ and - (Telegram)")
        return value

    @property
    def webhook_path(self) -> str:
        """The path Telegram posts to: WEBHOOK_URL's own, as a reverse proxy passes it on."""
        return (urlsplit(self.webhook_url).path or "/") if self.webhook_url else "/"


def listen_address(value: str) -> tuple[str, int]:
    """`host:port` (`[::]:8080` for IPv6) as a host and a port; ValueError if it is not."""
    host, colon, port = value.rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not colon or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError("must be host:port, such as 0.0.0.0:8080")
    return host, int(port)


class SettingsError(Exception):
    """A setting is missing or malformed; the message is one line for a human."""


def load_settings() -> Settings:
    """Read the settings, turning pydantic's report into one line that says what to do."""
    try:
        settings = Settings()  # type: ignore[call-arg]
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
    if settings.webhook_url and settings.webhook_secret is None:
        raise SettingsError(
            "WEBHOOK_SECRET is not set: webhook mode needs it, so that only Telegram can "
            "post updates (1-256 characters of A-Z, a-z, 0-9, _ and -; see .env.example)"
        )
    return settings
