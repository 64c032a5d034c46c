"""The bot's counters look each labelled series up once and count the same as before.

`Metrics` keeps the labelled children it counts into on every update and Bot API call
(bot/metrics.py); the text served at /metrics is what counting through `.labels(...)`
each time gives, series for series.
"""

from __future__ import annotations

from bot.metrics import Metrics


def _series(metrics: Metrics) -> list[str]:
    # Each series' creation instant differs between two registries; the rest may not.
    return [
        line
        for line in metrics.render().decode().splitlines()
        if "_created" not in line.split(" ")[0]
    ]


def test_cached_series_count_what_labels_would_count() -> None:
    ours, by_labels = Metrics(), Metrics()
    for kind, seconds in (("message", 0.004), ("callback_query", 0.2), ("message", 0.03)):
        ours.handled(kind, seconds)
        by_labels.updates.labels(kind).inc()
        by_labels.handling.labels(kind).observe(seconds)
    for method, outcome in (("sendMessage", "ok"), ("sendMessage", "429"), ("sendMessage", "ok")):
        ours.api_call(method, outcome)
        by_labels.api_calls.labels(method, outcome).inc()
    for lane, late in (("step", 0.002), ("tick", -0.5), ("step", 1.5), ("cards", 0.02)):
        ours.timer_claimed(lane, late)
        by_labels.timer_lateness.labels(lane).observe(max(0.0, late))
    for window, waited in (("overall", 0.0), ("private", 1.2), ("overall", 0.3)):
        ours.budget_waited(window, waited)
        by_labels.budget_waits.labels(window).observe(waited)

    assert _series(ours) == _series(by_labels)
    registry = ours.registry
    assert registry.get_sample_value("pairstretch_updates_handled_total", {"kind": "message"}) == 2
    assert (
        registry.get_sample_value(
            "pairstretch_telegram_requests_total", {"method": "sendMessage", "outcome": "ok"}
        )
        == 2
    )
    assert (
        registry.get_sample_value(
            "pairstretch_session_timer_lateness_seconds_count", {"lane": "step"}
        )
        == 2
    )


def test_two_applications_never_share_a_cached_series() -> None:
    first, second = Metrics(), Metrics()
    first.handled("message", 0.01)
    second.handled("message", 0.01)
    second.handled("message", 0.01)
    assert (
        first.registry.get_sample_value("pairstretch_updates_handled_total", {"kind": "message"})
        == 1
    )
    assert (
        second.registry.get_sample_value("pairstretch_updates_handled_total", {"kind": "message"})
        == 2
    )
