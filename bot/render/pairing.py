"""Texts and keyboards for pairing, partners, unpairing and time zones.

Every name a user typed is escaped here; the app sends HTML.
"""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from urllib.parse import quote

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.callbacks import (
    INVITE_ACCEPT,
    INVITE_DECLINE,
    REQUEST_ACCEPT,
    REQUEST_DECLINE,
    TIMEZONE_CONFIRM,
    TIMEZONE_PICK,
    UNPAIR_CONFIRM,
    UNPAIR_KEEP,
    UNPAIR_PICK,
    pack,
)
from bot.render import basics
from bot.render.limits import MESSAGE_TEXT, echo, shorten
from bot.render.pairs import choose_pair_keyboard
from bot.services.pairing import (
    Declined,
    GroupRequest,
    Paired,
    PairingRefusal,
    Partners,
    Unpaired,
    ZoneSet,
    open_chat_link,
)
from bot.services.timezones import zone_key
from storage.records import PairRecord, UserRecord

BUTTON_GONE = basics.BUTTON_GONE


def _name(user: UserRecord | None, fallback: str = "your partner") -> str:
    return escape(user.first_name) if user else fallback


def _mention(user: UserRecord) -> str:
    """A name that notifies its owner in a group, even if they have no @username."""
    return f'<a href="tg://user?id={user.id}">{escape(user.first_name)}</a>'


def _two_buttons(accept: str, decline: str) -> list[InlineKeyboardButton]:
    return [
        InlineKeyboardButton("Accept", callback_data=accept),
        InlineKeyboardButton("Decline", callback_data=decline),
    ]


# -- invites ---------------------------------------------------------------------------------


def invite_created(link: str) -> tuple[str, InlineKeyboardMarkup]:
    text = (
        "Here is your invite link. Send it to your partner: when they open it and tap "
        "Accept, you're paired.\n\n"
        f"{escape(link)}\n\n"
        "It works once, for 24 hours."
    )
    share = (
        f"https://t.me/share/url?url={quote(link, safe='')}"
        f"&text={quote('Stretch with me: open this link to pair up.', safe='')}"
    )
    return text, InlineKeyboardMarkup([[InlineKeyboardButton("Share the link", url=share)]])


def invite_only_in_private() -> str:
    return (
        "Invites are personal: send me /invite in our private chat. "
        "Here in the group, reply to your partner's message with /pair."
    )


def invite_offer(inviter: UserRecord, invite_id: int) -> tuple[str, InlineKeyboardMarkup]:
    text = (
        f"<b>{escape(inviter.first_name)}</b> invites you to be stretch partners. "
        "I'll guide you both through partner stretches, on both phones at once.\n\n"
        "Do you accept?"
    )
    buttons = _two_buttons(pack(INVITE_ACCEPT, invite_id), pack(INVITE_DECLINE, invite_id))
    return text, InlineKeyboardMarkup([buttons])


def refusal(reason: PairingRefusal, other: UserRecord | None = None) -> str:
    """One clear line for each way a pairing attempt can fail."""
    them = _name(other, "them")
    fresh = f"Ask {_name(other, 'your partner')} to send me /invite for a fresh one."
    lines = {
        PairingRefusal.BAD_LINK: "This invite link doesn't work. Ask your partner to send me "
        "/invite for a fresh one.",
        PairingRefusal.EXPIRED: f"This invite has expired: invites last 24 hours. {fresh}",
        PairingRefusal.USED: f"This invite link was already used. {fresh}",
        PairingRefusal.TAKEN: f"Someone else already opened this invite link. {fresh}",
        PairingRefusal.OWN: "That's your own invite link. Send it to your partner: when they "
        "open it, you'll be paired.",
        PairingRefusal.ALREADY_PAIRED: f"You and {them} are already partners.",
        PairingRefusal.GONE: BUTTON_GONE,
        PairingRefusal.ANSWERED: "This was already answered.",
        PairingRefusal.NOT_YOURS: f"Only {_name(other, 'the person asked')} can answer this.",
    }
    return lines[reason]


def request_refusal(reason: PairingRefusal, other: UserRecord | None = None) -> str:
    """Refusals of a group request, where an expired one just needs a new /pair."""
    if reason == PairingRefusal.EXPIRED:
        return "This request has expired. Send /pair again as a reply."
    return refusal(reason, other)


# A tap on a button meant for the person who asked (a group sees their buttons too).
NOT_FOR_YOU = "This button isn't for you."


def unpair_refusal(reason: PairingRefusal) -> str:
    """A tap under /unpair that changes nothing: the pair is gone, or not the tapper's."""
    if reason == PairingRefusal.GONE:
        return "This partnership has already ended."
    return NOT_FOR_YOU


def _zone_line(paired: Paired, *, for_asker: bool) -> str:
    zone = escape(paired.pair.timezone)
    if not paired.zone_from_asker:
        return (
            f"Your time zone is <b>{zone}</b> for now. Set yours with /timezone and a city, "
            "like <code>/timezone Berlin</code>."
        )
    whose = "yours" if for_asker else f"{escape(paired.asker.first_name)}'s"
    return f"Your time zone is <b>{zone}</b> ({whose}). Change it with /timezone."


_NEXT_STEPS = "Start a session with /stretch, or get a daily nudge with /remind 07:30."


def paired_for_answerer(paired: Paired) -> str:
    return (
        f"You and <b>{escape(paired.asker.first_name)}</b> are partners now! 🎉\n"
        f"{_zone_line(paired, for_asker=False)}\n{_NEXT_STEPS}"
    )


def paired_for_asker(paired: Paired) -> str:
    return (
        f"<b>{escape(paired.answerer.first_name)}</b> accepted your invite: "
        f"you're partners now! 🎉\n{_zone_line(paired, for_asker=True)}\n{_NEXT_STEPS}"
    )


def declined_for_answerer(declined: Declined) -> str:
    return f"Okay, I've let {escape(declined.asker.first_name)} know. No hard feelings."


def declined_for_asker(declined: Declined) -> str:
    return (
        f"{escape(declined.answerer.first_name)} passed on your invite this time. "
        "No worries: you can invite someone else with /invite whenever you like."
    )


# -- /pair in a group ------------------------------------------------------------------------


def pair_only_in_groups() -> str:
    return (
        "/pair works in a group, as a reply to your partner's message. "
        "Here in private, send /invite to get a link for your partner."
    )


def pair_needs_reply() -> str:
    return "Reply to your partner's message with /pair, and I'll ask them here."


def pair_with_bot() -> str:
    return "That's a bot, not a stretch partner. Reply to your partner's message with /pair."


def pair_with_yourself() -> str:
    return "That's your own message. Reply to your partner's message with /pair."


def _open_chat_row(bot_username: str) -> list[InlineKeyboardButton]:
    return [InlineKeyboardButton("Open a chat with me", url=open_chat_link(bot_username))]


def group_request(asked: GroupRequest, bot_username: str) -> tuple[str, InlineKeyboardMarkup]:
    request, partner = asked.request, asked.partner
    text = (
        f"{_mention(partner)}, <b>{escape(asked.requester.first_name)}</b> would like to be "
        "your stretch partner. Only you can answer."
    )
    rows = [_two_buttons(pack(REQUEST_ACCEPT, request.id), pack(REQUEST_DECLINE, request.id))]
    if not partner.reachable:
        text += (
            f"\n\n{escape(partner.first_name)}, please also open a chat with me (button "
            "below): I guide each of you through the stretches in private."
        )
        rows.append(_open_chat_row(bot_username))
    return text, InlineKeyboardMarkup(rows)


def group_paired(paired: Paired, bot_username: str) -> tuple[str, InlineKeyboardMarkup | None]:
    names = (
        f"<b>{escape(paired.asker.first_name)}</b> and <b>{escape(paired.answerer.first_name)}</b>"
    )
    first = f"{names} are partners now! 🎉" if paired.created else f"{names} are partners."
    text = (
        f"{first}\nThis group is your home: /stretch here starts a session for the two of "
        f"you.\n{_zone_line(paired, for_asker=False)}"
    )
    unreachable = [u for u in (paired.asker, paired.answerer) if not u.reachable]
    if not unreachable:
        return text, None
    who = " and ".join(escape(u.first_name) for u in unreachable)
    text += f"\n\n{who}: please open a chat with me first, so I can guide your sessions."
    return text, InlineKeyboardMarkup([_open_chat_row(bot_username)])


def group_declined(declined: Declined) -> str:
    return (
        f"{escape(declined.answerer.first_name)} passed this time. No worries, "
        f"{escape(declined.asker.first_name)}."
    )


# -- partners and unpairing ------------------------------------------------------------------


def no_partners() -> str:
    return (
        "You have no partner yet. Send /invite to get a link for them, or reply to their "
        "message in a group with /pair."
    )


def partners_list(partners: Partners, group_titles: Mapping[int, str]) -> str:
    lines = ["<b>Your partners</b>"]
    for pair in partners.pairs:
        home = "no home group"
        if pair.home_chat_id is not None:
            title = group_titles.get(pair.home_chat_id)
            home = f"home group {escape(title)}" if title else "a home group I can't see now"
        lines.append(f"• <b>{_name(partners.partner(pair))}</b>: {escape(pair.timezone)}, {home}")
    # Names and titles are short, but nothing bounds how many partners a person has.
    return shorten("\n".join(lines), MESSAGE_TEXT)


def unpair_choose(partners: Partners) -> tuple[str, InlineKeyboardMarkup]:
    return "Which partnership do you want to end?", choose_pair_keyboard(
        partners.pairs, partners.me, partners.users, lambda pair: pack(UNPAIR_PICK, pair.id)
    )


def unpair_confirm(partners: Partners, pair: PairRecord) -> tuple[str, InlineKeyboardMarkup]:
    name = _name(partners.partner(pair))
    text = (
        f"End your partnership with <b>{name}</b>? Your shared reminders and history "
        "will be deleted, and I'll let them know."
    )
    buttons = [
        InlineKeyboardButton("Yes, end it", callback_data=pack(UNPAIR_CONFIRM, pair.id)),
        InlineKeyboardButton("Keep it", callback_data=pack(UNPAIR_KEEP, pair.id)),
    ]
    return text, InlineKeyboardMarkup([buttons])


def unpair_kept(partners: Partners, pair: PairRecord) -> str:
    return f"Okay, you and {_name(partners.partner(pair))} stay partners."


def unpaired_for_me(unpaired: Unpaired) -> str:
    ended = " Your session together has ended too." if unpaired.ended_session else ""
    return f"Done: you and {_name(unpaired.partner)} are no longer partners.{ended}"


def unpaired_for_partner(unpaired: Unpaired) -> str:
    ended = " Your session together has ended." if unpaired.ended_session else ""
    return (
        f"{_name(unpaired.me, 'Your partner')} ended your partnership.{ended} "
        "Thanks for stretching together. You can pair with someone new with /invite."
    )


def session_ended_by_unpair(unpaired: Unpaired) -> str:
    """What a running session's card turns into when the partnership ends under it."""
    return f"This session ended: {_name(unpaired.me, 'a partner')} ended the partnership."


# -- time zones ------------------------------------------------------------------------------


def timezone_usage(partners: Partners) -> str:
    current = "\n".join(
        f"With {_name(partners.partner(pair))}: <b>{escape(pair.timezone)}</b>"
        for pair in partners.pairs
    )
    usage = (
        "Tell me your time zone or city, like <code>/timezone Europe/Berlin</code> or "
        "<code>/timezone new york</code>, or share your location with me."
    )
    return f"{current}\n\n{usage}" if current else usage


def zone_ambiguous(query: str, options: tuple[str, ...]) -> str:
    listed = "\n".join(f"<code>/timezone {escape(zone)}</code>" for zone in options)
    return f"“{echo(query)}” matches several places. Which one?\n{listed}"


def zone_not_found(query: str, suggestions: tuple[str, ...]) -> str:
    if not suggestions:
        return (
            f"I don't know “{echo(query)}”. Try a big city near you or a zone, like "
            "<code>/timezone new york</code>, <code>/timezone Europe/Berlin</code> or "
            "<code>/timezone EST</code>, or share your location with me."
        )
    listed = "\n".join(f"<code>/timezone {escape(zone)}</code>" for zone in suggestions)
    return f"I don't know “{echo(query)}”. Did you mean:\n{listed}"


def zone_abbreviated(
    query: str, options: tuple[str, ...], asker: int
) -> tuple[str, InlineKeyboardMarkup]:
    """Which place keeps the clock the user named by its abbreviation; a button each."""
    if len(options) == 1:
        text = (
            f"“{echo(query)}” is the clock of {escape(_place(options[0]))}. Use "
            f"<b>{escape(options[0])}</b>? It follows daylight saving by itself."
        )
    else:
        text = (
            f"“{echo(query)}” is the clock of several places. Which one is yours? "
            "It follows daylight saving by itself."
        )
    buttons = [
        [
            InlineKeyboardButton(
                f"{_place(zone)} ({zone})",
                callback_data=pack(TIMEZONE_CONFIRM, asker, zone_key(zone)),
            )
        ]
        for zone in options
    ]
    return text, InlineKeyboardMarkup(buttons)


def _place(zone: str) -> str:
    """The city a zone is named for: "America/New_York" is "New York"."""
    return zone.rsplit("/", 1)[-1].replace("_", " ")


def zone_choose_pair(partners: Partners, zone: str) -> tuple[str, InlineKeyboardMarkup]:
    key = zone_key(zone)
    return f"Which pair should use <b>{escape(zone)}</b>?", choose_pair_keyboard(
        partners.pairs,
        partners.me,
        partners.users,
        lambda pair: pack(TIMEZONE_PICK, pair.id, key),
    )


def zone_set(result: ZoneSet, local_time: str) -> str:
    zone = f"<b>{escape(result.zone)}</b> (it's {local_time} there now)"
    if result.pair is None:
        return (
            f"Got it: {zone}. You have no partner yet; your first pair will start with "
            "this time zone."
        )
    return f"Done: you and {_name(result.partner)} now use {zone}."


def zone_set_for_partner(result: ZoneSet) -> str:
    return (
        f"{escape(result.me.first_name)} set your pair's time zone to "
        f"<b>{escape(result.zone)}</b>. Change it any time with /timezone."
    )


def zone_of_location_unknown() -> str:
    return (
        "I couldn't tell the time zone of that spot. Send /timezone with a city instead, "
        "like <code>/timezone Berlin</code>."
    )
