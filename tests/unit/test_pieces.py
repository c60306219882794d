"""Long plain texts are split by Telegram's own measure, UTF-16 code units (bot/telegram/sender.py)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.telegram.sender import MESSAGE_LIMIT, pieces


def units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def test_a_relay_of_emoji_is_cut_where_telegram_counts_the_limit() -> None:
    relay = "💬 Kim: " + "😀" * 3000  # 2 units each: 6,008 units in 3,008 characters
    parts = pieces(relay)
    assert len(parts) == 2 and all(units(p) <= MESSAGE_LIMIT for p in parts)
    assert "".join(parts) == relay


@given(st.text(alphabet=st.sampled_from(["a", "한", "😀", "\n", "𠀀", " "]), max_size=12000))
def test_every_piece_fits_and_nothing_is_lost(text: str) -> None:
    parts = pieces(text)
    assert all(units(p) <= MESSAGE_LIMIT for p in parts)
    assert "".join(parts).replace("\n", "") == text.replace("\n", "")
