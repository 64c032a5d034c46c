"""Shared pieces for anything that acts on one of a user's pairs."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from storage.records import PairRecord, UserRecord


def partner_name(pair: PairRecord, me: int, users: Mapping[int, UserRecord]) -> str:
    """The other partner's first name as typed: escape it before it goes into HTML."""
    partner = users.get(pair.partner_of(me))
    return partner.first_name if partner else "your partner"


def choose_pair_keyboard(
    pairs: list[PairRecord],
    me: int,
    users: Mapping[int, UserRecord],
    data_for: Callable[[PairRecord], str],
) -> InlineKeyboardMarkup:
    """One button per partner, for commands that must ask "with whom?"."""
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(partner_name(pair, me, users), callback_data=data_for(pair))]
            for pair in pairs
        ]
    )
