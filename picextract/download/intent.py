"""A bot without the MESSAGE_CONTENT intent: Discord sends it messages with nothing in them.

https://discord.com/developers/docs/events/gateway#message-content-intent
"""

from __future__ import annotations

from typing import Any

from picextract.discord.errors import DiscordError

INTENT_SAMPLE = 100  # messages a bot must see empty before we call the intent missing
INTENT_HELP = (
    "this bot receives messages without content: it lacks the MESSAGE_CONTENT intent. Turn on "
    "'Message Content Intent' in the Discord Developer Portal (your application -> Bot -> "
    "Privileged Gateway Intents), then run again"
)


class MissingIntentError(DiscordError):
    """A bot without the MESSAGE_CONTENT intent gets empty messages."""


def is_empty_message(message: dict[str, Any]) -> bool:
    """A normal message with nothing in it: how Discord sends them to bots without the intent."""
    fields = ("content", "attachments", "embeds", "components", "message_snapshots", "sticker_items", "poll")
    return message.get("type", 0) in (0, 19) and not any(message.get(name) for name in fields)


class IntentCheck:
    """Notices a bot that only ever sees empty messages (https://support-dev.discord.com/hc/en-us/articles/4404772028055)."""

    def __init__(self, is_bot: bool) -> None:
        self.active = is_bot
        self.empty_seen = 0

    def see(self, message: dict[str, Any]) -> None:
        """Count one message; raise MissingIntentError after INTENT_SAMPLE empty ones and none with content."""
        if not self.active or message.get("type", 0) not in (0, 19):
            return
        if not is_empty_message(message):
            self.active = False
            return
        self.empty_seen += 1
        if self.empty_seen >= INTENT_SAMPLE:
            raise MissingIntentError(INTENT_HELP)

    def finish(self) -> None:
        """At the end of a source: only empty messages seen means the intent is missing."""
        if self.active and self.empty_seen:
            raise MissingIntentError(INTENT_HELP)
