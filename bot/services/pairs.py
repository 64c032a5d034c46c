"""Which pair a command is about, from who sent it and where."""

from __future__ import annotations

from dataclasses import dataclass

from bot.context import BotData
from storage.records import PairRecord, UserRecord


@dataclass(frozen=True, slots=True)
class PairsInReach:
    """The pairs a command in this chat may act on, with their members' names."""

    pairs: list[PairRecord]
    users: dict[int, UserRecord]


async def pairs_in_reach(data: BotData, user_id: int, chat_id: int, private: bool) -> PairsInReach:
    """In private: every pair of the user. In a group: the pairs whose home it is.

    A command in a group acts only on pairs that call it home, so a colleague's
    /remind in the office group cannot touch the user's pair with their flatmate.
    """
    async with data.db.unit() as unit:
        pairs = await unit.pairs.of_user(user_id)
        if not private:
            pairs = [pair for pair in pairs if pair.home_chat_id == chat_id]
        member_ids = sorted({member for pair in pairs for member in pair.members})
        users = await unit.users.get_many(member_ids)
    return PairsInReach(pairs, users)


async def pair_of_member(data: BotData, pair_id: int, user_id: int) -> PairRecord | None:
    """The pair, if `user_id` belongs to it: a pair id from a button is checked here."""
    async with data.db.unit() as unit:
        pair = await unit.pairs.get(pair_id)
    return pair if pair is not None and pair.has_member(user_id) else None
