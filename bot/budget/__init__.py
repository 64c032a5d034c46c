"""Telegram's limits for the whole deployment: one budget shared by every worker."""
