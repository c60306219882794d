"""A screen through the real PTB stack and the emulator: restart mid-screen, a stale button, the result."""

from __future__ import annotations

from sqlalchemy import select

from bot.db import transaction
from bot.i18n import Translator
from bot.models import Screening, ScreeningAnswer
from tests.e2e.conftest import Harness

MOTHER = 4501


async def test_screen_resumes_after_restart_and_old_buttons_do_no_harm(harness: Harness) -> None:
    tl = Translator("tl")
    runner = await harness.start_bot()
    await harness.say(MOTHER, "/start", language_code="tl")
    await harness.press(MOTHER, "✓ Filipino", expect=2)
    await harness.press(MOTHER, tl("✅ I agree"), expect=2)
    await harness.press(MOTHER, tl("👶 My baby is born"))
    await harness.say(MOTHER, "kahapon", language_code="tl", expect=2)
    await harness.press(MOTHER, tl("One baby"), expect=2)
    intro = await harness.press(MOTHER, tl("💬 How am I feeling?"))
    assert tl("Start now") in str(intro[-1]["reply_markup"])
    first = await harness.press(MOTHER, tl("Start now"))
    question_1 = first[-1]
    assert tl("Question {n} of {total}", n=1, total=10) in question_1["text"]
    await harness.press(MOTHER, 0)  # first option of question 1
    with transaction(runner.conversation.sessions) as s:
        assert s.scalar(select(ScreeningAnswer.option_index)) == 0  # stored the moment it was given

    await harness.stop_bot()
    runner = await harness.start_bot()

    # The answered question's message still exists; a press on it now is harmless.
    before = len(await harness.client.bot_messages(MOTHER))
    await harness.client.callback(
        MOTHER, question_1["message_id"], question_1["reply_markup"]["inline_keyboard"][1][0]["callback_data"]
    )
    after = await harness.client.wait_for(MOTHER, before + 1, timeout=10)
    assert any(
        tl("That button belongs to an earlier question, which has moved on.") in (m.get("text") or "")
        for m in after[before:]
    )
    # She goes on from question 2 after the restart.
    for _ in range(9):
        await harness.press(MOTHER, 0)
    log = await harness.client.log()
    assert any(a.get("text") == tl("This question has moved on.") for a in log["callback_answers"])
    with transaction(runner.conversation.sessions) as s:
        screening = s.scalars(select(Screening)).one()
        assert screening.status == "completed" and len(screening.answers) == 10
        assert screening.risk == "urgent"  # the first option of item 10 is "Yes, quite often"
    texts = [m.get("text") or "" for m in await harness.client.bot_messages(MOTHER)]
    assert any("109" in text for text in texts)
