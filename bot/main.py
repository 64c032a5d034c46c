"""`python -m bot`: check the settings, then run the bot with long polling."""

from __future__ import annotations

import logging
import sys

from telegram import Update

from bot.app import build_application
from bot.config import Settings, SettingsError, load_settings

EXIT_BAD_SETTINGS = 2


def configure_logging(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.log_level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # httpx logs every request URL, and the URL carries the token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    # PTB logs the full API URL, token included, when a bot is set up at DEBUG level.
    for name in ("telegram.Bot", "telegram.ext.ExtBot"):
        logging.getLogger(name).setLevel(max(logging.INFO, logging.getLogger().level))


def main() -> int:
    try:
        settings = load_settings()
    except SettingsError as error:
        print(f"pairstretch: {error}", file=sys.stderr)
        return EXIT_BAD_SETTINGS
    configure_logging(settings)
    app = build_application(settings)
    # run_polling handles SIGINT and SIGTERM itself: it stops polling, lets running
    # handlers finish, then calls post_shutdown, which closes the database.
    app.run_polling(allowed_updates=Update.ALL_TYPES, drop_pending_updates=False)
    return 0
