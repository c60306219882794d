"""Our own webhook endpoint (aiohttp), in the style of PTB's customwebhookbot example.

PTB's built-in webhook server answers 500 to a malformed body and logs update contents at debug and
critical level; a health service must do neither. This one checks the secret in constant time, caps the
body size, answers 400 to anything that is not an update, and never logs a body.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging

from aiohttp import web
from sqlalchemy.exc import SQLAlchemyError
from telegram import Update
from telegram.ext import Application

from bot.telegram.receiver import Receiver

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_BODY_BYTES = 1 << 20  # Telegram's updates are far smaller; anything bigger is not from Telegram
BODY_TIMEOUT = 10.0  # seconds to receive a whole body
MAX_UPDATE_ID = 1 << 52  # the Bot API's integers have at most 52 significant bits


class WebhookServer:
    def __init__(
        self,
        application: Application,
        receiver: Receiver,
        *,
        secret: str,
        listen: str,
        port: int,
        path: str = "/telegram",
    ) -> None:
        if not secret:
            raise ValueError("a webhook needs a secret token")
        self.application = application
        self.receiver = receiver
        self.secret = secret.encode()
        self.listen, self.port, self.path = listen, port, path
        self._runner: web.AppRunner | None = None

    def web_app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_BODY_BYTES)
        app.router.add_post(self.path, self.receive)
        app.router.add_get("/healthz", self.health)
        return app

    async def receive(self, request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, self.secret):
            log.warning("webhook request refused: missing or wrong secret token")
            return web.json_response({"ok": False, "error": "forbidden"}, status=403)
        if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
            return web.json_response({"ok": False, "error": "too large"}, status=413)
        try:
            # A client that sends its body slowly must not hold a worker for ever.
            body = await asyncio.wait_for(request.read(), timeout=BODY_TIMEOUT)
            data = json.loads(body)
            update_id = data.get("update_id") if isinstance(data, dict) else None
            if not isinstance(update_id, int) or isinstance(update_id, bool) or not 0 <= update_id < MAX_UPDATE_ID:
                raise ValueError("not an update")  # Telegram's ids fit in 52 bits; 2**70 is not one of them
            update = Update.de_json(data, self.application.bot)
        except TimeoutError:
            return web.json_response({"ok": False, "error": "body too slow"}, status=408)
        except web.HTTPRequestEntityTooLarge:
            return web.json_response({"ok": False, "error": "too large"}, status=413)
        except Exception:
            log.warning("webhook request refused: body is not a Telegram update")
            return web.json_response({"ok": False, "error": "bad update"}, status=400)
        if update is None:
            return web.json_response({"ok": False, "error": "bad update"}, status=400)
        try:
            await self.receiver.accept([update])
        except SQLAlchemyError:
            # Not stored, so not confirmed: Telegram sends it again.
            log.error("webhook update %s not stored: database unavailable", update.update_id)
            return web.json_response({"ok": False, "error": "try again"}, status=503)
        return web.json_response({"ok": True})

    async def health(self, request: web.Request) -> web.Response:
        return web.json_response({"ok": True, "running": self.application.running, **self.receiver.liveness()})

    async def start(self) -> None:
        self._runner = web.AppRunner(self.web_app(), access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.listen, self.port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
