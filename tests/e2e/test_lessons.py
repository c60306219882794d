"""Staged lessons end to end: planned from her dates, dispatched through real PTB to the emulator."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from bot.db import transaction
from bot.delivery.dispatcher import Dispatcher
from bot.delivery.planner import plan_lessons
from bot.delivery.ratelimit import RateLimiter
from bot.models import Mother, MotherStatus, OutboxStatus
from tests.clock import at_seoul, days_ago, weeks_ago
from tests.e2e.world import KST_10, LIBRARY, World


def title(slug: str, language: str) -> str:
    return LIBRARY[slug].texts[language].title


async def test_five_week_old_baby_gets_the_right_lesson_once_in_her_language(world: World) -> None:
    birth = weeks_ago(5)
    world.enrol(6001, "vi", birth=birth)
    # The emulator only knows chats that wrote to it.
    await world.client.send_text(6001, "xin chào", language_code="vi")
    stats = await world.dispatcher.tick()
    assert stats.sent == 1
    got = await world.client.bot_messages(6001)
    lesson = got[-1]
    assert title("baby-w5-never-shake", "vi") in lesson["text"]
    assert world.rows(6001)[0].content_version == LIBRARY["baby-w5-never-shake"].version
    assert (await world.dispatcher.tick()).sent == 0  # once
    # A week later, the next one, at her hour.
    world.clock.now = KST_10 + timedelta(days=7)
    with transaction(world.sessions) as s:
        plan_lessons(s, LIBRARY.lessons, now=world.clock.now)
    assert (await world.dispatcher.tick()).sent == 1
    assert title("baby-w6-peak-crying", "vi") in (await world.client.bot_messages(6001))[-1]["text"]


async def test_quiet_hours_and_one_lesson_a_day(world: World) -> None:
    # Enrolled at 23:00 in Seoul with a baby of 11 days: day-5 lesson is past its window; week-1 still
    # relevant (7 days) — but it is quiet hours, so it waits for 10:00.
    world.clock.now = at_seoul(23)
    world.enrol(6002, "ko", birth=days_ago(11))
    await world.client.send_text(6002, "안녕", language_code="ko")
    stats = await world.dispatcher.tick()
    assert stats.sent == 0 and stats.reasons == {"quiet_hours": 1}
    row = world.rows(6002)[0]
    assert row.status == OutboxStatus.PLANNED and row.due_at == at_seoul(10, days=1)
    world.clock.now = at_seoul(10, days=1)
    assert (await world.dispatcher.tick()).sent == 1


async def test_late_enrolment_never_floods(world: World) -> None:
    # Baby 5 days old: the day-3 lesson (relevant 5 days) is overdue and the day-5 one is due today.
    # She gets one today and the other tomorrow; the day-1 lesson's window has passed.
    world.enrol(6003, "en", birth=days_ago(5))
    await world.client.send_text(6003, "hi")
    planned = [r.lesson_slug for r in world.rows(6003)]
    assert planned == ["baby-d3-good-latch", "baby-d5-enough-milk"]
    assert (await world.dispatcher.tick()).sent == 1
    stats = await world.dispatcher.tick()  # the next tick finds her second lesson: not today
    assert stats.sent == 0 and stats.deferred == 1 and stats.reasons == {"one_a_day": 1}
    assert title("baby-d3-good-latch", "en") in (await world.lessons_received(6003))[-1]["text"]
    world.clock.now = KST_10 + timedelta(days=1)
    assert (await world.dispatcher.tick()).sent == 1
    assert [r.status for r in world.rows(6003)] == ["sent", "sent"]
    assert len(await world.lessons_received(6003)) == 2


async def test_expired_lessons_are_recorded_as_skipped(world: World) -> None:
    world.enrol(6004, "tl", birth=days_ago(11))  # the week-1 lesson was due 4 days ago, relevant for 3 more
    await world.client.send_text(6004, "hello", language_code="tl")
    world.clock.now = KST_10 + timedelta(days=5)  # the bot was down for days
    stats = await world.dispatcher.tick()
    assert stats.skipped == 1 and stats.reasons == {"expired": 1}
    assert world.rows(6004)[0].status == OutboxStatus.SKIPPED
    assert await world.lessons_received(6004) == []


async def test_flood_wait_server_error_and_block(world: World) -> None:
    world.enrol(6005, "zh_Hans", birth=weeks_ago(5))
    world.enrol(6006, "en", birth=weeks_ago(5))
    await world.client.send_text(6005, "你好", language_code="zh-hans")
    await world.client.send_text(6006, "hi")
    await world.client.add_faults(
        {"method": "sendMessage", "kind": "429", "times": 1, "retry_after": 3},
        {"method": "sendMessage", "kind": "500", "times": 1},
    )
    stats = await world.dispatcher.tick()
    assert stats.retried == 2 and stats.sent == 0
    world.clock.now += timedelta(seconds=30)
    stats = await world.dispatcher.tick()
    assert stats.sent == 2
    assert all(r.status == "sent" for r in world.rows(6005) + world.rows(6006))
    # She blocks the bot: the next lesson is not retried forever, and she is marked unreachable.
    await world.client.configure(blocked_users=[6005])
    world.clock.now = KST_10 + timedelta(days=7)
    with transaction(world.sessions) as s:
        plan_lessons(s, LIBRARY.lessons, now=world.clock.now)
    stats = await world.dispatcher.tick()
    assert stats.failed == 1 and stats.sent == 1
    with world.sessions() as s:
        assert s.scalars(select(Mother.status).where(Mother.telegram_user_id == 6005)).one() == MotherStatus.BLOCKED


async def test_a_dead_workers_lease_is_taken_over(world: World) -> None:
    world.enrol(6007, "en", birth=weeks_ago(5))
    await world.client.send_text(6007, "hi")
    assert world.dispatcher.claim()  # claimed, then the worker "dies" before sending
    other = Dispatcher(
        world.settings,
        world.sessions,
        lambda: LIBRARY,
        world.dispatcher.sender,
        clock=world.clock,
        limiter=RateLimiter(1000, per_chat=0),
        worker_id="test-b",
    )
    assert (await other.tick()).claimed == 0  # still leased
    world.clock.now += timedelta(seconds=world.settings.lease_seconds + 1)
    assert (await other.tick()).sent == 1
    assert len(await world.lessons_received(6007)) == 1


async def test_birth_switches_pregnancy_lessons_to_baby_lessons(world: World) -> None:
    # Due in 20 days: week 36 was 8 days ago and week 37 yesterday, both still in their 14-day windows.
    chat = world.enrol(6008, "en", due=days_ago(-20))
    assert [r.lesson_slug for r in world.rows(6008)] == ["preg-w36-feeding-cues", "preg-w37-baby-blues"]
    chat.data("menu:born")
    chat.data(f"day:{days_ago(1).isoformat()}")  # born yesterday
    assert "Congratulations" in chat.said()
    slugs = {r.lesson_slug: r.status for r in world.rows(6008)}
    assert "preg-w37-baby-blues" not in slugs and slugs["baby-d1-first-feeds"] == "planned"


async def test_lessons_menu_next_topic_feedback_more_and_delivery_time(world: World) -> None:
    chat = world.enrol(6009, "en", birth=days_ago(1))
    chat.data("lessons:menu")
    assert "10:00" in chat.said()
    chat.press("Next lesson")
    assert title("baby-d1-first-feeds", "en") in chat.said()
    assert [r.status for r in world.rows(6009) if r.kind == "lesson"] == ["skipped"]  # read early
    chat.press("Tell me more")
    assert title("baby-d3-good-latch", "en") in chat.said()
    chat.press("Not really")
    assert "nurse can help" in chat.said()
    chat.data("lessons:topic:breastfeeding")
    assert title("baby-d1-first-feeds", "en") in chat.labels()
    chat.data("lessons:time")
    chat.press("19:00")
    with world.sessions() as s:
        assert s.scalars(select(Mother.delivery_hour)).one() == 19
    chat.data("lessons:pause")
    assert "paused until" in chat.said()
    # Someone else's lesson button (a forged id) reveals nothing and changes nothing.
    other = world.enrol(6010, "en", birth=days_ago(1))
    other.data("fb:1:1")
    assert "moved on" in other.said()
    with world.sessions() as s:
        from bot.models import LessonFeedback

        assert s.scalar(select(func.count()).select_from(LessonFeedback)) == 1


async def test_stop_cancels_and_start_resumes(world: World) -> None:
    chat = world.enrol(6011, "en", birth=weeks_ago(5))
    chat.command("stop")
    chat.press("Yes, stop")
    assert [r.status for r in world.rows(6011)] == ["cancelled"]
    await world.client.send_text(6011, "hi")
    assert (await world.dispatcher.tick()).claimed == 0
    chat.command("start")
    assert "Welcome back" in chat.said()
    assert (await world.dispatcher.tick()).sent == 0  # the cancelled copy is not revived …
    world.clock.now = KST_10 + timedelta(days=7)
    with transaction(world.sessions) as s:
        plan_lessons(s, LIBRARY.lessons, now=world.clock.now)
    assert (await world.dispatcher.tick()).sent == 1  # … but the next lesson comes


async def test_a_lesson_is_not_sent_on_the_day_after_its_window(world: World) -> None:
    # Baby 14 days old at 09:00: the week-1 lesson was relevant for days 7–13 only. Before her 10:00 delivery
    # hour it once still counted as relevant (it expired at her hour, not when her day began).
    world.clock.now = at_seoul(9)
    world.enrol(6012, "en", birth=days_ago(14))
    await world.client.send_text(6012, "hi")
    assert "baby-w1-back-to-sleep" not in [r.lesson_slug for r in world.rows(6012)]
    assert (await world.dispatcher.tick()).sent == 0
    assert await world.lessons_received(6012) == []
