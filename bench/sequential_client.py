"""The plain sequential client for bench_download.py: the way the original simple script works.

Pages the channel newest-first with `before=` until the window start, collects the image
attachments, then downloads them one after another. No sleeps, no retries, no concurrency.
"""

from __future__ import annotations

import argparse
import os
from datetime import datetime, timedelta, timezone
from pathlib import Path

import requests


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--channel", required=True)
    parser.add_argument("--days", type=float, default=14)
    parser.add_argument("--output", required=True)
    args = parser.parse_args()
    api = os.environ["DISCORD_API_BASE"]
    bot_token = os.environ.get("DISCORD_BOT_TOKEN")
    headers = {"Authorization": f"Bot {bot_token}" if bot_token else os.environ["DISCORD_USER_TOKEN"]}
    cutoff = datetime.now(timezone.utc) - timedelta(days=args.days)
    output = Path(args.output)
    output.mkdir(parents=True, exist_ok=True)
    session = requests.Session()
    pictures = []
    before = None
    while True:
        params = {"limit": 100} | ({"before": before} if before else {})
        page = session.get(f"{api}/channels/{args.channel}/messages", params=params, headers=headers, timeout=30).json()
        if not page:
            break
        done = False
        for message in page:
            posted = datetime.fromisoformat(message["timestamp"])
            if posted < cutoff:
                done = True
                break
            for attachment in message.get("attachments", []):
                if attachment.get("content_type", "").startswith("image/"):
                    pictures.append((posted, attachment))
        if done or len(page) < 100:
            break
        before = page[-1]["id"]
    for posted, attachment in pictures:
        name = f"{posted:%Y-%m-%d_%H-%M-%S}_{attachment['filename']}"
        (output / name).write_bytes(session.get(attachment["url"], timeout=30).content)
    print(len(pictures))


if __name__ == "__main__":
    main()
