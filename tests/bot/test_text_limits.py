"""`bot/render/limits.py`: text is cut to Telegram's limits without breaking its HTML."""

from __future__ import annotations

from html import escape

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.render.limits import CALLBACK_ANSWER, ECHO, echo, length, shorten, toast
from tests.fake_telegram.limits import utf16_length, visible_text


def test_text_within_the_limit_is_left_alone() -> None:
    text = "<b>Ben &amp; Ana</b>"

    assert shorten(text, 10) == text


def test_an_escape_is_kept_or_dropped_whole() -> None:
    # "a&b" escaped is "a&amp;b": three visible characters, and a cut must not
    # leave "a&am" behind.
    assert shorten(escape("a&bcd"), 3) == "a&amp;…"
    assert shorten(escape("ab&cd"), 3) == "ab…"


def test_tags_the_cut_leaves_open_are_closed() -> None:
    assert shorten("<b>Hold: <i>60 s</i> left</b>", 9) == "<b>Hold: <i>60…</i></b>"


def test_a_cut_counts_what_telegram_counts_utf16_units() -> None:
    # An emoji outside the BMP is two units for Telegram.
    assert length("🤸🤸🤸") == 6
    assert shorten("🤸🤸🤸", 5) == "🤸🤸…"


def test_echo_escapes_and_cuts_what_a_user_typed() -> None:
    typed = "<b>" * 100

    shown = echo(typed)

    assert visible_text(shown, "HTML") == typed[: ECHO - 1] + "…"


def test_a_toast_is_plain_text_within_200() -> None:
    answer = toast(f"Only {escape('&' * 64)} can answer this." * 3)

    assert "&amp;" not in answer
    assert utf16_length(answer) <= CALLBACK_ANSWER


_MARKUP = st.lists(
    st.one_of(
        st.text(max_size=12).map(escape),
        st.sampled_from(["🤸", "&amp;", "&lt;", "é", "\n"]),
        st.text(max_size=12).map(lambda inner: f"<b>{escape(inner)}</b>"),
        st.text(max_size=12).map(
            lambda inner: f'<a href="tg://user?id=1"><i>{escape(inner)}</i></a>'
        ),
    ),
    max_size=30,
).map("".join)


@settings(max_examples=300, deadline=None)
@given(html=_MARKUP, limit=st.integers(min_value=1, max_value=80))
def test_any_cut_is_valid_html_within_the_limit_and_starts_like_the_text(
    html: str, limit: int
) -> None:
    cut = shorten(html, limit)

    shown = visible_text(cut, "HTML")  # raises if Telegram could not parse it
    assert utf16_length(shown) <= limit
    whole = visible_text(html, "HTML")
    assert shown == whole or (shown.endswith("…") and whole.startswith(shown[:-1]))
