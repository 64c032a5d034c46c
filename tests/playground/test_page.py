"""The playground in a real browser: pair Alice and Bob through the page, stretch together.

`make demo`'s own command (`python -m bot.playground`) runs, with the real bot process
behind it, and headless Chromium (Debian's `chromium`) clicks through the page as a
visitor would: no shortcut into the bot or the double.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

from routines.loader import load_library
from routines.plan import build_plan
from tests.e2e.process import clean_env
from tests.playground.browser import chromium, free_port, need_chromium

pytestmark = pytest.mark.e2e

REPO_ROOT = Path(__file__).resolve().parents[2]
# Where to save the mid-session screenshot for the README, when a developer asks.
README_SHOT = os.environ.get("PLAYGROUND_SCREENSHOT")
# Guards against a hang, not measurements: each waits for something the bot must do.
STEP_MS = 20_000


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[str]:
    """`python -m bot.playground` on a free port; its page's address."""
    need_chromium()
    port = free_port()
    log = (tmp_path / "demo.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.playground"],
        cwd=tmp_path,
        env=clean_env(DEMO_PORT=str(port), SESSION_TIME_SCALE="0.05", PYTHONPATH=str(REPO_ROOT)),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{url}/api/setup", timeout=1):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError((tmp_path / "demo.log").read_text()) from None
                time.sleep(0.1)
        yield url
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def say(region: Locator, text: str) -> None:
    box = region.get_by_role("textbox")
    box.fill(text)
    box.press("Enter")


def chat(region: Locator) -> Locator:
    return region.locator("ol.messages")


def last_bot_message(region: Locator) -> Locator:
    return region.locator("li.msg.bot").last


# Every bot message's text as it first arrived, by chat and id: a hold is the card before
# it edited, so a message that arrived already showing a hold is a cue's new card.
WATCH_ARRIVALS = """() => {
    window.firstText = {};
    const note = (li) => {
        const chat = li.closest("[data-chat]");
        if (!chat) return;
        const key = `${chat.dataset.chat}:${li.dataset.messageId}`;
        if (!(key in window.firstText)) window.firstText[key] = li.innerText;
    };
    document.querySelectorAll("li.msg.bot").forEach(note);
    new MutationObserver((changes) => {
        for (const change of changes) {
            for (const node of change.addedNodes) {
                if (!(node instanceof Element)) continue;
                if (node.matches("li.msg.bot")) note(node);
                node.querySelectorAll("li.msg.bot").forEach(note);
            }
        }
    }).observe(document.body, { childList: true, subtree: true });
}"""


def next_card(page: Page, who: str, after: int) -> Locator:
    """The first message the bot sends `who` after message `after`, once it is there, that
    is not a cue's hold card (those ring on one phone only)."""
    found = page.wait_for_function(
        """([who, after]) => {
            const items = document.querySelectorAll(`[data-chat=${who}] li.msg.bot`);
            const next = [...items].find((li) => {
                const id = Number(li.dataset.messageId);
                const first = window.firstText[`${who}:${id}`] || li.innerText;
                return id > after && !first.includes("Hold:");
            });
            return next ? Number(next.dataset.messageId) : null;
        }""",
        arg=[who, after],
    ).json_value()
    return page.locator(f"[data-chat={who}] li.msg.bot[data-message-id='{found}']")


def test_alice_and_bob_pair_and_stretch_a_quick_session_through_the_page(
    demo: str, tmp_path: Path
) -> None:
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1500, "height": 900})
        page.set_default_timeout(STEP_MS)
        expect.set_options(timeout=STEP_MS)
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(demo)
        try:
            _pair_and_stretch(page, tmp_path)
        except Exception:
            # What each phone showed when it went wrong, for the report.
            page.screenshot(path=str(tmp_path / "failed.png"))
            print(page.locator("main").inner_text())
            raise
    assert errors == [], "the page reported errors"


def _pair_and_stretch(page: Page, tmp_path: Path) -> None:
    alice = page.get_by_role("region", name="Alice")
    bob = page.get_by_role("region", name="Bob")
    club = page.get_by_role("region", name="Stretch club")
    expect(page.get_by_text("To pair: send /invite in Alice's chat")).to_be_visible()
    expect(page.get_by_text("Live:")).to_be_visible()
    expect(alice.get_by_label("Message the bot as Alice")).to_be_visible()

    # Both open the bot; Alice invites, Bob opens her link and accepts.
    say(alice, "/start")
    expect(chat(alice).get_by_text("Hi Alice!")).to_be_visible()
    say(bob, "/start")
    expect(chat(bob).get_by_text("Hi Bob!")).to_be_visible()
    say(alice, "/invite")
    link = alice.get_by_role("link", name=re.compile(r"t\.me.+\?start="))
    link.click()
    alice.get_by_role("button", name="Open as Bob").click()
    expect(chat(bob).get_by_text("invites you to be stretch partners")).to_be_visible()
    bob.get_by_role("button", name="Accept").click()
    expect(chat(bob).get_by_text("are partners now")).to_be_visible()
    expect(chat(alice).get_by_text("accepted your invite")).to_be_visible()

    # In the group, Alice replies to Bob's message with /pair: it becomes their home.
    club.get_by_role("radio", name="Bob").check()
    say(club, "Stretch later?")
    club.get_by_role("radio", name="Alice").check()
    club.get_by_role("button", name="Reply to Bob").click()
    expect(club.get_by_text("Replying to Bob")).to_be_visible()
    say(club, "/pair")
    request = last_bot_message(club)
    expect(request.get_by_role("button", name="Accept")).to_be_visible()
    # Alice may not answer her own request: the bot's alert says so, until dismissed.
    request.get_by_role("button", name="Accept").click()
    expect(club.get_by_role("alert")).to_contain_text("Only Bob can answer this.")
    club.get_by_role("alert").get_by_role("button", name="OK").click()
    expect(club.get_by_role("alert")).to_be_hidden()
    club.get_by_role("radio", name="Bob").check()
    request.get_by_role("button", name="Accept").click()
    expect(chat(club).get_by_text("This group is your home")).to_be_visible()
    expect(request.get_by_role("button", name="Accept")).to_have_count(0)

    # A whole quick session, by clicking.
    say(alice, "/stretch quick")
    asked = last_bot_message(alice)
    expect(asked).to_contain_text("Asked Bob to join")
    invitation = last_bot_message(bob)
    expect(invitation).to_contain_text("Alice wants to stretch now.")
    # The cards come after these two, whatever the bot sends later.
    newest = {
        "alice": int(asked.get_attribute("data-message-id") or 0),
        "bob": int(invitation.get_attribute("data-message-id") or 0),
    }
    page.evaluate(WATCH_ARRIVALS)
    invitation.get_by_role("button", name="Join").click()
    expect(bob.get_by_role("status").filter(has_text="You're in.")).to_be_visible()
    # Their first session: each reads the safety note and taps Got it before the first card.
    for who in ("alice", "bob"):
        note = next_card(page, who, newest[who])
        expect(note).to_contain_text("Before your first stretch together")
        newest[who] = int(note.get_attribute("data-message-id") or 0)
        note.get_by_role("button", name="Got it").click()

    # New messages come for each setup and side switch, on both phones; a hold is the
    # card before it, edited in place.
    steps: list[tuple[str, str]] = []
    edit_seen = False
    while True:
        card = {who: next_card(page, who, newest[who]) for who in newest}
        newest = {who: int(c.get_attribute("data-message-id") or 0) for who, c in card.items()}
        text_a = card["alice"].inner_text()
        if "How does your back feel?" in text_a:
            break
        header = re.match(r"Stretch \d+ of \d+", text_a)
        assert header is not None, text_a
        expect(card["bob"]).to_contain_text(header.group(0))
        text_b = card["bob"].inner_text()
        # Each phone shows its own role: one is stretched while the other helps.
        roles = {("You are stretched" in t, "You help" in t) for t in (text_a, text_b)}
        assert roles == {(True, False), (False, True)}, (text_a, text_b)
        if "Tap Ready" in text_a:
            steps.append((header.group(0), "setup"))
            for who in ("alice", "bob"):
                card[who].get_by_role("button", name="Ready").click()
        else:
            steps.append((header.group(0), "switch"))
        # The setup or switch card turns into the hold card, in place, on both phones
        # (after a setup, once the get-set is over: the hold then starts).
        for who in ("alice", "bob"):
            expect(card[who]).to_contain_text("Hold:")
        steps.append((header.group(0), "hold"))
        # A hold: the card under way is live on both phones, its buttons tappable.
        for who in ("alice", "bob"):
            expect(card[who].get_by_role("button", name="Stop")).to_be_enabled()
        # ... and the only one: every older card of the session went or lost its buttons.
        for region in (alice, bob):
            expect(chat(region).get_by_role("button", name="Stop")).to_have_count(1)
        if not (tmp_path / "mid-session.png").exists():
            page.screenshot(path=str(tmp_path / "mid-session.png"))
            if README_SHOT:
                page.screenshot(path=README_SHOT)
        # It is edited in place while both watch (at a cue; holds over a minute count
        # down), unless the step ends first.
        before = card["alice"].locator(".text").inner_text()
        changed = page.wait_for_function(
            """([id, before]) => {
                const card = document.querySelector(
                    `[data-chat=alice] li[data-message-id='${id}'] .text`);
                const newer = [...document.querySelectorAll("[data-chat=alice] li.msg.bot")]
                    .some((li) => Number(li.dataset.messageId) > id);
                if (card && card.innerText !== before) return card.innerText;
                return newer ? "(next)" : null;
            }""",
            arg=[newest["alice"], before],
        ).json_value()
        if changed != "(next)" and "Hold:" in changed:
            edit_seen = True

    plan = build_plan(load_library()["quick"])
    assert steps == [
        (f"Stretch {s.exercise_number} of {plan.exercise_count}", s.kind.value) for s in plan.steps
    ]
    assert edit_seen, "no hold card was seen edited in place"
    for region in (alice, bob):
        expect(chat(region).get_by_text("Well done, session complete!")).to_be_visible()
    page.screenshot(path=str(tmp_path / "summary.png"))

    # The progress chart arrives as a photo, drawn from the bytes the bot uploaded.
    say(alice, "/progress")
    photo = alice.get_by_role("img", name="Photo from the bot")
    expect(photo).to_be_visible()
    assert photo.evaluate("(image) => image.complete && image.naturalWidth > 0")
    assert (tmp_path / "mid-session.png").stat().st_size > 0
