"""Drive the real Application with real Updates, against the fake Bot API.

A test speaks as people ("Ana sends /start in private", "Ben presses Accept") and
reads back what each chat received, exactly as the phones would show it.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any, cast

from telegram import Update
from telegram.ext import Job

from bot.app import build_application
from bot.config import Settings
from bot.context import BotApplication
from bot.playground.people import Group, Person
from bot.reminder_dispatch import dispatcher_job
from bot.timer_poller import JOB_NAME as TIMER_JOB
from bot.timer_poller import TimerPoller, poller_of
from tests.clock import FakeClock, RunningClock
from tests.fake_telegram import FakeBotApi, SentMessage, World

__all__ = ["BotHarness", "Group", "Person", "running_bot", "tap", "wait_until"]


def _due_at(job: Job[Any]) -> datetime | None:
    """The instant a job of ours is due on the bot's clock (None for PTB's own jobs)."""
    due_at = getattr(job.data, "due_at", None)
    return due_at if isinstance(due_at, datetime) else None


class BotHarness:
    def __init__(self, app: BotApplication, world: World, clock: FakeClock) -> None:
        self.app = app
        self.world = world
        self.clock = clock
        self._update_ids = itertools.count(1)
        self._query_ids = itertools.count(1)
        self._read: dict[int, int] = {}
        self._queries: dict[int, set[str]] = {}

    # -- speaking as a person ------------------------------------------------------------
    async def say(
        self,
        person: Person,
        text: str,
        *,
        chat: Group | None = None,
        reply_to: dict[str, Any] | SentMessage | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        """`person` sends `text` in private (or in `chat`); returns the message sent."""
        if chat is None:
            chat_dict = self.world.add_private_chat(person.as_user())
        else:
            chat_dict = self.world.chats.get(chat.id) or self.world.add_group(chat.id, chat.title)
        message: dict[str, Any] = {
            "message_id": self.world.next_message_id(chat_dict["id"]),
            "date": self._date(),
            "chat": chat_dict,
            "from": person.as_user(),
            **extra,
        }
        if text:
            message["text"] = text
        if text.startswith("/"):
            command = text.split()[0]
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        if reply_to is not None:
            message["reply_to_message"] = (
                reply_to.raw if isinstance(reply_to, SentMessage) else reply_to
            )
        self.world.record_user_message(message)
        await self.feed({"message": message})
        return message

    async def press(self, person: Person, message: SentMessage, button: str) -> str | None:
        """`person` taps the button whose label contains `button` (or whose data is it).

        Returns the text of the bot's answer to the tap (the toast or alert), if any.
        """
        data = button if any(d == button for _, d in message.buttons) else message.button(button)
        return await self.press_data(person, message, data)

    async def press_data(self, person: Person, message: SentMessage, data: str) -> str | None:
        """Tap with arbitrary callback data, as a forged or outdated client could."""
        query_id = str(next(self._query_ids))
        self._queries.setdefault(person.id, set()).add(query_id)
        # Only the calls made since the tap can answer it: reading the whole history
        # would make every tap of a long test (or a benchmark) slower than the one before.
        before = len(self.world.calls)
        await self.feed(tap(query_id, person, message, data))
        for call in reversed(self.world.calls[before:]):
            if (
                call.method == "answerCallbackQuery"
                and call.params.get("callback_query_id") == query_id
            ):
                text: str | None = call.params.get("text")
                return text
        return None

    async def feed(self, payload: dict[str, Any]) -> None:
        update = Update.de_json({"update_id": next(self._update_ids), **payload}, self.app.bot)
        await self.app.process_update(update)

    # -- time ---------------------------------------------------------------------------
    async def run_due_jobs(self) -> int:
        """Run, in time order, every job whose moment has come on the test's clock.

        Jobs carry their due instant (`job.data.due_at`) on the bot's clock; the job
        queue's own wall clock never gets a say, so nothing here sleeps.
        """
        assert self.app.job_queue is not None
        ran = 0
        while True:
            due = [
                job
                for job in self.app.job_queue.jobs()
                if (at := _due_at(job)) is not None and at <= self.clock.now() and not job.removed
            ]
            if not due:
                return ran
            job = min(due, key=lambda j: cast(datetime, _due_at(j)))
            if job.name == TIMER_JOB:
                # The session timers' poller stays; it reads its next instant from the
                # database. Nothing it could take (another worker holds what is due): stop.
                assert isinstance(job.data, TimerPoller)
                if not await job.data.poll():
                    return ran
            else:
                job.schedule_removal()
                await job.run(self.app)
            ran += 1

    async def advance(self, seconds: float) -> int:
        """Move the clock on and run what came due on the way, in order."""
        ran = 0
        target = self.clock.now().timestamp() + seconds
        while True:
            assert self.app.job_queue is not None
            pending = sorted(
                at
                for job in self.app.job_queue.jobs()
                if (at := _due_at(job)) is not None and not job.removed
            )
            upcoming = [at for at in pending if at.timestamp() <= target]
            if not upcoming:
                break
            if upcoming[0] > self.clock.now():
                self.clock.set(upcoming[0])
            ran += await self.run_due_jobs()
        self.clock.set(datetime.fromtimestamp(target, UTC))
        ran += await self.run_due_jobs()
        return ran

    def queries_by(self, person: Person) -> set[str]:
        """The ids of every button tap `person` made, to find the bot's answers to them."""
        return self._queries.get(person.id, set())

    # -- reading what the phones show ----------------------------------------------------
    def inbox(self, chat_id: int) -> list[SentMessage]:
        """Everything the bot sent to a chat, as it looks now."""
        return self.world.bot_messages(chat_id)

    def new(self, chat_id: int) -> list[SentMessage]:
        """What the bot sent to a chat since the last call of `new` for that chat."""
        messages = self.inbox(chat_id)
        start = self._read.get(chat_id, 0)
        self._read[chat_id] = len(messages)
        return messages[start:]

    def last(self, chat_id: int) -> SentMessage:
        messages = self.inbox(chat_id)
        assert messages, f"the bot sent nothing to chat {chat_id}"
        return messages[-1]

    def texts(self, chat_id: int) -> list[str]:
        return [m.text for m in self.inbox(chat_id)]

    def _date(self) -> int:
        return int(self.clock.now().timestamp())


def tap(query_id: str, person: Person, message: SentMessage, data: str) -> dict[str, Any]:
    """The update of `person` tapping the button with `data` under `message`."""
    return {
        "callback_query": {
            "id": query_id,
            "from": person.as_user(),
            "chat_instance": f"ci{message.chat_id}",
            "message": message.raw,
            "data": data,
        }
    }


@asynccontextmanager
async def running_bot(
    settings: Settings,
    clock: FakeClock | None = None,
    world: World | None = None,
    *,
    reminders_held: bool = False,
    before_start: Callable[[BotApplication], None] | None = None,
) -> AsyncIterator[BotHarness]:
    """The real application, started as `python -m bot` would, minus the network.

    Pass the `world` of an earlier run to restart the bot with the phones as they were.
    With `reminders_held` the reminder dispatcher's job is paused before the job queue
    starts, so it never runs on its own: the test ticks it by hand, on its clock.
    `before_start` sees the application once it is initialised, just before its job
    queue starts (to listen to the scheduler from its first run on).
    """
    clock = clock or FakeClock()
    if world is None:
        world = World(clock=lambda: clock.now().timestamp())
    app = build_application(settings, request=FakeBotApi(world), clock=clock)
    async with app:
        # run_polling calls these around the updater; without one, the harness does.
        if app.post_init is not None:
            await app.post_init(app)
        if reminders_held:
            # APScheduler's own pause (no next run time), taken before the scheduler
            # starts: not even the start-up tick runs.
            dispatcher_job(app).job.pause()
        poller = poller_of(app)
        if not isinstance(clock, RunningClock) and poller.job is not None:
            poller.job.job.pause()
        if before_start is not None:
            before_start(app)
        await app.start()
        try:
            yield BotHarness(app, world, clock)
        finally:
            await app.stop()
            if app.post_shutdown is not None:
                await app.post_shutdown(app)


async def wait_until(
    condition: Callable[[], Awaitable[bool]], *, what: str, within: float = 90.0
) -> None:
    """Let the running application work until `condition` holds.

    `within` only keeps a broken build from hanging the run; the tests assert on what
    happened, never on how long it took.
    """
    loop = asyncio.get_running_loop()
    give_up = loop.time() + within
    while not await condition():
        if loop.time() > give_up:
            raise AssertionError(f"still waiting, after {within:.0f} s, for {what}")
        await asyncio.sleep(0.02)
