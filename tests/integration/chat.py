"""Drive the conversation service directly, as a channel adapter would (no Telegram)."""

from __future__ import annotations

from bot.domain.conversation import Conversation
from bot.domain.messages import Action, AnswerButton, Button, Edit, Incoming, Kind, Send


class Chat:
    def __init__(
        self,
        conversation: Conversation,
        user_id: int,
        *,
        language_code: str | None = "en",
        first_name: str = "Mina",
        chat_type: str = "private",
        chat_id: int | None = None,
    ) -> None:
        self.conversation = conversation
        self.user_id = user_id
        self.chat_id = chat_id if chat_id is not None else user_id
        self.language_code = language_code
        self.first_name = first_name
        self.chat_type = chat_type
        self.keyboard: tuple[tuple[Button, ...], ...] = ()
        self.last: list[Action] = []
        self._message_id = 100

    def _handle(self, kind: Kind, **kw: object) -> list[Action]:
        msg = Incoming(
            chat_id=self.chat_id,
            user_id=self.user_id,
            kind=kind,
            chat_type=self.chat_type,
            language_code=self.language_code,
            first_name=self.first_name,
            **kw,
        )  # type: ignore[arg-type]
        self.last = self.conversation.handle(msg)
        for action in self.last:
            if isinstance(action, Send | Edit) and action.buttons:
                self.keyboard = action.buttons
                self._message_id += 1
        return self.last

    def text(self, text: str) -> list[Action]:
        return self._handle(Kind.TEXT, text=text)

    def command(self, command: str, args: str = "") -> list[Action]:
        return self._handle(Kind.COMMAND, command=command, args=args, text=f"/{command} {args}".strip())

    def media(self, media: str = "photo") -> list[Action]:
        return self._handle(Kind.MEDIA, media=media)

    def data(self, data: str, message_id: int | None = None) -> list[Action]:
        return self._handle(
            Kind.BUTTON,
            data=data,
            message_id=message_id or self._message_id,
            callback_id=f"cb{self._message_id}",
        )

    def press(self, label: str) -> list[Action]:
        """Press the button labelled `label` (or, failing that, containing it) on the latest keyboard."""
        for row in self.keyboard:
            for button in row:
                if label == button.label:
                    return self.data(button.data)
        for row in self.keyboard:
            for button in row:
                if label in button.label:
                    return self.data(button.data)
        raise AssertionError(f"no button {label!r} in {self.labels()}")

    def labels(self) -> list[str]:
        return [b.label for row in self.keyboard for b in row]

    def texts(self) -> list[str]:
        return [a.text for a in self.last if isinstance(a, Send | Edit)]

    def said(self) -> str:
        return "\n".join(self.texts())

    def toasts(self) -> list[str]:
        return [a.text for a in self.last if isinstance(a, AnswerButton)]
