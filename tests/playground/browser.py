"""Headless Chromium for the playground's browser tests: Debian's, never a download."""

from __future__ import annotations

import os
import shutil
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

CHROMIUM = os.environ.get("PLAYGROUND_CHROMIUM", "/usr/bin/chromium")
NO_CHROMIUM = (
    "chromium is not installed: `apt-get install chromium` runs the playground's browser tests"
)


def need_chromium() -> None:
    """Skip without chromium, in one line that says how to get it; under CI=true, fail."""
    if Path(CHROMIUM).exists() and shutil.which(CHROMIUM):
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(NO_CHROMIUM)
    pytest.skip(NO_CHROMIUM)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def chromium() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            yield browser
        finally:
            browser.close()
