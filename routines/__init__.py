"""The pure domain of pairstretch: routines, plans and the session engine.

Nothing here talks to Telegram, a database or the clock; callers pass the time in.
"""
