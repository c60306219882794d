"""The conversation: routes each Incoming to the step the chat is at, and answers.

Every step is stored in ``conversation_states`` in the same transaction as the answer it follows, so
a restart resumes exactly where the mother was. Replies are returned as actions, sent after commit.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.config import Settings
from bot.content.lessons import Lesson, render
from bot.content.library import ContentLibrary, load_library
from bot.dates import DateAnswer, DateKind, DateProblem, parse_user_date, validate_date
from bot.db import transaction
from bot.delivery.dispatcher import lesson_buttons
from bot.delivery.planner import Plannable, replan_mother
from bot.domain import audit, cases, privacy, safety_flow
from bot.domain import lessons as lesson_service
from bot.domain import screening_flow as screens
from bot.domain.ages import describe_baby_age, pregnancy_week
from bot.domain.calendar import NOOP, month_keyboard, month_of
from bot.domain.codes import STAFF_PREFIX, start_link
from bot.domain.consent import mark_unreachable, record_consent
from bot.domain.crisis import crisis_messages
from bot.domain.invites import claim_invite
from bot.domain.messages import (
    Action,
    AnswerButton,
    Button,
    ClearButtons,
    Incoming,
    Keyboard,
    Kind,
    LeaveChat,
    Reply,
    SendDocument,
    decode_actions,
    encode_actions,
    parse_id,
    rows,
)
from bot.domain.staff import bind_staff, staff_for_user
from bot.domain.staff_flow import COMPOSING as STAFF_COMPOSING
from bot.domain.staff_flow import StaffTurn
from bot.i18n import LANGUAGE_NAMES, LANGUAGES, Translator, negotiate_language
from bot.models import (
    Baby,
    BabyStatus,
    CasePriority,
    ChatMessage,
    ConversationState,
    InboxItem,
    LessonFeedback,
    Mother,
    MotherStatus,
    OutboxMessage,
    Screening,
    utcnow,
)
from bot.months import years_before
from nlu.client import NluClient
from nlu.safety.assess import Safety, default_safety

log = logging.getLogger(__name__)

# Steps of the conversation. Onboarding runs LANGUAGE → CONSENT → STAGE → DUE/BIRTH_DATE → BABY_COUNT → MENU.
LANGUAGE = "language"
CONSENT = "consent"
STAGE = "stage"
DUE_DATE = "due_date"
BIRTH_DATE = "birth_date"
BABY_COUNT = "baby_count"
PAUSED = "paused"
MENU = "menu"
SCREENING = "screening"
ONBOARDING = "onboarding"
MAIN = "main"

LONG_TEXT = 1000  # characters; longer free text gets asked to come in parts
MAX_BABIES = 3


class Conversation:
    """Dodam's conversation service: ``handle(incoming) -> actions``; no Telegram import here."""

    def __init__(
        self,
        settings: Settings,
        session_factory: sessionmaker[Session],
        *,
        clock: Callable[[], datetime] = utcnow,
        library: Callable[[], ContentLibrary] | None = None,
        nlu: NluClient | None = None,
        safety: Safety | None = None,
    ) -> None:
        self.settings = settings
        self.sessions = session_factory
        self.clock = clock
        self.library = library or _static_library(settings.content_dir)
        # Without a Rasa server the client answers from keywords; the safety detector never needs Rasa.
        self.nlu = nlu or NluClient(None)
        self.safety = safety or default_safety()

    # ----------------------------------------------------------------- entry point
    def handle(self, msg: Incoming, *, receipt: int | None = None) -> list[Action]:
        """Run one turn and return its replies.

        Args:
            msg: What she sent.
            receipt: The id of the stored inbox item ``msg`` came from. The turn then runs at most once: its
                replies are kept with the item in the turn's own transaction, and a second delivery of the
                same item (after a crash, or by another worker) gets those replies back instead of a new turn.
        """
        reply = Reply()
        with transaction(self.sessions) as session:
            item = None
            if receipt is not None:
                item = session.get(InboxItem, receipt, with_for_update=True)
                if item is None or item.answered_at is not None:
                    return []  # answered already
                if item.replies is not None:
                    return decode_actions(item.replies)
            turn = _Turn(self, session, msg, reply)
            turn.run()
            if item is not None:
                item.replies = encode_actions(reply.actions)
        return reply.actions

    def today(self) -> date:
        return self.clock().astimezone(self.settings.tz).date()

    def tell_not_delivered(self, chat_id: int) -> None:
        """Telegram refused one reply to her for good: her open case's people hear that it did not reach her."""
        with transaction(self.sessions) as session:
            mother = session.scalars(select(Mother).where(Mother.chat_id == chat_id)).one_or_none()
            if mother is not None:
                cases.tell_unreachable(session, mother, self.clock())

    def mark_undeliverable(self, chat_id: int) -> None:
        """Telegram refused her chat (403): stop treating her as reachable until she writes again, and tell her
        case's people, who may have to reach her another way."""
        with transaction(self.sessions) as session:
            mother = session.scalars(select(Mother).where(Mother.chat_id == chat_id)).one_or_none()
            if mother is not None:
                mark_unreachable(session, mother)
                cases.tell_unreachable(session, mother, self.clock())


class _Turn:
    """One incoming message, handled inside one transaction."""

    def __init__(self, conv: Conversation, session: Session, msg: Incoming, reply: Reply) -> None:
        self.conv = conv
        self.settings = conv.settings
        self.session = session
        self.msg = msg
        self.reply = reply
        self.now = conv.clock()
        self.today = conv.today()
        self.state: ConversationState | None = session.get(ConversationState, msg.chat_id)
        self.mother: Mother | None = None
        self.t = Translator(self._language())

    # ----------------------------------------------------------------- helpers
    def _language(self) -> str:
        if self.state is not None and self.state.language:
            return self.state.language
        mother = self._mother()
        if mother is not None:
            return mother.language
        return negotiate_language(self.msg.language_code, default=self.settings.default_language)

    def _mother(self) -> Mother | None:
        if self.mother is None:
            self.mother = self.session.scalars(
                select(Mother).where(Mother.telegram_user_id == self.msg.user_id)
            ).one_or_none()
        return self.mother

    def say(self, text: str, buttons: Keyboard = ()) -> None:
        self.reply.send(self.msg.chat_id, text, buttons)

    def ack(self, text: str = "") -> None:
        if self.msg.kind is Kind.BUTTON and self.msg.callback_id:
            self.reply.actions.append(AnswerButton(callback_id=self.msg.callback_id, text=text))

    def clear_pressed(self) -> None:
        if self.msg.message_id is not None:
            self.reply.actions.append(ClearButtons(chat_id=self.msg.chat_id, message_id=self.msg.message_id))

    @property
    def step(self) -> str:
        return self.state.step if self.state is not None else ""

    @property
    def data(self) -> dict[str, Any]:
        assert self.state is not None
        return self.state.data

    def set_data(self, **values: Any) -> None:
        # A new dict, so SQLAlchemy sees the JSON column change.
        assert self.state is not None
        self.state.data = {**self.state.data, **values}

    def go(self, step: str, *, flow: str | None = None) -> None:
        assert self.state is not None
        self.state.step = step
        if flow is not None:
            self.state.flow = flow
        self.state.updated_at = self.now

    def new_state(self, *, flow: str, step: str, **data: Any) -> ConversationState:
        if self.state is None:
            self.state = ConversationState(
                chat_id=self.msg.chat_id,
                user_id=self.msg.user_id,
                flow=flow,
                step=step,
                language=self.t.language,
                data=data,
                updated_at=self.now,
            )
            self.session.add(self.state)
        else:
            self.state.flow, self.state.step, self.state.data = flow, step, data
            self.state.updated_at = self.now
        return self.state

    def set_language(self, language: str) -> None:
        self.t = Translator(language)
        if self.state is not None:
            self.state.language = language
        mother = self._mother()
        if mother is not None and mother.language != language:
            mother.language = language
            audit.record(
                self.session,
                actor=f"mother:{mother.id}",
                action="mother.language_changed",
                subject_type="mother",
                subject_id=mother.id,
                language=language,
            )

    # ----------------------------------------------------------------- routing
    def run(self) -> None:
        msg = self.msg
        if not msg.private:
            self.refuse_group()
            return
        if msg.kind is Kind.BLOCKED:
            self.blocked_changed()
            return
        if msg.kind is Kind.JOINED:
            return
        staff = staff_for_user(self.session, msg.user_id)
        # Every word she sends is checked for danger before any routing: in every state, staff and former staff
        # included, whatever the update is (a message, an edit, a caption, the text after a command). A nurse's
        # note or message to a mother is written for the case, not about herself, and is not read as her own.
        composing = (
            staff is not None
            and self.state is not None
            and self.state.flow == "staff"
            and (self.state.step in STAFF_COMPOSING)
        )
        if msg.words and not composing and safety_flow.answer_danger(self, msg.words):
            return
        if msg.kind is Kind.COMMAND and msg.command == "start" and msg.args.startswith(STAFF_PREFIX):
            self.bind_staff(msg.args.removeprefix(STAFF_PREFIX))
            return
        if staff is not None and self._mother() is None:
            StaffTurn(self, staff).run()
            return
        if msg.kind is Kind.BUTTON and msg.data.startswith("c:"):
            # A staff button pressed by someone who is not staff: refused, recorded, nothing revealed.
            audit.record(self.session, actor="unknown", action="callback.refused", kind="case")
            self.moved_on()
            return
        if self.needs_new_consent():
            return
        if msg.kind is Kind.BUTTON:
            self.button()
        elif msg.kind is Kind.COMMAND:
            self.command()
        elif msg.kind is Kind.TEXT:
            self.text()
        elif msg.kind is Kind.EDITED:
            self.say(
                self.t(
                    "I saw that you edited a message. I only read new messages, so please send "
                    "it again as a new message."
                )
            )
        else:
            self.media()

    def refuse_group(self) -> None:
        """Health data must not leak into a group: say so once, and leave."""
        self.ack()
        t = Translator(negotiate_language(self.msg.language_code, default=self.settings.default_language))
        link = start_link(self.settings.bot_username, "hello")
        self.say(
            t(
                "Hello! To keep health information private, I only talk one-to-one, not in groups. "
                "Please write to me in a private chat: {link}",
                link=link,
            )
        )
        self.reply.actions.append(LeaveChat(chat_id=self.msg.chat_id))
        audit.record(self.session, actor="system", action="group.left", chat_type=self.msg.chat_type)

    def blocked_changed(self) -> None:
        mother = self._mother()
        if mother is None:
            return
        blocked = self.msg.text == "blocked"
        new_status = MotherStatus.BLOCKED if blocked else MotherStatus.ACTIVE
        if mother.status != MotherStatus.STOPPED and mother.status != new_status:
            mother.status = new_status
            audit.record(
                self.session,
                actor=f"mother:{mother.id}",
                action="mother.blocked" if blocked else "mother.unblocked",
                subject_type="mother",
                subject_id=mother.id,
            )

    # ----------------------------------------------------------------- commands
    def command(self) -> None:
        cmd = self.msg.command
        if cmd == "start":
            self.start()
        elif cmd == "language":
            self.ask_language(returning=True)
        elif cmd == "help":
            self.help()
        elif cmd == "menu":
            if self.enrolled():
                self.go(MENU, flow=MAIN)
                self.show_menu()
            else:
                self.say(self.t("Let's finish signing up first; then the menu is yours."))
                self.resume()
        elif cmd == "cancel":
            self.cancel()
        elif cmd == "stop":
            self.ask_stop()
        elif cmd == "mydata":
            self.my_data()
        elif cmd == "deletemydata":
            self.ask_delete()
        else:
            self.say(
                self.t("I don't know the command /{command}. These are the ones I understand:", command=cmd[:32])
                + "\n"
                + self.commands_text()
            )
            self.resume()

    def commands_text(self) -> str:
        t = self.t
        return "\n".join(
            [
                "/menu — " + t("the main menu"),
                "/language — " + t("change the language"),
                "/help — " + t("what I can do"),
                "/cancel — " + t("stop the current question"),
            ]
        )

    def help(self) -> None:
        t = self.t
        self.say(
            t(
                "I am Dodam, a companion from your home-visiting nurse programme. I send short lessons "
                "about feeding, crying and sleep at the right time for your baby, and I help your nurse "
                "know when you need her."
            )
            + "\n\n"
            + self.commands_text()
        )
        if self.state is not None and self.step != MENU:
            self.resume()

    def cancel(self) -> None:
        if self.state is None:
            self.say(self.t("There is nothing to cancel. Send /start to begin."))
            return
        if self.state.flow == ONBOARDING:
            if self.step != PAUSED:
                self.set_data(resume_step=self.step)
                self.go(PAUSED)
            self.say(
                self.t(
                    "All right, we have stopped here. Your answers so far are kept. "
                    "Send /start whenever you want to continue."
                )
            )
            return
        if self.step == MENU:
            self.say(self.t("There is nothing to cancel."))
        else:
            self.say(self.t("Cancelled."))
        self.go(MENU, flow=MAIN)
        self.show_menu()

    def start(self) -> None:
        mother = self._mother()
        if mother is not None and self.state is not None and self.state.flow == MAIN:
            if mother.status in (MotherStatus.STOPPED, MotherStatus.BLOCKED):
                lesson_service.resume_messages(self.session, self.plannables(), mother, now=self.now)
                self.say(self.t("Welcome back! Your lessons start again from where your baby is now."))
                self.go(MENU)
                self.show_menu()
                return
            self.say(self.t("Welcome back!"))
            self.go(MENU)
            self.show_menu()
            return
        if self.state is not None and self.state.flow == ONBOARDING:
            self.remember_invite()
            if self.step == PAUSED:
                self.go(self.data.get("resume_step", LANGUAGE))
            self.say(self.t("Welcome back! Let's continue where we left off."))
            self.prompt()
            return
        self.new_state(flow=ONBOARDING, step=LANGUAGE)
        self.remember_invite()
        self.ask_language(returning=False)

    def remember_invite(self) -> None:
        payload = self.msg.args.strip()
        if payload and self.state is not None:
            self.set_data(invite=payload)

    def enrolled(self) -> bool:
        return self._mother() is not None and self.state is not None and self.state.flow == MAIN

    # ----------------------------------------------------------------- prompts
    def resume(self) -> None:
        """Repeat the question she is at, so she always knows what comes next."""
        if self.state is None:
            self.new_state(flow=ONBOARDING, step=LANGUAGE)
        if self.step == PAUSED:
            self.say(self.t("Send /start whenever you want to continue."))
            return
        self.prompt()

    def prompt(self) -> None:
        t, step = self.t, self.step
        if step == LANGUAGE:
            self.ask_language(returning=False)
        elif step == CONSENT:
            self.say(
                self.privacy_notice(),
                rows(
                    Button(t("✅ I agree"), "consent:yes"),
                    Button(t("No, thank you"), "consent:no"),
                    per_row=2,
                ),
            )
        elif step == STAGE:
            self.say(
                t("Are you pregnant now, or is your baby already born?"),
                rows(
                    Button(t("🤰 I am pregnant"), "stage:pregnant"),
                    Button(t("👶 My baby is born"), "stage:born"),
                    per_row=1,
                ),
            )
        elif step == DUE_DATE:
            self.say(
                t(
                    "When is your baby due? Type the date (for example {example}) or pick it on the calendar.",
                    example=self.example_date(DateKind.DUE),
                ),
                rows(Button(t("📅 Calendar"), "pick:calendar")),
            )
        elif step == BIRTH_DATE:
            self.say(
                t(
                    "When was your baby born? Type the date (for example {example}) or pick it on the calendar.",
                    example=self.example_date(DateKind.BIRTH),
                ),
                (
                    (
                        Button(t("Today"), f"day:{self.today.isoformat()}"),
                        Button(t("Yesterday"), f"day:{(self.today - timedelta(days=1)).isoformat()}"),
                    ),
                    (Button(t("📅 Calendar"), "pick:calendar"),),
                ),
            )
        elif step == BABY_COUNT:
            self.say(
                t("How many babies?"),
                rows(
                    Button(t("One baby"), "count:1"),
                    Button(t("Twins"), "count:2"),
                    Button(t("Triplets"), "count:3"),
                    per_row=3,
                ),
            )
        elif self._mother() is not None:
            if self.enrolled():
                self.go(MENU, flow=MAIN)
            self.show_menu()
        else:
            # A step that is no mother's (a former staff account's leftover state): she starts as anyone new.
            # show_menu would come back here for want of a mother, round and round.
            self.new_state(flow=ONBOARDING, step=LANGUAGE)
            self.ask_language(returning=False)

    def example_date(self, kind: DateKind) -> str:
        sample = self.today + (timedelta(weeks=12) if kind is DateKind.DUE else -timedelta(days=10))
        return self.t.date(sample)

    def privacy_notice(self) -> str:
        return self.t(
            "Before we start, how Dodam uses your information:\n"
            "• I keep your language, your due date or baby's birth date, your answers to my questions and the "
            "messages you write to me.\n"
            "• Only the programme's staff who care for you can see them, to support you: your home-visiting nurse, "
            "her backup nurse and her supervisor, and the programme's administrators.\n"
            "• Nothing is sold or shared with anyone else. You can stop messages at any time with /stop, and erase "
            "your data with /deletemydata.\n\n"
            "Do you agree? (notice version {version})",
            version=self.settings.consent_version,
        )

    def ask_language(self, *, returning: bool) -> None:
        if self.state is None:
            self.new_state(flow=ONBOARDING, step=LANGUAGE)
        elif returning and self.step != LANGUAGE:
            self.set_data(return_to=self.step)
            self.go(LANGUAGE)
        current = self.t.language
        buttons = [
            Button(("✓ " if code == current else "") + LANGUAGE_NAMES[code], f"lang:{code}") for code in LANGUAGES
        ]
        if returning:
            text = self.t("Which language would you like?")
        else:
            text = self.t(
                "Hello, I'm Dodam 🌱 — a companion for you and your baby from your home-visiting "
                "nurse programme. I will talk with you in {language}. You can choose another "
                "language below.",
                language=LANGUAGE_NAMES[current],
            )
        self.say(text, rows(*buttons, per_row=2))

    def show_menu(self) -> None:
        mother = self._mother()
        t = self.t
        if mother is None:
            self.resume()
            return
        babies = [b for b in mother.babies if b.status != BabyStatus.LOST]
        lines = [t("Main menu")]
        if mother.status == MotherStatus.STOPPED:
            lines.append(t("Messages are stopped. Send /start to receive lessons again."))
        elif mother.paused_until is not None and mother.paused_until > self.now:
            lines.append(t("Lessons are paused until {date}.", date=t.date(mother.paused_until.date())))
        born = [b for b in babies if b.status == BabyStatus.BORN and b.birth_date]
        expected = [b for b in babies if b.status == BabyStatus.EXPECTED and b.due_date]
        if born:
            assert born[0].birth_date is not None
            lines.append(t("Your baby is {age}.", age=describe_baby_age(born[0].birth_date, self.today, t)))
        elif expected:
            due = expected[0].due_date
            assert due is not None
            lines.append(
                t(
                    "You are in week {week} of your pregnancy; your baby is due on {date}.",
                    week=pregnancy_week(due, self.today),
                    date=t.date(due),
                )
            )
        buttons = [Button(t("📚 Lessons"), "lessons:menu")]
        current = screens.open_screening(self.session, mother)
        if current is not None and current.status == screens.ScreeningStatus.IN_PROGRESS:
            buttons.append(Button(t("▶️ Continue my check"), f"scr:resume:{current.id}"))
        else:
            buttons.append(Button(t("💬 How am I feeling?"), "scr:offer"))
        buttons.append(Button(t("👩‍⚕️ Talk to my nurse"), "nurse:ask"))
        if expected and not born:
            buttons.append(Button(t("👶 My baby is born"), "menu:born"))
        buttons += [Button(t("🌐 Language"), "menu:language"), Button(t("❓ Help"), "menu:help")]
        self.say("\n".join(lines), rows(*buttons, per_row=1))

    # ----------------------------------------------------------------- buttons
    def button(self) -> None:
        prefix, _, value = self.msg.data.partition(":")
        if self.msg.data == NOOP:
            self.ack()
            return
        handlers: dict[str, tuple[set[str], Callable[[str], None]]] = {
            "lang": ({LANGUAGE}, self.on_language),
            "consent": ({CONSENT}, self.on_consent),
            "stage": ({STAGE}, self.on_stage),
            "pick": ({DUE_DATE, BIRTH_DATE}, self.on_calendar_open),
            "cal": ({DUE_DATE, BIRTH_DATE}, self.on_calendar_month),
            "day": ({DUE_DATE, BIRTH_DATE}, self.on_date_text),
            "count": ({BABY_COUNT}, self.on_count),
            "menu": ({MENU}, self.on_menu),
        }
        anytime: dict[str, Callable[[str], None]] = {
            "lessons": self.on_lessons,
            "read": self.on_read,
            "more": self.on_more,
            "fb": self.on_feedback,
            "hour": self.on_hour,
            "stop": self.on_stop,
            "scr": self.on_screen,
            "sa": self.on_screen_answer,
            "sb": self.on_screen_back,
            "nurse": self.on_talk_to_nurse,
            "loss": self.on_loss,
            "del": self.on_delete,
        }
        if prefix == safety_flow.PREFIX:
            # Her answer to a safety check counts in any state, enrolled or not, however late.
            safety_flow.on_answer(self, value)
            return
        if prefix == "del" and self._mother() is not None:
            # Erasure is hers to ask for at any point after sign-up, not only from the menu.
            self.on_delete(value)
            self.ack()
            return
        if prefix in anytime and self.enrolled():
            anytime[prefix](value)
            if not any(isinstance(a, AnswerButton) for a in self.reply.actions):
                self.ack()
            return
        entry = handlers.get(prefix)
        if entry is None or self.state is None or self.step not in entry[0]:
            # An old message's button: harmless, and she is told where we are now.
            self.ack(self.t("This question has moved on."))
            self.say(self.t("That button belongs to an earlier question, which has moved on."))
            self.resume()
            return
        self.ack()
        entry[1](value)

    def on_language(self, value: str) -> None:
        if value not in LANGUAGES:
            self.resume()
            return
        self.clear_pressed()
        self.set_language(value)
        back_to = self.data.get("return_to")
        self.set_data(return_to=None)
        self.say(self.t("Language set: {language}.", language=LANGUAGE_NAMES[value]))
        if back_to and back_to != LANGUAGE:
            self.go(back_to)
        elif self.state is not None and self.state.flow == ONBOARDING:
            self.go(CONSENT)
        else:
            self.go(MENU, flow=MAIN)
        self.prompt()

    def on_consent(self, value: str) -> None:
        self.clear_pressed()
        language = self.t.language
        if value != "yes":
            # Nothing is kept but the refusal itself, with no identifier.
            record_consent(
                self.session,
                mother_id=None,
                version=self.settings.consent_version,
                accepted=False,
                language=language,
                now=self.now,
            )
            assert self.state is not None
            self.session.delete(self.state)
            self.state = None
            self.say(
                self.t(
                    "I understand. I have not kept any of your information. If you change your mind, "
                    "send /start at any time."
                )
            )
            return
        mother = self._mother()
        if mother is None:
            mother = self.create_mother(language)
        record_consent(
            self.session,
            mother_id=mother.id,
            version=self.settings.consent_version,
            accepted=True,
            language=language,
            now=self.now,
        )
        self.say(self.t("Thank you."))
        self.go(STAGE)
        self.prompt()

    def create_mother(self, language: str) -> Mother:
        invite = None
        code = self.data.get("invite") if self.state is not None else None
        if code:
            invite = claim_invite(self.session, code, now=self.now)
            if invite is None:
                self.say(
                    self.t(
                        "The invitation link you used is no longer valid. You can still sign up; "
                        "a nurse from the programme will be assigned to you."
                    )
                )
        mother = Mother(
            telegram_user_id=self.msg.user_id,
            chat_id=self.msg.chat_id,
            display_name=(self.msg.first_name or "")[:200] or None,
            language=language,
            nurse_id=invite.nurse_id if invite else None,
            pool=None if invite else self.settings.default_pool,
            invite_code_id=invite.id if invite else None,
            timezone=self.settings.timezone,
            delivery_hour=self.settings.delivery_hour,
            enrolled_at=self.now,
        )
        self.session.add(mother)
        self.session.flush()
        self.mother = mother
        audit.record(
            self.session,
            actor=f"mother:{mother.id}",
            action="mother.registered",
            subject_type="mother",
            subject_id=mother.id,
            nurse_id=mother.nurse_id,
            pool=mother.pool,
            language=language,
        )
        return mother

    def on_stage(self, value: str) -> None:
        self.clear_pressed()
        self.set_data(stage=value)
        self.go(DUE_DATE if value == "pregnant" else BIRTH_DATE)
        self.prompt()

    def date_kind(self) -> DateKind:
        return DateKind.DUE if self.step == DUE_DATE else DateKind.BIRTH

    def date_range(self, kind: DateKind) -> tuple[date, date]:
        if kind is DateKind.DUE:
            return self.today, self.today + timedelta(weeks=43)
        return years_before(self.today, 2), self.today

    def on_calendar_open(self, _value: str) -> None:
        kind = self.date_kind()
        earliest, latest = self.date_range(kind)
        first = self.today.replace(day=1)
        self.say(
            self.t("Choose the day:"),
            month_keyboard(first, language=self.t.language, earliest=earliest, latest=latest),
        )

    def on_calendar_month(self, value: str) -> None:
        first = month_of(value)
        earliest, latest = self.date_range(self.date_kind())
        if first is None or self.msg.message_id is None:
            self.resume()
            return
        first = min(max(first, earliest.replace(day=1)), latest.replace(day=1))
        self.reply.edit(
            self.msg.chat_id,
            self.msg.message_id,
            self.t("Choose the day:"),
            month_keyboard(first, language=self.t.language, earliest=earliest, latest=latest),
        )

    def on_date_text(self, value: str) -> None:
        kind = self.date_kind()
        try:
            picked = date.fromisoformat(value)
        except ValueError:
            self.resume()
            return
        problem = validate_date(picked, kind=kind, today=self.today)
        self.clear_pressed()
        self.accept_date(DateAnswer(value=picked, problem=problem), kind)

    def accept_date(self, answer: DateAnswer, kind: DateKind) -> None:
        if answer.problem is not None or answer.value is None:
            self.say(self.date_problem_text(answer, kind))
            self.prompt()
            return
        value = answer.value
        key = "due_date" if kind is DateKind.DUE else "birth_date"
        self.set_data(**{key: value.isoformat()})
        self.say(self.t("Got it: {date}.", date=self.t.date(value, "full")))
        if self.data.get("updating"):
            self.record_birth(value)
            return
        self.go(BABY_COUNT)
        self.prompt()

    def date_problem_text(self, answer: DateAnswer, kind: DateKind) -> str:
        t = self.t
        shown = t.date(answer.value) if answer.value else ""
        match answer.problem:
            case DateProblem.IMPOSSIBLE:
                return t("That date does not exist on the calendar. Could you check it and type it again?")
            case DateProblem.DUE_IN_PAST:
                return t(
                    "{date} has already passed. If your baby is born, choose /cancel and then "
                    '"My baby is born"; otherwise please check the due date.',
                    date=shown,
                )
            case DateProblem.DUE_TOO_FAR:
                return t("{date} is more than 43 weeks away. Please check the due date.", date=shown)
            case DateProblem.BIRTH_IN_FUTURE:
                return t("{date} is still in the future. Please type the day your baby was born.", date=shown)
            case DateProblem.BIRTH_TOO_OLD:
                return t(
                    "{date} is more than two years ago. Dodam supports babies up to two years old; "
                    "please check the date.",
                    date=shown,
                )
            case _:
                return t("Sorry, I could not read that as a date.")

    def on_count(self, value: str) -> None:
        try:
            count = max(1, min(MAX_BABIES, int(value)))
        except ValueError:
            self.resume()
            return
        self.clear_pressed()
        self.finish_enrolment(count)

    def finish_enrolment(self, count: int) -> None:
        mother = self._mother()
        if mother is None:  # consent was never given in this conversation: start over properly
            self.go(CONSENT)
            self.prompt()
            return
        data = self.data
        pregnant = data.get("stage") == "pregnant"
        for baby in mother.babies:
            if baby.status != BabyStatus.LOST:
                self.session.delete(baby)
        for _ in range(count):
            self.session.add(
                Baby(
                    mother_id=mother.id,
                    status=BabyStatus.EXPECTED if pregnant else BabyStatus.BORN,
                    due_date=date.fromisoformat(data["due_date"]) if pregnant else None,
                    birth_date=None if pregnant else date.fromisoformat(data["birth_date"]),
                    created_at=self.now,
                )
            )
        self.session.flush()
        self.session.refresh(mother)
        audit.record(
            self.session,
            actor=f"mother:{mother.id}",
            action="mother.enrolled",
            subject_type="mother",
            subject_id=mother.id,
            babies=count,
            stage="pregnant" if pregnant else "born",
        )
        lesson_service.plan_for(self.session, self.plannables(), mother, now=self.now)
        self.new_state(flow=MAIN, step=MENU)
        self.say(
            self.t(
                "You are all set! I will send you short lessons at the right time for you and your "
                "baby. You can open the menu at any time with /menu."
            )
        )
        self.show_menu()

    def record_birth(self, birth: date) -> None:
        mother = self._mother()
        assert mother is not None
        for baby in mother.babies:
            if baby.status == BabyStatus.EXPECTED:
                baby.status = BabyStatus.BORN
                baby.birth_date = birth
        audit.record(
            self.session,
            actor=f"mother:{mother.id}",
            action="mother.baby_born",
            subject_type="mother",
            subject_id=mother.id,
        )
        self.session.flush()
        # Pregnancy lessons not yet sent are dropped; baby lessons are planned from the birth date.
        replan_mother(self.session, self.plannables(), mother, now=self.now)
        self.set_data(updating=None)
        self.say(self.t("Congratulations on your baby! 🎉 From now on the lessons follow your baby's age."))
        self.go(MENU, flow=MAIN)
        self.show_menu()

    def on_menu(self, value: str) -> None:
        if value == "born":
            self.clear_pressed()
            self.set_data(updating=True)
            self.go(BIRTH_DATE)
            self.prompt()
        elif value == "language":
            self.ask_language(returning=True)
        else:
            self.help()
            self.show_menu()

    # ----------------------------------------------------------------- lessons
    def on_lessons(self, value: str) -> None:
        mother = self._mother()
        assert mother is not None
        t = self.t
        action, _, arg = value.partition(":")
        if action == "menu":
            buttons = [Button(t("▶️ Next lesson"), "lessons:next")]
            buttons += [Button(self.topic_name(topic), f"lessons:topic:{topic}") for topic in lesson_service.TOPICS]
            if mother.paused_until is not None and mother.paused_until > self.now:
                buttons.append(Button(t("▶️ Resume lessons"), "lessons:resume"))
            else:
                buttons.append(Button(t("⏸ Pause for a week"), "lessons:pause"))
            buttons += [
                Button(t("⏰ Delivery time"), "lessons:time"),
                Button(t("🔕 Stop all messages"), "stop:ask"),
            ]
            hour = f"{mother.delivery_hour:02d}:00"
            self.say(
                t(
                    "Lessons arrive at {hour}. Choose a topic to read again, or get the next lesson now.",
                    hour=hour,
                ),
                rows(*buttons, per_row=1),
            )
        elif action == "next":
            lesson = lesson_service.next_lesson(self.session, self.conv.library(), mother, self.today)
            if lesson is None:
                self.say(t("You have read every lesson for now. New ones come as your baby grows."))
                return
            self.send_lesson(mother, lesson)
        elif action == "topic" and arg in lesson_service.TOPICS:
            library = self.conv.library()
            found = lesson_service.reached(library, mother, self.today, arg)[:8]
            if not found:
                ahead = lesson_service.upcoming(library, mother, self.today, arg)
                self.say(
                    t("There is no lesson on this topic for your stage yet.")
                    + ("\n" + t("The next one: {title}", title=ahead.texts[mother.language].title) if ahead else "")
                )
                return
            self.say(
                self.topic_name(arg),
                rows(*[Button(lesson.texts[mother.language].title[:60], f"read:{lesson.slug}") for lesson in found]),
            )
        elif action == "pause":
            mother.paused_until = self.now + timedelta(days=7)
            audit.record(
                self.session,
                actor=f"mother:{mother.id}",
                action="mother.paused",
                subject_type="mother",
                subject_id=mother.id,
                days=7,
            )
            self.say(
                t(
                    "Lessons are paused until {date}. Safety messages and your nurse still reach you.",
                    date=t.date(mother.paused_until.astimezone(self.settings.tz).date()),
                )
            )
        elif action == "resume":
            mother.paused_until = None
            audit.record(
                self.session,
                actor=f"mother:{mother.id}",
                action="mother.unpaused",
                subject_type="mother",
                subject_id=mother.id,
            )
            self.say(t("Lessons are on again."))
        elif action == "time":
            self.say(
                t("At what time of day would you like your lessons?"),
                rows(*[Button(f"{h:02d}:00", f"hour:{h}") for h in lesson_service.DELIVERY_HOURS], per_row=3),
            )

    def plannables(self) -> list[Plannable]:
        return lesson_service.plannables(self.conv.library(), self.settings.screening_instrument)

    def topic_name(self, topic: str) -> str:
        t = self.t
        return {
            "breastfeeding": t("🤱 Breastfeeding"),
            "crying": t("😢 Crying"),
            "sleep": t("😴 Sleep"),
            "wellbeing": t("💛 Your wellbeing"),
        }[topic]

    def send_lesson(self, mother: Mother, lesson: Lesson) -> None:
        row = lesson_service.record_read(self.session, mother, lesson, now=self.now)
        self.reply.send(
            self.msg.chat_id,
            render(lesson, mother.language),
            lesson_buttons(self.t, row.id, follow_up=lesson.follow_up is not None, ask_helpful=lesson.ask_helpful),
            html=True,
        )

    def _own_row(self, raw_id: str) -> OutboxMessage | None:
        """The outbox row a lesson button names, if it is hers; a forged id gets nothing."""
        mother = self._mother()
        row_id = parse_id(raw_id)
        row = self.session.get(OutboxMessage, row_id) if row_id is not None else None
        if mother is None or row is None or row.mother_id != mother.id:
            audit.record(self.session, actor="unknown", action="callback.refused", kind="lesson")
            self.say(self.t("That button belongs to an earlier question, which has moved on."))
            return None
        return row

    def on_read(self, slug: str) -> None:
        mother = self._mother()
        assert mother is not None
        library = self.conv.library()
        lesson = library.get(slug)
        if lesson is None or lesson not in lesson_service.reached(library, mother, self.today):
            self.say(self.t("That lesson is not available any more."))
            return
        self.send_lesson(mother, lesson)

    def on_more(self, raw_id: str) -> None:
        row = self._own_row(raw_id)
        mother = self._mother()
        if row is None or mother is None:
            return
        library = self.conv.library()
        lesson = library.get(row.lesson_slug or "")
        follow = library.get(lesson.follow_up) if lesson is not None and lesson.follow_up else None
        if follow is None:
            self.say(self.t("That lesson is not available any more."))
            return
        self.send_lesson(mother, follow)

    def on_feedback(self, value: str) -> None:
        raw_id, _, verdict = value.partition(":")
        row = self._own_row(raw_id)
        if row is None:
            return
        helpful = verdict == "1"
        feedback = self.session.scalars(select(LessonFeedback).where(LessonFeedback.outbox_id == row.id)).one_or_none()
        if feedback is None:
            self.session.add(
                LessonFeedback(outbox_id=row.id, lesson_slug=row.lesson_slug or "", helpful=helpful, at=self.now)
            )
        else:
            feedback.helpful, feedback.at = helpful, self.now
        self.ack(self.t("Thank you for telling me!"))
        if not helpful:
            self.say(self.t("Thank you for telling me. If you have a question about it, your nurse can help."))

    def on_hour(self, value: str) -> None:
        mother = self._mother()
        assert mother is not None
        if parse_id(value) not in lesson_service.DELIVERY_HOURS:
            self.resume()
            return
        self.clear_pressed()
        lesson_service.set_delivery_hour(self.session, self.plannables(), mother, int(value), now=self.now)
        self.say(self.t("Done: lessons will arrive at {hour}.", hour=f"{int(value):02d}:00"))

    def ask_stop(self) -> None:
        if not self.enrolled():
            self.say(self.t("There is nothing to stop. Send /start to begin."))
            return
        self.say(
            self.t(
                "Stop all lessons and check-ins from Dodam? Your nurse can still reach you, and you "
                "can start again at any time with /start."
            ),
            rows(Button(self.t("Yes, stop"), "stop:yes"), Button(self.t("No, keep them"), "stop:no"), per_row=2),
        )

    def on_stop(self, value: str) -> None:
        mother = self._mother()
        assert mother is not None
        if value == "ask":
            self.ask_stop()
            return
        self.clear_pressed()
        if value == "yes":
            lesson_service.stop_messages(self.session, mother, now=self.now)
            self.say(
                self.t("Done. I will not send lessons or check-ins any more. Send /start whenever you want them again.")
            )
        else:
            self.say(self.t("Good, your lessons continue."))

    # ----------------------------------------------------------------- screening
    def _own_screening(self, raw_id: str) -> Screening | None:
        mother = self._mother()
        screening_id = parse_id(raw_id)
        screening = self.session.get(Screening, screening_id) if screening_id is not None else None
        if mother is None or screening is None or screening.mother_id != mother.id:
            audit.record(self.session, actor="unknown", action="callback.refused", kind="screening")
            self.moved_on()
            return None
        return screening

    def moved_on(self) -> None:
        self.ack(self.t("This question has moved on."))
        self.say(self.t("That button belongs to an earlier question, which has moved on."))

    def on_screen(self, value: str) -> None:
        action, _, arg = value.partition(":")
        if action == "offer":
            self.offer_screening(arg if arg in screens.instruments() else self.settings.screening_instrument)
            return
        screening = self._own_screening(arg)
        if screening is None:
            return
        if screening.status not in (screens.ScreeningStatus.INVITED, screens.ScreeningStatus.IN_PROGRESS):
            self.moved_on()
            return
        self.clear_pressed()
        if action == "later":
            self.say(self.t('All right. You can start it any time from the menu with "How am I feeling?".'))
            self.go(MENU, flow=MAIN)
            return
        self.start_screening(screening)

    def offer_screening(self, instrument_id: str, *, trigger: str = "requested") -> None:
        mother = self._mother()
        assert mother is not None
        screening = screens.open_screening(self.session, mother)
        if screening is not None and screening.status == screens.ScreeningStatus.IN_PROGRESS:
            self.say(self.t("Let's continue your check where you left off."))
            self.start_screening(screening)
            return
        if screening is None or screening.instrument != instrument_id:
            if screening is not None:
                screening.status = screens.ScreeningStatus.DECLINED
            screening = screens.create_screening(self.session, mother, instrument_id, trigger=trigger, now=self.now)
        text, buttons = screens.intro(self.t, screening)
        self.say(text, buttons)

    def start_screening(self, screening: Screening) -> None:
        if screening.status == screens.ScreeningStatus.INVITED:
            screening.status = screens.ScreeningStatus.IN_PROGRESS
            screening.started_at = self.now
            audit.record(
                self.session,
                actor=f"mother:{screening.mother_id}",
                action="screening.started",
                subject_type="screening",
                subject_id=screening.id,
            )
        screening.last_activity_at = self.now
        if self.state is not None:
            self.set_data(screening_id=screening.id)
            self.go(SCREENING, flow=MAIN)
        self.ask_question(screening)

    def ask_question(self, screening: Screening) -> None:
        previous = screens.answers_of(self.session, screening).get(screening.current_item)
        text, buttons = screens.question(self.t, screening, screening.current_item, previous)
        self.say(text, buttons)

    def _screen_press(self, value: str, parts: int) -> tuple[Screening, list[int]] | None:
        """The screening and numbers of an answer/back button, if it is her current question."""
        fields = value.split(":")
        if len(fields) != parts or any(parse_id(f) is None for f in fields):
            self.moved_on()
            return None
        screening = self._own_screening(fields[0])
        if screening is None:
            return None
        numbers = [int(f) for f in fields[1:]]
        if screening.status != screens.ScreeningStatus.IN_PROGRESS or numbers[0] != screening.current_item:
            self.moved_on()
            if screening.status == screens.ScreeningStatus.IN_PROGRESS:
                self.ask_question(screening)
            return None
        return screening, numbers

    def on_screen_answer(self, value: str) -> None:
        pressed = self._screen_press(value, 3)
        if pressed is None:
            return
        screening, (item_number, option) = pressed
        instrument = screens.instruments()[screening.instrument]
        item = instrument.item(item_number)
        if not 0 <= option < len(item.options):
            self.moved_on()
            return
        screens.record_answer(self.session, screening, item_number, option, self.now)
        if self.msg.message_id is not None:
            text, _ = screens.question(self.t, screening, item_number)
            self.reply.edit(
                self.msg.chat_id,
                self.msg.message_id,
                f"{text}\n\n✓ {item.options[option].text[screening.language]}",
            )
        if item_number < len(instrument.items):
            screening.current_item = item_number + 1
            self.ask_question(screening)
        else:
            self.finish_screening(screening)

    def on_screen_back(self, value: str) -> None:
        pressed = self._screen_press(value, 2)
        if pressed is None:
            return
        screening, (item_number,) = pressed
        if item_number <= 1:
            self.moved_on()
            return
        self.clear_pressed()
        screening.current_item = item_number - 1
        screening.last_activity_at = self.now
        self.ask_question(screening)

    def finish_screening(self, screening: Screening) -> None:
        mother = self._mother()
        assert mother is not None
        result = screens.complete(self.session, mother, screening, self.now)
        crisis = crisis_messages(self.t, "self_harm") if result.risk is screens.Risk.URGENT else []
        upcoming = screens.next_check(self.session, self.conv.library(), mother, self.today)
        case = cases.open_case_of(self.session, mother.id)
        contact_by = cases.contact_by_text(self.t, case.ack_deadline, self.settings.tz, self.now) if case else None
        for text in screens.result_messages(
            self.t,
            result,
            next_check=self.t.date(upcoming) if upcoming else None,
            crisis=crisis,
            contact_by=contact_by,
        ):
            self.say(text)
        self.go(MENU, flow=MAIN)
        self.show_menu()

    def on_talk_to_nurse(self, _value: str) -> None:
        mother = self._mother()
        assert mother is not None
        case = cases.open_or_add(
            self.session,
            mother,
            priority=CasePriority.ROUTINE,
            now=self.now,
            actor=f"mother:{mother.id}",
            trigger={"kind": "talk_to_nurse"},
        )
        if case.assigned_staff_id is None:
            self.say(
                self.t(
                    "No nurse is assigned to you yet. I have passed your request to the programme's team, who will "
                    "find someone for you. You can write your message here now, and I will pass it on."
                )
            )
            return
        self.say(
            self.t(
                "I have told your nurse. She will contact you {when}. You can write your message here "
                "now, and I will pass it on to her.",
                when=cases.contact_by_text(self.t, case.ack_deadline, self.settings.tz, self.now),
            )
        )

    # ----------------------------------------------------------------- text and media
    def text(self) -> None:
        text = self.msg.text
        if self.state is None:
            self.start()
            return
        step = self.step
        if step == SCREENING:
            mother = self._mother()
            screening = screens.open_screening(self.session, mother) if mother else None
            if screening is not None and screening.status == screens.ScreeningStatus.IN_PROGRESS:
                self.say(
                    self.t(
                        "Please choose one of the answers below. If you want to talk to someone, "
                        "your nurse is there for you."
                    )
                )
                self.ask_question(screening)
                return
            self.go(MENU, flow=MAIN)
        if step in (DUE_DATE, BIRTH_DATE):
            kind = self.date_kind()
            self.accept_date(parse_user_date(text, kind=kind, today=self.today, locale=self.t.language), kind)
            return
        if self.enrolled() and step in (MENU, SCREENING) and self.keep_and_relay(text=text, media=None):
            self.go(MENU, flow=MAIN)
            return
        if self.enrolled() and step == MENU:
            self.understand(text)
            return
        if step == LANGUAGE:
            chosen = _language_named(text)
            if chosen:
                self.on_language(chosen)
                return
        if len(text) > LONG_TEXT:
            self.say(
                self.t(
                    "Thank you for writing so much. I read short messages best; could you send it in "
                    "a few shorter parts?"
                )
            )
        elif step == MENU:
            self.say(
                self.t(
                    "Thank you for your message. For now I understand the menu buttons best; your "
                    "nurse is there for anything else."
                )
            )
        elif step == PAUSED:
            self.say(self.t("We paused your sign-up. Send /start whenever you want to continue."))
            return
        else:
            self.say(self.t("Please choose one of the buttons below."))
        self.resume()

    # ----------------------------------------------------------------- her data
    def needs_new_consent(self) -> bool:
        """The privacy notice changed: ask again before anything but safety replies. True when asked."""
        mother = self._mother()
        if mother is None or self.state is None or self.state.flow != MAIN:
            return False
        if privacy.consent_is_current(self.session, mother, self.settings.consent_version):
            return False
        if self.msg.kind is Kind.BUTTON and self.msg.data.startswith("consent:"):
            self.ack()
            self.clear_pressed()
            if self.msg.data == "consent:yes":
                record_consent(
                    self.session,
                    mother_id=mother.id,
                    version=self.settings.consent_version,
                    accepted=True,
                    language=mother.language,
                    now=self.now,
                )
                self.say(self.t("Thank you."))
                self.go(MENU)
                self.show_menu()
            else:
                record_consent(
                    self.session,
                    mother_id=mother.id,
                    version=self.settings.consent_version,
                    accepted=False,
                    language=mother.language,
                    now=self.now,
                )
                lesson_service.stop_messages(self.session, mother, now=self.now)
                self.say(
                    self.t(
                        "I understand. I will not send you lessons or check-ins. Your nurse can still "
                        "reach you. To erase what Dodam keeps about you, send /deletemydata; to come back, "
                        "send /start."
                    )
                )
            return True
        if self.msg.kind is Kind.COMMAND and self.msg.command in ("deletemydata", "mydata"):
            return False
        if self.msg.kind is Kind.BUTTON and self.msg.data.startswith("del:"):
            return False
        self.ack()
        self.say(self.t("Our privacy notice has changed. Please read it and tell me whether you agree."))
        self.say(
            self.privacy_notice(),
            rows(Button(self.t("✅ I agree"), "consent:yes"), Button(self.t("No, thank you"), "consent:no"), per_row=2),
        )
        return True

    def my_data(self) -> None:
        mother = self._mother()
        if mother is None:
            self.say(self.t("Dodam keeps nothing about you. Send /start to begin."))
            return
        data = privacy.export(self.session, mother)
        t = self.t
        lines = [
            t("This is what Dodam keeps about you:"),
            t("Language: {language}", language=LANGUAGE_NAMES.get(mother.language, mother.language)),
            t("Enrolled on {date}", date=t.date(mother.enrolled_at.date())),
        ]
        for baby in data["babies"]:
            if baby["birth_date"]:
                lines.append(t("Baby born on {date}", date=t.date(date.fromisoformat(baby["birth_date"]))))
            elif baby["due_date"]:
                lines.append(t("Baby due on {date}", date=t.date(date.fromisoformat(baby["due_date"]))))
        lines.append(t("Lessons sent: {count}", count=len(data["lessons_sent"])))
        lines.append(t("Checks of how you feel: {count}", count=len(data["screenings"])))
        lines.append(t("Times your nurse was alerted: {count}", count=len(data["cases"])))
        lines.append(t("Your messages kept: {count}", count=len(data["messages"])))
        lines.append(
            t(
                "The attached file has all of it. Only the programme's staff who care for you can see it: your nurse, "
                "her backup nurse and supervisor, and the programme's administrators."
            )
        )
        self.say("\n".join(lines))
        self.reply.actions.append(
            SendDocument(
                chat_id=self.msg.chat_id,
                filename="dodam-my-data.json",
                content=privacy.export_json(self.session, mother),
            )
        )
        audit.record(
            self.session,
            actor=f"mother:{mother.id}",
            action="mother.data_exported",
            subject_type="mother",
            subject_id=mother.id,
        )

    def ask_delete(self) -> None:
        if self._mother() is None:
            self.say(self.t("Dodam keeps nothing about you. Send /start to begin."))
            return
        self.say(
            self.t(
                "If you erase your data, Dodam deletes your name, your Telegram account link, your messages, "
                "your answers and your dates, and stops all messages. Only anonymous counts stay for the "
                "programme's statistics. If a case with your nurse is open, she will be told. This cannot be "
                "undone. Erase everything?"
            ),
            rows(Button(self.t("Yes, erase my data"), "del:yes"), Button(self.t("No, keep it"), "del:no"), per_row=1),
        )

    def on_delete(self, value: str) -> None:
        mother = self._mother()
        assert mother is not None
        self.clear_pressed()
        if value != "yes":
            self.say(self.t("Nothing was erased."))
            return
        privacy.erase(self.session, mother, self.now)
        self.state = None
        self.mother = None
        self.say(
            self.t(
                "Your data has been erased. Thank you for having been with Dodam. If you ever want to "
                "come back, send /start."
            )
        )

    # ----------------------------------------------------------------- safety and understanding
    def understand(self, text: str) -> None:
        """Free text in the menu: what is it about, and the most useful answer to it."""
        mother = self._mother()
        assert mother is not None
        t = self.t
        intent = self.conv.nlu.parse(text).intent
        if intent in lesson_service.TOPICS:
            self.topic_answer(mother, intent)
        elif intent == "mood":
            self.say(
                t(
                    "Thank you for telling me how you feel. Many mothers feel this way, and you do not have to "
                    "manage it alone. Would you like a short check of how you are feeling, or to talk to your "
                    "nurse?"
                ),
                rows(Button(t("💬 How am I feeling?"), "scr:offer"), Button(t("👩‍⚕️ Talk to my nurse"), "nurse:ask")),
            )
        elif intent == "talk_to_nurse":
            self.on_talk_to_nurse("")
        elif intent == "baby_loss":
            self.say(
                t("I am so sorry. Did you lose your baby? I want to be sure before I change anything."),
                rows(Button(t("Yes"), "loss:yes"), Button(t("No, that is not it"), "loss:no"), per_row=2),
            )
        elif intent == "stop":
            self.ask_stop()
        elif intent == "change_language":
            self.ask_language(returning=True)
        elif intent == "greet":
            self.say(t("Hello! 🌱 How can I help you today?"))
            self.show_menu()
        elif intent == "thanks":
            self.say(t("You are very welcome. 💛"))
        else:
            self.say(
                t("Sorry, I did not understand that. I can help with these topics, or pass a message to your nurse:"),
                rows(
                    *[Button(self.topic_name(topic), f"lessons:topic:{topic}") for topic in lesson_service.TOPICS],
                    Button(t("👩‍⚕️ Talk to my nurse"), "nurse:ask"),
                ),
            )

    def topic_answer(self, mother: Mother, topic: str) -> None:
        """The lesson on this topic most relevant to her baby's age now, and a way to more."""
        library = self.conv.library()
        found = lesson_service.reached(library, mother, self.today, topic)
        more = rows(Button(self.t("📚 More on this"), f"lessons:topic:{topic}"))
        if found:
            self.send_lesson(mother, found[0])
            self.say(self.t("Your nurse can help with anything these lessons do not answer."), more)
            return
        ahead = lesson_service.upcoming(library, mother, self.today, topic)
        if ahead is not None:
            self.send_lesson(mother, ahead)
        else:
            self.say(self.t("There is no lesson on this topic for your stage yet."), more)

    def on_loss(self, value: str) -> None:
        mother = self._mother()
        assert mother is not None
        self.clear_pressed()
        if value != "yes":
            self.say(self.t("Thank you for telling me. I am here if you need anything."))
            return
        lesson_service.record_loss(self.session, mother, now=self.now)
        self.say(
            self.t(
                "I am deeply sorry for the loss of your baby. There is nothing you need to do here now. "
                "I will not send any more lessons or checks about your baby. Your nurse will contact you to "
                "see how you are, and you can talk to her whenever you want."
            )
        )
        self.say(
            self.t(
                "If you would like to talk to someone in your language at any hour, the Danuri helpline "
                "is there for you: 1577-1366."
            )
        )
        cases.open_or_add(
            self.session,
            mother,
            priority=CasePriority.HIGH,
            now=self.now,
            actor=f"mother:{mother.id}",
            trigger={"kind": "baby_loss"},
        )

    def keep_and_relay(self, *, text: str | None, media: dict[str, Any] | None) -> bool:
        """Keep what she wrote; while a case is open, pass it to her nurse. True when it was passed on."""
        mother = self._mother()
        assert mother is not None
        case = cases.open_case_of(self.session, mother.id)
        if case is None:
            if text is not None:
                self.session.add(ChatMessage(mother_id=mother.id, direction="from_mother", text=text, at=self.now))
            return False
        cases.relay_from_mother(self.session, case, mother, self.now, text=text, media=media)
        self.say(self.t("I have passed this on to your nurse."))
        return True

    def media(self) -> None:
        if self.enrolled() and self.msg.source_message_id is not None:
            relayed = {
                "kind": self.msg.media,
                "from_chat_id": self.msg.chat_id,
                "message_id": self.msg.source_message_id,
            }
            if self.keep_and_relay(text=self.msg.text or None, media=relayed):
                return
        self.say(self.t("I can only read text messages, so I could not open that. Please write to me in words."))
        if self.state is None:
            self.start()
        else:
            self.resume()

    # ----------------------------------------------------------------- staff
    def bind_staff(self, code: str) -> None:
        staff = bind_staff(self.session, code=code, user_id=self.msg.user_id, chat_id=self.msg.chat_id)
        if staff is None:
            self.say(
                self.t(
                    "This staff link is not valid or has already been used. Please ask your "
                    "administrator for a new one."
                )
            )
            return
        if not staff.language or staff.language not in LANGUAGES:
            staff.language = negotiate_language(self.msg.language_code, default=self.settings.default_language)
        self.t = Translator(staff.language)
        self.say(
            self.t(
                "Welcome, {name}. This Telegram account is now connected to Dodam as {role}. "
                "Alerts about mothers in your care will arrive here.",
                name=staff.name,
                role=self.role_name(staff.role),
            )
        )

    def role_name(self, role: str) -> str:
        t = self.t
        return {"nurse": t("nurse"), "supervisor": t("supervisor"), "admin": t("administrator")}.get(role, role)


def _static_library(root: Path) -> Callable[[], ContentLibrary]:
    """The content as loaded once, for callers without a reloading ContentStore (CLI, tests)."""
    cached: list[ContentLibrary] = []

    def get() -> ContentLibrary:
        if not cached:
            cached.append(load_library(root))
        return cached[0]

    return get


def _language_named(text: str) -> str | None:
    wanted = text.strip().casefold()
    for code, name in LANGUAGE_NAMES.items():
        if wanted in (code.casefold(), name.casefold()):
            return code
    return None
