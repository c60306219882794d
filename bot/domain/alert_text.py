"""What a nurse reads: alerts about a case, in her own language, with the buttons to act."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.domain.ages import describe_baby_age, pregnancy_week
from bot.domain.messages import Button, Keyboard
from bot.i18n import LANGUAGE_NAMES, Translator, format_date
from bot.models import Alert, BabyStatus, Case, CaseStatus, ChatMessage, Mother, Screening, Staff

LAST_MESSAGES = 3


def case_buttons(t: Translator, case: Case) -> Keyboard:
    if case.status == CaseStatus.RESOLVED:
        return ((Button(t("↩️ Reopen"), f"c:reopen:{case.id}"),),)
    rows: list[tuple[Button, ...]] = []
    if case.status == CaseStatus.OPEN:
        rows.append((Button(t("✅ Acknowledge"), f"c:ack:{case.id}"),))
    rows.append((Button(t("📝 Add note"), f"c:note:{case.id}"), Button(t("💬 Message mother"), f"c:msg:{case.id}")))
    rows.append((Button(t("✔️ Resolve"), f"c:res:{case.id}"),))
    return tuple(rows)


def risk_label(t: Translator, risk: str) -> str:
    return {"urgent": t("urgent"), "high": t("high"), "borderline": t("borderline"), "low": t("low")}.get(risk, risk)


def status_label(t: Translator, status: str) -> str:
    return {"open": t("open"), "acknowledged": t("acknowledged"), "resolved": t("resolved")}.get(status, status)


def priority_label(t: Translator, priority: str) -> str:
    return {"urgent": t("🚨 URGENT"), "high": t("🔶 High"), "routine": t("🔹 Routine")}.get(priority, priority)


def trigger_line(t: Translator, session: Session, trigger: dict[str, object], staff_language: str) -> list[str]:
    kind = str(trigger.get("kind"))
    if kind == "screening":
        return screening_lines(t, session, int(str(trigger["screening_id"])), staff_language)
    if kind in ("safety", "safety_check", "check_answer"):
        category = str(trigger.get("category"))
        names = {
            "self_harm": t("a message about harming herself"),
            "harm_baby": t("a message about harming her baby"),
            "infant_danger": t("a danger sign in her baby"),
            "maternal_danger": t("a danger sign in her own health"),
            "abuse": t("a message about violence or abuse at home"),
        }
        what = names.get(category, category)
        if kind == "safety_check":
            return [t("Why: Dodam was not sure whether she wrote {what}, and asked her. Please read it.", what=what)]
        if kind == "check_answer":
            return [t("Why: asked about {what}, she answered that she is struggling but safe right now.", what=what)]
        if trigger.get("via") == "check":
            return [t("Why: asked about {what}, she answered that she needs help now.", what=what)]
        return [t("Why: she wrote {what}.", what=what)]
    if kind == "talk_to_nurse":
        return [t("Why: she asked to talk to her nurse.")]
    if kind == "baby_loss":
        return [t("Why: she told Dodam that she lost her baby.")]
    return [t("Why: {kind}", kind=kind)]


def screening_lines(t: Translator, session: Session, screening_id: int, language: str) -> list[str]:
    from bot.domain.screening_flow import answers_of, instruments

    screening = session.get(Screening, screening_id)
    if screening is None:
        return []
    instrument = instruments()[screening.instrument]
    lines = [
        t(
            "Why: {instrument} — total {total}, risk {risk}.",
            instrument=instrument.name,
            total=screening.total,
            risk=risk_label(t, screening.risk or ""),
        )
    ]
    if not screening.translation_validated:
        lines.append(
            t(
                "⚠️ She answered in {language}; that translation is not validated.",
                language=LANGUAGE_NAMES.get(screening.language, screening.language),
            )
        )
    if not screening.cutoff_validated:
        lines.append(t("⚠️ The cut-off is not validated for her language."))
    answers = answers_of(session, screening)
    urgent = set(screening.urgent_items.get("items", []))
    for item in instrument.items:
        if item.number not in answers:
            continue
        option = item.options[answers[item.number]]
        text_lang = language if language in item.text else "en"
        flag = " ❗" if item.number in urgent else ""
        lines.append(f"{item.number}. {item.text[text_lang]} → {option.text[text_lang]} ({option.score}){flag}")
    return lines


def isolated(name: str | None) -> str | None:
    """Her name as she typed it, isolated (Unicode FSI … PDI): a right-to-left override in it can no longer
    reverse the rest of the nurse's line."""
    return f"\u2068{name}\u2069" if name else name


def mother_line(t: Translator, mother: Mother, today: datetime) -> str:
    name = isolated(mother.display_name) or t("(no name)")
    day = today.date()
    age = ""
    born = [b for b in mother.babies if b.status == BabyStatus.BORN and b.birth_date]
    expected = [b for b in mother.babies if b.status == BabyStatus.EXPECTED and b.due_date]
    if born and born[0].birth_date:
        age = t("baby {age}", age=describe_baby_age(born[0].birth_date, day, t))
    elif expected and expected[0].due_date:
        age = t("pregnant, week {week}", week=pregnancy_week(expected[0].due_date, day))
    language = LANGUAGE_NAMES.get(mother.language, mother.language)
    age = age or t("no dates yet")
    return t("Mother: {name} (#{id}) · {age} · speaks {language}", name=name, id=mother.id, age=age, language=language)


def render_case(session: Session, case: Case, staff: Staff, now: datetime, *, headline: str = "") -> str:
    t = Translator(staff.language)
    mother = session.get(Mother, case.mother_id)
    assert mother is not None
    lines = [f"{priority_label(t, case.priority)} · " + t("Case #{id}", id=case.id)]
    if headline:
        lines.append(headline)
    lines.append(mother_line(t, mother, now))
    for trigger in case.triggers.get("items", []):
        lines.extend(trigger_line(t, session, trigger, staff.language))
    recent = session.scalars(
        select(ChatMessage)
        .where(
            ChatMessage.mother_id == mother.id, ChatMessage.direction == "from_mother", ChatMessage.text.is_not(None)
        )
        .order_by(ChatMessage.at.desc())
        .limit(LAST_MESSAGES)
    ).all()
    if recent:
        lines.append(t("Her last messages:"))
        lines.extend(f"  “{m.text[:300]}”" for m in reversed(recent) if m.text)
    if case.status == CaseStatus.OPEN:
        local = case.ack_deadline.astimezone(_tz(staff))
        lines.append(
            t(
                "Please acknowledge by {time}.",
                time=f"{format_date(local.date(), staff.language, 'medium')} {local:%H:%M}",
            )
        )
    else:
        lines.append(t("Status: {status}", status=status_label(t, case.status)))
    return "\n".join(lines)


def render_alert(session: Session, alert: Alert, staff: Staff, now: datetime) -> tuple[str, Keyboard]:
    case = session.get(Case, alert.case_id)
    assert case is not None
    t = Translator(staff.language)
    if alert.kind == "relay":
        mother = session.get(Mother, case.mother_id)
        name = isolated(mother.display_name if mother else None) or t("(no name)")
        text = alert.payload.get("text") or t("(a {kind})", kind=(alert.payload.get("media") or {}).get("kind"))
        return (
            t("💬 Case #{id} — {name} wrote:", id=case.id, name=name) + f"\n{text}",
            ((Button(t("💬 Message mother"), f"c:msg:{case.id}"),),),
        )
    headline = {
        "escalation": t("⏰ Not acknowledged in time: escalated to you."),
        "unreachable": t("⛔ Nobody in this mother's care chain can be reached. Please act."),
        "erased": t("🗑 The mother deleted her data in Dodam. The case stays open for you to close."),
        "not_reached": t(
            "📵 Telegram refused to deliver Dodam's replies to this mother (blocked or deleted account): she may "
            "not have received them. Please contact her another way."
        ),
    }.get(alert.kind, "")
    return render_case(session, case, staff, now, headline=headline), case_buttons(t, case)


def _tz(staff: Staff):  # type: ignore[no-untyped-def]
    from bot.domain.working_time import rules

    return rules().working_time.tz
