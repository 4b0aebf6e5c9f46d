"""New messages while a watch runs: a timer for `--demo --watch`, and one chart posted on request."""

from __future__ import annotations

import threading
from datetime import datetime, timezone
from typing import Any

from picextract.fake.data import DiscordData
from picextract.fake.media import make_picture
from picextract.fake.sample import MessageFactory


def post_chart(server: DiscordData, channel_id: str, name: str | None = None, content: str = "") -> dict[str, Any]:
    """Post a message with one new picture to a channel or thread, now; returns the message."""
    number = server.next_id()
    filename = name or f"live_chart_{number}.png"
    factory = MessageFactory(server, channel_id)
    with server.lock:
        attachment = factory.attachment(filename, make_picture(1_000_000 + number, size=(16, 9)))
        return factory.message(datetime.now(timezone.utc), content or f"live signal {number}", [attachment])


def post_pictures_every(server: DiscordData, channel_id: str, seconds: float) -> threading.Event:
    """Post a new chart every `seconds` in a background thread until the returned event is set."""
    stop = threading.Event()

    def feed() -> None:
        while not stop.wait(seconds):
            post_chart(server, channel_id)

    threading.Thread(target=feed, name="demo-feed", daemon=True).start()
    return stop
