"""Prompts: ask for missing values on a terminal, re-ask on bad answers, never wait without one."""

from __future__ import annotations

import getpass
import sys
from collections.abc import Callable

from picextract.discord.channels import AmbiguousChannelError, ChannelInfo
from picextract.errors import UsageError


class Prompter:
    """Asks for missing values when allowed; otherwise fails naming the flag to use."""

    def __init__(self, interactive: bool) -> None:
        self.interactive = interactive

    def ask(
        self, prompt: str, flag: str, parse: Callable[[str], object] = str, default: str | None = None, secret: bool = False
    ) -> object:
        """Ask until `parse` accepts the answer; empty answers take `default` when there is one."""
        if not self.interactive:
            if default is not None:
                return parse(default)
            raise UsageError(f"missing value: pass {flag} (no terminal to ask on)")
        while True:
            answer = (getpass.getpass(prompt) if secret else input(prompt)).strip()
            if not answer:
                if default is not None:
                    return parse(default)
                print("  A value is needed here.", file=sys.stderr)
                continue
            try:
                return parse(answer)
            except ValueError as problem:
                print(f"  {problem}. Please try again.", file=sys.stderr)

    def choose(self, candidates: list[ChannelInfo]) -> ChannelInfo:
        """Let the user pick one of several matching channels."""
        if not self.interactive:
            raise AmbiguousChannelError(candidates)
        print("Several channels match:", file=sys.stderr)
        for number, candidate in enumerate(candidates, 1):
            print(f"  {number}. {candidate.label} (id {candidate.id})", file=sys.stderr)

        def pick(text: str) -> ChannelInfo:
            if not text.isdigit() or not 1 <= int(text) <= len(candidates):
                raise ValueError(f"enter a number from 1 to {len(candidates)}")
            return candidates[int(text) - 1]

        return self.ask(f"Choose a channel [1-{len(candidates)}]: ", "--channel", pick)  # type: ignore[return-value]
