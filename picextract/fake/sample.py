"""Builders for the fake server's content: pictures, messages, and a mixed sample channel."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from picextract.fake.captured import add_captured_messages
from picextract.fake.data import DiscordData
from picextract.fake.media import make_picture
from picextract.fake.objects import DISCORD_EPOCH_MS
from picextract.fake.server import FakeDiscord

USER_TOKEN = "fake-user-token-not-real-0123456789"
BOT_TOKEN = "fake-bot-token-not-real-9876543210"
GUILD_ID, GUILD_NAME = "1100000000000000001", "数学家炒美股"
CHANNEL_ID, CHANNEL_NAME = "1100000000000000002", "spx-realtime-aws"
ANNOUNCEMENTS_ID, FORUM_ID, MEDIA_ID = "1100000000000000003", "1100000000000000004", "1100000000000000005"


def snowflake_at(moment: datetime, sequence: int) -> str:
    """A snowflake for `moment` with a distinguishing increment."""
    millis = int(moment.timestamp() * 1000) - DISCORD_EPOCH_MS
    return str((millis << 22) | (sequence & 0x3FFFFF))


def iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="microseconds")


def user(user_id: str, username: str, global_name: str | None = None, bot: bool = False) -> dict[str, Any]:
    """An `author` object; pass it as `author=` to `MessageFactory.message`."""
    author: dict[str, Any] = {"id": user_id, "username": username, "global_name": global_name, "discriminator": "0"}
    if bot:
        author["bot"] = True
    return author


def webhook_author(webhook_id: str, name: str) -> dict[str, Any]:
    """The `author` of a webhook's message (its id is the webhook's); pass `webhook_id=` too."""
    return {"id": webhook_id, "username": name, "discriminator": "0000", "avatar": None}


class MessageFactory:
    """Makes messages, attachments and hosted files on one fake server."""

    def __init__(self, server: DiscordData, channel_id: str) -> None:
        self.server = server
        self.channel_id = channel_id

    def attachment(self, filename: str, data: bytes, content_type: str | None = "auto", **extra: Any) -> dict[str, Any]:
        attachment_id = snowflake_at(datetime.now(timezone.utc), self.server.next_id())
        if content_type == "auto":
            content_type = {"png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "gif": "image/gif"}.get(
                filename.rsplit(".", 1)[-1].lower(), "application/octet-stream"
            )
        url = self.server.add_file(f"attachments/{self.channel_id}/{attachment_id}/{filename}", data, content_type or "", **extra)
        attachment = {
            "id": attachment_id,
            "filename": filename,
            "size": len(data),
            "url": url,
            "proxy_url": self.server.media_url(url),
        }
        if content_type:
            attachment["content_type"] = content_type
        return attachment

    def external(self, path: str, data: bytes, content_type: str = "image/png") -> str:
        """An image hosted outside Discord (for embeds and links)."""
        self.server.add_file(path, data, content_type, signed=False)
        return f"{self.server.base_url}/ext/{path}"

    def message(
        self,
        when: datetime,
        content: str = "",
        attachments: list[dict[str, Any]] | None = None,
        embeds: list[dict[str, Any]] | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        message = {
            "id": snowflake_at(when, self.server.next_id()),
            "type": 0,
            "channel_id": self.channel_id,
            "author": {"id": "80351110224678912", "username": "signals", "global_name": "Signals", "discriminator": "0"},
            "content": content,
            "timestamp": iso(when),
            "edited_timestamp": None,
            "attachments": attachments or [],
            "embeds": embeds or [],
            "mentions": [],
            "pinned": False,
            "tts": False,
            "flags": 0,
            "components": [],
        }
        message.update(extra)
        self.server.add_message(message)
        return message


@dataclass(frozen=True)
class ExpectedPicture:
    """A picture a run over the 14-day window must save, under its UTC file name."""

    filename: str
    data: bytes


def stamp(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d_%H-%M-%S")


def setup_server(server: DiscordData) -> MessageFactory:
    """Tokens, the guild and the channel used by most tests."""
    server.state.user_tokens.add(USER_TOKEN)
    server.state.bot_tokens.add(BOT_TOKEN)
    server.add_guild(GUILD_ID, GUILD_NAME)
    server.add_channel(CHANNEL_ID, CHANNEL_NAME, GUILD_ID)
    return MessageFactory(server, CHANNEL_ID)


def build_sample_channel(server: DiscordData, now: datetime, count: int = 300, seed: int = 7) -> list[ExpectedPicture]:
    """`count` mixed messages over the last 20 days, then the captured real messages (years older);
    returns the pictures of the last 14 days."""
    factory = setup_server(server)
    add_captured_messages(server, CHANNEL_ID)
    rng = random.Random(seed)
    expected: list[ExpectedPicture] = []
    start = now - timedelta(days=20)
    span = (timedelta(days=20) - timedelta(minutes=10)).total_seconds()
    moments = sorted(start + timedelta(seconds=rng.uniform(0, span)) for _ in range(count))
    edge = now - timedelta(days=14)
    for number, when in enumerate(moments):
        when = when.replace(microsecond=rng.randrange(1000) * 1000)
        if abs((when - edge).total_seconds()) < 600:  # keep clear of the window's edge
            when += timedelta(minutes=20)
        inside = when >= edge
        pictures = _sample_message(factory, rng, number, when)
        if inside:
            expected.extend(ExpectedPicture(f"{stamp(when)}_{name}", data) for name, data in pictures)
    return expected


Picture = tuple[str, bytes]  # (expected file name, bytes) of a picture a sample message shows


def _sample_message(factory: MessageFactory, rng: random.Random, number: int, when: datetime) -> list[Picture]:
    """Posts one message of a kind picked by `number`; returns (expected name, bytes) it shows."""
    return _SAMPLE_KINDS[number % 10](factory, rng, number, when)


def _chart_upload(factory: MessageFactory, rng: random.Random, number: int, when: datetime) -> list[Picture]:
    """Kinds 0 and 1: a chart upload (PNG for even numbers, JPEG for odd)."""
    png = number % 10 == 0
    data = make_picture(number * 10, "PNG" if png else "JPEG")
    name = f"chart_{number}.{'png' if png else 'jpg'}"
    factory.message(when, f"SPX setup {number}", [factory.attachment(name, data)])
    return [(name, data)]


def _same_name_screenshots(factory: MessageFactory, rng: random.Random, number: int, when: datetime) -> list[Picture]:
    """Kind 2: two pasted screenshots with the same name in one message."""
    first, second = make_picture(number * 10), make_picture(number * 10 + 1)
    attachments = [factory.attachment("image.png", first), factory.attachment("image.png", second)]
    factory.message(when, "", attachments)
    return [("image.png", first), (f"image_{attachments[1]['id']}.png", second)]


def _auto_embedded_link(factory: MessageFactory, rng: random.Random, number: int, when: datetime) -> list[Picture]:
    """Kind 3: a bare link, auto-embedded as type image with the picture in thumbnail."""
    data = make_picture(number * 10)
    url = factory.external(f"charts/level_{number}.png", data)
    embed = {"type": "image", "url": url, "thumbnail": {"url": url, "proxy_url": url + "?proxy=1", "width": 6, "height": 4}}
    factory.message(when, f"look {url}", embeds=[embed])
    return [(f"level_{number}.png", data)]


def _bot_rich_embed(factory: MessageFactory, rng: random.Random, number: int, when: datetime) -> list[Picture]:
    """Kind 4: a bot's rich embed: the image counts, the thumbnail does not."""
    data, thumb = make_picture(number * 10), make_picture(number * 10 + 1)
    image_url = factory.external(f"bot/signal_{number}.png", data)
    thumb_url = factory.external(f"bot/logo_{number}.png", thumb)
    embed = {"type": "rich", "title": "Signal", "image": {"url": image_url}, "thumbnail": {"url": thumb_url}}
    factory.message(when, "", embeds=[embed], author=user("80351110224678999", "spx-signal-bot", bot=True))
    return [(f"signal_{number}.png", data)]


def _no_pictures(factory: MessageFactory, rng: random.Random, number: int, when: datetime) -> list[Picture]:
    """Kind 5: non-pictures only: a PDF, a video and a gifv embed."""
    pdf = factory.attachment(f"report_{number}.pdf", b"%PDF-1.4 fake", "application/pdf")
    video = factory.attachment(f"clip_{number}.mp4", b"\x00\x00\x00\x18ftypmp42", "video/mp4")
    gif_still = factory.external(f"tenor/still_{number}.png", make_picture(number * 10))
    gif_video = factory.external(f"tenor/still_{number}.png.mp4", b"\x00\x00\x00\x18ftypmp42" + bytes(number % 256), "video/mp4")
    gifv = {"type": "gifv", "url": "https://tenor.com/x", "thumbnail": {"url": gif_still}, "video": {"url": gif_video}}
    factory.message(when, "no pictures here", [pdf, video], embeds=[gifv])
    return []


def _forward(factory: MessageFactory, rng: random.Random, number: int, when: datetime) -> list[Picture]:
    """Kind 6: a forward: the snapshot's attachment counts."""
    data = make_picture(number * 10, "GIF")
    attachment = factory.attachment(f"forwarded_{number}.gif", data)
    snapshot = {
        "message": {
            "type": 0,
            "content": "",
            "attachments": [attachment],
            "embeds": [],
            "timestamp": iso(when - timedelta(days=400)),
            "flags": 0,
            "components": [],
        }
    }
    factory.message(
        when,
        "",
        message_reference={"type": 1, "channel_id": "1", "message_id": "2"},
        message_snapshots=[snapshot],
        flags=16384,
    )
    return [(f"forwarded_{number}.gif", data)]


def _reply(factory: MessageFactory, rng: random.Random, number: int, when: datetime) -> list[Picture]:
    """Kind 7: a reply: the parent's attachment is not this message's picture."""
    parent = {
        "id": "1",
        "channel_id": factory.channel_id,
        "content": "",
        "attachments": [factory.attachment("parent.png", make_picture(number * 10))],
        "embeds": [],
    }
    factory.message(when, "agreed", type=19, referenced_message=parent, message_reference={"type": 0, "message_id": "1"})
    return []


def _media_gallery(factory: MessageFactory, rng: random.Random, number: int, when: datetime) -> list[Picture]:
    """Kind 8: a components v2 media gallery, plus a sticker that is not saved."""
    data = make_picture(number * 10)
    attachment = factory.attachment(f"gallery_{number}.png", data)
    media = {
        "url": attachment["url"],
        "proxy_url": attachment["proxy_url"],
        "content_type": "image/png",
        "attachment_id": attachment["id"],
    }
    gallery = {"type": 12, "items": [{"media": media}]}
    factory.message(
        when,
        "",
        components=[{"type": 17, "components": [gallery]}],
        flags=1 << 15,
        sticker_items=[{"id": "9", "name": "wave", "format_type": 1}],
    )
    return [(f"gallery_{number}.png", data)]


def _bare_image_link(factory: MessageFactory, rng: random.Random, number: int, when: datetime) -> list[Picture]:
    """Kind 9: an image link with a query string and no embed, plus plain text (the only kind that draws from `rng`)."""
    data = make_picture(number * 10, "WEBP") if rng.random() < 0.5 else make_picture(number * 10)
    ext = "webp" if data[:4] == b"RIFF" else "png"
    url = factory.external(f"links/shot_{number}.{ext}", data, f"image/{ext}")
    factory.message(when, f"<{url}?size=large>")
    return [(f"shot_{number}.{ext}", data)]


# One builder per kind (`number % 10`), in the order the sample channel cycles through them.
_SAMPLE_KINDS: tuple[Callable[[MessageFactory, random.Random, int, datetime], list[Picture]], ...] = (
    _chart_upload,
    _chart_upload,
    _same_name_screenshots,
    _auto_embedded_link,
    _bot_rich_embed,
    _no_pictures,
    _forward,
    _reply,
    _media_gallery,
    _bare_image_link,
)


def add_demo_channels(server: DiscordData, now: datetime) -> list[ExpectedPicture]:
    """The rest of the demo guild: announcements, a forum, a media channel and threads with pictures.

    Returns the pictures posted in the threads of the sample channel (a run over it saves them too).
    """
    server.add_channel(ANNOUNCEMENTS_ID, "announcements", GUILD_ID, channel_type=5)
    server.add_channel(FORUM_ID, "chart-forum", GUILD_ID, channel_type=15)
    server.add_channel(MEDIA_ID, "chart-gallery", GUILD_ID, channel_type=16)
    MessageFactory(server, ANNOUNCEMENTS_ID).message(now - timedelta(days=2), "Market closed on Friday")
    expected = []
    threads = [
        ("1100000000000000010", "spx-levels", CHANNEL_ID, False),
        ("1100000000000000011", "old-setups", CHANNEL_ID, True),
        ("1100000000000000012", "weekly-charts", FORUM_ID, False),
        ("1100000000000000013", "heatmaps", MEDIA_ID, True),
    ]
    for number, (thread_id, name, parent_id, archived) in enumerate(threads):
        when = now - timedelta(days=3 + number)
        server.add_thread(thread_id, name, parent_id, archived=archived, archive_timestamp=iso(when + timedelta(days=1)))
        factory = MessageFactory(server, thread_id)
        data = make_picture(9000 + number)
        factory.message(when, f"thread {name}", [factory.attachment(f"{name}.png", data)])
        if parent_id == CHANNEL_ID:
            expected.append(ExpectedPicture(f"{stamp(when)}_{name}.png", data))
    return expected


def start_demo_server(port: int = 0) -> tuple[FakeDiscord, dict[str, str]]:
    """A running fake server with the demo guild, and the environment that points at it."""
    server = FakeDiscord(port=port).start()
    now = datetime.now(timezone.utc)
    build_sample_channel(server, now, count=120)
    add_demo_channels(server, now)
    env = {
        "DISCORD_API_BASE": server.api_base,
        "DISCORD_USER_TOKEN": USER_TOKEN,
        "DEMO_CHANNEL_ID": CHANNEL_ID,
        "RATE_LIMIT_DELAY": "0.02",
    }
    return server, env
