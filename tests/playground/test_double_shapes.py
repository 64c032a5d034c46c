"""Every Bot API method the bot calls is answered in Telegram's shape.

Each call goes over HTTP as PTB sends it, and each result is read back with PTB's own
`de_json` for the class Telegram documents for that method. A field PTB does not know
would land in `api_kwargs`: none may, so the double invents nothing. One difference is
kept on purpose: texts come back with their HTML as sent, not parsed into entities.
"""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from collections.abc import Iterator
from typing import Any, TypeVar

import pytest
from telegram import (
    Bot,
    ChatFullInfo,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    TelegramObject,
    Update,
    User,
)

from bot.playground.double import BotApiDouble
from bot.playground.people import Group, Person
from tests.conftest import TEST_TOKEN

ANA = Person(101, "Ana")
TEAM = Group(-100555, "Team")
T = TypeVar("T", bound=TelegramObject)
MARKUP = {"inline_keyboard": [[{"text": "Go", "callback_data": "g:1"}]]}


@pytest.fixture
def double() -> Iterator[BotApiDouble]:
    with BotApiDouble(token=TEST_TOKEN) as api:
        # The bot may write only to people who opened a chat with it, and to known groups.
        api.push_message(ANA, "/start")
        api.push_message(ANA, "hello all", TEAM)
        yield api


def call(double: BotApiDouble, method: str, **params: Any) -> Any:
    """One call as PTB makes it (form fields, non-text ones JSON-encoded); its result."""
    form = {k: v if isinstance(v, str) else json.dumps(v) for k, v in params.items()}
    request = urllib.request.Request(
        f"{double.base_url}{TEST_TOKEN}/{method}",
        data=urllib.parse.urlencode(form).encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        body = json.load(response)
    assert body["ok"] is True, body
    return body["result"]


def parsed(cls: type[T], result: dict[str, Any]) -> T:
    obj = cls.de_json(result, Bot(TEST_TOKEN))
    assert obj.api_kwargs == {}, f"{cls.__name__} got fields PTB does not know: {obj.api_kwargs}"
    return obj


def test_get_me_is_a_bot_user(double: BotApiDouble) -> None:
    me = parsed(User, call(double, "getMe"))
    assert me.is_bot and me.username


def test_send_message_is_a_message_with_its_text_and_keyboard(double: BotApiDouble) -> None:
    result = call(
        double, "sendMessage", chat_id=ANA.id, text="<b>Hi</b>", parse_mode="HTML",
        reply_markup=MARKUP,
    )  # fmt: skip
    message = parsed(Message, result)
    assert message.chat.id == ANA.id and message.text == "<b>Hi</b>"
    assert message.reply_markup == InlineKeyboardMarkup(
        [[InlineKeyboardButton("Go", callback_data="g:1")]]
    )
    assert message.from_user is not None and message.from_user.is_bot


def test_edits_answer_the_edited_message(double: BotApiDouble) -> None:
    sent = call(double, "sendMessage", chat_id=TEAM.id, text="one", reply_markup=MARKUP)
    target = {"chat_id": TEAM.id, "message_id": sent["message_id"]}

    stripped = parsed(Message, call(double, "editMessageReplyMarkup", **target))
    edited = parsed(Message, call(double, "editMessageText", text="two", **target))

    assert stripped.text == "one" and stripped.reply_markup is None
    assert edited.text == "two" and edited.edit_date is not None
    assert edited.message_id == sent["message_id"]


def test_methods_that_only_say_done_answer_true(double: BotApiDouble) -> None:
    sent = call(double, "sendMessage", chat_id=ANA.id, text="bye")
    double.push_update({"callback_query": {"id": "q1", "from": ANA.as_user(), "data": "x"}})
    commands = [{"command": "start", "description": "Begin"}]

    assert call(double, "answerCallbackQuery", callback_query_id="q1", text="Done") is True
    assert call(double, "deleteMessage", chat_id=ANA.id, message_id=sent["message_id"]) is True
    assert call(double, "setMyCommands", commands=commands) is True
    assert call(double, "deleteMyCommands") is True
    assert call(double, "sendChatAction", chat_id=ANA.id, action="typing") is True
    assert call(double, "setWebhook", url="https://example.org/hook") is True
    assert call(double, "deleteWebhook") is True


def test_get_chat_is_a_full_chat_info(double: BotApiDouble) -> None:
    chat = parsed(ChatFullInfo, call(double, "getChat", chat_id=TEAM.id))
    assert chat.id == TEAM.id and chat.title == "Team" and chat.type == "supergroup"


def test_get_updates_are_updates_with_messages_and_taps(double: BotApiDouble) -> None:
    sent = call(double, "sendMessage", chat_id=ANA.id, text="Tap", reply_markup=MARKUP)
    shown = double.messages_of(ANA.id)[-1]
    assert shown.message_id == sent["message_id"]
    double.push_tap(ANA, shown, "Go")

    updates = [parsed(Update, u) for u in call(double, "getUpdates", timeout=0)]

    texts = [u.message.text for u in updates if u.message is not None]
    assert texts == ["/start", "hello all"]
    [tap] = [u.callback_query for u in updates if u.callback_query is not None]
    assert tap.data == "g:1" and tap.from_user.id == ANA.id
    assert isinstance(tap.message, Message) and tap.message.message_id == sent["message_id"]
    group_message = updates[1].message
    assert group_message is not None and group_message.chat.title == "Team"


async def test_photos_and_documents_uploaded_by_ptb_arrive_with_their_bytes(
    double: BotApiDouble,
) -> None:
    """PTB's own Bot uploads as multipart and reads each answer with de_json itself."""
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256))
    async with Bot(TEST_TOKEN, base_url=double.base_url) as bot:
        photo = await bot.send_photo(ANA.id, png, caption="<b>Your week</b>", parse_mode="HTML")
        document = await bot.send_document(ANA.id, b"a,b\n1,2\n", filename="history.csv")

    # Telegram would answer the caption as plain text plus entities; the double keeps the
    # markup as sent, which is what the tests and the page read.
    assert photo.photo and photo.caption == "<b>Your week</b>"
    assert photo.api_kwargs == {} and document.api_kwargs == {}
    assert document.document is not None and document.document.file_name == "history.csv"
    shown = {m.message_id: m for m in double.messages_of(ANA.id)}
    assert shown[photo.message_id].file == png
    assert shown[document.message_id].file == b"a,b\n1,2\n"
