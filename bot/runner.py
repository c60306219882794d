"""Run the bot: database, content, conversation, Telegram application, periodic ticks."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import Application

from bot.config import Settings
from bot.content.checks import check_data_files, take_up_valid_edits
from bot.content.library import ContentError, ContentLibrary
from bot.content.reloader import RELOAD_REQUEST_FILE, ContentStore
from bot.db import make_engine, make_session_factory, migrate, transaction
from bot.delivery.alerts import AlertDispatcher
from bot.delivery.dispatcher import Dispatcher, DispatchStats
from bot.delivery.planner import plan
from bot.delivery.ratelimit import RateLimiter
from bot.domain.cases import escalate_due
from bot.domain.conversation import Conversation
from bot.domain.lessons import plannables
from bot.domain.privacy import purge_old_messages
from bot.domain.screening_flow import screening_tick
from bot.inbox import Inbox
from bot.models import utcnow
from bot.telegram.app import build_application, publish_commands
from bot.telegram.receiver import Receiver
from bot.telegram.sender import TelegramMessageSender
from bot.telegram.webhook import WebhookServer
from nlu import service as nlu_service
from nlu.client import NluClient
from nlu.service import RasaServer
from scheduler.ticks import Ticks

log = logging.getLogger(__name__)

DISPATCH_EVERY = 1.0  # seconds
PLAN_EVERY = 600.0
CONTENT_EVERY = 5.0
SCREENING_EVERY = 300.0
ESCALATE_EVERY = 15.0
RETENTION_EVERY = 3600.0
HEARTBEAT_EVERY = 5.0
ALERT_POLL = 1.0


class BotRunner:
    """Starts and stops one bot process's worth of work, with an explicit lifecycle.

    Args:
        ticks: Run the periodic dispatcher, planner and content watcher (tests drive them by hand).
    """

    def __init__(
        self,
        settings: Settings,
        *,
        token: str | None = None,
        clock: Callable[[], datetime] = utcnow,
        ticks: bool = True,
        nlu: bool = True,
    ) -> None:
        self.settings = settings
        self.token = token or settings.telegram_token
        if not self.token:
            raise ValueError("no Telegram token: set DODAM_TELEGRAM_TOKEN, or use the sandbox")
        migrate(settings.database_url)
        self.clock = clock
        self.engine = make_engine(settings.database_url)
        self.sessions = make_session_factory(self.engine)
        self.content = ContentStore(settings.content_dir, request_file=RELOAD_REQUEST_FILE)
        problems = check_data_files()
        if problems:
            # Crisis lines, escalation rules or safety data that do not load would fail her at the worst moment.
            raise ContentError(problems)
        self.rasa: RasaServer | None = None
        # DODAM_NLU_URL=off: no Rasa at all (keywords only), e.g. for tests and benchmarks of other parts.
        nlu_url = None if settings.nlu_url == "off" else settings.nlu_url or self._managed_rasa_url(nlu)
        self.nlu = NluClient(nlu_url, timeout=settings.nlu_timeout)
        self.conversation = Conversation(settings, self.sessions, clock=clock, library=self.library, nlu=self.nlu)
        self.with_ticks = ticks
        self.inbox = Inbox(self.sessions)
        self.receiver: Receiver | None = None
        self.app: Application | None = None
        self.webhook: WebhookServer | None = None
        self.dispatcher: Dispatcher | None = None
        self.alerts: AlertDispatcher | None = None
        self.ticks: Ticks | None = None
        self._alert_task: asyncio.Task[None] | None = None

    def _managed_rasa_url(self, wanted: bool) -> str | None:
        """Start Rasa as a supervised child process when it is installed and a model is trained."""
        if not wanted or not nlu_service.installed() or not nlu_service.model_path().exists():
            log.warning("NLU: no Rasa server (not installed or no model); free text is understood by keywords")
            return None
        self.rasa = RasaServer(nlu_service.model_path())
        # Rasa needs ~15 s to load; until then the client's requests fail fast and keywords answer.
        threading.Thread(target=self._start_rasa, name="rasa-start", daemon=True).start()
        return self.rasa.url

    def _start_rasa(self) -> None:
        assert self.rasa is not None
        try:
            self.rasa.start()
            log.info("NLU: Rasa server ready on %s", self.rasa.url)
        except nlu_service.NluUnavailable:
            log.exception("NLU: Rasa did not start; free text is understood by keywords")

    def library(self) -> ContentLibrary:
        return self.content.library

    async def start(self) -> None:
        # Each update takes up to three short trips to a worker thread (store, turn, mark answered); asyncio's
        # default pool (cores + 4 threads) queues them behind each other under load.
        asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(max_workers=32, thread_name_prefix="db"))
        app = build_application(
            self.settings, self.conversation, token=self.token, inbox=self.inbox, after_turn=self.wake_alerts
        )
        await app.initialize()
        try:
            await publish_commands(app)
        except TelegramError as exc:
            # The command menu is a convenience; a bot that refused to start over it would answer no one.
            log.warning("could not publish the command menu (%s): starting without it", type(exc).__name__)
        await app.start()
        self.alerts = AlertDispatcher(
            self.sessions,
            TelegramMessageSender(app.bot),
            clock=self.clock,
            limiter=RateLimiter(self.settings.send_rate_per_second),
        )
        self.dispatcher = Dispatcher(
            self.settings, self.sessions, self.library, TelegramMessageSender(app.bot), clock=self.clock
        )
        self.receiver = Receiver(app, self.inbox)
        if self.settings.webhook:
            self.webhook = WebhookServer(
                app,
                self.receiver,
                secret=self.settings.webhook_secret,
                listen=self.settings.webhook_listen,
                port=self.settings.webhook_port,
            )
            await self.webhook.start()
            await app.bot.set_webhook(
                self.settings.webhook_url,
                secret_token=self.settings.webhook_secret,
                allowed_updates=Update.ALL_TYPES,
            )
            log.info("webhook mode on %s:%s", self.settings.webhook_listen, self.settings.webhook_port)
        else:
            await app.bot.delete_webhook()
            log.info("polling for updates")
        await self.receiver.start(polling=not self.settings.webhook)
        self.app = app
        if self.with_ticks:
            self.ticks = Ticks()
            self.ticks.every(DISPATCH_EVERY, "dispatch", self.dispatch)
            self.ticks.every(PLAN_EVERY, "plan", self.plan, first_run=utcnow())
            self.ticks.every(CONTENT_EVERY, "content", self.reload_content)
            self.ticks.every(SCREENING_EVERY, "screening", self.screening_reminders)
            self.ticks.every(ESCALATE_EVERY, "escalate", self.escalate)
            self.ticks.every(RETENTION_EVERY, "retention", self.purge_old_messages)
            self.ticks.every(HEARTBEAT_EVERY, "heartbeat", self.heartbeat)
            self.ticks.start()
            self._alert_task = asyncio.create_task(self._alert_loop(), name="alerts")

    async def heartbeat(self) -> dict[str, object]:
        """Restart a receiver loop that ended, and write the liveness file ``dodam health`` reads."""
        beat: dict[str, object] = {"at": utcnow().isoformat(), "pid": os.getpid()}
        if self.receiver is not None:
            beat.update(self.receiver.liveness())
        path = self.settings.heartbeat_file
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f"{path.name}.{os.getpid()}")
        partial.write_text(json.dumps(beat), encoding="utf-8")
        partial.replace(path)
        return beat

    async def dispatch(self) -> DispatchStats:
        assert self.dispatcher is not None
        stats = await self.dispatcher.tick()
        if stats.claimed:
            log.info(
                "dispatch: %s sent, %s deferred, %s skipped, %s retried, %s failed",
                stats.sent,
                stats.deferred,
                stats.skipped,
                stats.retried,
                stats.failed,
            )
        return stats

    async def plan(self) -> int:
        def work() -> int:
            with transaction(self.sessions) as session:
                items = plannables(self.library(), self.settings.screening_instrument)
                return plan(session, items, now=self.clock())

        added = await asyncio.to_thread(work)
        if added:
            log.info("planned %s lessons", added)
        return added

    def wake_alerts(self) -> None:
        if self.alerts is not None:
            self.alerts.wake.set()

    async def _alert_loop(self) -> None:
        """Staff alerts go out the moment a turn queues them, and are retried every second."""
        assert self.alerts is not None
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.alerts.wake.wait(), ALERT_POLL)
            self.alerts.wake.clear()
            try:
                await self.alerts.tick()
            except Exception:
                log.exception("alert tick failed")

    async def escalate(self) -> int:
        def work() -> int:
            with transaction(self.sessions) as session:
                return escalate_due(session, self.clock())

        moved = await asyncio.to_thread(work)
        if moved:
            self.wake_alerts()
        return moved

    async def purge_old_messages(self) -> int:
        def work() -> int:
            with transaction(self.sessions) as session:
                return purge_old_messages(session, self.clock(), self.settings.retention_days)

        return await asyncio.to_thread(work)

    async def screening_reminders(self) -> tuple[int, int]:
        def work() -> tuple[int, int]:
            with transaction(self.sessions) as session:
                return screening_tick(session, self.clock())

        return await asyncio.to_thread(work)

    async def reload_content(self) -> None:
        before = self.content.last_reload
        if await asyncio.to_thread(self.content.reload_if_changed):
            log.info("content reloaded: %d lessons", len(self.content.library))
        if self.content.last_reload != before:  # something under content/ changed: the data files too, maybe
            await asyncio.to_thread(take_up_valid_edits)

    async def stop(self) -> None:
        """Stop taking updates and let the turns in hand finish (their replies go out, their inbox items are
        marked answered); then the periodic work; then the application."""
        try:
            if self.webhook is not None:
                await self.webhook.stop()
                self.webhook = None
            if self.receiver is not None:
                await self.receiver.stop()
                self.receiver = None
        finally:
            if self.ticks is not None:
                self.ticks.stop()
                self.ticks = None
            if self._alert_task is not None:
                self._alert_task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._alert_task
                self._alert_task = None
            app, self.app = self.app, None
            if app is not None:
                if app.running:
                    await app.stop()
                await app.shutdown()
                self.engine.dispose()
            if self.rasa is not None:
                await asyncio.to_thread(self.rasa.stop)
                self.rasa = None

    async def run_until_signalled(self) -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await self.start()
        try:
            await stop.wait()
        finally:
            await self.stop()
