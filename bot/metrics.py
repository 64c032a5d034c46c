"""What the bot counts for Prometheus: one registry per application, served at /metrics.

Each `Metrics` owns its `CollectorRegistry`, so two applications in one process (tests,
benchmarks) never add to each other's series, and nothing is registered at import time.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from prometheus_client import CONTENT_TYPE_LATEST as CONTENT_TYPE
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

__all__ = ["CONTENT_TYPE", "Metrics", "SendOutcome"]

# A tap is a few milliseconds when all is well; a slow database or Telegram shows up in
# the upper buckets long before a user gives up on the button.
_HANDLING_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# Reminders go out at 30 messages a second, so 300 due in one minute take ten seconds.
_REMINDER_BUCKETS = (0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0)
# A timer a worker woke for is claimed within milliseconds; one found by the every-second
# poll (its worker died) within about a second; one held by a dead worker after its lease.
_TIMER_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 20.0, 60.0)
# Most grants come at once; the pace makes a burst wait tenths of a second, a private
# chat's second message a second, a 429 what Telegram says, a group's 21st a minute.
_GRANT_BUCKETS = (0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 15.0, 60.0)


class _Claimed(Protocol):
    @property
    def claimed_at(self) -> datetime: ...


class SendOutcome(Protocol):
    """One reminder's send as the dispatcher records it (`services.reminders.SendResult`)."""

    @property
    def item(self) -> _Claimed: ...

    @property
    def reached(self) -> list[int]: ...


class Metrics:
    """The series of one bot process; `render` gives the Prometheus text."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.updates = Counter(
            "pairstretch_updates_handled",
            "Updates the application handled, by kind (message, callback_query, ...)",
            ["kind"],
            registry=r,
        )
        self.handling = Histogram(
            "pairstretch_update_handling_seconds",
            "Time from an update's start of handling to its end (queue wait excluded)",
            ["kind"],
            buckets=_HANDLING_BUCKETS,
            registry=r,
        )
        self.webhook_requests = Counter(
            "pairstretch_webhook_requests",
            "Posts to the webhook: accepted, forbidden (wrong secret) or unreadable",
            ["outcome"],
            registry=r,
        )
        self.api_calls = Counter(
            "pairstretch_telegram_requests",
            "Bot API calls by method and outcome (ok, an HTTP status, timeout, network)",
            ["method", "outcome"],
            registry=r,
        )
        self.rate_limited = Counter(
            "pairstretch_telegram_rate_limited",
            "Bot API calls Telegram answered 429 Too Many Requests",
            ["method"],
            registry=r,
        )
        self.retry_after = Counter(
            "pairstretch_telegram_retry_after_seconds",
            "Seconds Telegram asked the bot to wait, summed over its 429 answers",
            registry=r,
        )
        self.reminders = Counter(
            "pairstretch_reminders_sent",
            "Reminder messages Telegram accepted (one per partner)",
            registry=r,
        )
        self.reminder_delay = Histogram(
            "pairstretch_reminder_send_delay_seconds",
            "From the claim of a due reminder to Telegram accepting its message",
            buckets=_REMINDER_BUCKETS,
            registry=r,
        )
        self.live_sessions = Gauge(
            "pairstretch_live_sessions",
            "Sessions not yet finished or abandoned, read from the database at scrape time",
            registry=r,
        )

        self.timer_lateness = Histogram(
            "pairstretch_session_timer_lateness_seconds",
            "From a session timer's due instant to its claim, by lane (step, tick, cards)",
            ["lane"],
            buckets=_TIMER_BUCKETS,
            registry=r,
        )

        self.budget_fallbacks = Counter(
            "pairstretch_budget_fallbacks",
            "Tries at the Telegram budget this worker answered from its own share (Redis failed)",
            registry=r,
        )
        self.budget_redis_errors = Counter(
            "pairstretch_budget_redis_errors",
            "Calls to the budget in Redis that failed, by error",
            ["error"],
            registry=r,
        )
        self.budget_waits = Histogram(
            "pairstretch_budget_wait_seconds",
            "From a call asking the Telegram budget to its grant, by the windows it takes "
            "(overall only; private or group: its chat's too)",
            ["window"],
            buckets=_GRANT_BUCKETS,
            registry=r,
        )
        # Labelled children, looked up once per label value: `.labels(...)` checks its
        # arguments and takes a lock each time, a third of what counting costs on the
        # path of every update and Bot API call. The children live as long as their
        # metric (nothing here removes one), so a cached child is the one `.labels` gives.
        self._updates_of: dict[str, tuple[Counter, Histogram]] = {}
        self._api_calls_of: dict[tuple[str, str], Counter] = {}
        self._timer_lateness_of: dict[str, Histogram] = {}
        self._budget_waits_of: dict[str, Histogram] = {}
        self.budget_pauses = Counter(
            "pairstretch_budget_pauses",
            "429 answers that paused the budget (every worker's sends when shared)",
            registry=r,
        )
        self.budget_pause_seconds = Counter(
            "pairstretch_budget_pause_seconds",
            "Seconds the budget was paused for, summed over its pauses",
            registry=r,
        )

    # -- the Telegram budget (bot.budget.shared.BudgetEvents) ---------------------------
    def budget_fallback(self) -> None:
        self.budget_fallbacks.inc()

    def budget_redis_error(self, error: str) -> None:
        self.budget_redis_errors.labels(error).inc()

    def budget_waited(self, window: str, seconds: float) -> None:
        child = self._budget_waits_of.get(window)
        if child is None:
            child = self._budget_waits_of[window] = self.budget_waits.labels(window)
        child.observe(max(0.0, seconds))

    def budget_paused(self, seconds: float) -> None:
        self.budget_pauses.inc()
        self.budget_pause_seconds.inc(max(0.0, seconds))

    def timer_claimed(self, lane: str, seconds: float) -> None:
        child = self._timer_lateness_of.get(lane)
        if child is None:
            child = self._timer_lateness_of[lane] = self.timer_lateness.labels(lane)
        child.observe(max(0.0, seconds))

    def handled(self, kind: str, seconds: float) -> None:
        children = self._updates_of.get(kind)
        if children is None:
            children = (self.updates.labels(kind), self.handling.labels(kind))
            self._updates_of[kind] = children
        children[0].inc()
        children[1].observe(seconds)

    def api_call(self, method: str, outcome: str) -> None:
        child = self._api_calls_of.get((method, outcome))
        if child is None:
            child = self._api_calls_of[(method, outcome)] = self.api_calls.labels(method, outcome)
        child.inc()

    def told_to_wait(self, method: str, seconds: float) -> None:
        self.rate_limited.labels(method).inc()
        self.retry_after.inc(max(0.0, seconds))

    def reminders_sent(self, results: Sequence[SendOutcome], now: datetime) -> None:
        """Called where the dispatcher records a chunk of sends: each message that went out.

        The delay runs from the claim, which the dispatcher makes when it wakes at the
        slot's due instant, so it is the lateness the pace of sending adds.
        """
        for result in results:
            if not result.reached:
                continue
            self.reminders.inc(len(result.reached))
            delay = max(0.0, (now - result.item.claimed_at).total_seconds())
            for _ in result.reached:
                self.reminder_delay.observe(delay)

    def render(self) -> bytes:
        return generate_latest(self.registry)
