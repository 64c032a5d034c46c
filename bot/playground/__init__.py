"""The two-phone playground: Telegram's Bot API played locally, and a page to watch it.

`python -m bot.playground` (`make demo`) runs the real bot against the double and serves
the page. Nothing else in `bot/` imports this package: the bot meets it only over HTTP,
exactly as it meets Telegram. The e2e tests and `tests/fake_telegram` use the same
double and world.
"""
