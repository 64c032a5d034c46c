"""Two people accepting each other's invites at the same moment end as one pair.

These run on SQLite and, when TEST_DATABASE_URL is set, on PostgreSQL, where two
transactions really overlap.
"""

from __future__ import annotations

import asyncio

import pytest

from bot.config import Settings
from bot.services import pairing
from bot.services.users import Account
from tests.bot.test_pairing import ANA, BEN, invite, open_link, pairs_in_db, started
from tests.conftest import make_settings
from tests.fake_telegram import SentMessage
from tests.harness import BotHarness


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(database_url)


async def test_two_people_accepting_each_others_invites_at_once_become_one_pair(
    bot: BotHarness,
) -> None:
    await started(bot, ANA, BEN)
    offer_to_ben = await open_link(bot, BEN, await invite(bot, ANA))
    offer_to_ana = await open_link(bot, ANA, await invite(bot, BEN))

    await asyncio.gather(
        bot.press(BEN, offer_to_ben, "Accept"), bot.press(ANA, offer_to_ana, "Accept")
    )

    assert len(await pairs_in_db(bot, ANA)) == 1
    offers = sorted([offer_to_ana.text, offer_to_ben.text], key=lambda text: "already" in text)
    assert offers[0].startswith("You and <b>") and "are partners now! 🎉" in offers[0]
    assert offers[1] in (
        "You and Ana are already partners.",
        "You and Ben &lt;3 are already partners.",
    )
    news = [m.text for m in bot.new(ANA.id) + bot.new(BEN.id)]
    assert len(news) == 1 and "accepted your invite: you're partners now!" in news[0]


async def test_two_accepts_racing_in_the_services_end_with_one_pair(bot: BotHarness) -> None:
    """The application runs one update at a time; the services must hold up without that."""
    await started(bot, ANA, BEN)
    offer_to_ben = await open_link(bot, BEN, await invite(bot, ANA))
    offer_to_ana = await open_link(bot, ANA, await invite(bot, BEN))
    ana, ben = Account(ANA.id, ANA.first_name), Account(BEN.id, BEN.first_name)
    data = bot.app.bot_data

    results = await asyncio.gather(
        pairing.answer_invite(data, ben, _invite_id(offer_to_ben), accept=True),
        pairing.answer_invite(data, ana, _invite_id(offer_to_ana), accept=True),
        return_exceptions=True,
    )

    paired = [r for r in results if isinstance(r, pairing.Paired)]
    refused = [r for r in results if isinstance(r, pairing.PairingRefused)]
    assert len(paired) == 1 and paired[0].created
    assert [r.refusal for r in refused] == [pairing.PairingRefusal.ALREADY_PAIRED]
    assert len(await pairs_in_db(bot, ANA)) == 1


def _invite_id(offer: SentMessage) -> int:
    return int(offer.button("Accept").split(":")[1])
