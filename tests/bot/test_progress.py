"""/progress: a PNG chart of the stated size, both names, the trend in words."""

from __future__ import annotations

import struct
from datetime import date, timedelta

from bot.progress_chart import ChartInput, chart_figure, render
from routines.progress import RatedSession, progress
from tests.bot.history_helpers import daily, finished
from tests.bot.session_helpers import ANA, BEN, pair_in_database
from tests.harness import BotHarness, Person

MONDAY = date(2026, 11, 2)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == PNG_SIGNATURE
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_the_chart_is_a_wide_png_with_both_partners_named() -> None:
    sessions = [RatedSession(day, {1: 2, 2: 4}) for day in daily(MONDAY - timedelta(weeks=6), 40)]
    chart = ChartInput(progress(sessions, MONDAY, [1, 2]), ((1, "Ana"), (2, "Ben")))

    width, height = png_size(render(chart))
    assert width >= 800
    assert (width, height) == (1000, 800)

    figure = chart_figure(chart)
    legend = figure.axes[1].get_legend()
    assert legend is not None
    assert [text.get_text() for text in legend.get_texts()] == ["Ana", "Ben"]
    colours = {line.get_color() for line in figure.axes[1].get_lines()}
    assert len(colours) == 2
    assert all(float(text.get_fontsize()) >= 15 for text in figure.axes[1].get_xticklabels())


async def test_progress_sends_the_chart_with_the_trend_in_words(bot: BotHarness) -> None:
    pair = await pair_in_database(bot)
    for week in range(7):
        day = MONDAY - timedelta(weeks=6 - week)
        await finished(bot, pair, day, {ANA.id: 2 + week // 3, BEN.id: 3})

    await bot.say(ANA, "/progress")
    photo = bot.last(ANA.id)
    assert photo.file is not None
    assert png_size(photo.file)[0] >= 800
    # Week one: (2 + 3) / 2 = 2.5; week seven: (4 + 3) / 2 = 3.5, six weeks later.
    assert "Back-feel up from 2.5 to 3.5 in six weeks." in photo.text
    assert "7 sessions with Ben in the last 12 weeks." in photo.text


async def test_a_pair_without_sessions_gets_a_line_not_a_chart(bot: BotHarness) -> None:
    await pair_in_database(bot)
    await bot.say(ANA, "/progress")
    assert "nothing to chart yet" in bot.last(ANA.id).text
    assert bot.world.calls_of("sendPhoto") == []


async def test_a_partners_name_is_escaped_in_the_caption(bot: BotHarness) -> None:
    tricky = Person(404, "Bo & <i>Co</i>")
    pair = await pair_in_database(bot, ANA, tricky)
    await finished(bot, pair, MONDAY, {ANA.id: 3})
    await bot.say(ANA, "/progress")
    assert "with Bo &amp; &lt;i&gt;Co&lt;/i&gt; in the last" in bot.last(ANA.id).text


async def test_a_failed_photo_upload_loses_nothing_and_the_next_try_works(
    bot: BotHarness,
) -> None:
    pair = await pair_in_database(bot)
    await finished(bot, pair, MONDAY, {ANA.id: 3, BEN.id: 4})
    for kind in ("server_error", "timeout"):
        bot.world.fail("sendPhoto", kind, chat_id=ANA.id)
        await bot.say(ANA, "/progress")
        assert bot.last(ANA.id).file is None
    await bot.say(ANA, "/progress")
    assert bot.last(ANA.id).file is not None
    async with bot.app.bot_data.db.unit() as unit:
        assert await unit.history.count(pair.id) == 1


async def test_a_rate_limited_photo_is_sent_once_after_the_wait(bot: BotHarness) -> None:
    pair = await pair_in_database(bot)
    await finished(bot, pair, MONDAY, {ANA.id: 3})
    bot.world.fail("sendPhoto", "retry_after", chat_id=ANA.id, retry_after=1)
    await bot.say(ANA, "/progress")
    photos = [m for m in bot.inbox(ANA.id) if m.file is not None]
    assert len(photos) == 1
