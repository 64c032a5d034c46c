"""Becoming partners and parting: invites, group requests, /unpair, the pair's time zone,
and which of a user's pairs a command or a button means.

Each function is one unit of work. Refusals are `PairingRefused` with a reason the
renderer turns into one clear line; nothing is written when a refusal is raised.
"""

from __future__ import annotations

import enum
import hashlib
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.services import reminder_slots
from bot.services.resources import Resources
from bot.services.users import Account
from storage.records import CardRecord, PairRecord, PairRequestRecord, UserRecord
from storage.unit_of_work import UnitOfWork

INVITE_LIFETIME = timedelta(hours=24)
REQUEST_LIFETIME = timedelta(hours=24)
# The /start payload of links that only open the private chat (no invite in them).
OPEN_CHAT_PAYLOAD = "hello"
# secrets.token_urlsafe(24): 192 random bits in 32 characters Telegram allows in a payload.
_TOKEN_BYTES = 24
_TOKEN_SHAPE = re.compile(r"^[A-Za-z0-9_-]{32}$")
DEFAULT_TIMEZONE = "UTC"

log = logging.getLogger(__name__)


class PairingRefusal(enum.Enum):
    """Why a pairing, unpairing or time-zone request changed nothing."""

    BAD_LINK = "bad_link"  # malformed, or no such invite
    EXPIRED = "expired"
    USED = "used"
    TAKEN = "taken"  # someone else opened the link first
    OWN = "own"
    ALREADY_PAIRED = "already_paired"
    GONE = "gone"  # a button for something that no longer exists (or never did)
    ANSWERED = "answered"
    NOT_YOURS = "not_yours"  # a tap by someone the button is not meant for


class PairingRefused(Exception):
    """Why nothing happened; `other` is the person the line should name, if any."""

    def __init__(self, refusal: PairingRefusal, other: UserRecord | None = None) -> None:
        super().__init__(refusal.value)
        self.refusal = refusal
        self.other = other


@dataclass(frozen=True, slots=True)
class NewInvite:
    token: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class OpenedInvite:
    invite_id: int
    inviter: UserRecord


@dataclass(frozen=True, slots=True)
class Paired:
    """Two people are partners; `asker` invited or sent /pair, `answerer` accepted."""

    pair: PairRecord
    asker: UserRecord
    answerer: UserRecord
    # False when the two were partners already (a group /pair then only sets the home).
    created: bool
    # True when the pair's zone came from the asker, False when it is the UTC default.
    zone_from_asker: bool


@dataclass(frozen=True, slots=True)
class Declined:
    asker: UserRecord
    answerer: UserRecord


@dataclass(frozen=True, slots=True)
class GroupRequest:
    request: PairRequestRecord
    requester: UserRecord
    partner: UserRecord


@dataclass(frozen=True, slots=True)
class Partners:
    """Some of a user's pairs, with everyone named in them."""

    me: int
    pairs: list[PairRecord]
    users: dict[int, UserRecord]

    def partner(self, pair: PairRecord) -> UserRecord | None:
        return self.users.get(pair.partner_of(self.me))


@dataclass(frozen=True, slots=True)
class Unpaired:
    pair: PairRecord
    me: UserRecord | None
    partner: UserRecord | None
    # The pair's session that was running, ended with the pair, and the cards its phones
    # showed: they are told it ended instead of keeping buttons that no longer work.
    ended_session: int | None = None
    session_cards: tuple[CardRecord, ...] = ()


@dataclass(frozen=True, slots=True)
class ZoneSet:
    """The outcome of /timezone: the pair it was set on, or none (kept for the user)."""

    zone: str
    pair: PairRecord | None
    partner: UserRecord | None
    me: UserRecord


# -- invites ---------------------------------------------------------------------------------


def hash_token(token: str) -> str:
    """What the database keeps of a token: a leak of the table opens no invite."""
    return hashlib.sha256(token.encode()).hexdigest()


def invite_link(bot_username: str, token: str) -> str:
    return f"https://t.me/{bot_username}?start={token}"


def open_chat_link(bot_username: str) -> str:
    """A link that opens the private chat with the bot, so it may write to the user."""
    return f"https://t.me/{bot_username}?start={OPEN_CHAT_PAYLOAD}"


async def create_invite(data: Resources, user: Account) -> NewInvite:
    """A fresh single-use invite from `user`, valid for 24 hours."""
    token = secrets.token_urlsafe(_TOKEN_BYTES)
    now = data.clock.now()
    async with data.db.unit() as unit:
        await _remember(unit, user, now, reachable=True)
        invite = await unit.invites.add(hash_token(token), user.id, now, now + INVITE_LIFETIME)
        await unit.commit()
    return NewInvite(token, invite.expires_at)


async def open_invite(data: Resources, user: Account, token: str) -> OpenedInvite:
    """`user` opened an invite link: check it, and reserve it for them to answer."""
    if not _TOKEN_SHAPE.match(token):
        raise PairingRefused(PairingRefusal.BAD_LINK)
    now = data.clock.now()
    async with data.db.unit() as unit:
        await _remember(unit, user, now, reachable=True)
        invite = await unit.invites.find(hash_token(token))
        if invite is None:
            raise PairingRefused(PairingRefusal.BAD_LINK)
        inviter = await unit.users.get(invite.inviter_id)
        if inviter is None:
            raise PairingRefused(PairingRefusal.BAD_LINK)
        if invite.inviter_id == user.id:
            raise PairingRefused(PairingRefusal.OWN)
        if invite.used_at is not None:
            raise PairingRefused(PairingRefusal.USED, inviter)
        if invite.expires_at <= now:
            raise PairingRefused(PairingRefusal.EXPIRED, inviter)
        if await unit.pairs.find(user.id, inviter.id) is not None:
            raise PairingRefused(PairingRefusal.ALREADY_PAIRED, inviter)
        if not await unit.invites.claim(invite.id, user.id, now):
            raise PairingRefused(PairingRefusal.TAKEN, inviter)
        await unit.commit()
    return OpenedInvite(invite.id, inviter)


async def answer_invite(
    data: Resources, user: Account, invite_id: int, *, accept: bool
) -> Paired | Declined:
    """Accept or decline an invite `user` opened; the invite is spent either way."""
    now = data.clock.now()
    async with data.db.unit() as unit:
        # The write comes first: of two answers at once, one spends the invite.
        if not await unit.invites.use(
            invite_id, user.id, now, "accepted" if accept else "declined"
        ):
            raise await _unusable_invite(unit, invite_id, user.id, now)
        invite = await unit.invites.get(invite_id)
        assert invite is not None
        inviter = await unit.users.get(invite.inviter_id)
        me = await _remember(unit, user, now, reachable=True)
        assert inviter is not None
        if not accept:
            await unit.commit()
            return Declined(inviter, me)
        paired = await _pair_up(unit, inviter, me, now, home_chat_id=None)
        if not paired.created:
            # Partners already (maybe by the other's invite, a moment ago): keep this
            # invite unspent and say so.
            raise PairingRefused(PairingRefusal.ALREADY_PAIRED, inviter)
        await unit.commit()
    return paired


async def _unusable_invite(
    unit: UnitOfWork, invite_id: int, user_id: int, now: datetime
) -> PairingRefused:
    invite = await unit.invites.get(invite_id)
    if invite is None:
        return PairingRefused(PairingRefusal.GONE)
    inviter = await unit.users.get(invite.inviter_id)
    if invite.used_by_id != user_id:
        return PairingRefused(PairingRefusal.GONE)
    if invite.used_at is not None:
        # The same tap twice (updates can arrive twice): the first one counted.
        return PairingRefused(PairingRefusal.ANSWERED, inviter)
    return PairingRefused(
        PairingRefusal.EXPIRED if invite.expires_at <= now else PairingRefusal.GONE, inviter
    )


# -- /pair in a group ------------------------------------------------------------------------


async def ask_in_group(
    data: Resources, requester: Account, partner: Account, chat_id: int
) -> GroupRequest:
    """Record a /pair request; both people are remembered as seen in a group."""
    now = data.clock.now()
    async with data.db.unit() as unit:
        asker = await _remember(unit, requester, now, reachable=None)
        other = await _remember(unit, partner, now, reachable=None)
        pair = await unit.pairs.find(asker.id, other.id)
        # Partners made by an invite may still pick this group as their home.
        if pair is not None and pair.home_chat_id == chat_id:
            raise PairingRefused(PairingRefusal.ALREADY_PAIRED, other)
        request = await unit.pair_requests.add(chat_id, asker.id, other.id, now)
        await unit.commit()
    return GroupRequest(request, asker, other)


async def answer_pair_request(
    data: Resources, user: Account, request_id: int, *, accept: bool
) -> Paired | Declined:
    """The named partner's tap on a group request; anyone else's changes nothing."""
    now = data.clock.now()
    async with data.db.unit() as unit:
        request = await unit.pair_requests.get(request_id)
        if request is None:
            raise PairingRefused(PairingRefusal.GONE)
        requester = await unit.users.get(request.requester_id)
        partner = await unit.users.get(request.partner_id)
        assert requester is not None and partner is not None
        if user.id != request.partner_id:
            raise PairingRefused(PairingRefusal.NOT_YOURS, partner)
        if request.resolved_at is not None:
            raise PairingRefused(PairingRefusal.ANSWERED)
        if request.created_at + REQUEST_LIFETIME <= now:
            raise PairingRefused(PairingRefusal.EXPIRED, requester)
        if not await unit.pair_requests.resolve(
            request_id, now, "accepted" if accept else "declined"
        ):
            raise PairingRefused(PairingRefusal.ANSWERED)
        me = await _remember(unit, user, now, reachable=None)
        if not accept:
            await unit.commit()
            return Declined(requester, me)
        paired = await _pair_up(unit, requester, me, now, home_chat_id=request.chat_id)
        await unit.commit()
    return paired


async def _pair_up(
    unit: UnitOfWork,
    asker: UserRecord,
    answerer: UserRecord,
    now: datetime,
    *,
    home_chat_id: int | None,
) -> Paired:
    zone = asker.timezone or DEFAULT_TIMEZONE
    pair, created = await unit.pairs.create(
        asker.id, answerer.id, now, timezone=zone, home_chat_id=home_chat_id
    )
    if created:
        log.info("pair %s made: users %s and %s", pair.id, asker.id, answerer.id)
    if not created and home_chat_id is not None:
        await unit.pairs.set_home_chat(pair.id, home_chat_id)
        pair = await unit.pairs.get(pair.id) or pair
    return Paired(pair, asker, answerer, created, zone_from_asker=asker.timezone is not None)


# -- which pair a command means, and unpairing -----------------------------------------------


async def pairs_in_reach(
    data: Resources, user_id: int, group_id: int | None = None, *, only_home: bool = False
) -> Partners:
    """The pairs a command from `user_id` may mean, oldest first, with their members.

    In private (`group_id` None): every pair of the user. In a group: the one pair whose
    home it is, else all of them; with `only_home`, only the pairs whose home it is, so a
    colleague's /remind in the office group cannot touch the user's pair with their
    flatmate. One pair: act on it. None: no partner here. Several: ask which.
    """
    async with data.db.unit() as unit:
        pairs = await unit.pairs.of_user(user_id)
        if group_id is not None:
            at_home = [pair for pair in pairs if pair.home_chat_id == group_id]
            if only_home or len(at_home) == 1:
                pairs = at_home
        members = {user_id, *(member for pair in pairs for member in pair.members)}
        users = await unit.users.get_many(sorted(members))
    return Partners(user_id, pairs, users)


async def pair_of_member(data: Resources, user_id: int, pair_id: int) -> Partners:
    """One pair, for a button only its two members may use."""
    async with data.db.unit() as unit:
        pair = await _member_pair(unit, user_id, pair_id)
        users = await unit.users.get_many(list(pair.members))
    return Partners(user_id, [pair], users)


async def end_pair(data: Resources, user_id: int, pair_id: int) -> Unpaired:
    """End a partnership (its sessions, reminders and history go with it)."""
    async with data.db.unit() as unit:
        pair = await _member_pair(unit, user_id, pair_id)
        users = await unit.users.get_many(list(pair.members))
        # Read before the pair goes: its session and cards are deleted with it.
        live = await unit.sessions.live_of_user(user_id)
        ended = live.id if live is not None and live.pair_id == pair_id else None
        cards = () if ended is None else tuple(await unit.sessions.cards(ended))
        if not await unit.pairs.remove(pair_id):
            raise PairingRefused(PairingRefusal.GONE)
        await unit.commit()
    log.info("pair %s ended by user %s (live session: %s)", pair_id, user_id, ended)
    return Unpaired(pair, users.get(user_id), users.get(pair.partner_of(user_id)), ended, cards)


async def move_home(data: Resources, old_chat_id: int, new_chat_id: int) -> int:
    """A group that became a supergroup (a new chat id) stays its pairs' home.

    Telegram tells it twice (in the old chat and in the new one): the second finds no
    pair left at the old id, so it changes nothing.
    """
    async with data.db.unit() as unit:
        moved = await unit.pairs.move_home(old_chat_id, new_chat_id)
        await unit.commit()
    if moved:
        log.info("group %s is now %s: %s pairs moved along", old_chat_id, new_chat_id, moved)
    return moved


# -- time zones ------------------------------------------------------------------------------


async def set_timezone(data: Resources, user: Account, zone: str, pair_id: int | None) -> ZoneSet:
    """Set a pair's zone (and remember it as the user's own); `pair_id=None` when the user
    has no pair yet, so the zone waits for their first one."""
    now = data.clock.now()
    async with data.db.unit() as unit:
        pair = None
        if pair_id is not None:
            pair = await _member_pair(unit, user.id, pair_id)
            await unit.pairs.set_timezone(pair.id, zone)
            # Reminder slots are local times: their next instants move with the zone.
            await reminder_slots.reschedule_pair(unit, pair.id, now)
            pair = await unit.pairs.get(pair.id)
        me = await _remember(unit, user, now, reachable=None)
        await unit.users.set_timezone(user.id, zone, now)
        partner = None if pair is None else await unit.users.get(pair.partner_of(user.id))
        await unit.commit()
    return ZoneSet(zone, pair, partner, me)


# -- helpers ---------------------------------------------------------------------------------


async def _remember(
    unit: UnitOfWork, user: Account, now: datetime, *, reachable: bool | None
) -> UserRecord:
    return await unit.users.remember(
        user.id, user.first_name, user.username, now, reachable=reachable
    )


async def _member_pair(unit: UnitOfWork, user_id: int, pair_id: int) -> PairRecord:
    """The pair a button names, if it still exists and `user_id` is one of its two."""
    pair = await unit.pairs.get(pair_id)
    if pair is None:
        raise PairingRefused(PairingRefusal.GONE)
    if not pair.has_member(user_id):
        raise PairingRefused(PairingRefusal.NOT_YOURS)
    return pair
