"""Run the bot: database, conversation, Telegram application, polling or webhook."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable
from datetime import datetime

from telegram import Update
from telegram.ext import Application

from bot.config import Settings
from bot.db import make_engine, make_session_factory, migrate
from bot.domain.conversation import Conversation
from bot.models import utcnow
from bot.telegram.app import build_application, publish_commands
from bot.telegram.webhook import WebhookServer

log = logging.getLogger(__name__)


class BotRunner:
    """Starts and stops one bot process's worth of work, with an explicit lifecycle."""

    def __init__(
        self,
        settings: Settings,
        *,
        token: str | None = None,
        clock: Callable[[], datetime] = utcnow,
        poll_interval: float = 0.0,
    ) -> None:
        self.settings = settings
        self.token = token or settings.telegram_token
        if not self.token:
            raise ValueError("no Telegram token: set DODAM_TELEGRAM_TOKEN, or use the sandbox")
        migrate(settings.database_url)
        self.engine = make_engine(settings.database_url)
        self.conversation = Conversation(settings, make_session_factory(self.engine), clock=clock)
        self.poll_interval = poll_interval
        self.app: Application | None = None
        self.webhook: WebhookServer | None = None

    async def start(self) -> None:
        app = build_application(self.settings, self.conversation, token=self.token)
        await app.initialize()
        await publish_commands(app)
        await app.start()
        assert app.updater is not None
        if self.settings.webhook:
            self.webhook = WebhookServer(
                app,
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
            await app.updater.start_polling(
                poll_interval=self.poll_interval, timeout=10, allowed_updates=Update.ALL_TYPES
            )
            log.info("polling for updates")
        self.app = app

    async def stop(self) -> None:
        app, self.app = self.app, None
        if app is None:
            return
        if self.webhook is not None:
            await self.webhook.stop()
            self.webhook = None
        assert app.updater is not None
        if app.updater.running:
            await app.updater.stop()
        if app.running:
            await app.stop()
        await app.shutdown()
        self.engine.dispose()

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
