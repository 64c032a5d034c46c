"""One session at a time on the test clock: every tap and every timer carried out alone.

The real Application against the fake Bot API, nothing runs by itself: the driver taps as
the partners would and moves the clock to each of the session's timers in turn, so each
event (an update or a timer the bot claims) is handled with nothing else going on. Shared
by the capacity benchmark (its solo latency) and the profile of one event type.

The order of one setup of `lower-back`: first Ready, second Ready (the hold's clock
starts after the get-set delay), hold start (the timer that turns both setup cards into
the hold card), Pause and Resume, then the hold's countdown ticks and its end, a side
switch's end and the second side's ticks and end, until the next setup waits for
people (or the summary).
"""

from __future__ import annotations

import itertools
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from bot.context import BotApplication
from bot.live_session import Live
from bot.services import sessions, timer_claims
from bot.session_timers import Lane
from bot.timer_poller import poller_of
from routines.plan import StepKind
from storage.records import TimerRecord
from tests.fake_telegram import SentMessage, World
from tests.harness import BotHarness, Person, tap

ROUTINE = "lower-back"
COMPLETE = "Well done, session complete!"

FIRST_READY = "first Ready"
SECOND_READY = "second Ready"
HOLD_START = "hold start"
PAUSE = "Pause"
RESUME = "Resume"
HOLD_END = "hold end"
SWITCH_END = "switch end"
COUNTDOWN = "countdown"
SOLO_KINDS = (
    FIRST_READY,
    SECOND_READY,
    HOLD_START,
    PAUSE,
    RESUME,
    HOLD_END,
    SWITCH_END,
    COUNTDOWN,
)
# Few in a session (lower-back switches sides 8 times in 22 holds): not waited for.
RARE_KINDS = frozenset({SWITCH_END})

# The lanes whose timers move a session on; a card retry or a tidy-up never comes due
# against a fake that accepts everything, and would show up as "hold start" if it did.
_TIMER_LANES = (Lane.STEP, Lane.TICK, Lane.CARDS)


def ms(seconds: float) -> float:
    return seconds * 1000


def quantile(values: list[float], q: float) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=1000, method="inclusive")[round(q * 1000) - 1]


@dataclass
class Samples:
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)

    async def time(self, action: Awaitable[Any]) -> Any:
        started, used = time.perf_counter(), time.process_time()
        result = await action
        self.cpu.append(time.process_time() - used)
        self.wall.append(time.perf_counter() - started)
        return result

    def row(self, name: str) -> str:
        return (
            f"{name:<34} {len(self.wall):>6} {ms(quantile(self.wall, 0.5)):>8.2f}"
            f" {ms(quantile(self.wall, 0.99)):>8.2f} {ms(statistics.fmean(self.cpu)):>8.2f}"
        )


def events_handled(app: BotApplication) -> float:
    """Every event the bot counted so far: updates handled through its update queue, and
    session timers claimed in any lane (a step's end, a countdown tick, a hold's start,
    a card's retry ...)."""
    return _counted(app, "pairstretch_updates_handled", "_total") + timers_claimed(app)


def timers_claimed(app: BotApplication) -> float:
    return _counted(app, "pairstretch_session_timer_lateness_seconds", "_count")


def _counted(app: BotApplication, metric_name: str, suffix: str) -> float:
    total = 0.0
    for metric in app.bot_data.metrics.registry.collect():
        if metric.name == metric_name:
            total += sum(s.value for s in metric.samples if s.name.endswith(suffix))
    return total


class BenchWorld(World):
    """The fake's chats and messages without its record of every call: a benchmark makes
    hundreds of thousands, and a call answered is of no more use to it."""

    def answer(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        answered = super().answer(method, params)
        self.calls.clear()
        return answered


def card_with(world: World, chat_id: int, label: str) -> SentMessage | None:
    """The newest message of the chat still showing a button `label`."""
    for message in reversed(world.messages.get(chat_id, [])):
        if not message.deleted and any(text == label for text, _ in message.buttons):
            return message
    return None


# What the driver does with each event: time it (the default), profile it, or both.
Measure = Callable[[str, Awaitable[None]], Awaitable[None]]


class SoloDriver:
    """Sessions of `routine`, one at a time, each event timed (or handed to `measure`)."""

    def __init__(
        self,
        harness: BotHarness,
        pairs: Callable[[], tuple[Person, Person]],
        *,
        routine: str = ROUTINE,
        measure: Measure | None = None,
    ) -> None:
        self.bot = harness
        self.routine = routine
        self.samples = {kind: Samples() for kind in SOLO_KINDS}
        self.counted = {kind: 0 for kind in SOLO_KINDS}
        # Events of each whole session, /stretch to the summary: the updates fed here
        # (`process_update` directly, so the bot's update counter does not see them)
        # and the timers the bot claimed.
        self.events_per_session: list[float] = []
        self._fed = 0
        self._pairs = pairs
        self._measure = measure
        self._queries = itertools.count(1)
        # The card the last second Ready tapped, and the two hold cards its hold start
        # showed, as Telegram sent them: the PTB floor handles the same messages.
        self.tapped: dict[str, Any] = {}
        self.hold_cards: list[dict[str, Any]] = []

    async def _event(self, kind: str, action: Awaitable[None]) -> None:
        self.counted[kind] += 1
        if self._measure is not None:
            await self._measure(kind, action)
        else:
            await self.samples[kind].time(action)

    def tap(self, person: Person, message: SentMessage, label: str) -> Awaitable[None]:
        """The tap handled, and nothing else (no looking up its answer)."""
        query_id = f"solo{next(self._queries)}"
        self._fed += 1
        return self.bot.feed(tap(query_id, person, message, message.button(label)))

    def enough(self, wanted: int, kinds: tuple[str, ...] = SOLO_KINDS) -> bool:
        return all(self.counted[kind] >= wanted for kind in kinds if kind not in RARE_KINDS)

    def progress(self) -> str:
        return ", ".join(f"{kind} {self.counted[kind]}" for kind in SOLO_KINDS)

    async def session(self) -> None:
        bot = self.bot
        first, second = self._pairs()
        await _pair_up(bot, first, second)
        timers_before, fed_before = timers_claimed(bot.app), self._fed
        await bot.say(first, f"/stretch {self.routine}")
        join = card_with(bot.world, second.id, "Join")
        assert join is not None, "the partner got a Join card"
        await bot.press(second, join, "Join")
        self._fed += 2
        session_id = (await _live(bot, first.id)).id
        pressed: set[int] = set()
        while True:
            cards = [card_with(bot.world, person.id, "Ready") for person in (first, second)]
            if cards[0] is None or cards[1] is None or cards[0].message_id in pressed:
                break
            pressed.add(cards[0].message_id)
            await self._event(FIRST_READY, self.tap(first, cards[0], "Ready"))
            # An edit gives the message a new `raw`: this one stays as it was tapped.
            self.tapped = cards[1].raw
            await self._event(SECOND_READY, self.tap(second, cards[1], "Ready"))
            # The setup cards turn into the hold card when the get-set delay is over.
            await self._timers(session_id, hold_start=True)
            hold = card_with(bot.world, first.id, "Pause")
            assert hold is not None, "the hold card shows Pause once the hold started"
            # The hold is each setup card, edited: those messages show it now.
            assert hold.message_id == cards[0].message_id, "the hold card is the setup card"
            self.hold_cards = [card.raw for card in cards if card is not None]
            await self._event(PAUSE, self.tap(first, hold, "Pause"))
            resume = card_with(bot.world, first.id, "Resume")
            assert resume is not None, "a paused hold shows Resume"
            await self._event(RESUME, self.tap(first, resume, "Resume"))
            await self._timers(session_id)
        assert COMPLETE in bot.world.messages[first.id][-1].text, "the solo session completes"
        timers = timers_claimed(bot.app) - timers_before
        self.events_per_session.append(timers + self._fed - fed_before)

    async def _timers(self, session_id: int, *, hold_start: bool = False) -> None:
        """Move the clock to each timer of the session in turn, carrying it out alone,
        until the session waits for people again (a setup, or the end); with
        `hold_start`, only until the hold has started."""
        while True:
            timer = await self._soonest(session_id)
            if timer is None:
                if hold_start:
                    raise AssertionError("the second Ready armed no hold start")
                return
            kind = await self._kind(session_id, timer)
            if hold_start and kind != HOLD_START:
                raise AssertionError(f"a {kind} came before the hold started")
            self.bot.clock.set(max(timer.due_at, self.bot.clock.now()))
            await self._event(kind, self._run_due())
            if hold_start:
                return

    async def _run_due(self) -> None:
        # As the job polls, waiting for what it claimed: the tests' own poll reads the
        # table once more at its end, a trip the running bot does not make.
        await poller_of(self.bot.app).poll(read=False)

    async def _soonest(self, session_id: int) -> TimerRecord | None:
        """The session's next timer to carry out, or None while it waits for people."""
        timers = await timer_claims.of_session(self.bot.app.bot_data, session_id)
        due = [t for t in timers if t.lane in _TIMER_LANES and t.claimed_by is None]
        if not due or any(t.lane == Lane.STEP and t.kind == "idle" for t in due):
            return None
        return min(due, key=lambda t: t.due_at)

    async def _kind(self, session_id: int, timer: TimerRecord) -> str:
        if timer.lane == Lane.TICK:
            return COUNTDOWN
        if timer.lane == Lane.CARDS:
            return HOLD_START
        live = await _live(self.bot, None, session_id)
        return SWITCH_END if live.state.step.kind is StepKind.SWITCH else HOLD_END


async def _pair_up(bot: BotHarness, first: Person, second: Person) -> None:
    """Both opened the bot, read the safety note before and are a pair (no home group)."""
    for person in (first, second):
        await bot.say(person, "/start")
    data = bot.app.bot_data
    async with data.db.unit() as unit:
        for person in (first, second):
            await unit.users.acknowledge_safety(person.id, bot.clock.now())
        await unit.pairs.create(first.id, second.id, bot.clock.now())
        await unit.commit()


async def _live(bot: BotHarness, user_id: int | None, session_id: int = 0) -> Live:
    data = bot.app.bot_data
    if user_id is not None:
        record = await sessions.live_of_user(data, user_id)
        assert record is not None
        session_id = record.id
    live = await sessions.load(data, session_id)
    assert live is not None
    return live


async def lobby_session(bot: BotHarness, first: Person, second: Person, routine: str) -> Live:
    """A fresh pair's session of `routine`, left in its lobby (a row to read and write)."""
    await _pair_up(bot, first, second)
    await bot.say(first, f"/stretch {routine}")
    return await _live(bot, first.id)
