"""The rules of reminders on plain values: which occurrence, what it comes to, retries."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from routines.reminder_rules import (
    CopyStatus,
    DeliveryStatus,
    claim_status,
    decide,
    is_paused,
    known_zone,
    live_round,
    local_today,
    partners_to_tell,
    retaken_copy_status,
    retry_delay,
    round_outcome,
)
from routines.reminder_time import Weekdays

BERLIN = ZoneInfo("Europe/Berlin")
HOUR = timedelta(hours=1)
ANA, BEN = 1, 2


def utc(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 6, day, hour, minute, tzinfo=UTC)


# -- zone, day, pause ------------------------------------------------------------------


def test_a_zone_is_known_by_its_name_and_an_unknown_one_is_none() -> None:
    assert known_zone("Europe/Berlin") == BERLIN
    assert known_zone("Mars/Olympus_Mons") is None
    assert known_zone("../etc/passwd") is None


def test_the_local_day_is_the_pairs_not_utcs() -> None:
    assert local_today(BERLIN, utc(1, 22, 30)) == date(2026, 6, 2)
    assert local_today(ZoneInfo("UTC"), utc(1, 22, 30)) == date(2026, 6, 1)


def test_a_pause_lasts_until_its_instant_and_not_beyond() -> None:
    until = utc(8, 0)
    assert not is_paused(None, utc(1, 12))
    assert is_paused(until, until - timedelta(microseconds=1))
    assert not is_paused(until, until)


# -- which occurrence of a due slot ----------------------------------------------------
# A daily slot at 07:30 in Berlin: 05:30 UTC in June.


def test_a_slot_claimed_on_time_sends_its_stored_occurrence_and_moves_a_day_on() -> None:
    decision = decide(time(7, 30), Weekdays.DAILY, BERLIN, utc(1, 5, 30), utc(1, 5, 30), HOUR)

    assert decision.occurrence.at_utc == utc(1, 5, 30)
    assert decision.local_date == date(2026, 6, 1)
    assert decision.next_due_at == utc(2, 5, 30)
    assert not decision.late
    assert decision.is_due(utc(1, 5, 30))


def test_after_downtime_the_newest_occurrence_inside_the_grace_is_sent_instead() -> None:
    decision = decide(time(7, 30), Weekdays.DAILY, BERLIN, utc(1, 5, 30), utc(3, 6, 0), HOUR)

    assert decision.local_date == date(2026, 6, 3)
    assert decision.occurrence.at_utc == utc(3, 5, 30)
    assert not decision.late
    assert decision.next_due_at == utc(4, 5, 30)


def test_with_none_inside_the_grace_the_stored_one_is_late_and_the_slot_moves_on() -> None:
    decision = decide(time(7, 30), Weekdays.DAILY, BERLIN, utc(1, 5, 30), utc(3, 7, 0), HOUR)

    assert decision.late
    assert decision.local_date == date(2026, 6, 1)
    assert decision.next_due_at == utc(4, 5, 30)


def test_a_stored_instant_that_is_not_the_slots_own_is_not_due_only_moved() -> None:
    # 07:30 in New York, stored before the pair moved to Berlin without a reschedule.
    stored = utc(1, 11, 30)

    decision = decide(time(7, 30), Weekdays.DAILY, BERLIN, stored, stored, HOUR)

    assert not decision.is_due(stored)
    assert decision.occurrence.at_utc == utc(2, 5, 30)


# -- what a claimed reminder comes to --------------------------------------------------


def status(**changes: object) -> DeliveryStatus:
    values: dict[str, object] = dict(
        late=False,
        paused_until=None,
        skipped_on=None,
        stretched=False,
        local_date=date(2026, 6, 1),
        at=utc(1, 5, 30),
    )
    values.update(changes)
    return claim_status(**values)  # type: ignore[arg-type]


def test_a_reminder_nothing_holds_back_is_claimed_to_send() -> None:
    assert status() is DeliveryStatus.CLAIMED


def test_what_holds_a_reminder_back_in_order_late_paused_skipped_stretched() -> None:
    everything = dict(
        late=True, paused_until=utc(8, 0), skipped_on=date(2026, 6, 1), stretched=True
    )
    assert status(**everything) is DeliveryStatus.LATE_SKIPPED
    assert status(**everything | {"late": False}) is DeliveryStatus.PAUSED
    assert status(stretched=True, skipped_on=date(2026, 6, 1)) is DeliveryStatus.SKIPPED
    assert status(stretched=True) is DeliveryStatus.DONE


def test_a_pause_over_before_the_due_instant_and_a_skip_of_another_day_hold_nothing() -> None:
    assert status(paused_until=utc(1, 5, 30), skipped_on=date(2026, 5, 31)) is (
        DeliveryStatus.CLAIMED
    )


# -- one partner's copy ----------------------------------------------------------------


def test_a_copy_may_be_sent_while_its_round_is_out_or_done() -> None:
    assert live_round(again=False) == (DeliveryStatus.CLAIMED, DeliveryStatus.SENT)
    assert live_round(again=True) == (DeliveryStatus.RESENDING, DeliveryStatus.RESENT)


@pytest.mark.parametrize(
    ("live", "paused", "stretched", "useful", "expected"),
    [
        (True, False, False, True, CopyStatus.SENDING),
        (True, False, False, False, CopyStatus.LATE),
        (False, False, False, True, CopyStatus.SUPERSEDED),
        (True, True, False, True, CopyStatus.SUPERSEDED),
        (True, False, True, True, CopyStatus.SUPERSEDED),
        (False, False, False, False, CopyStatus.SUPERSEDED),
    ],
)
def test_a_copy_taken_up_again_is_sent_unless_the_reminder_moved_on_or_is_too_late(
    live: bool, paused: bool, stretched: bool, useful: bool, expected: CopyStatus
) -> None:
    assert (
        retaken_copy_status(
            round_is_live=live, paused=paused, stretched=stretched, still_useful=useful
        )
        is expected
    )


def test_a_failed_copy_waits_5_15_45_135_seconds_then_every_5_minutes() -> None:
    waits = [retry_delay(attempts).total_seconds() for attempts in range(1, 8)]
    assert waits == [5, 15, 45, 135, 300, 300, 300]


def test_a_copy_waits_at_least_as_long_as_telegram_asked() -> None:
    assert retry_delay(1, asked=30) == timedelta(seconds=30)
    assert retry_delay(3, asked=30) == timedelta(seconds=45)


@pytest.mark.parametrize(
    ("statuses", "again", "expected"),
    [
        (["sent", "waiting"], False, DeliveryStatus.SENT),
        (["unreachable", "sent"], True, DeliveryStatus.RESENT),
        (["sending", "unreachable"], False, None),
        (["waiting", "late"], False, None),
        (["unreachable", "unreachable"], False, DeliveryStatus.UNREACHABLE),
        (["refused", "unreachable"], False, DeliveryStatus.FAILED),
        (["late", "unreachable"], False, DeliveryStatus.LATE_SKIPPED),
        (["superseded", "late"], True, DeliveryStatus.LATE_SKIPPED),
    ],
)
def test_a_round_comes_to_what_its_copies_decide(
    statuses: list[str], again: bool, expected: DeliveryStatus | None
) -> None:
    assert round_outcome(statuses, again) is expected


def test_the_partner_who_got_it_is_told_once_the_other_is_known_unreachable() -> None:
    assert partners_to_tell({}, [ANA], [BEN], again=False) == [ANA]
    # The other outcome became known earlier: the second attempt tells.
    assert partners_to_tell({BEN: CopyStatus.UNREACHABLE}, [ANA], [], again=False) == [ANA]
    assert partners_to_tell({ANA: CopyStatus.SENT}, [], [BEN], again=False) == [ANA]


def test_nobody_is_told_while_an_outcome_is_open_or_for_a_snoozed_reminder() -> None:
    assert partners_to_tell({}, [ANA], [], again=False) == []
    assert partners_to_tell({BEN: CopyStatus.WAITING}, [ANA], [], again=False) == []
    assert partners_to_tell({}, [], [ANA, BEN], again=False) == []
    assert partners_to_tell({}, [ANA], [BEN], again=True) == []
