"""Time zones from what people type or share: an IANA name, a city, a location.

The catalogue comes from `zoneinfo.available_timezones()` and is built on first use,
as is the (slow to load) offline location lookup.
"""

from __future__ import annotations

import asyncio
import difflib
import functools
import re
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, available_timezones

from bot.callbacks import Ints

if TYPE_CHECKING:
    from timezonefinder import TimezoneFinder

# The regions whose last name component is a city (or island) people would type.
_CITY_AREAS = frozenset(
    {
        "Africa",
        "America",
        "Antarctica",
        "Asia",
        "Atlantic",
        "Australia",
        "Europe",
        "Indian",
        "Pacific",
    }
)
_MAX_OPTIONS = 6
# Partial matches start at three letters: "be" would match half the world.
_MIN_PARTIAL = 3


@dataclass(frozen=True, slots=True)
class Found:
    zone: str


@dataclass(frozen=True, slots=True)
class Ambiguous:
    """Several zones that keep different clocks match; the user has to pick one."""

    options: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class NotFound:
    suggestions: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Abbreviated:
    """A clock's abbreviation ("EST"): the places that keep it, for the user to confirm."""

    options: tuple[str, ...]


Lookup = Found | Ambiguous | NotFound | Abbreviated

# Abbreviations people type for their clock, each to the cities that keep it. The IANA
# database has "EST", "MST", "CET" … too, but as fixed offsets or rules of the past: a
# pair in New York that typed "EST" would have its reminders an hour off all summer.
# A city zone follows daylight saving; where one abbreviation names clocks on several
# continents (IST, CST), the user picks.
_ABBREVIATIONS: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(("est", "edt", "et"), ("America/New_York",)),
    **dict.fromkeys(("cst", "cdt"), ("America/Chicago", "Asia/Shanghai")),
    "ct": ("America/Chicago",),
    **dict.fromkeys(("mst", "mdt", "mt"), ("America/Denver", "America/Phoenix")),
    **dict.fromkeys(("pst", "pdt", "pt"), ("America/Los_Angeles",)),
    **dict.fromkeys(("akst", "akdt"), ("America/Anchorage",)),
    "hst": ("Pacific/Honolulu",),
    **dict.fromkeys(("ast", "adt"), ("America/Halifax",)),
    **dict.fromkeys(("nst", "ndt"), ("America/St_Johns",)),
    "brt": ("America/Sao_Paulo",),
    "bst": ("Europe/London",),
    **dict.fromkeys(("wet", "west"), ("Europe/Lisbon",)),
    **dict.fromkeys(("cet", "cest", "mez"), ("Europe/Berlin", "Europe/Paris")),
    **dict.fromkeys(("eet", "eest"), ("Europe/Athens", "Europe/Helsinki")),
    "msk": ("Europe/Moscow",),
    "ist": ("Asia/Kolkata", "Europe/Dublin", "Asia/Jerusalem"),
    "pkt": ("Asia/Karachi",),
    "sgt": ("Asia/Singapore",),
    "hkt": ("Asia/Hong_Kong",),
    "jst": ("Asia/Tokyo",),
    "kst": ("Asia/Seoul",),
    **dict.fromkeys(("aest", "aedt"), ("Australia/Sydney", "Australia/Brisbane")),
    **dict.fromkeys(("acst", "acdt"), ("Australia/Adelaide",)),
    "awst": ("Australia/Perth",),
    **dict.fromkeys(("nzst", "nzdt"), ("Pacific/Auckland",)),
    "sast": ("Africa/Johannesburg",),
    "wat": ("Africa/Lagos",),
    "cat": ("Africa/Maputo",),
    "eat": ("Africa/Nairobi",),
}
# A misspelt name is only worth suggesting when it is this close (difflib's ratio):
# at 0.6 "Narnia" was offered Asia/Manila.
_CLOSE_ENOUGH = 0.8


@dataclass(frozen=True)
class _Catalogue:
    by_lower: dict[str, str] = field(default_factory=dict)
    by_city: dict[str, tuple[str, ...]] = field(default_factory=dict)
    by_key: dict[int, str] = field(default_factory=dict)


def _squash(text: str) -> str:
    """Lowercase, with underscores, hyphens and runs of spaces as one space."""
    return re.sub(r"[\s_-]+", " ", text).strip().lower()


@functools.cache
def _catalogue() -> _Catalogue:
    zones = sorted(available_timezones() - {"localtime", "Factory"})
    cities: dict[str, list[str]] = {}
    for zone in zones:
        if zone.split("/", 1)[0] in _CITY_AREAS:
            cities.setdefault(_squash(zone.rsplit("/", 1)[-1]), []).append(zone)
    keys: dict[int, list[str]] = {}
    for zone in zones:
        keys.setdefault(zone_key(zone), []).append(zone)
    return _Catalogue(
        by_lower={zone.lower(): zone for zone in zones},
        by_city={city: tuple(found) for city, found in cities.items()},
        # A key two zones share would be ambiguous on a button: such a zone gets none.
        by_key={key: found[0] for key, found in keys.items() if len(found) == 1},
    )


# Every value `zone_key` can take (zlib.crc32 is unsigned 32-bit): what a button may carry.
ZONE_KEYS = Ints(0, 0xFFFF_FFFF)


def zone_key(zone: str) -> int:
    """A short number naming a zone on a button (callback data holds only numbers)."""
    return zlib.crc32(zone.encode())


def zone_for_key(key: int) -> str | None:
    return _catalogue().by_key.get(key)


def is_zone(name: str) -> bool:
    """Whether `name` is a zone exactly as the catalogue spells it."""
    return _catalogue().by_lower.get(name.lower()) == name


def lookup(query: str) -> Lookup:
    """Resolve what a user typed: an abbreviation, an IANA name in any case, a city, advice."""
    catalogue = _catalogue()
    abbreviated = _ABBREVIATIONS.get(query.strip().lower())
    if abbreviated is not None:
        return Abbreviated(abbreviated)
    iana = re.sub(r"\s*/\s*", "/", query.strip()).replace(" ", "_").lower()
    if iana in catalogue.by_lower:
        return Found(catalogue.by_lower[iana])
    city = _squash(query)
    if not city:
        return NotFound(())
    exact = catalogue.by_city.get(city)
    if exact:
        return _one_or_several(exact)
    if len(city) >= _MIN_PARTIAL:
        # One choice per matching city; its aliases fold into one.
        partial = [
            choice
            for name, zones in sorted(catalogue.by_city.items())
            if name.startswith(city) or f" {city}" in name
            for choice in _distinct_clocks(zones)
        ]
        choices = tuple(dict.fromkeys(partial))
        if len(choices) == 1:
            return Found(choices[0])
        if choices:
            return Ambiguous(choices[:_MAX_OPTIONS])
    return NotFound(_suggestions(city, catalogue))


def _one_or_several(zones: tuple[str, ...]) -> Lookup:
    distinct = _distinct_clocks(zones)
    if len(distinct) == 1:
        return Found(distinct[0])
    return Ambiguous(tuple(distinct[:_MAX_OPTIONS]))


def _distinct_clocks(zones: tuple[str, ...]) -> list[str]:
    """Drop aliases: zones that show the same time over the coming years are one choice.

    America/Buenos_Aires and America/Argentina/Buenos_Aires are the same clock; keep
    the longer, more specific name.
    """
    samples = [
        datetime(year, month, 15, 12, tzinfo=UTC)
        for year in range(2025, 2031)
        for month in (1, 4, 7, 10)
    ]
    by_clock: dict[tuple[object, ...], str] = {}
    for zone in sorted(zones, key=lambda z: (-len(z), z)):
        info = ZoneInfo(zone)
        clock = tuple(instant.astimezone(info).utcoffset() for instant in samples)
        by_clock.setdefault(clock, zone)
    return sorted(by_clock.values())


def _suggestions(city: str, catalogue: _Catalogue) -> tuple[str, ...]:
    names = list(catalogue.by_city) + list(catalogue.by_lower)
    close = difflib.get_close_matches(city.replace(" ", "_"), names, n=3, cutoff=_CLOSE_ENOUGH)
    close += difflib.get_close_matches(city, names, n=3, cutoff=_CLOSE_ENOUGH)
    found: list[str] = []
    for name in close:
        for zone in catalogue.by_city.get(name) or (catalogue.by_lower[name],):
            if zone not in found:
                found.append(zone)
    return tuple(found[:3])


def local_time(zone: str, now: datetime) -> str:
    """The wall-clock time in `zone` at the instant `now`, as HH:MM."""
    return now.astimezone(ZoneInfo(zone)).strftime("%H:%M")


@functools.cache
def _finder() -> TimezoneFinder:
    # Loading the polygons takes a moment and some memory: once, and only when needed.
    from timezonefinder import TimezoneFinder

    return TimezoneFinder()


def _zone_at_blocking(latitude: float, longitude: float) -> str | None:
    zone = _finder().timezone_at(lng=longitude, lat=latitude)
    return zone if isinstance(zone, str) and is_zone(zone) else None


async def zone_at(latitude: float, longitude: float) -> str | None:
    """The zone of a place on Earth, looked up offline in a worker thread."""
    return await asyncio.to_thread(_zone_at_blocking, latitude, longitude)
