"""Dodam's domain: conversation flows and services, free of any Telegram import.

The same flows run under Telegram, the terminal sandbox and (later) a web console: adapters turn their
input into :class:`~bot.domain.messages.Incoming` and carry out the returned actions.
"""
