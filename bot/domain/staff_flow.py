"""The staff side of the conversation: case buttons, notes, messages to mothers, /cases and friends.

Every staff action goes through :func:`bot.domain.cases.can_act`; a refusal is audited and reveals nothing
about the mother.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select

from bot.domain import audit, cases
from bot.domain.alert_text import case_buttons, isolated, priority_label, render_case
from bot.domain.messages import Button, Kind, parse_id
from bot.i18n import LANGUAGES, Translator
from bot.models import Case, ConversationState, Mother, OutboxMessage, Screening, Staff, StaffRole

if TYPE_CHECKING:
    from bot.domain.conversation import _Turn

IDLE, NOTE, MESSAGE = "idle", "note", "message"
COMPOSING = frozenset({NOTE, MESSAGE})  # her next text is a note on a case, or a message to a mother


class StaffTurn:
    def __init__(self, turn: _Turn, staff: Staff) -> None:
        self.turn = turn
        self.staff = staff
        self.session = turn.session
        self.t = Translator(staff.language if staff.language in LANGUAGES else turn.settings.default_language)
        turn.t = self.t
        state = self.session.get(ConversationState, turn.msg.chat_id)
        if state is None or state.flow != "staff":
            if state is not None:
                self.session.delete(state)
                self.session.flush()
            state = ConversationState(
                chat_id=turn.msg.chat_id,
                user_id=turn.msg.user_id,
                flow="staff",
                step=IDLE,
                language=self.t.language,
                data={},
                updated_at=turn.now,
            )
            self.session.add(state)
        self.state = state

    def say(self, text: str, buttons: tuple[tuple[Button, ...], ...] = ()) -> None:
        self.turn.say(text, buttons)

    def set_step(self, step: str, case_id: int | None = None) -> None:
        self.state.step = step
        self.state.data = {"case_id": case_id} if case_id else {}
        self.state.updated_at = self.turn.now

    def run(self) -> None:
        msg = self.turn.msg
        if msg.kind is Kind.BUTTON:
            self.button(msg.data)
        elif msg.kind is Kind.COMMAND:
            self.command(msg.command, msg.args)
        elif msg.kind is Kind.TEXT:
            self.text(msg.text)
        else:
            self.say(self.t("I can pass on text messages to mothers. Please write your message in words."))

    # ------------------------------------------------------------------------------------------- commands
    def command(self, command: str, args: str) -> None:
        if command in ("start", "help", "menu"):
            self.set_step(IDLE)
            self.help()
        elif command == "cancel":
            self.set_step(IDLE)
            self.say(self.t("Cancelled."))
        elif command == "cases":
            self.list_cases()
        elif command == "case" and (case_id := parse_id(args)) is not None:
            self.show_case(case_id)
        elif command == "mother" and (mother_id := parse_id(args)) is not None:
            self.show_mother(mother_id)
        elif command in ("offduty", "onduty"):
            self.staff.on_duty = command == "onduty"
            audit.record(
                self.session,
                actor=f"staff:{self.staff.id}",
                action=f"staff.{command}",
                subject_type="staff",
                subject_id=self.staff.id,
            )
            self.say(
                self.t("You are on duty: alerts come to you.")
                if self.staff.on_duty
                else self.t("You are off duty: alerts go to your backup and supervisor until you send /onduty.")
            )
        else:
            self.help()

    def help(self) -> None:
        role = {"nurse": self.t("nurse"), "supervisor": self.t("supervisor"), "admin": self.t("administrator")}
        self.say(
            self.t(
                "You are connected to Dodam as {role} ({name}). Alerts about mothers in your care will arrive here.",
                role=role.get(self.staff.role, self.staff.role),
                name=self.staff.name,
            )
            + "\n\n"
            + "\n".join(
                [
                    "/cases — " + self.t("open cases, oldest first"),
                    "/case N — " + self.t("one case, with its buttons"),
                    "/mother N — " + self.t("a mother's screening history and lessons"),
                    "/offduty · /onduty — " + self.t("pause or resume your alerts"),
                ]
            )
        )

    def list_cases(self) -> None:
        found = cases.cases_for(self.session, self.staff)
        if not found:
            self.say(self.t("No open cases."))
            return
        lines = [self.t("Open cases, oldest first:")]
        for case in found[:30]:
            mother = self.session.get(Mother, case.mother_id)
            local = case.ack_deadline.astimezone(self.turn.settings.tz)
            due = (
                self.t("acknowledge by {time}", time=f"{local:%m-%d %H:%M}")
                if case.status == "open"
                else self.t("acknowledged")
            )
            name = isolated(mother.display_name if mother else "") or "—"
            lines.append(f"#{case.id} · {priority_label(self.t, case.priority)} · {name} · {due}")
        lines.append(self.t("Open one with /case N."))
        self.say("\n".join(lines))

    def allowed_case(self, case_id: int) -> Case | None:
        case = self.session.get(Case, case_id)
        if case is None or not cases.can_act(self.staff, case, self.session):
            audit.record(
                self.session,
                actor=f"staff:{self.staff.id}",
                action="case.access_refused",
                subject_type="case",
                subject_id=case_id,
            )
            self.say(self.t("There is no case with that number among yours."))
            return None
        return case

    def show_case(self, case_id: int) -> None:
        case = self.allowed_case(case_id)
        if case is not None:
            self.say(render_case(self.session, case, self.staff, self.turn.now), case_buttons(self.t, case))

    def show_mother(self, mother_id: int) -> None:
        mother = self.session.get(Mother, mother_id)
        allowed = mother is not None and (
            self.staff.role == StaffRole.ADMIN
            or mother.nurse_id == self.staff.id
            or (
                self.staff.role == StaffRole.SUPERVISOR
                and self.staff.district is not None
                and self.staff.district in {mother.pool, _district_of(self.session, mother)}
            )
            or any(
                cases.can_act(self.staff, c, self.session)
                for c in self.session.scalars(select(Case).where(Case.mother_id == mother.id))
            )
        )
        if not allowed or mother is None:
            audit.record(
                self.session,
                actor=f"staff:{self.staff.id}",
                action="mother.access_refused",
                subject_type="mother",
                subject_id=mother_id,
            )
            self.say(self.t("There is no mother with that number among yours."))
            return
        lines = [f"#{mother.id} {isolated(mother.display_name) or ''} · {mother.language} · {mother.status}"]
        lines.append(self.t("Screenings:"))
        for screening in self.session.scalars(
            select(Screening).where(Screening.mother_id == mother.id).order_by(Screening.created_at)
        ):
            when = screening.completed_at or screening.created_at
            lines.append(
                f"  {when:%Y-%m-%d} {screening.instrument} · {screening.status}"
                + (f" · {screening.total} · {screening.risk}" if screening.total is not None else "")
            )
        sent = self.session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.mother_id == mother.id, OutboxMessage.status == "sent")
            .order_by(OutboxMessage.sent_at)
        )
        lines.append(self.t("Lessons sent:"))
        lines.extend(f"  {row.sent_at:%Y-%m-%d} {row.lesson_slug}" for row in sent if row.sent_at and row.lesson_slug)
        self.say("\n".join(lines))

    # ------------------------------------------------------------------------------------------- buttons
    def button(self, data: str) -> None:
        parts = data.split(":")
        if len(parts) != 3 or parts[0] != "c" or parse_id(parts[2]) is None:
            self.turn.ack(self.t("This question has moved on."))
            return
        _, action, raw_id = parts
        case = self.allowed_case(int(raw_id))
        if case is None:
            self.turn.ack()
            return
        self.turn.ack()
        now = self.turn.now
        mother = self.session.get(Mother, case.mother_id)
        if action == "ack":
            if cases.acknowledge(self.session, case, self.staff, now):
                self.say(self.t("Case #{id} acknowledged. Thank you.", id=case.id), case_buttons(self.t, case))
                if mother is not None and mother.chat_id:
                    mt = Translator(mother.language)
                    self.turn.reply.send(
                        mother.chat_id, mt("Your nurse has seen your message and will contact you soon.")
                    )
            else:
                self.say(self.t("Case #{id} was already acknowledged.", id=case.id))
        elif action == "note":
            self.set_step(NOTE, case.id)
            self.say(self.t("Write your note for case #{id} (or /cancel).", id=case.id))
        elif action == "msg":
            self.set_step(MESSAGE, case.id)
            self.say(
                self.t(
                    "Write your message to the mother of case #{id}. She will see it as from her nurse, "
                    "without your phone number or Telegram name. (/cancel to stop)",
                    id=case.id,
                )
            )
        elif action == "res":
            if cases.resolve(self.session, case, self.staff, now):
                self.say(self.t("Case #{id} resolved.", id=case.id), case_buttons(self.t, case))
        elif action == "reopen":
            if cases.reopen(self.session, case, self.staff, now):
                self.say(self.t("Case #{id} reopened.", id=case.id), case_buttons(self.t, case))
            else:
                self.say(self.t("This case cannot be reopened: the mother has another open case."))

    def text(self, text: str) -> None:
        step, case_id = self.state.step, self.state.data.get("case_id")
        case = self.allowed_case(int(case_id)) if case_id else None
        if step == IDLE or case is None:
            self.help()
            return
        now = self.turn.now
        if step == NOTE:
            cases.add_note(self.session, case, self.staff, text, now)
            self.say(self.t("Note saved on case #{id}.", id=case.id))
        else:
            mother = self.session.get(Mother, case.mother_id)
            if mother is None or not mother.chat_id:
                self.say(self.t("This mother cannot receive messages any more."))
            else:
                cases.relay_to_mother(self.session, case, self.staff, text, now)
                mt = Translator(mother.language)
                self.turn.reply.send(
                    mother.chat_id, mt("💬 Message from your nurse {name}:", name=self.staff.name) + "\n" + text
                )
                self.say(self.t("Sent to the mother of case #{id}. Her replies will come here.", id=case.id))
        self.set_step(IDLE)


def _district_of(session: object, mother: Mother) -> str | None:
    nurse = mother.nurse
    return nurse.district if nurse is not None else None
