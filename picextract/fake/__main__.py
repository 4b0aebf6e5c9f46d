"""`python -m picextract.fake [--port N]`: serve the demo guild on 127.0.0.1 until Ctrl-C."""

from __future__ import annotations

import argparse
import sys
import threading

from picextract.errors import UsageError, describe_os_error, error_boundary
from picextract.fake.sample import BOT_TOKEN, CHANNEL_ID, CHANNEL_NAME, GUILD_ID, GUILD_NAME, USER_TOKEN, start_demo_server


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m picextract.fake",
        description="Run the fake Discord server with the demo guild on 127.0.0.1 until Ctrl-C.",
    )
    parser.add_argument("--port", type=int, default=0, help="port to listen on (default: any free port)")
    return parser


def banner(api_base: str) -> list[str]:
    """What the server prints: the API base first, then the demo guild, channel and the tokens it accepts."""
    return [
        f"DISCORD_API_BASE={api_base}",
        f"guild: {GUILD_ID} {GUILD_NAME}",
        f"channel: {CHANNEL_ID} #{CHANNEL_NAME}",
        f"user token: {USER_TOKEN}",
        f"bot token: {BOT_TOKEN}",
    ]


def serve(port: int, stop: threading.Event) -> int:
    """Serve until `stop` is set (Ctrl-C raises KeyboardInterrupt out of the wait)."""
    if not 0 <= port <= 65535:
        raise UsageError(f"--port {port}: choose a port from 0 to 65535")
    try:
        server, _ = start_demo_server(port)
    except OSError as problem:
        raise UsageError(f"--port {port}: {describe_os_error(problem)}") from None
    try:
        print("\n".join(banner(server.api_base)), flush=True)
        print("Serving until Ctrl-C.", file=sys.stderr, flush=True)
        while not stop.wait(0.5):
            pass
    finally:
        server.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return error_boundary(lambda: serve(args.port, threading.Event()), debug=False, interrupted="Fake Discord server stopped.")


if __name__ == "__main__":
    sys.exit(main())
