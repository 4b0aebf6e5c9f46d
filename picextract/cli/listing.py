"""What `--list` and `?` at the channel prompt show: servers and their channels, readable or not."""

from __future__ import annotations

from collections.abc import Sequence

from picextract.discord.channels import Reachable


def format_reachable(rows: Sequence[Reachable], numbered: bool = False) -> str:
    """One heading per server (name and id), one line per channel: name, id, type, readable or not."""
    if not rows:
        return "No text, announcement or forum channels found on the servers this token is in."
    width = max(len(row.channel.name) for row in rows) + 1
    lines: list[str] = []
    guild_id: str | None = None
    for number, row in enumerate(rows, 1):
        channel = row.channel
        if channel.guild_id != guild_id or not lines:
            guild_id = channel.guild_id
            lines.append(f"{channel.guild_name} (server {channel.guild_id})")
        prefix = f"{number:>3}. " if numbered else "  "
        access = "readable" if row.readable else "no access"
        lines.append(f"  {prefix}#{channel.name:<{width}} {channel.id:>20}  {row.kind:<12} {access}")
    return "\n".join(lines)
