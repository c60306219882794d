"""The screening conversation: one question per message, every answer stored at once, resumable.

Buttons carry the screening id and item number; the server checks both against the presser's own open
screening, so an old or forged button can never change an answer it should not.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache
from pathlib import Path

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.content.lessons import Timing, parse_relevant_for, parse_timing
from bot.delivery.dispatcher import Composed, Composer
from bot.delivery.planner import Plannable
from bot.domain import audit
from bot.domain.messages import Button, Keyboard
from bot.i18n import Translator
from bot.models import (
    Mother,
    OutboxKind,
    OutboxMessage,
    OutboxStatus,
    Screening,
    ScreeningAnswer,
    ScreeningStatus,
)
from bot.screening.instruments import INSTRUMENTS_DIR, Instrument, load_instruments
from bot.screening.scoring import Result, Risk, score

EXPIRES_AFTER = timedelta(days=7)
SCHEDULE_FILE = INSTRUMENTS_DIR.parent / "screening" / "schedule.yaml"
REMINDERS = (timedelta(hours=24), timedelta(hours=72))


@cache
def instruments() -> dict[str, Instrument]:
    return load_instruments()


# Called with every finished screening; the escalation service plugs in here.
ResultHook = Callable[[Session, Mother, Screening, Result, datetime], None]
_hooks: list[ResultHook] = []


def on_result(hook: ResultHook) -> ResultHook:
    """Register a function to run, in the same transaction, whenever a screening is completed."""
    _hooks.append(hook)
    return hook


def open_screening(session: Session, mother: Mother) -> Screening | None:
    return session.scalars(
        select(Screening)
        .where(
            Screening.mother_id == mother.id,
            Screening.status.in_([ScreeningStatus.INVITED, ScreeningStatus.IN_PROGRESS]),
        )
        .order_by(Screening.id.desc())
    ).first()


def create_screening(session: Session, mother: Mother, instrument_id: str, *, trigger: str, now: datetime) -> Screening:
    instrument = instruments()[instrument_id]
    language = mother.language
    rule = instrument.risk[language]
    screening = Screening(
        mother_id=mother.id,
        instrument=instrument.id,
        instrument_version=instrument.version,
        language=language,
        translation_validated=instrument.translations[language].validated,
        cutoff_validated=rule.cutoff_validated,
        trigger=trigger,
        status=ScreeningStatus.INVITED,
        current_item=1,
        created_at=now,
        last_activity_at=now,
    )
    session.add(screening)
    session.flush()
    audit.record(
        session,
        actor=f"mother:{mother.id}",
        action="screening.offered",
        subject_type="screening",
        subject_id=screening.id,
        instrument=instrument.id,
        trigger=trigger,
    )
    return screening


def intro(t: Translator, screening: Screening) -> tuple[str, Keyboard]:
    instrument = instruments()[screening.instrument]
    count = len(instrument.items)
    text = t(
        "How have you been feeling? A short check: {count} questions about {period}, a few minutes. "
        "There are no right or wrong answers, and your nurse will see the result so she can support "
        "you.",
        count=count,
        period=instrument.recall_period[screening.language],
    )
    buttons = (
        (
            Button(t("Start now"), f"scr:start:{screening.id}"),
            Button(t("Later"), f"scr:later:{screening.id}"),
        ),
    )
    return text, buttons


def question(
    t: Translator, screening: Screening, item_number: int, previous: int | None = None
) -> tuple[str, Keyboard]:
    instrument = instruments()[screening.instrument]
    item = instrument.item(item_number)
    lang = screening.language
    lines = [t("Question {n} of {total}", n=item_number, total=len(instrument.items))]
    if item_number == 1:
        lines.append(instrument.instructions[lang])
    lines.append(item.text[lang])
    if previous is not None:
        lines.append(t("Your earlier answer: {answer}", answer=item.options[previous].text[lang]))
    buttons: list[tuple[Button, ...]] = [
        (Button(option.text[lang], f"sa:{screening.id}:{item_number}:{index}"),)
        for index, option in enumerate(item.options)
    ]
    if item_number > 1:
        buttons.append((Button(t("⬅️ Back"), f"sb:{screening.id}:{item_number}"),))
    return "\n\n".join(lines), tuple(buttons)


def record_answer(session: Session, screening: Screening, item_number: int, option_index: int, now: datetime) -> None:
    item = instruments()[screening.instrument].item(item_number)
    existing = session.scalars(
        select(ScreeningAnswer).where(
            ScreeningAnswer.screening_id == screening.id, ScreeningAnswer.item_number == item_number
        )
    ).one_or_none()
    chosen_score = item.options[option_index].score
    if existing is None:
        session.add(
            ScreeningAnswer(
                screening_id=screening.id,
                item_number=item_number,
                option_index=option_index,
                score=chosen_score,
                answered_at=now,
            )
        )
    else:
        existing.option_index, existing.score, existing.answered_at = option_index, chosen_score, now
    screening.last_activity_at = now
    session.flush()


def answers_of(session: Session, screening: Screening) -> dict[int, int]:
    """Her stored answers: item number → option index as shown."""
    query = select(ScreeningAnswer.item_number, ScreeningAnswer.option_index).where(
        ScreeningAnswer.screening_id == screening.id
    )
    return {item: option for item, option in session.execute(query)}


def complete(session: Session, mother: Mother, screening: Screening, now: datetime) -> Result:
    """Score from the stored answers, keep the result on the record, and hand it to the hooks."""
    instrument = instruments()[screening.instrument]
    stored = answers_of(session, screening)
    result = score(instrument, screening.language, [stored[item.number] for item in instrument.items])
    screening.status = ScreeningStatus.COMPLETED
    screening.completed_at = now
    screening.total = result.total
    screening.risk = result.risk.value
    screening.subscales = {"scores": dict(result.subscales), "flags": dict(result.subscale_flags)}
    screening.urgent_items = {"items": list(result.urgent_items)}
    screening.rescreen_in_days = result.rescreen_in_days
    screening.cutoff_validated = result.cutoff_validated
    audit.record(
        session,
        actor=f"mother:{mother.id}",
        action="screening.completed",
        subject_type="screening",
        subject_id=screening.id,
        instrument=screening.instrument,
        risk=result.risk.value,
        total=result.total,
    )
    if result.rescreen_in_days:
        due = now + timedelta(days=result.rescreen_in_days)
        session.add(
            OutboxMessage(
                mother_id=mother.id,
                kind="screen",
                lesson_slug=screening.instrument,
                dedupe_key=f"rescreen:{screening.id}",
                due_at=due,
                expires_at=due + timedelta(days=7),
                status=OutboxStatus.PLANNED,
                attempts=0,
                created_at=now,
            )
        )
    for hook in _hooks:
        hook(session, mother, screening, result, now)
    return result


def result_messages(
    t: Translator, result: Result, *, next_check: str | None, crisis: list[str], contact_by: str | None = None
) -> list[str]:
    """What she reads after the last answer: supportive, never a diagnosis."""
    if result.risk is Risk.URGENT:
        return [
            *crisis,
            t(
                "Thank you for answering honestly. You said you have had thoughts of harming yourself. You are "
                "not alone, and this can get better with help. Your nurse is being alerted now and will contact "
                "you as soon as she can."
            ),
        ]
    if result.risk is Risk.HIGH:
        return [
            t(
                "Thank you for answering. Your answers show that things have been hard lately. That is "
                "common after having a baby, and help works. Your nurse will see your answers and contact "
                "you {when}.",
                when=contact_by or t("by the next working day"),
            ),
            t("If you ever have thoughts of harming yourself or your baby, call 109 or 119 at any time."),
        ]
    if result.risk is Risk.BORDERLINE:
        return [
            t(
                "Thank you for answering. Some of your answers show you have been having a harder time. Rest "
                "when you can, eat regularly, and tell someone you trust how you feel. Your nurse will see your "
                "answers, and I will ask you again in two weeks."
            )
        ]
    text = t(
        "Thank you for answering. It sounds like you are coping well right now. Keep looking after "
        "yourself as well as your baby."
    )
    if next_check:
        text += "\n" + t("Your next check: {date}.", date=next_check)
    return [text]


__all__ = ["EXPIRES_AFTER", "REMINDERS", "Risk", "ScreeningStatus", "on_result"]


@dataclass(frozen=True)
class ScheduledScreen:
    timing: Timing
    window: timedelta

    @property
    def key(self) -> str:
        return f"screen:{self.timing}"

    # Shaped like a lesson for the planner: when it falls due and how long it stays relevant.
    @property
    def relevant_for(self) -> timedelta:
        return self.window

    def due_on(self, anchor_date: date) -> date:
        return self.timing.due_on(anchor_date)


@cache
def schedule(root: Path = SCHEDULE_FILE) -> tuple[ScheduledScreen, ...]:
    data = yaml.safe_load(root.read_text(encoding="utf-8"))
    return tuple(
        ScheduledScreen(parse_timing(entry["when"]), parse_relevant_for(entry["window"])) for entry in data["screens"]
    )


def next_check(session: Session, library: object, mother: Mother, today: date) -> date | None:
    """The next scheduled check for her: a planned rescreen, else the next date on the timeline."""
    planned = session.scalar(
        select(OutboxMessage.due_at)
        .where(
            OutboxMessage.mother_id == mother.id,
            OutboxMessage.kind == "screen",
            OutboxMessage.status == OutboxStatus.PLANNED,
        )
        .order_by(OutboxMessage.due_at)
    )
    if planned is not None:
        return planned.date()
    from bot.domain.lessons import anchor_of

    anchor = anchor_of(mother)
    if anchor is None:
        return None
    kind, anchor_date = anchor
    dates = sorted(s.due_on(anchor_date) for s in schedule() if s.timing.anchor == kind)
    return next((d for d in dates if d > today), None)


def screen_plannables(instrument_id: str) -> list[Plannable]:
    """The programme's screening timeline, as items the planner schedules from her dates."""
    return [
        Plannable(OutboxKind.SCREEN.value, instrument_id, entry.key, entry.timing, entry.window) for entry in schedule()
    ]


def compose_invite(session: Session, row: OutboxMessage, mother: Mother, now: datetime) -> Composed | str:
    """A scheduled (or repeat) screening invitation, created as she is asked."""
    if open_screening(session, mother) is not None:
        return "screen_open"
    instrument_id = row.lesson_slug or "epds"
    if instrument_id not in instruments():
        return "unknown_instrument"
    trigger = "rescreen" if row.dedupe_key.startswith("rescreen:") else "scheduled"
    screening = create_screening(session, mother, instrument_id, trigger=trigger, now=now)
    text, buttons = intro(Translator(mother.language), screening)
    return Composed(text=text, buttons=buttons, version=screening.instrument_version)


def compose_reminder(session: Session, row: OutboxMessage, mother: Mother, now: datetime) -> Composed | str:
    screening_id = int(row.lesson_slug or 0)
    screening = session.get(Screening, screening_id)
    if screening is None or screening.status != ScreeningStatus.IN_PROGRESS:
        return "screen_closed"
    t = Translator(mother.language)
    total = len(instruments()[screening.instrument].items)
    text = t(
        "You started a short check of how you are feeling, and {left} questions are left. Would you "
        "like to finish it now?",
        left=total - screening.current_item + 1,
    )
    return Composed(text=text, buttons=((Button(t("Continue"), f"scr:resume:{screening.id}"),),))


COMPOSERS: dict[str, Composer] = {
    OutboxKind.SCREEN.value: compose_invite,
    OutboxKind.SCREEN_REMINDER.value: compose_reminder,
}


def screening_tick(session: Session, now: datetime) -> tuple[int, int]:
    """Remind after 24 h and 72 h of silence; expire after 7 days. Returns (reminded, expired)."""
    reminded = expired = 0
    open_ones = session.scalars(
        select(Screening).where(Screening.status.in_([ScreeningStatus.INVITED, ScreeningStatus.IN_PROGRESS]))
    )
    for screening in open_ones:
        if screening.created_at <= now - EXPIRES_AFTER:
            screening.status = ScreeningStatus.EXPIRED
            audit.record(
                session,
                actor="system",
                action="screening.expired",
                subject_type="screening",
                subject_id=screening.id,
                answered=len(answers_of(session, screening)),
            )
            expired += 1
            continue
        if screening.status != ScreeningStatus.IN_PROGRESS or screening.reminders_sent >= len(REMINDERS):
            continue
        if screening.last_activity_at <= now - REMINDERS[screening.reminders_sent]:
            screening.reminders_sent += 1
            session.add(
                OutboxMessage(
                    mother_id=screening.mother_id,
                    kind=OutboxKind.SCREEN_REMINDER.value,
                    lesson_slug=str(screening.id),
                    dedupe_key=f"screen-reminder:{screening.id}:{screening.reminders_sent}",
                    due_at=now,
                    expires_at=now + timedelta(days=1),
                    status=OutboxStatus.PLANNED,
                    attempts=0,
                    created_at=now,
                )
            )
            reminded += 1
    return reminded, expired
