"""The Bot API double every process test talks to."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.playground.double import BotApiDouble
from tests.conftest import TEST_TOKEN


@pytest.fixture
def double() -> Iterator[BotApiDouble]:
    with BotApiDouble(token=TEST_TOKEN) as api:
        yield api
