"""Callback data is read back only in the shape `pack` writes, with every number in range."""

from __future__ import annotations

import pytest

from bot.callbacks import COUNTER, INT4_MAX, ROW_ID, ButtonData, Ints, pack, unpack, unpack_any


def test_what_pack_writes_unpacks_to_the_same_numbers() -> None:
    data = pack("sr", INT4_MAX, 0)

    assert unpack(data, "sr", ROW_ID, COUNTER) == ButtonData("sr", (INT4_MAX, 0))


@pytest.mark.parametrize(
    "data",
    [
        "sr:2147483648:1",  # one past PostgreSQL's INTEGER
        "sr:1:2147483648",
        "sr:9223372036854775808:1",  # past BIGINT too
        "sr:1000000000000000000000000000000:1",
        "sr:0:1",  # serial ids start at 1
        "sr:-1:1",
        "sr:1:-1",
        "sr:1",
        "sr:1:1:1",
        "sr",
        "sr:",
        "sr:1:",
        "sr::1",
        "sr:x:1",
        "sr:1.0:1",
        "sr:+1:1",
        "sr:01:1",
        "sr:-0:1",
        "sr: 1:1",
        "sr:1:1\n",
        "sr:١:1",  # an Arabic-Indic digit, which int() would take
        "ss:1:1",
        "",
        None,
        "sr:1:" + "1" * 70,  # over Telegram's 64 bytes
    ],
)
def test_anything_else_is_refused(data: str | None) -> None:
    assert unpack(data, "sr", ROW_ID, COUNTER) is None


def test_each_place_has_its_own_range() -> None:
    days = Ints(1, 60)

    assert unpack("rpa:7:60", "rpa", ROW_ID, days) == ButtonData("rpa", (7, 60))
    assert unpack("rpa:7:61", "rpa", ROW_ID, days) is None
    assert unpack("rpa:7:0", "rpa", ROW_ID, days) is None


def test_one_of_several_actions_is_told_apart() -> None:
    actions = ("inv_yes", "inv_no")

    assert unpack_any("inv_no:3", actions, ROW_ID) == ButtonData("inv_no", (3,))
    assert unpack_any("inv_maybe:3", actions, ROW_ID) is None
    assert unpack_any("inv_no:2147483648", actions, ROW_ID) is None
