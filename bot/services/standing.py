"""Where a user stands: not paired, paired (with whom), or in a live session.

/start, /help and the answer to a message that is not a command all read this, so
the bot always knows which next step to offer.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.live_session import Live
from bot.services import sessions
from bot.services.pairing import Partners, pairs_in_reach
from bot.services.resources import Resources


@dataclass(frozen=True, slots=True)
class Standing:
    """The user's pairs (with everyone named in them) and their live session, if any."""

    partners: Partners
    live: Live | None

    @property
    def paired(self) -> bool:
        return bool(self.partners.pairs)


async def standing_of(data: Resources, user_id: int) -> Standing:
    """Read the user's pairs and live session (two short reads; nothing is changed)."""
    partners = await pairs_in_reach(data, user_id)
    record = await sessions.live_of_user(data, user_id)
    live = None if record is None else await sessions.load(data, record.id)
    return Standing(partners, live)
