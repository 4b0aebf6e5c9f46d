"""The questions a run needs answered, each checked as soon as it is answered: token, channel, folder."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from picextract.cli.answers import parse_output_path, token_candidates
from picextract.cli.listing import format_reachable
from picextract.cli.prompts import Prompter
from picextract.config import Settings
from picextract.discord.channel_spec import ChannelSpec, guild_of, parse_channel_list
from picextract.discord.channels import ChannelInfo, ChannelResolver, Reachable
from picextract.discord.client import DiscordClient
from picextract.discord.errors import AccessError, AuthError
from picextract.discord.pace import at_risk_suffix
from picextract.errors import UsageError
from picextract.pictures.ids import decimal

TOKEN_PROMPT = "Enter your Discord token (bot or user; typing is hidden): "
CHANNEL_PROMPT = "Enter channel link, ID or #name (? lists your channels): "
GUILD_PROMPT = "Enter server name or ID: "
TOKEN_TRIES = 3
LIST_NUMBER_DIGITS = 5  # list numbers are short; channel IDs are 17 to 20 digits


def whoami(settings: Settings, authorization: str) -> dict[str, object]:
    """The account behind a token (`GET /users/@me`, one request); AuthError when Discord refuses it."""
    client = DiscordClient(authorization, settings, pool_size=1)
    try:
        return dict(client.api("/users/@me", what="your account"))
    finally:
        client.close()


def check_token(settings: Settings, authorization: str, source: str) -> None:
    """A token from the environment or `.env`, checked before any question; the error names its source."""
    try:
        whoami(settings, authorization)
    except AuthError as refused:
        raise AuthError(refused_token_message(source) + at_risk_suffix(refused)) from None


def refused_token_message(source: str) -> str:
    """What to say when Discord refuses the token from `source`."""
    return f"Discord rejected the token from {source} (401 Unauthorized): check it, or get a new one"


def ask_token(prompter: Prompter, settings: Settings) -> str:
    """Ask for a token and check it at once (three tries); a bot token pasted without `Bot ` is recognised."""

    def check(answer: str) -> str:
        for authorization in token_candidates(answer):
            try:
                account = whoami(settings, authorization)
            except AuthError:
                continue
            is_bot = authorization.startswith("Bot ")
            recognised = " (recognised as a bot token: it is sent as 'Bot <token>')" if is_bot else ""
            prompter.say(f"  Token accepted: {account.get('username', '?')}, {'bot' if is_bot else 'user'} account{recognised}.")
            return authorization
        raise AuthError("Discord refused this token (401 Unauthorized): copy it again, whole, without quotes")

    if not prompter.interactive:
        raise UsageError("no token: set DISCORD_BOT_TOKEN or DISCORD_USER_TOKEN (environment, .env or --env-file)")
    return str(prompter.ask(TOKEN_PROMPT, "DISCORD_BOT_TOKEN", check, secret=True, tries=TOKEN_TRIES))


class ChannelQuestion:
    """The channel prompt (and the server prompt a name needs): resolved as soon as it is answered."""

    def __init__(self, prompter: Prompter, resolver: ChannelResolver, guild: str | None) -> None:
        self.prompter = prompter
        self.resolver = resolver
        self.guild = guild
        self.listing: list[Reachable] = []

    def ask_guild(self) -> str:
        """The server, by name or ID, checked against the servers the token is in."""
        if self.guild:
            return self.guild

        def known(text: str) -> str:
            self.resolver.matching_guilds(text)
            return text

        self.guild = str(self.prompter.ask(GUILD_PROMPT, "--guild", known))
        return self.guild

    def show_list(self) -> None:
        """`?`: the servers and channels the token can reach, numbered."""
        self.prompter.say("Looking up your servers and channels…")
        self.listing = self.resolver.reachable(self.guild)
        self.prompter.say(format_reachable(self.listing, numbered=True))
        self.prompter.say("Type a channel's number, or paste its link.")

    def _by_number(self, number: int) -> list[ChannelInfo]:
        if not self.listing:
            raise ValueError("type ? to see the numbered list first, or give the channel's link, ID or #name")
        if not 1 <= number <= len(self.listing):
            raise ValueError(f"choose a number from 1 to {len(self.listing)}")
        row = self.listing[number - 1]
        if not row.readable:
            raise AccessError(f"this token cannot read #{row.channel.name}; choose one marked readable")
        return [row.channel]

    def resolve(self, specs: Sequence[ChannelSpec]) -> list[ChannelInfo]:
        """The channels the specs name (a name needs the server: asked now when not known)."""
        self.guild = self.guild or guild_of(specs)
        guild = self.ask_guild() if any(spec.name for spec in specs) else self.guild
        return self.resolver.resolve(specs, guild, choose=self.prompter.choose)

    def every_readable(self) -> list[ChannelInfo]:
        """`--all-channels`: every channel of the server the token may read; none is a usage error."""
        channels = self.resolver.all_readable(self.ask_guild())
        if not channels:
            raise UsageError(f"no channel of {self.guild!r} can be read")
        return channels

    def _answer(self, text: str) -> list[ChannelInfo]:
        """A prompt answer: a number from the `?` list, or links, IDs and names (a name must be readable)."""
        number = decimal(text) if len(text) <= LIST_NUMBER_DIGITS else None
        if number is not None:
            return self._by_number(number)
        specs = parse_channel_list(text)
        channels = self.resolve(specs)
        if any(spec.name for spec in specs):
            for channel in channels:
                if not self.resolver.readable(channel.id):
                    raise AccessError(f"this token cannot read {channel.label}")
        return channels

    def ask(self) -> list[ChannelInfo]:
        """Ask until the answer names channels the token can read."""
        answer = self.prompter.ask(CHANNEL_PROMPT, "--channel", self._answer, on_question_mark=self.show_list)
        return answer  # type: ignore[return-value]


def check_output_folder(folder: Path) -> Path:
    """A folder we can create or write into; ValueError saying why not (checked at the prompt)."""
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"{folder} is a file, not a folder")
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise ValueError(f"{folder} cannot be made: {existing} is a file")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ValueError(f"cannot write in {existing}")
    return folder


def ask_output(prompter: Prompter, default: str) -> Path:
    """The output folder: quotes and spaces dropped, `~` expanded, checked before the run starts."""
    answer = prompter.ask(
        f"Enter output directory (press Enter for default: {default}): ",
        "--output",
        lambda text: check_output_folder(parse_output_path(text)),
        default=default,
    )
    return answer  # type: ignore[return-value]
