"""First contact: /start, /help and unknown commands, in private and in a group."""

from __future__ import annotations

from tests.harness import BotHarness, Group, Person

ANA = Person(101, "Ana", "ana")
BEN = Person(202, "Ben <3")
TEAM = Group(-100500, "Back office")


async def test_start_in_private_greets_each_user_by_name(bot: BotHarness) -> None:
    await bot.say(ANA, "/start")
    await bot.say(BEN, "/start")

    [to_ana] = bot.inbox(ANA.id)
    [to_ben] = bot.inbox(BEN.id)
    assert to_ana.text.startswith("Hi Ana!")
    assert "/invite" in to_ana.text and "/help" in to_ana.text
    # A name is shown as text, never as markup.
    assert to_ben.text.startswith("Hi Ben &lt;3!")
    assert bot.world.calls_of("sendMessage")[-1].params["parse_mode"] == "HTML"


async def test_start_in_private_marks_the_user_reachable(bot: BotHarness) -> None:
    await bot.say(ANA, "/start")

    async with bot.app.bot_data.db.unit() as unit:
        user = await unit.users.get(ANA.id)
    assert user is not None and user.reachable and user.username == "ana"


async def test_start_in_a_group_answers_in_the_group_and_leaves_the_user_unreachable(
    bot: BotHarness,
) -> None:
    await bot.say(ANA, "/start", chat=TEAM)

    [reply] = bot.inbox(TEAM.id)
    assert reply.text.startswith("Hi Ana!")
    assert bot.inbox(ANA.id) == []
    async with bot.app.bot_data.db.unit() as unit:
        user = await unit.users.get(ANA.id)
    assert user is not None and not user.reachable


async def test_help_lists_the_commands_in_private_and_in_a_group(bot: BotHarness) -> None:
    await bot.say(ANA, "/help")
    await bot.say(BEN, "/help@pairstretch_test_bot", chat=TEAM)

    for chat_id in (ANA.id, TEAM.id):
        [reply] = bot.inbox(chat_id)
        assert "<b>What I can do</b>" in reply.text
        for command in ("/stretch", "/invite", "/pair", "/remind", "/timezone"):
            assert command in reply.text


async def test_an_unknown_command_points_to_help(bot: BotHarness) -> None:
    await bot.say(ANA, "/dance")

    assert bot.texts(ANA.id) == ["I don't know that command. Send /help to see what I can do."]


async def test_the_command_menu_is_registered_for_private_chats_and_groups(
    bot: BotHarness,
) -> None:
    scopes = {
        call.params["scope"]["type"]: [c["command"] for c in call.params["commands"]]
        for call in bot.world.calls_of("setMyCommands")
    }
    assert "invite" in scopes["all_private_chats"]
    assert "pair" in scopes["all_group_chats"]
    assert "invite" not in scopes["all_group_chats"]
