"""A session card's buttons are made cheaply (bot/render/buttons.py) and are still PTB's.

`data_button` skips the per-attribute work of PTB's constructor; what it makes must be
the very button PTB makes: the same type, equal both ways, hashing alike, frozen, the
same attributes and the same JSON sent to Telegram. The cards' keyboards keep their
layout and callback data, compared with keyboards built from PTB's own buttons.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.callbacks import (
    SESSION_EASE_OFF,
    SESSION_KEEP_GOING,
    SESSION_PAUSE,
    SESSION_READY,
    SESSION_RESUME,
    SESSION_SKIP,
    SESSION_STOP,
    SESSION_STOP_ASK,
    pack,
)
from bot.render import session as render
from bot.render.buttons import data_button
from routines.engine import Join, Pause, Ready, SessionState, advance, new_session
from routines.loader import load_library
from routines.plan import PlanOptions, Role, Seat, build_plan

T0 = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
SESSION_ID = 4242
PARTNERS = (101, 202)


def _slots(button: InlineKeyboardButton) -> dict[str, object]:
    names = [name for klass in type(button).__mro__[:-1] for name in vars(klass)["__slots__"]]
    return {name: getattr(button, name) for name in names}


@pytest.mark.parametrize(
    ("text", "data"),
    [("Ready", "sr:12:3"), ("Skip Cat–cow <b>", "ss:1:99"), ("Ease off 🙏", "x" * 64)],
)
def test_a_data_button_is_the_button_ptb_makes(text: str, data: str) -> None:
    ours, theirs = data_button(text, data), InlineKeyboardButton(text, callback_data=data)
    assert type(ours) is InlineKeyboardButton
    assert ours == theirs and theirs == ours
    assert hash(ours) == hash(theirs)
    assert _slots(ours) == _slots(theirs)
    assert ours.to_dict() == theirs.to_dict() == {"text": text, "callback_data": data}
    assert ours.to_json() == theirs.to_json()
    assert ours != InlineKeyboardButton(text, callback_data=data + "0")


def test_a_data_button_is_frozen_as_ptbs_is() -> None:
    button = data_button("Pause", "sp:1:1")
    with pytest.raises(AttributeError):
        button.text = "Resume"
    with pytest.raises(AttributeError):
        del button.callback_data


def _ptb_keyboard(rows: list[list[tuple[str, str]]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(text, callback_data=data) for text, data in row] for row in rows]
    )


def _same(ours: InlineKeyboardMarkup, rows: list[list[tuple[str, str]]]) -> None:
    theirs = _ptb_keyboard(rows)
    assert ours == theirs
    assert ours.to_dict() == theirs.to_dict()


def _states() -> tuple[SessionState, SessionState, SessionState, SessionState]:
    """A quick session's first setup, the same with A ready, its hold, and its pause."""
    plan = build_plan(load_library()["quick"], PlanOptions())
    lobby = new_session(PARTNERS, plan, T0)
    setup = advance(lobby, Join(user_id=PARTNERS[0], version=lobby.version), T0).state
    setup = advance(setup, Join(user_id=PARTNERS[1], version=setup.version), T0).state
    one_ready = advance(setup, Ready(user_id=PARTNERS[0], version=setup.version), T0).state
    holding = advance(one_ready, Ready(user_id=PARTNERS[1], version=one_ready.version), T0).state
    paused = advance(
        holding, Pause(user_id=PARTNERS[0], version=holding.version), T0 + timedelta(seconds=9)
    ).state
    return setup, one_ready, holding, paused


def test_the_session_cards_keep_their_buttons_and_callback_data() -> None:
    setup, one_ready, holding, paused = _states()

    def data(action: str, state: SessionState) -> str:
        return pack(action, SESSION_ID, state.version)

    skip = f"Skip {setup.step.exercise.name}"
    _same(
        render.card_keyboard(SESSION_ID, setup, Seat.A),
        [
            [("Ready", data(SESSION_READY, setup))],
            [(skip, data(SESSION_SKIP, setup)), ("Stop", data(SESSION_STOP_ASK, setup))],
        ],
    )
    _same(
        render.card_keyboard(SESSION_ID, one_ready, Seat.A),
        [[(skip, data(SESSION_SKIP, one_ready)), ("Stop", data(SESSION_STOP_ASK, one_ready))]],
    )
    controls = [
        ("Pause", data(SESSION_PAUSE, holding)),
        ("Skip", data(SESSION_SKIP, holding)),
        ("Stop", data(SESSION_STOP_ASK, holding)),
    ]
    receiver = next(seat for seat in Seat if holding.step.role_of(seat) is Role.RECEIVER)
    helper = next(seat for seat in Seat if seat is not receiver)
    _same(
        render.card_keyboard(SESSION_ID, holding, receiver),
        [[("Ease off", data(SESSION_EASE_OFF, holding))], controls],
    )
    _same(render.card_keyboard(SESSION_ID, holding, helper), [controls])
    _same(
        render.card_keyboard(SESSION_ID, paused, Seat.B),
        [[("Resume", data(SESSION_RESUME, paused)), ("Stop", data(SESSION_STOP_ASK, paused))]],
    )
    _same(
        render.stop_choice_keyboard(SESSION_ID, 7),
        [
            [
                ("Stop for both", pack(SESSION_STOP, SESSION_ID, 7)),
                ("Keep going", pack(SESSION_KEEP_GOING, SESSION_ID, 7)),
            ]
        ],
    )
