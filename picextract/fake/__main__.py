"""`python -m picextract.fake [--port N]`: serve the demo guild on 127.0.0.1 until Ctrl-C."""

from __future__ import annotations

import argparse
import ssl
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
    parser.add_argument("--tls-cert", help="with --tls-key: accept HTTPS-proxy tunnels (for clients fixed on discord.com)")
    parser.add_argument("--tls-key", help="the private key of --tls-cert")
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


def serve(args: argparse.Namespace, stop: threading.Event) -> int:
    """Serve until `stop` is set (Ctrl-C raises KeyboardInterrupt out of the wait)."""
    port = args.port
    if not 0 <= port <= 65535:
        raise UsageError(f"--port {port}: choose a port from 0 to 65535")
    if bool(args.tls_cert) != bool(args.tls_key):
        raise UsageError("give --tls-cert and --tls-key together")
    try:
        server, _ = start_demo_server(port)
    except OSError as problem:
        raise UsageError(f"--port {port}: {describe_os_error(problem)}") from None
    if args.tls_cert:
        try:
            server.serve_tls_tunnel(args.tls_cert, args.tls_key)
        except (OSError, ssl.SSLError) as problem:
            server.stop()
            raise UsageError(f"--tls-cert/--tls-key: {problem}") from None
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
    return error_boundary(lambda: serve(args, threading.Event()), debug=False, interrupted="Fake Discord server stopped.")


if __name__ == "__main__":
    sys.exit(main())
