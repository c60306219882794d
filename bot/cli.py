"""The ``dodam`` command line."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import select

from bot.config import Settings, load_settings
from bot.content.cli import register as register_content
from bot.content.library import ContentError
from bot.db import make_engine, make_session_factory, migrate, transaction
from bot.domain import cases
from bot.domain.alert_text import render_case
from bot.domain.codes import start_link
from bot.domain.invites import create_invite, write_qr_png
from bot.domain.staff import add_staff, new_binding_code
from bot.i18n import LANGUAGES
from bot.models import Case, CaseEvent, Staff, StaffRole, utcnow
from bot.screening.cli import register as register_screening
from bot.telegram.logs import keep_libraries_quiet, redact_updates_in
from nlu.cli import register as register_nlu
from nlu.service import NluUnavailable


def _sessions(settings: Settings):  # type: ignore[no-untyped-def]
    migrate(settings.database_url)
    return make_session_factory(make_engine(settings.database_url))


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    if settings.sandbox:
        from bot.sandbox import run_sandbox

        print("No Telegram token is set (DODAM_TELEGRAM_TOKEN), so Dodam starts the local sandbox.")
        return run_sandbox(settings)
    from bot.runner import BotRunner

    asyncio.run(BotRunner(settings).run_until_signalled())
    return 0


def cmd_sandbox(args: argparse.Namespace, settings: Settings) -> int:
    from bot.sandbox import run_sandbox

    return run_sandbox(settings)


def cmd_health(args: argparse.Namespace, settings: Settings) -> int:
    """Exit 0 when the running bot wrote its heartbeat recently and (when polling) polled recently."""
    import json
    from datetime import datetime

    try:
        beat = json.loads(settings.heartbeat_file.read_text(encoding="utf-8"))
        age = (utcnow() - datetime.fromisoformat(beat["at"])).total_seconds()
    except (OSError, ValueError, KeyError) as exc:
        print(f"unhealthy: no heartbeat in {settings.heartbeat_file} ({type(exc).__name__})")
        return 1
    since_poll = beat.get("since_poll")
    problems = []
    if age > args.max_age:
        problems.append(f"heartbeat {age:.0f} s old")
    if since_poll is not None and since_poll > args.max_age:
        problems.append(f"no poll for {since_poll:.0f} s")
    print(("unhealthy: " + ", ".join(problems)) if problems else "healthy", json.dumps(beat))
    return 1 if problems else 0


def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    migrate(settings.database_url)
    print("database is up to date")
    return 0


def _print_staff_link(settings: Settings, staff: Staff, payload: str) -> None:
    print(f"Staff #{staff.id} {staff.name} ({staff.role})")
    print(f"One-time link, to open on the staff member's phone: {start_link(settings.bot_username, payload)}")
    print(f"Or send this message to the bot: /start {payload}")


def cmd_staff_add(args: argparse.Namespace, settings: Settings) -> int:
    with transaction(_sessions(settings)) as session:
        created = add_staff(
            session,
            name=args.name,
            role=StaffRole(args.role),
            language=args.language,
            district=args.district,
            backup_id=args.backup,
        )
        _print_staff_link(settings, created.staff, created.payload)
    return 0


def cmd_staff_link(args: argparse.Namespace, settings: Settings) -> int:
    with transaction(_sessions(settings)) as session:
        issued = new_binding_code(session, args.id)
        _print_staff_link(settings, issued.staff, issued.payload)
    return 0


def cmd_staff_list(args: argparse.Namespace, settings: Settings) -> int:
    with transaction(_sessions(settings)) as session:
        staff = session.scalars(select(Staff).order_by(Staff.id)).all()
        print(f"{'id':>4}  {'role':<10} {'bound':<5} {'duty':<4} {'lang':<7} name")
        for s in staff:
            bound = "yes" if s.telegram_user_id else "no"
            duty = "on" if s.on_duty else "off"
            print(f"{s.id:>4}  {s.role:<10} {bound:<5} {duty:<4} {s.language:<7} {s.name}")
    return 0


def cmd_invite_create(args: argparse.Namespace, settings: Settings) -> int:
    with transaction(_sessions(settings)) as session:
        invite = create_invite(session, nurse_id=args.nurse, max_uses=args.max_uses, valid_days=args.days)
        link = start_link(settings.bot_username, invite.code)
        print(f"Invite for nurse #{args.nurse}: {link}")
    if args.qr:
        write_qr_png(link, Path(args.qr))
        print(f"QR code written to {args.qr}")
    return 0


def cmd_cases_list(args: argparse.Namespace, settings: Settings) -> int:
    with transaction(_sessions(settings)) as session:
        query = select(Case).order_by(Case.opened_at)
        if not args.all:
            query = query.where(Case.status.in_(cases.OPEN_STATUSES))
        rows = session.scalars(query).all()
        print(
            f"{'case':>5}  {'priority':<8} {'status':<12} {'mother':>6}  "
            f"{'opened (UTC)':<16}  {'ack by (UTC)':<16}  nurse"
        )
        for case in rows:
            print(
                f"{case.id:>5}  {case.priority:<8} {case.status:<12} {case.mother_id:>6}  "
                f"{case.opened_at:%Y-%m-%d %H:%M}  {case.ack_deadline:%Y-%m-%d %H:%M}  {case.assigned_staff_id or '-'}"
            )
    return 0


def cmd_cases_show(args: argparse.Namespace, settings: Settings) -> int:
    with transaction(_sessions(settings)) as session:
        case = session.get(Case, args.id)
        if case is None:
            raise ValueError(f"no case {args.id}")
        reader = Staff(id=0, name="cli", role=StaffRole.ADMIN, language=args.lang, active=True)
        print(render_case(session, case, reader, utcnow()))
        print("\nevents:")
        for e in session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id)):
            print(f"  {e.at:%Y-%m-%d %H:%M:%S}  {e.actor:<12} {e.kind:<18} {e.details}")
    return 0


def cmd_cases_assign(args: argparse.Namespace, settings: Settings) -> int:
    with transaction(_sessions(settings)) as session:
        case = session.get(Case, args.id)
        staff = session.get(Staff, args.staff)
        if case is None or staff is None or not staff.active:
            raise ValueError("no such case or active staff member")
        cases.assign(session, case, staff, utcnow(), actor="cli")
        print(f"case {case.id} assigned to staff #{staff.id} {staff.name}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dodam", description="Dodam, a companion for new mothers.")
    sub = parser.add_subparsers(dest="command", required=True)

    sub.add_parser("run", help="run the bot (the sandbox when no token is set)").set_defaults(func=cmd_run)
    sub.add_parser("sandbox", help="chat with the bot in this terminal").set_defaults(func=cmd_sandbox)
    sub.add_parser("migrate", help="bring the database schema up to date").set_defaults(func=cmd_migrate)
    health = sub.add_parser("health", help="is the running bot alive? (exit 0 yes, 1 no; for a supervisor)")
    health.add_argument("--max-age", type=float, default=60.0, help="seconds a heartbeat or a poll may be old")
    health.set_defaults(func=cmd_health)

    staff = sub.add_parser("staff", help="staff accounts").add_subparsers(dest="staff_command", required=True)
    add = staff.add_parser("add", help="create a staff account and print its one-time link")
    add.add_argument("--name", required=True)
    add.add_argument("--role", required=True, choices=[r.value for r in StaffRole])
    add.add_argument("--language", default="ko", choices=LANGUAGES)
    add.add_argument("--district")
    add.add_argument("--backup", type=int, help="id of the backup nurse")
    add.set_defaults(func=cmd_staff_add)
    link = staff.add_parser("link", help="issue a new one-time link for a staff account")
    link.add_argument("id", type=int)
    link.set_defaults(func=cmd_staff_link)
    staff.add_parser("list", help="list staff accounts").set_defaults(func=cmd_staff_list)

    invite = sub.add_parser("invite", help="mother invite links").add_subparsers(dest="invite_command", required=True)
    create = invite.add_parser("create", help="print an invite link for a nurse's mothers")
    create.add_argument("--nurse", type=int, required=True, help="the nurse's staff id")
    create.add_argument("--qr", metavar="PNG", help="also write the link as a QR code image")
    create.add_argument("--max-uses", type=int)
    create.add_argument("--days", type=int, help="days until the link expires")
    create.set_defaults(func=cmd_invite_create)

    case_cmd = sub.add_parser("cases", help="escalation cases").add_subparsers(dest="cases_command", required=True)
    listing = case_cmd.add_parser("list", help="open cases, oldest first")
    listing.add_argument("--all", action="store_true", help="include resolved cases")
    listing.set_defaults(func=cmd_cases_list)
    show = case_cmd.add_parser("show", help="one case and its audit trail")
    show.add_argument("id", type=int)
    show.add_argument("--lang", default="en", choices=LANGUAGES)
    show.set_defaults(func=cmd_cases_show)
    assign = case_cmd.add_parser("assign", help="assign a case to a staff member")
    assign.add_argument("id", type=int)
    assign.add_argument("--staff", type=int, required=True)
    assign.set_defaults(func=cmd_cases_assign)

    register_content(sub)
    register_screening(sub)
    register_nlu(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = load_settings()
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    redact_updates_in(logging.getLogger())
    notice = keep_libraries_quiet(logging.getLogger().getEffectiveLevel())
    if notice:
        logging.getLogger("dodam").warning(notice)
    try:
        return int(args.func(args, settings))
    except ContentError as exc:
        for problem in exc.problems:
            print(f"{problem.file}:{problem.line}: {problem.severity}: {problem.message}", file=sys.stderr)
        print(f"dodam: {exc} — fix it (dodam content check) before starting", file=sys.stderr)
        return 2
    except (ValueError, NluUnavailable) as exc:
        print(f"dodam: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
