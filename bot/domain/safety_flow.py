"""Answering danger: the crisis reply at once, and a caring, direct check when Dodam is not sure.

Every text she sends passes :func:`answer_danger` before anything else (``nlu.safety.assess`` decides). A
crisis gets what to do now and whom to call, then an urgent case for her nurse. A check asks plainly — as
clinicians do, modelled on the Columbia (C-SSRS) screener: asking directly is safe — whether she is thinking
of hurting herself, whether the baby is in danger now, or whether someone is hurting her, with three answers:

- "yes, I need help now" → the crisis reply and an urgent case;
- "I am struggling but safe right now" → a high-priority case and the offer of the wellbeing check;
- "no, I am OK" → a kind ending.

Whatever she answers, or if she never answers, the check has left a case with her message for her nurse to
look at: a human sees everything the model was unsure about. The answer buttons carry the category only:
they act on the presser's own case, so a forged or old button can do no harm, and a late "yes" still counts.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from bot.domain import audit, cases
from bot.domain.crisis import crisis_messages, directory
from bot.domain.messages import Button, Keyboard
from bot.i18n import Translator
from bot.models import BabyStatus, Case, CasePriority, ChatMessage, Mother, Staff, StaffRole
from nlu.safety.assess import Assessment, Level
from nlu.safety.lexicon import Category

if TYPE_CHECKING:
    from bot.domain.conversation import _Turn

PREFIX = "sc"
ANSWERS = ("yes", "struggling", "ok")


def her_baby(mother: Mother | None, today: date) -> tuple[int | None, bool]:
    """Her youngest born baby's age in days (None if none is born), and whether she is expecting."""
    if mother is None:
        return None, False
    born = [b.birth_date for b in mother.babies if b.status == BabyStatus.BORN and b.birth_date is not None]
    if born:
        return max(0, (today - max(born)).days), False
    return None, any(b.status == BabyStatus.EXPECTED for b in mother.babies)


def answer_danger(turn: _Turn, text: str) -> bool:
    """Check her text first; a crisis or a check is answered here. True when it was (nothing else runs)."""
    mother = turn._mother()
    age, expecting = her_baby(mother, turn.today)
    result = turn.conv.safety.assess(text, turn.t.language, baby_age_days=age, expecting=expecting)
    if result.level is None or result.category is None:
        return False
    if mother is not None:
        turn.session.add(ChatMessage(mother_id=mother.id, direction="from_mother", text=text, at=turn.now))
    audit.record(
        turn.session,
        actor=f"mother:{mother.id}" if mother else "anonymous",
        action="safety.detected" if result.level is Level.CRISIS else "safety.check_asked",
        category=result.category.value,
        rule=result.rule,
        source=result.source,
        score=round(result.score, 3),
    )
    if result.level is Level.CRISIS:
        crisis(turn, mother, result.category.value, trigger={"kind": "safety", "category": result.category.value})
    else:
        check(turn, mother, result)
    state = turn.state
    if state is not None and state.flow in ("onboarding", "main") and state.step not in ("menu", "screening", "paused"):
        turn.resume()  # she was in the middle of a question: it is still there for her (staff steps are not hers)
    return True


def crisis(turn: _Turn, mother: Mother | None, category: str, *, trigger: dict[str, object]) -> None:
    """What to do now and whom to call, at once; then an urgent case and when her nurse will call."""
    for message in crisis_messages(turn.t, category):
        turn.say(message)
    if mother is None:
        return
    case = her_case(turn, mother, cases.SAFETY_PRIORITY[category], trigger)
    turn.say(who_will_call(turn, case, category))


def her_case(turn: _Turn, mother: Mother, priority: CasePriority, trigger: dict[str, object]) -> Case:
    """Her open case with this trigger on it (opened if she has none), on the turn's clock."""
    return cases.open_or_add(
        turn.session, mother, priority=priority, now=turn.now, actor=f"mother:{mother.id}", trigger=trigger
    )


def who_will_call(turn: _Turn, case: Case, category: str) -> str:
    """The truth about who answers: her nurse, other programme staff, or, with no one assigned, the line to call."""
    t = turn.t
    staff = turn.session.get(Staff, case.assigned_staff_id) if case.assigned_staff_id else None
    when = cases.contact_by_text(t, case.ack_deadline, turn.settings.tz, turn.now)
    if staff is not None and staff.role == StaffRole.NURSE:
        return t("I have told your nurse. She will contact you {when}.", when=when)
    if staff is not None:
        return t("I have told the programme's staff. Someone will contact you {when}.", when=when)
    if cases.admins(turn.session):
        return t(
            "No nurse is assigned to you yet, so please call {number} now. I have also told the programme's team.",
            number=first_line(category),
        )
    return t("No nurse is assigned to you yet, so please call {number} now.", number=first_line(category))


def check(turn: _Turn, mother: Mother | None, result: Assessment) -> None:
    """The caring question, with its answers; and a case, so her nurse reads the message whatever happens."""
    assert result.category is not None
    category = result.category.value
    turn.say(question(turn.t, result.category), answer_buttons(turn.t, category, nurse=mother is not None))
    if mother is not None:
        her_case(
            turn, mother, CasePriority.HIGH, {"kind": "safety_check", "category": category, "source": result.source}
        )


def question(t: Translator, category: Category) -> str:
    """Plain, direct and warm; never a lecture."""
    if category is Category.SELF_HARM:
        return t(
            "Thank you for telling me. I want to ask you plainly, because it matters: are you having thoughts "
            "of hurting yourself or of ending your life?"
        )
    if category is Category.HARM_BABY:
        return t(
            "Thank you for telling me. I want to ask you plainly: are you afraid that you might hurt your baby, "
            "or is someone hurting your baby?"
        )
    if category is Category.ABUSE:
        return t(
            "Thank you for telling me. I want to ask you plainly: is someone hurting, threatening or controlling you?"
        )
    if category is Category.MATERNAL_DANGER:
        return t("I want to be sure you are safe. Are you feeling very unwell right now?")
    return t("I want to be sure your baby is safe. Is your baby in danger or very unwell right now?")


def physical(category: str) -> bool:
    """A sign in her body or the baby's (not thoughts or violence): the answers speak of care, not feelings."""
    return category in (Category.INFANT_DANGER, Category.MATERNAL_DANGER)


def answer_buttons(t: Translator, category: str, *, nurse: bool) -> Keyboard:
    if physical(category):
        labels = (t("Yes, we need help now"), t("I am not sure"), t("No, we are OK now"))
    else:
        labels = (t("Yes, I need help now"), t("I am struggling, but safe right now"), t("No, I am OK"))
    rows: list[tuple[Button, ...]] = [
        (Button(label, f"{PREFIX}:{category}:{answer}"),) for label, answer in zip(labels, ANSWERS, strict=True)
    ]
    if nurse:
        rows.append((Button(t("👩‍⚕️ Talk to my nurse"), "nurse:ask"),))
    return tuple(rows)


def first_line(category: str) -> str:
    """The number to call first for this kind of danger (content/crisis/resources.yaml)."""
    lines = directory().for_category(category)
    return lines[0].number if lines else "119"


def on_answer(turn: _Turn, value: str) -> None:
    """Her answer to the check (``<category>:<answer>``); any chat may press its own, at any time."""
    category, _, answer = value.partition(":")
    if category not in {c.value for c in Category} or answer not in ANSWERS:
        turn.moved_on()
        return
    turn.ack()
    turn.clear_pressed()
    mother = turn._mother()
    audit.record(
        turn.session,
        actor=f"mother:{mother.id}" if mother else "anonymous",
        action="safety.check_answered",
        category=category,
        answer=answer,
    )
    if answer == "yes":
        crisis(turn, mother, category, trigger={"kind": "safety", "category": category, "via": "check"})
    elif answer == "struggling":
        unsure(turn, mother, category)
    else:
        reassured(turn, mother)


def unsure(turn: _Turn, mother: Mother | None, category: str) -> None:
    """Struggling but safe, or not sure: a high-priority case, the number for worse, and for her feelings the
    wellbeing check."""
    t, number = turn.t, first_line(category)
    if physical(category):
        turn.say(
            t(
                "Thank you. When you are not sure, it is safer to be seen: call {number} or go to an emergency room "
                "if anything gets worse.",
                number=number,
            )
        )
    else:
        turn.say(
            t(
                "Thank you for being honest with me. You do not have to carry this alone. If it gets worse, call "
                "{number} at any hour.",
                number=number,
            )
        )
    if mother is None:
        return
    her_case(turn, mother, CasePriority.HIGH, {"kind": "check_answer", "category": category, "answer": "struggling"})
    turn.say(t("I have asked your nurse to contact you soon."))
    if category in (Category.SELF_HARM, Category.HARM_BABY) and turn.enrolled():
        turn.say(
            t("Would you like a short check of how you are feeling?"),
            ((Button(t("💬 How am I feeling?"), "scr:offer"),),),
        )


def reassured(turn: _Turn, mother: Mother | None) -> None:
    """A kind ending; the case from the check stays for her nurse to read."""
    turn.say(turn.t("I am glad. Thank you for answering me. If that changes, write to me at any time, day or night."))
    if mother is None:
        return
    turn.say(turn.t("Your nurse will also read your message."))
    case = cases.open_case_of(turn.session, mother.id)
    if case is not None:
        cases.event(turn.session, case, "check_answered", actor=f"mother:{mother.id}", at=turn.now, answer="ok")
