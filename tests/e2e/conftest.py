"""The Bot API double every process test talks to."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import TEST_TOKEN
from tests.e2e.http_double import BotApiDouble


@pytest.fixture
def double() -> Iterator[BotApiDouble]:
    with BotApiDouble(token=TEST_TOKEN) as api:
        yield api
