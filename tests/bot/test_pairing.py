"""Becoming partners: invite links, /pair in a group, /partners and /unpair."""

from __future__ import annotations

import re
from urllib.parse import quote

from bot.services import pairing
from storage.records import PairRecord, UserRecord
from tests.fake_telegram import BOT_USERNAME, SentMessage
from tests.harness import BotHarness, Group, Person

ANA = Person(101, "Ana", "ana")
BEN = Person(202, "Ben <3")
CAM = Person(303, "Cam")
TEAM = Group(-100500, "Back office")

OPEN_CHAT = f"https://t.me/{BOT_USERNAME}?start=hello"
NEXT_STEPS = "Start a session with /stretch, or get a daily nudge with /remind 07:30."
UTC_LINE = (
    "Your time zone is <b>UTC</b> for now. Set yours with /timezone and a city, "
    "like <code>/timezone Berlin</code>."
)


# -- helpers the other pairing tests share ---------------------------------------------------


async def started(bot: BotHarness, *people: Person) -> None:
    """Each person opens a private chat with /start; their welcome is marked as read."""
    for person in people:
        await bot.say(person, "/start")
        bot.new(person.id)


async def invite(bot: BotHarness, person: Person) -> str:
    """`person` asks for an invite; returns the token of the link they got."""
    await bot.say(person, "/invite")
    [message] = bot.new(person.id)
    found = re.search(rf"https://t\.me/{BOT_USERNAME}\?start=([A-Za-z0-9_-]+)", message.text)
    assert found, message.text
    return found.group(1)


async def open_link(bot: BotHarness, person: Person, token: str) -> SentMessage:
    await bot.say(person, f"/start {token}")
    [message] = bot.new(person.id)
    return message


async def pair_by_invite(bot: BotHarness, inviter: Person, invitee: Person) -> None:
    offer = await open_link(bot, invitee, await invite(bot, inviter))
    await bot.press(invitee, offer, "Accept")
    bot.new(inviter.id)
    bot.new(invitee.id)


async def pairs_in_db(bot: BotHarness, person: Person) -> list[PairRecord]:
    async with bot.app.bot_data.db.unit() as unit:
        return await unit.pairs.of_user(person.id)


async def user_in_db(bot: BotHarness, person: Person) -> UserRecord | None:
    async with bot.app.bot_data.db.unit() as unit:
        return await unit.users.get(person.id)


def answers(bot: BotHarness) -> list[dict[str, object]]:
    return [call.params for call in bot.world.calls_of("answerCallbackQuery")]


# -- invites ---------------------------------------------------------------------------------


async def test_invite_gives_a_single_use_link_and_a_share_button(bot: BotHarness) -> None:
    await started(bot, ANA)
    await bot.say(ANA, "/invite")

    [message] = bot.new(ANA.id)
    token = re.findall(r"\?start=([A-Za-z0-9_-]+)", message.text)[0]
    link = f"https://t.me/{BOT_USERNAME}?start={token}"
    assert len(token) == 32
    assert message.text == (
        "Here is your invite link. Send it to your partner: when they open it and tap "
        f"Accept, you're paired.\n\n{link}\n\nIt works once, for 24 hours."
    )
    share = (
        f"https://t.me/share/url?url={quote(link, safe='')}"
        "&text=Stretch%20with%20me%3A%20open%20this%20link%20to%20pair%20up."
    )
    assert message.buttons == [("Share the link", share)]


async def test_only_a_hash_of_the_invite_token_is_stored(bot: BotHarness) -> None:
    await started(bot, ANA)
    token = await invite(bot, ANA)

    async with bot.app.bot_data.db.unit() as unit:
        assert await unit.invites.find(token) is None
        stored = await unit.invites.find(pairing.hash_token(token))
    assert stored is not None and stored.inviter_id == ANA.id
    assert stored.expires_at == bot.clock.now() + pairing.INVITE_LIFETIME


async def test_an_accepted_invite_pairs_the_two_and_tells_both(bot: BotHarness) -> None:
    await started(bot, ANA)
    token = await invite(bot, ANA)

    offer = await open_link(bot, BEN, token)
    assert offer.text == (
        "<b>Ana</b> invites you to be stretch partners. I'll guide you both through "
        "partner stretches, on both phones at once.\n\nDo you accept?"
    )
    assert [label for label, _ in offer.buttons] == ["Accept", "Decline"]
    assert await bot.press(BEN, offer, "Accept") is None

    assert (
        bot.last(BEN.id).text
        == f"You and <b>Ana</b> are partners now! 🎉\n{UTC_LINE}\n{NEXT_STEPS}"
    )
    assert bot.last(BEN.id).buttons == []
    assert [m.text for m in bot.new(ANA.id)] == [
        f"<b>Ben &lt;3</b> accepted your invite: you're partners now! 🎉\n{UTC_LINE}\n{NEXT_STEPS}"
    ]
    [pair] = await pairs_in_db(bot, ANA)
    assert pair.members == (ANA.id, BEN.id) and pair.timezone == "UTC"
    assert pair.home_chat_id is None
    ben = await user_in_db(bot, BEN)
    assert ben is not None and ben.reachable


async def test_a_new_pair_starts_in_the_inviters_time_zone_and_says_so(bot: BotHarness) -> None:
    await started(bot, ANA)
    await bot.say(ANA, "/timezone berlin")
    bot.new(ANA.id)
    offer = await open_link(bot, BEN, await invite(bot, ANA))
    await bot.press(BEN, offer, "Accept")

    assert "Your time zone is <b>Europe/Berlin</b> (Ana's)." in bot.last(BEN.id).text
    [to_ana] = bot.new(ANA.id)
    assert "Your time zone is <b>Europe/Berlin</b> (yours)." in to_ana.text
    [pair] = await pairs_in_db(bot, BEN)
    assert pair.timezone == "Europe/Berlin"


async def test_a_declined_invite_tells_the_inviter_kindly_and_pairs_no_one(
    bot: BotHarness,
) -> None:
    await started(bot, ANA)
    token = await invite(bot, ANA)
    offer = await open_link(bot, BEN, token)

    await bot.press(BEN, offer, "Decline")

    assert bot.last(BEN.id).text == "Okay, I've let Ana know. No hard feelings."
    assert bot.last(BEN.id).buttons == []
    assert [m.text for m in bot.new(ANA.id)] == [
        "Ben &lt;3 passed on your invite this time. No worries: you can invite someone "
        "else with /invite whenever you like."
    ]
    assert await pairs_in_db(bot, ANA) == []
    # Declining spends the link too.
    again = await open_link(bot, CAM, token)
    assert again.text.startswith("This invite link was already used.")


async def test_a_used_link_cannot_pair_anyone_else(bot: BotHarness) -> None:
    await started(bot, ANA)
    token = await invite(bot, ANA)
    offer = await open_link(bot, BEN, token)
    await bot.press(BEN, offer, "Accept")
    bot.new(ANA.id)

    reused = await open_link(bot, CAM, token)

    assert reused.text == (
        "This invite link was already used. Ask Ana to send me /invite for a fresh one."
    )
    assert reused.buttons == []
    assert await pairs_in_db(bot, CAM) == []
    assert bot.new(ANA.id) == []


async def test_an_expired_link_is_refused(bot: BotHarness) -> None:
    await started(bot, ANA)
    token = await invite(bot, ANA)
    bot.clock.advance(hours=24, seconds=1)

    late = await open_link(bot, BEN, token)

    assert late.text == (
        "This invite has expired: invites last 24 hours. Ask Ana to send me /invite for "
        "a fresh one."
    )
    assert await pairs_in_db(bot, ANA) == []


async def test_a_link_that_expires_while_the_offer_is_open_cannot_be_accepted(
    bot: BotHarness,
) -> None:
    await started(bot, ANA)
    offer = await open_link(bot, BEN, await invite(bot, ANA))
    bot.clock.advance(hours=25)

    toast = await bot.press(BEN, offer, "Accept")

    expired = (
        "This invite has expired: invites last 24 hours. Ask Ana to send me /invite for "
        "a fresh one."
    )
    assert toast == expired
    assert bot.last(BEN.id).text == expired and bot.last(BEN.id).buttons == []
    assert await pairs_in_db(bot, ANA) == []
    assert bot.new(ANA.id) == []


async def test_malformed_and_unknown_tokens_get_a_clear_line(bot: BotHarness) -> None:
    bad = "This invite link doesn't work. Ask your partner to send me /invite for a fresh one."
    for token in ("nope", "A" * 32, "!" * 32, "A" * 65):
        assert (await open_link(bot, BEN, token)).text == bad
    assert await pairs_in_db(bot, BEN) == []


async def test_opening_your_own_invite_changes_nothing(bot: BotHarness) -> None:
    await started(bot, ANA)
    token = await invite(bot, ANA)

    own = await open_link(bot, ANA, token)

    assert own.text == (
        "That's your own invite link. Send it to your partner: when they open it, "
        "you'll be paired."
    )
    # The link still works for the partner.
    assert (await open_link(bot, BEN, token)).buttons != []


async def test_an_invite_from_a_partner_you_already_have_is_refused(bot: BotHarness) -> None:
    await started(bot, ANA)
    await pair_by_invite(bot, ANA, BEN)
    token = await invite(bot, ANA)

    again = await open_link(bot, BEN, token)

    assert again.text == "You and Ana are already partners."
    assert len(await pairs_in_db(bot, ANA)) == 1


async def test_only_the_first_person_to_open_a_link_can_answer_it(bot: BotHarness) -> None:
    await started(bot, ANA)
    token = await invite(bot, ANA)
    offer = await open_link(bot, BEN, token)

    second = await open_link(bot, CAM, token)

    assert second.text == (
        "Someone else already opened this invite link. Ask Ana to send me /invite for a fresh one."
    )
    # Cam replaying Ben's button data gets nowhere; Ben's still works.
    assert await bot.press_data(CAM, offer, offer.button("Accept")) == (
        "This button no longer works."
    )
    await bot.press(BEN, offer, "Accept")
    assert [p.members for p in await pairs_in_db(bot, ANA)] == [(ANA.id, BEN.id)]


async def test_forged_invite_buttons_are_refused_politely(bot: BotHarness) -> None:
    await started(bot, ANA)
    await invite(bot, ANA)
    await bot.say(CAM, "/help")
    [help_message] = bot.new(CAM.id)

    for data in ("inv_yes:1", "inv_yes:999", "inv_yes:x", "inv_yes", "inv_no:1:2", "zzz"):
        assert await bot.press_data(CAM, help_message, data) == "This button no longer works."
    assert await pairs_in_db(bot, ANA) == []


async def test_pressing_accept_twice_pairs_once(bot: BotHarness) -> None:
    await started(bot, ANA)
    offer = await open_link(bot, BEN, await invite(bot, ANA))

    accept = offer.button("Accept")
    await bot.press_data(BEN, offer, accept)
    second = await bot.press_data(BEN, offer, accept)

    assert second == "This was already answered."
    assert offer.text.startswith("You and <b>Ana</b> are partners now!")
    assert len(await pairs_in_db(bot, ANA)) == 1
    assert len(bot.new(ANA.id)) == 1


async def test_the_open_chat_link_greets_and_marks_the_user_reachable(bot: BotHarness) -> None:
    await bot.say(BEN, "Hi all", chat=TEAM)
    await bot.say(ANA, "/start", chat=TEAM)

    await bot.say(BEN, "/start hello")

    [welcome] = bot.inbox(BEN.id)
    assert welcome.text.startswith("Hi Ben &lt;3!")
    ben = await user_in_db(bot, BEN)
    assert ben is not None and ben.reachable


# -- /pair in a group ------------------------------------------------------------------------


async def _ask_in_group(bot: BotHarness, asker: Person, partner: Person) -> SentMessage:
    said = await bot.say(partner, "Shall we stretch?", chat=TEAM)
    await bot.say(asker, "/pair", chat=TEAM, reply_to=said)
    return bot.last(TEAM.id)


async def test_pair_in_a_group_asks_the_partner_who_accepts(bot: BotHarness) -> None:
    await started(bot, ANA, BEN)

    request = await _ask_in_group(bot, ANA, BEN)

    assert request.text == (
        f'<a href="tg://user?id={BEN.id}">Ben &lt;3</a>, <b>Ana</b> would like to be your '
        "stretch partner. Only you can answer."
    )
    assert [label for label, _ in request.buttons] == ["Accept", "Decline"]
    assert await bot.press(BEN, request, "Accept") is None

    assert request.text == (
        "<b>Ana</b> and <b>Ben &lt;3</b> are partners now! 🎉\n"
        "This group is your home: /stretch here starts a session for the two of you.\n"
        f"{UTC_LINE}"
    )
    assert request.buttons == []
    [pair] = await pairs_in_db(bot, ANA)
    assert pair.members == (ANA.id, BEN.id) and pair.home_chat_id == TEAM.id
    assert bot.new(ANA.id) == [] and bot.new(BEN.id) == []


async def test_a_bystander_pressing_accept_gets_an_alert_and_changes_nothing(
    bot: BotHarness,
) -> None:
    await started(bot, ANA, BEN)
    request = await _ask_in_group(bot, ANA, BEN)
    before = request.text

    # An alert is plain text: the name shows as typed, not HTML-escaped.
    assert await bot.press(CAM, request, "Accept") == "Only Ben <3 can answer this."
    assert await bot.press(ANA, request, "Decline") == "Only Ben <3 can answer this."

    assert answers(bot)[-1]["show_alert"] is True
    assert request.text == before and request.edits == 0
    assert await pairs_in_db(bot, ANA) == []
    await bot.press(BEN, request, "Accept")
    assert len(await pairs_in_db(bot, ANA)) == 1


async def test_a_partner_not_yet_reachable_gets_a_button_to_open_a_private_chat(
    bot: BotHarness,
) -> None:
    await started(bot, ANA)

    request = await _ask_in_group(bot, ANA, BEN)

    assert request.text.endswith(
        "\n\nBen &lt;3, please also open a chat with me (button below): I guide each of "
        "you through the stretches in private."
    )
    assert request.buttons[-1] == ("Open a chat with me", OPEN_CHAT)
    ben = await user_in_db(bot, BEN)
    assert ben is not None and not ben.reachable

    await bot.press(BEN, request, "Accept")

    assert request.text.endswith(
        "\n\nBen &lt;3: please open a chat with me first, so I can guide your sessions."
    )
    assert request.buttons == [("Open a chat with me", OPEN_CHAT)]
    assert len(await pairs_in_db(bot, BEN)) == 1


async def test_a_declined_group_request_pairs_no_one(bot: BotHarness) -> None:
    await started(bot, ANA, BEN)
    request = await _ask_in_group(bot, ANA, BEN)

    accept = request.button("Accept")
    await bot.press(BEN, request, "Decline")
    late = await bot.press_data(BEN, request, accept)

    assert request.text == "Ben &lt;3 passed this time. No worries, Ana."
    assert request.buttons == []
    assert late == "This was already answered."
    assert await pairs_in_db(bot, ANA) == []


async def test_a_group_request_left_for_a_day_expires(bot: BotHarness) -> None:
    await started(bot, ANA, BEN)
    request = await _ask_in_group(bot, ANA, BEN)
    bot.clock.advance(hours=24, seconds=1)

    toast = await bot.press(BEN, request, "Accept")

    assert toast == "This request has expired. Send /pair again as a reply."
    assert request.text == toast and request.buttons == []
    assert await pairs_in_db(bot, ANA) == []


async def test_forged_group_request_buttons_change_nothing(bot: BotHarness) -> None:
    await started(bot, ANA, BEN)
    request = await _ask_in_group(bot, ANA, BEN)

    for data in ("pair_yes:999", "pair_yes:-1", "pair_no:1:1", "pair_yes:1x"):
        assert await bot.press_data(BEN, request, data) == "This button no longer works."

    assert request.edits == 0
    assert await pairs_in_db(bot, ANA) == []


async def test_pair_explains_what_to_do_without_a_reply_to_a_bot_or_to_yourself(
    bot: BotHarness,
) -> None:
    await bot.say(ANA, "/pair", chat=TEAM)
    await bot.say(ANA, "/help", chat=TEAM)
    await bot.say(ANA, "/pair", chat=TEAM, reply_to=bot.last(TEAM.id))
    mine = await bot.say(ANA, "Stretch time", chat=TEAM)
    await bot.say(ANA, "/pair", chat=TEAM, reply_to=mine)
    await bot.say(ANA, "/pair")

    group = bot.texts(TEAM.id)
    assert group[0] == "Reply to your partner's message with /pair, and I'll ask them here."
    assert group[2] == (
        "That's a bot, not a stretch partner. Reply to your partner's message with /pair."
    )
    assert group[3] == "That's your own message. Reply to your partner's message with /pair."
    assert bot.texts(ANA.id) == [
        "/pair works in a group, as a reply to your partner's message. Here in private, "
        "send /invite to get a link for your partner."
    ]
    assert await pairs_in_db(bot, ANA) == []


async def test_pair_stores_both_people_seen_in_the_group_as_not_reachable(
    bot: BotHarness,
) -> None:
    await _ask_in_group(bot, ANA, BEN)

    for person in (ANA, BEN):
        user = await user_in_db(bot, person)
        assert user is not None and not user.reachable


async def test_pair_with_someone_already_your_partner_in_this_group_is_refused(
    bot: BotHarness,
) -> None:
    await started(bot, ANA, BEN)
    await bot.press(BEN, await _ask_in_group(bot, ANA, BEN), "Accept")

    await _ask_in_group(bot, BEN, ANA)

    assert bot.last(TEAM.id).text == "You and Ana are already partners."
    assert len(await pairs_in_db(bot, ANA)) == 1


async def test_partners_paired_by_invite_can_make_a_group_their_home(bot: BotHarness) -> None:
    await started(bot, ANA, BEN)
    await pair_by_invite(bot, ANA, BEN)

    request = await _ask_in_group(bot, BEN, ANA)
    await bot.press(ANA, request, "Accept")

    assert request.text.startswith("<b>Ben &lt;3</b> and <b>Ana</b> are partners.\n")
    [pair] = await pairs_in_db(bot, ANA)
    assert pair.home_chat_id == TEAM.id


# -- /partners and /unpair -------------------------------------------------------------------


async def test_partners_lists_each_partner_with_time_zone_and_home_group(
    bot: BotHarness,
) -> None:
    await bot.say(ANA, "/partners")
    assert bot.new(ANA.id)[0].text == (
        "You have no partner yet. Send /invite to get a link for them, or reply to their "
        "message in a group with /pair."
    )
    await started(bot, ANA, BEN, CAM)
    await bot.press(BEN, await _ask_in_group(bot, ANA, BEN), "Accept")
    await bot.say(CAM, "/timezone Kathmandu")
    bot.new(CAM.id)
    await pair_by_invite(bot, CAM, ANA)

    await bot.say(ANA, "/partners")

    assert [m.text for m in bot.new(ANA.id)] == [
        "<b>Your partners</b>\n"
        "• <b>Ben &lt;3</b>: UTC, home group Back office\n"
        "• <b>Cam</b>: Asia/Kathmandu, no home group"
    ]


async def test_unpair_with_one_partner_confirms_and_tells_the_other(bot: BotHarness) -> None:
    await started(bot, ANA, BEN)
    await pair_by_invite(bot, ANA, BEN)

    await bot.say(ANA, "/unpair")
    [confirm] = bot.new(ANA.id)
    assert confirm.text == (
        "End your partnership with <b>Ben &lt;3</b>? Your shared reminders and history "
        "will be deleted, and I'll let them know."
    )
    assert [label for label, _ in confirm.buttons] == ["Yes, end it", "Keep it"]
    await bot.press(ANA, confirm, "Yes, end it")

    assert confirm.text == "Done: you and Ben &lt;3 are no longer partners."
    assert [m.text for m in bot.new(BEN.id)] == [
        "Ana ended your partnership. Thanks for stretching together. You can pair with "
        "someone new with /invite."
    ]
    assert await pairs_in_db(bot, ANA) == []
    stale = await bot.press_data(ANA, confirm, "unpair_yes:1")
    assert stale == "This partnership has already ended."


async def test_unpair_with_two_partners_asks_which_and_ends_only_that_one(
    bot: BotHarness,
) -> None:
    await started(bot, ANA, BEN, CAM)
    await pair_by_invite(bot, ANA, BEN)
    await pair_by_invite(bot, CAM, ANA)

    await bot.say(ANA, "/unpair")
    [choose] = bot.new(ANA.id)
    assert choose.text == "Which partnership do you want to end?"
    assert [label for label, _ in choose.buttons] == ["Ben <3", "Cam"]
    # Ben cannot act on Ana and Cam's pair.
    assert await bot.press(BEN, choose, "Cam") == "This button isn't for you."
    await bot.press(ANA, choose, "Cam")
    assert choose.text.startswith("End your partnership with <b>Cam</b>?")
    await bot.press(ANA, choose, "Keep it")
    assert choose.text == "Okay, you and Cam stay partners."
    assert len(await pairs_in_db(bot, ANA)) == 2

    await bot.say(ANA, "/unpair")
    [choose] = bot.new(ANA.id)
    await bot.press(ANA, choose, "Cam")
    await bot.press(ANA, choose, "Yes, end it")

    assert choose.text == "Done: you and Cam are no longer partners."
    assert [p.members for p in await pairs_in_db(bot, ANA)] == [(ANA.id, BEN.id)]
    assert bot.new(BEN.id) == []
    assert [m.text for m in bot.new(CAM.id)] == [
        "Ana ended your partnership. Thanks for stretching together. You can pair with "
        "someone new with /invite."
    ]


async def test_unpair_without_a_partner_says_so(bot: BotHarness) -> None:
    await bot.say(ANA, "/unpair")

    assert bot.texts(ANA.id) == [
        "You have no partner yet. Send /invite to get a link for them, or reply to their "
        "message in a group with /pair."
    ]


async def test_invite_in_a_group_points_to_the_private_chat(bot: BotHarness) -> None:
    await bot.say(ANA, "/invite", chat=TEAM)

    assert bot.texts(TEAM.id) == [
        "Invites are personal: send me /invite in our private chat. Here in the group, "
        "reply to your partner's message with /pair."
    ]
