"""Why the bot cannot run, in one line that names the cause and the setting to look at."""

from __future__ import annotations

from telegram.error import InvalidToken, NetworkError, TelegramError

from bot.config import Settings

EXIT_CANNOT_RUN = 1
EXIT_BAD_SETTINGS = 2


class OneLineFailure(Exception):
    """The process stops with this one line on stderr and this exit status."""

    def __init__(self, line: str, status: int = EXIT_CANNOT_RUN) -> None:
        super().__init__(line)
        self.status = status


def _innermost(error: BaseException) -> BaseException:
    # PTB wraps Telegram's own answer ("Unauthorized", "Not Found") in a message of its
    # own that quotes the token; the innermost cause is the part worth showing.
    while error.__cause__ is not None:
        error = error.__cause__
    return error


def telegram_failure(error: TelegramError, settings: Settings) -> OneLineFailure:
    """What a failed call to the Bot API at start-up means for the person running the bot."""
    api = f"TELEGRAM_API_BASE_URL {settings.telegram_api_base_url}"
    said = str(_innermost(error))
    if isinstance(error, InvalidToken) and "not found" in said.lower():
        return OneLineFailure(
            f"the Bot API at {api} answered Not Found: the URL must end in /bot (as "
            "https://api.telegram.org/bot does) and TELEGRAM_BOT_TOKEN must be a token from "
            "@BotFather"
        )
    if isinstance(error, InvalidToken):
        return OneLineFailure(
            f"Telegram rejected TELEGRAM_BOT_TOKEN ({said}): copy the token from @BotFather "
            "again, or /revoke it there for a new one"
        )
    if isinstance(error, NetworkError):
        return OneLineFailure(f"cannot reach the Bot API at {api}: {said}")
    return OneLineFailure(f"the Bot API at {api} refused the bot: {said}")


def token_revoked(reason: str) -> OneLineFailure:
    return OneLineFailure(
        f"Telegram stopped accepting TELEGRAM_BOT_TOKEN ({reason}): was it revoked in @BotFather?"
    )


def database_failure(problem: Exception) -> OneLineFailure:
    """`problem` is storage's `DatabaseUnusable`; its text names the URL and the cause."""
    return OneLineFailure(f"cannot use the database at DATABASE_URL {problem}")


def webhook_refused(error: TelegramError, settings: Settings) -> OneLineFailure:
    """setWebhook refused: the URL (not https, not reachable) or the token."""
    return OneLineFailure(
        f"Telegram refused WEBHOOK_URL {settings.webhook_url}: {_innermost(error)}"
    )


def cannot_listen(settings: Settings, error: OSError) -> OneLineFailure:
    return OneLineFailure(
        f"cannot listen on WEBHOOK_LISTEN {settings.webhook_listen}: {error.strerror or error}"
    )
