"""Prompts: ask for missing values on a terminal, check each answer at once, re-ask, never wait without one."""

from __future__ import annotations

import getpass
import sys
from collections.abc import Callable

from picextract.discord.channels import AmbiguousChannelError, ChannelInfo
from picextract.discord.errors import ApiError
from picextract.errors import PicExtractError, UsageError
from picextract.pictures.ids import decimal


class Prompter:
    """Asks for missing values when allowed; otherwise fails naming the flag to use.

    Ctrl-D at a prompt cancels like Ctrl-C (KeyboardInterrupt: the error boundary says "Cancelled.").
    """

    def __init__(self, interactive: bool) -> None:
        self.interactive = interactive

    def _read(self, prompt: str, secret: bool) -> str:
        try:
            return getpass.getpass(prompt) if secret else input(prompt)
        except EOFError:
            raise KeyboardInterrupt from None

    def ask(
        self,
        prompt: str,
        flag: str,
        parse: Callable[[str], object] = str,
        default: str | None = None,
        secret: bool = False,
        tries: int | None = None,
        on_question_mark: Callable[[], None] | None = None,
    ) -> object:
        """Ask until `parse` accepts the answer (at most `tries` times); empty answers take `default`.

        `parse` raises ValueError or one of our errors with a message for the user; the answer is asked
        again. `?` calls `on_question_mark` (e.g. to show a list) when given.
        """
        if not self.interactive:
            if default is None:
                raise UsageError(f"missing value: pass {flag} (no terminal to ask on)")
            try:
                return parse(default)
            except ValueError as problem:
                raise UsageError(f"{flag} (default {default}): {problem}") from None
        failed = 0
        while True:
            answer = self._read(prompt, secret).strip()
            if answer == "?" and on_question_mark is not None:
                on_question_mark()
                continue
            if not answer and default is None:
                print("  A value is needed here.", file=sys.stderr)
                continue
            try:
                return parse(answer or str(default))
            except (ValueError, PicExtractError) as problem:
                if isinstance(problem, ApiError):
                    raise  # Discord is unreachable or failing: asking again will not help
                failed += 1
                if tries is not None and failed >= tries:
                    raise
                again = f" ({tries - failed} tries left)" if tries is not None else ""
                print(f"  {str(problem).rstrip('.')}. Please try again{again}.", file=sys.stderr)

    def say(self, text: str) -> None:
        """A line for the user between prompts (stderr: stdout is for results)."""
        print(text, file=sys.stderr)

    def choose(self, candidates: list[ChannelInfo]) -> ChannelInfo:
        """Let the user pick one of several matching channels."""
        if not self.interactive:
            raise AmbiguousChannelError(candidates)
        print("Several channels match:", file=sys.stderr)
        for number, candidate in enumerate(candidates, 1):
            print(f"  {number}. {candidate.label} (id {candidate.id})", file=sys.stderr)

        def pick(text: str) -> ChannelInfo:
            number = decimal(text)
            if number is None or not 1 <= number <= len(candidates):
                raise ValueError(f"enter a number from 1 to {len(candidates)}")
            return candidates[number - 1]

        return self.ask(f"Choose a channel [1-{len(candidates)}]: ", "--channel", pick)  # type: ignore[return-value]
