"""A fake Discord server on 127.0.0.1: the API, the CDN, rate limits and scriptable faults.

`FakeDiscord` is the fake's data (`data.DiscordData`) served over HTTP (`handler.py`) with a table of
answers (`table.RouteTable`, by default Discord's API from `routes.py`). It answers newest-first pages
for `before`/`after`/`around`, real-shaped error bodies, X-RateLimit-* headers and 429s, and counts
requests that ignore a rate limit (`state.violations`), so tests can assert there are none.
"""

from __future__ import annotations

import ssl
import threading
from typing import Any

from picextract.fake.data import DiscordData
from picextract.fake.handler import FAULTS, FakeHTTPServer
from picextract.fake.routes import discord_routes
from picextract.fake.table import RouteTable


class FakeDiscord(DiscordData):
    """Start with `with FakeDiscord() as server:`; `server.api_base` goes in DISCORD_API_BASE."""

    def __init__(self, port: int = 0, routes: RouteTable | None = None, **settings: Any) -> None:
        self.routes = routes if routes is not None else discord_routes()
        self.httpd = FakeHTTPServer(("127.0.0.1", port), self, self.routes)
        host, bound_port = self.httpd.server_address[:2]
        super().__init__(f"http://{host!s}:{bound_port}", **settings)
        self._thread: threading.Thread | None = None

    # --- lifecycle ------------------------------------------------------------------------

    def __enter__(self) -> FakeDiscord:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> FakeDiscord:
        """Serve in a background thread; after `stop()`, listen again on the same port with the same state."""
        if self._thread is not None:
            host, port = self.httpd.server_address[:2]
            tunnel_context = self.httpd.tunnel_context
            self.httpd = FakeHTTPServer((str(host), int(port)), self, self.routes)
            self.httpd.tunnel_context = tunnel_context
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Close the port: new connections are refused (kept-alive ones are served until they close)."""
        if self._thread is not None:
            self.httpd.shutdown()
        self.httpd.server_close()

    @property
    def api_base(self) -> str:
        return f"{self.base_url}/api/v10"

    def serve_tls_tunnel(self, certfile: str, keyfile: str) -> None:
        """Accept HTTPS-proxy CONNECTs and answer inside them with this certificate (for clients fixed on discord.com)."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(certfile, keyfile)
        self.httpd.tunnel_context = context

    # --- faults ---------------------------------------------------------------------------

    def fail_next(self, path_part: str, *faults: str) -> None:
        """The next requests whose path contains `path_part` get these faults, in order.

        Faults: ok (none), 500, 502, 404, 403, 429, drop (connection closed before a reply), truncate
        (body cut short), slow (reply after `slow_seconds`), html (an HTML page with status 200), and
        those the server's table answers (the tests add hostile ones: `tests/fake_extras/`).
        """
        unknown = [fault for fault in faults if fault not in FAULTS and self.routes.fault_answer(fault) is None]
        if unknown:
            raise ValueError(f"this server does not know the faults {unknown}")
        with self.lock:
            self.state.faults[path_part].extend(faults)
