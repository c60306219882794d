"""The python-telegram-bot adapter: one thin handler from updates to the conversation and back."""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Callable

from telegram import BotCommand, Update
from telegram.error import BadRequest, NetworkError, RetryAfter, TelegramError
from telegram.ext import Application, ContextTypes, TypeHandler

from bot.config import Settings
from bot.delivery.recording import record
from bot.domain.conversation import Conversation
from bot.domain.messages import Action, Send, encode_actions
from bot.i18n import LANGUAGES, Translator
from bot.inbox import Inbox
from bot.telegram.convert import to_incoming
from bot.telegram.sender import Undeliverable, perform

log = logging.getLogger(__name__)

# Telegram's language codes for the command menu, per catalog.
_COMMAND_LANGUAGE = {"ko": "ko", "en": "en", "zh_Hans": "zh", "vi": "vi", "tl": "fil"}


class Handler:
    """Turns each update into a conversation turn; updates of one chat are handled one at a time.

    With an inbox, every update was stored before Telegram was told it arrived: the turn runs once (see
    ``Conversation.handle``), and the item is forgotten only when its replies are out. If the turn fails (the
    database is down) or a reply cannot be sent yet, the item stays and the inbox retry sends it again.
    """

    def __init__(
        self, conversation: Conversation, *, inbox: Inbox | None = None, after_turn: Callable[[], None] | None = None
    ) -> None:
        self.conversation = conversation
        self.inbox = inbox
        self.after_turn = after_turn
        self._locks: defaultdict[int, asyncio.Lock] = defaultdict(asyncio.Lock)

    async def __call__(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        receipt = update.update_id if self.inbox is not None else None
        incoming = to_incoming(update)
        if incoming is None:
            if self.inbox is not None:
                await asyncio.to_thread(self.inbox.forget, update.update_id)
            return
        async with self._locks[incoming.chat_id]:
            # The database work is short and synchronous; a thread keeps the loop free for other chats.
            actions = await asyncio.to_thread(self.conversation.handle, incoming, receipt=receipt)
            if self.after_turn is not None:
                self.after_turn()  # a turn may have queued staff alerts: send them now, not at the next tick
            undelivered = await self.deliver(context.bot, actions)
            if self.inbox is not None:
                # Through a database outage too: an item not marked answered would be answered again.
                if undelivered:
                    await record(self.inbox.keep_replies, update.update_id, encode_actions(undelivered))
                else:
                    await record(self.inbox.forget, update.update_id)

    def _wake_alerts(self) -> None:
        if self.after_turn is not None:
            self.after_turn()

    async def deliver(self, bot_: object, actions: list[Action]) -> list[Action]:
        """Send the actions in order; returns those still to send after a fault that may pass."""
        from telegram import Bot

        assert isinstance(bot_, Bot)
        for index, action in enumerate(actions):
            try:
                await perform(bot_, action)
            except Undeliverable as exc:
                await asyncio.to_thread(self.conversation.mark_undeliverable, exc.chat_id)
                self._wake_alerts()
                return []
            except BadRequest as exc:
                # Refused for good (a 400 is a NetworkError subclass in PTB, but retrying cannot change it): this
                # one action is lost, never the ones after it, which may be her crisis lines; and whoever cares
                # for her is told that a reply did not reach her.
                log.error("%s refused by Telegram (%s): skipped", type(action).__name__, type(exc).__name__)
                if isinstance(action, Send):
                    await asyncio.to_thread(self.conversation.tell_not_delivered, action.chat_id)
                    self._wake_alerts()
            except (NetworkError, RetryAfter) as exc:
                log.warning("%s not delivered yet (%s): kept for a retry", type(action).__name__, type(exc).__name__)
                return actions[index:]
            except TelegramError as exc:
                # Logged by type only: the text may hold health information.
                log.error("could not deliver %s: %s", type(action).__name__, type(exc).__name__)
        return []


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log the failure without the update's content (no message text, names or user data)."""
    update_id = update.update_id if isinstance(update, Update) else None
    log.error("error handling update %s", update_id, exc_info=context.error)


def build_application(
    settings: Settings,
    conversation: Conversation,
    *,
    token: str,
    inbox: Inbox | None = None,
    after_turn: Callable[[], None] | None = None,
) -> Application:
    """The PTB application. With an inbox, updates come from :class:`bot.telegram.receiver.Receiver`, not PTB's
    Updater: PTB's poller confirms an update to Telegram before it is handled, so a crash would lose it."""
    builder = (
        Application.builder()
        .token(token)
        .base_url(settings.bot_api_base_url)
        .base_file_url(settings.bot_api_base_file_url)
        .concurrent_updates(64)
    )
    if inbox is not None:
        builder = builder.updater(None)
    app = builder.build()
    app.add_handler(TypeHandler(Update, Handler(conversation, inbox=inbox, after_turn=after_turn)))
    app.add_error_handler(on_error)
    return app


async def publish_commands(app: Application) -> None:
    """The command menu Telegram shows, in each of Dodam's languages."""
    for language in LANGUAGES:
        t = Translator(language)
        commands = [
            BotCommand("menu", t("the main menu")),
            BotCommand("language", t("change the language")),
            BotCommand("help", t("what I can do")),
            BotCommand("cancel", t("stop the current question")),
        ]
        code = _COMMAND_LANGUAGE[language]
        await app.bot.set_my_commands(commands, language_code=None if language == "en" else code)
