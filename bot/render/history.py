"""Texts and keyboards for /history, /streak, /progress, /export and /forget.

Every name a user typed is escaped here; the app sends HTML. A former partner is never
named: they asked to be forgotten.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from html import escape

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.callbacks import FORGET_NO, FORGET_YES, HISTORY_PAGE, pack
from bot.render.limits import CAPTION, MESSAGE_TEXT, echo, shorten
from bot.render.pairs import choose_pair_keyboard
from bot.services.history import HistoryPage, HistoryRefusal, Subject
from routines.progress import Progress
from routines.streak import Streaks
from storage.records import FormerPartnershipRecord, HistoryEntry, PairRecord, UserRecord

# Button actions (callbacks.pack).

FORMER_PARTNER = "a former partner"
# How much of the partners' names the /forget question lists.
FORGET_NAMES = 1000
NO_PARTNER_PRIVATE = "You don't have a partner yet. Send /invite to pair up first."
NO_PARTNER_GROUP = "This group is not the home of a pair you are in."
ONLY_PRIVATE = "I send this only in our private chat: open it and send the command there."
OUT_OF_DATE = "That page is out of date. Send /history for a fresh list."
NOT_YOURS = "This belongs to someone else."
GONE = "That history is no longer here."

_NUMBER_WORDS = (
    "no", "one", "two", "three", "four", "five", "six",
    "seven", "eight", "nine", "ten", "eleven", "twelve",
)  # fmt: skip


def refusal(reason: HistoryRefusal) -> str:
    return {
        HistoryRefusal.GONE: GONE,
        HistoryRefusal.NOT_YOURS: NOT_YOURS,
        HistoryRefusal.STALE: OUT_OF_DATE,
    }[reason]


def which_pair(command: str) -> str:
    # The command as the user typed it (any case, any length): echoed, so cut.
    return f"/{echo(command)}: with which partner?"


# -- /history ----------------------------------------------------------------------------


def history_subjects_keyboard(
    pairs: list[PairRecord],
    me: int,
    users: Mapping[int, UserRecord],
    former: Sequence[FormerPartnershipRecord],
) -> InlineKeyboardMarkup:
    """One button per partner, then one per former partnership (never named)."""
    rows = list(
        choose_pair_keyboard(
            pairs, me, users, lambda pair: pack(HISTORY_PAGE, Subject.PAIR, pair.id, 0)
        ).inline_keyboard
    )
    for partnership in former:
        label = f"{FORMER_PARTNER} (until {_day(partnership.ended_at.date())})"
        rows.append(
            (
                InlineKeyboardButton(
                    label, callback_data=pack(HISTORY_PAGE, Subject.FORMER, partnership.id, 0)
                ),
            )
        )
    return InlineKeyboardMarkup(rows)


def history_which() -> str:
    return "/history: whose sessions would you like to see?"


def history_page(page: HistoryPage, titles: Mapping[str, str]) -> str:
    partner = FORMER_PARTNER if page.partner is None else escape(page.partner)
    if not page.entries:
        return f"No sessions with {partner} yet. Send /stretch to start one."
    heading = f"<b>Your sessions with {partner}</b>"
    if page.pages > 1:
        heading += f" · page {page.page + 1} of {page.pages}"
    lines = [_entry(entry, titles, page.names, page.me) for entry in page.entries]
    return shorten(heading + "\n\n" + "\n\n".join(lines), MESSAGE_TEXT)


def _entry(
    entry: HistoryEntry, titles: Mapping[str, str], names: Mapping[int, str], me: int
) -> str:
    title = escape(titles.get(entry.routine_id, entry.routine_id))
    stretches = "stretch" if entry.exercises_done == 1 else "stretches"
    holds = "hold" if entry.holds_done == 1 else "holds"
    ended = "" if entry.end_reason == "completed" else " (stopped early)"
    first = (
        f"<b>{_day(entry.local_date)}</b> · {title}{ended}\n"
        f"{entry.exercises_done} {stretches}, {entry.holds_done} {holds}, "
        f"{_minutes(entry.seconds_stretched)}"
    )
    return first + "\n" + _ratings(entry.ratings, names, me)


def _ratings(ratings: Mapping[int, int], names: Mapping[int, str], me: int) -> str:
    if not ratings:
        return "Back-feel: not rated"
    # The asker first, then the partner; a forgotten partner's answer is not kept.
    order = sorted(ratings, key=lambda user: (user != me, user))
    parts = [f"{escape(names.get(user, 'partner'))} {ratings[user]}/5" for user in order]
    return "Back-feel: " + ", ".join(parts)


def history_keyboard(page: HistoryPage) -> InlineKeyboardMarkup | None:
    buttons = []
    if page.has_older:
        data = pack(HISTORY_PAGE, page.subject, page.subject_id, page.page + 1)
        buttons.append(InlineKeyboardButton("Older", callback_data=data))
    if page.has_newer:
        data = pack(HISTORY_PAGE, page.subject, page.subject_id, page.page - 1)
        buttons.append(InlineKeyboardButton("Newer", callback_data=data))
    return InlineKeyboardMarkup([buttons]) if buttons else None


def _day(day: date) -> str:
    return f"{day:%a} {day.day} {day:%b %Y}"


def _minutes(seconds: int) -> str:
    if seconds <= 0:
        return "0 min"
    return f"{max(1, round(seconds / 60))} min"


# -- /streak -----------------------------------------------------------------------------


def streak(partner: str, result: Streaks) -> str:
    name = escape(partner)
    if result.best == 0:
        return f"No streak with {name} yet: one session today starts it."
    return (
        f"🔥 Your streak with {name}: <b>{_days(result.current)}</b>\n"
        f"Best so far: {_days(result.best)}.\n"
        "Days without a reminder and paused days don't break it."
    )


def _days(count: int) -> str:
    return f"{count} day" if count == 1 else f"{count} days"


# -- /progress ---------------------------------------------------------------------------


def no_sessions_to_chart(partner: str) -> str:
    return (
        f"No sessions with {escape(partner)} in the last 12 weeks, so there is nothing "
        "to chart yet. Send /stretch to start one."
    )


def progress_caption(partner: str, progress: Progress) -> str:
    """The trend in words, e.g. "Back-feel up from 2.5 to 3.8 in six weeks"."""
    total = progress.total_sessions
    sessions = "session" if total == 1 else "sessions"
    trend = progress.trend
    if trend is None:
        feel = "No back-feel answers yet: rate your back after a session to see a trend."
    elif trend.weeks == 0:
        feel = f"Back-feel {trend.last:.1f} on average, from one week of answers."
    elif trend.direction == "steady":
        feel = f"Back-feel steady at {trend.last:.1f} over {_weeks(trend.weeks)}."
    else:
        feel = (
            f"Back-feel {trend.direction} from {trend.first:.1f} to {trend.last:.1f} "
            f"in {_weeks(trend.weeks)}."
        )
    caption = f"{feel}\n{total} {sessions} with {escape(partner)} in the last 12 weeks."
    return shorten(caption, CAPTION)


def _weeks(count: int) -> str:
    word = _NUMBER_WORDS[count] if count < len(_NUMBER_WORDS) else str(count)
    return f"{word} week" if count == 1 else f"{word} weeks"


# -- /export and /forget -----------------------------------------------------------------


def export_caption() -> str:
    return "Everything I hold about you, as JSON. /forget deletes it all."


def nothing_held() -> str:
    return "I hold nothing about you."


def forget_confirm(partners: Sequence[str]) -> str:
    if partners:
        # Nothing bounds how many partners a person has: the list is cut, the warning not.
        names = shorten(", ".join(escape(name) for name in partners), FORGET_NAMES)
        pairs = (
            f"Your partnerships end ({names}); I tell each partner, and they keep your "
            f"shared sessions, shown as from “{FORMER_PARTNER}”, without your ratings.\n\n"
        )
    else:
        pairs = ""
    return (
        "<b>Forget you?</b> This deletes everything I hold about you: your profile, "
        "invites, pair requests, reminders, sessions and back-feel ratings.\n\n"
        f"{pairs}This cannot be undone. /export first if you want a copy."
    )


def forget_keyboard(user_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton("Forget me", callback_data=pack(FORGET_YES, user_id))],
            [InlineKeyboardButton("Keep my data", callback_data=pack(FORGET_NO, user_id))],
        ]
    )


def forgotten() -> str:
    return "Done: I no longer hold anything about you. Send /start if you ever come back."


def forget_kept() -> str:
    return "Nothing was deleted."


def told_partner_forgotten() -> str:
    return (
        "One of your partners asked me to forget them, so that partnership has ended. "
        f"Your sessions together stay in /history, shown as with “{FORMER_PARTNER}”."
    )
