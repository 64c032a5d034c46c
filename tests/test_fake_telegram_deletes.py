"""The Bot API double deletes messages under Telegram's rules, so tests of a bot that
tidies its cards meet the refusals the real one meets."""

from __future__ import annotations

from tests.fake_telegram import World
from tests.harness import Person

ANA = Person(101, "Ana")
HOURS = 3600


def world_with_a_message(now: list[float]) -> tuple[World, int]:
    world = World(clock=lambda: now[0])
    world.add_private_chat(ANA.as_user())
    world.opened.add(ANA.id)  # Ana pressed Start: the bot may write to her
    status, body = world.answer("sendMessage", {"chat_id": ANA.id, "text": "card"})
    assert status == 200
    return world, int(body["result"]["message_id"])


def delete(world: World, message_id: int) -> tuple[int, str]:
    status, body = world.answer("deleteMessage", {"chat_id": ANA.id, "message_id": message_id})
    return status, str(body.get("description", ""))


def test_a_message_is_deleted_once_then_is_not_found_for_deletes_or_edits() -> None:
    world, message_id = world_with_a_message([1000.0])

    assert delete(world, message_id)[0] == 200
    assert world.bot_messages(ANA.id)[0].deleted
    assert delete(world, message_id) == (400, "Bad Request: message to delete not found")
    status, body = world.answer(
        "editMessageText", {"chat_id": ANA.id, "message_id": message_id, "text": "new"}
    )
    assert (status, body["description"]) == (400, "Bad Request: message to edit not found")


def test_a_message_older_than_48_hours_is_refused_and_stays() -> None:
    now = [1000.0]
    world, message_id = world_with_a_message(now)
    now[0] += 48 * HOURS + 1

    assert delete(world, message_id) == (
        400,
        "Bad Request: message can't be deleted for everyone",
    )
    assert not world.bot_messages(ANA.id)[0].deleted


def test_a_planned_refusal_to_delete_answers_a_400() -> None:
    world, message_id = world_with_a_message([1000.0])
    world.fail("deleteMessage", "cannot_delete", chat_id=ANA.id)

    assert delete(world, message_id)[0] == 400
    assert delete(world, message_id)[0] == 200
