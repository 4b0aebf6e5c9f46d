"""The fake server's control side for tests: post a message over HTTP, stop and restart serving.

`POST /control/messages` with `{"channel_id": ..., "filename": ...}` posts one new picture there
(like `demo_feed.post_chart`) and answers the message. It is not part of Discord's API, needs no
token and is not rate-limited; a test drives it while a watch runs in another process.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from picextract.fake.data import DiscordData
from picextract.fake.demo_feed import post_chart
from picextract.fake.server import FakeDiscord
from picextract.fake.table import Reply

CONTROL_MESSAGES = "/control/messages"
OUTAGE = ""  # the fault key of `stop_serving`: matches every path


def post_message(fake: DiscordData, body: Any) -> Reply:
    """`POST /control/messages`: one new picture in the channel the body names."""
    if not isinstance(body, dict):
        return 404, {"message": "POST /control/messages {channel_id, filename}"}
    if str(body.get("channel_id")) not in fake.state.channels:
        return 404, {"message": f"no channel {body.get('channel_id')!r}"}
    return 200, post_chart(fake, str(body["channel_id"]), body.get("filename"), body.get("content") or "")


def stop_serving(fake: FakeDiscord) -> None:
    """Close the port: new connections are refused, kept-alive ones dropped (the state stays for `serve_again`)."""
    fake.stop()
    with fake.lock:
        fake.state.faults[OUTAGE] = deque(["drop"] * 10_000)  # `""` is in every path


def serve_again(fake: FakeDiscord) -> None:
    """Listen on the same port again, with the same state."""
    with fake.lock:
        fake.state.faults.pop(OUTAGE, None)
    fake.start()
