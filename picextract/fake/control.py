"""The fake server's control side for tests: post a message over HTTP, stop and restart serving.

`POST /control/messages` with `{"channel_id": ..., "filename": ...}` posts one new picture there
(like `demo_feed.post_chart`) and answers the message. It is not part of Discord's API, needs no
token and is not rate-limited; a test drives it while a watch runs in another process.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from picextract.fake.server import FakeDiscord

CONTROL_PREFIX = "/control/"
OUTAGE = ""  # the fault key of `stop_serving`: matches every path


def answer_control(handler: BaseHTTPRequestHandler, fake: FakeDiscord) -> None:
    """Answer one POST under /control/."""
    from picextract.fake.demo_feed import post_chart

    length = int(handler.headers.get("Content-Length") or 0)
    try:
        body = json.loads(handler.rfile.read(length) or b"{}")
    except ValueError:
        body = None
    if handler.path.split("?")[0] != "/control/messages" or not isinstance(body, dict):
        status, payload = 404, {"message": "unknown control route; POST /control/messages {channel_id, filename}"}
    elif str(body.get("channel_id")) not in fake.state.channels:
        status, payload = 404, {"message": f"no channel {body.get('channel_id')!r}"}
    else:
        status, payload = 200, post_chart(fake, str(body["channel_id"]), body.get("filename"), body.get("content") or "")
    encoded = json.dumps(payload).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(encoded)))
    handler.end_headers()
    handler.wfile.write(encoded)


def stop_serving(fake: FakeDiscord) -> None:
    """Close the port: new connections are refused, kept-alive ones dropped (the state stays for `serve_again`)."""
    fake.httpd.shutdown()
    fake.httpd.server_close()
    with fake.lock:
        fake.state.faults[OUTAGE] = deque(["drop"] * 10_000)  # `""` is in every path


def serve_again(fake: FakeDiscord) -> None:
    """Listen on the same port again, with the same state."""
    host, port = fake.httpd.server_address[:2]
    httpd = ThreadingHTTPServer((str(host), int(port)), fake.httpd.RequestHandlerClass)
    httpd.daemon_threads = True
    httpd.fake = fake  # type: ignore[attr-defined]
    fake.httpd = httpd
    with fake.lock:
        fake.state.faults.pop(OUTAGE, None)
    fake._thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    fake._thread.start()
