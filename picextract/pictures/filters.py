"""Pure filter rules over message JSON: `--author`, `--from bots|people|all`, `--contains`."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

SOURCES = ("all", "bots", "people")
REGEX_PREFIX = "re:"
MAX_AUTHORS_LISTED = 40


@dataclass(frozen=True)
class Author:
    """Who posted a message; webhooks count as bots."""

    id: str
    username: str = ""
    global_name: str = ""
    nick: str = ""
    is_bot: bool = False

    @property
    def names(self) -> tuple[str, ...]:
        """The names a user may give for this author: user name and display names."""
        return tuple(name for name in (self.username, self.global_name, self.nick) if name)

    @property
    def label(self) -> str:
        """`Display Name (@username)` for messages to the user."""
        shown = self.nick or self.global_name or self.username or self.id
        return f"{shown} (@{self.username})" if self.username and self.username != shown else shown


def _mapping(value: Any) -> Mapping[str, Any]:
    """A JSON object, or an empty one when a malformed message has something else there."""
    return value if isinstance(value, Mapping) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def message_author(message: Mapping[str, Any]) -> Author:
    """The author of a message; for a forward that is the one who forwarded it (snapshots carry no author)."""
    author = _mapping(message.get("author"))
    member = _mapping(message.get("member"))
    return Author(
        id=str(author.get("id") or message.get("webhook_id") or ""),
        username=str(author.get("username") or ""),
        global_name=str(author.get("global_name") or ""),
        nick=str(member.get("nick") or ""),
        is_bot=bool(author.get("bot")) or bool(message.get("webhook_id")),
    )


def _own_text(message: Mapping[str, Any]) -> list[str]:
    parts = [str(message.get("content") or "")]
    for embed in map(_mapping, _list(message.get("embeds"))):
        parts += [str(embed.get("title") or ""), str(embed.get("description") or "")]
    return [part for part in parts if part]


def message_text(message: Mapping[str, Any]) -> str:
    """The text `--contains` searches: content and embed titles and descriptions, with those of forwarded messages."""
    parts = _own_text(message)
    for snapshot in map(_mapping, _list(message.get("message_snapshots"))):
        parts += _own_text(_mapping(snapshot.get("message")))
    return "\n".join(parts)


class AuthorMatch(Enum):
    """How a message's author matches the `--author` list."""

    EXACT = "exact"  # an id, or a name exactly as given (also: no --author at all)
    FOLDED = "folded"  # a name only when case is ignored
    NONE = "none"


def _spec_matches(spec: str, author: Author, folded: bool) -> bool:
    if spec == author.id or spec in author.names:
        return True
    return folded and spec.casefold() in (name.casefold() for name in author.names)


@dataclass(frozen=True)
class MessageFilter:
    """The filters of a run, combined with AND; the default lets every message through."""

    authors: tuple[str, ...] = ()
    source: str = "all"
    contains: str = ""
    _pattern: re.Pattern[str] | None = field(default=None, compare=False, repr=False)

    @property
    def active(self) -> bool:
        """True when some filter leaves messages out."""
        return bool(self.authors or self.source != "all" or self.contains)

    @property
    def key(self) -> str:
        """A stable text naming this filter set ('' when none): the state keys its progress by it."""
        if not self.active:
            return ""
        parts: dict[str, object] = {"author": sorted(set(self.authors)), "from": self.source, "contains": self.contains}
        return json.dumps(parts, ensure_ascii=False, sort_keys=True)

    def describe(self) -> str:
        """The filters in words, for the run's header ('' when none)."""
        parts = []
        if self.authors:
            parts.append("by " + " or ".join(self.authors))
        if self.source != "all":
            parts.append(f"from {self.source}")
        if self.contains:
            parts.append(
                f"with text matching /{self.contains[len(REGEX_PREFIX) :]}/"
                if self._is_regex
                else f"with text containing {self.contains!r}"
            )
        return ", ".join(parts)

    @property
    def _is_regex(self) -> bool:
        return self.contains.startswith(REGEX_PREFIX)

    def author_match(self, author: Author) -> AuthorMatch:
        """EXACT when an id or a name matches as given, FOLDED when only ignoring case, else NONE."""
        if not self.authors or any(_spec_matches(spec, author, folded=False) for spec in self.authors):
            return AuthorMatch.EXACT
        if any(_spec_matches(spec, author, folded=True) for spec in self.authors):
            return AuthorMatch.FOLDED
        return AuthorMatch.NONE

    def passes_kind_and_text(self, message: Mapping[str, Any], author: Author) -> bool:
        """The `--from` and `--contains` rules."""
        if self.source != "all" and author.is_bot != (self.source == "bots"):
            return False
        if not self.contains:
            return True
        text = message_text(message)
        if self._pattern is not None:
            return self._pattern.search(text) is not None
        return self.contains.casefold() in text.casefold()


def parse_filter(authors: Iterable[str] | None, source: str | None, contains: str | None) -> MessageFilter:
    """The filter flags checked; ValueError with a one-line message naming the flag."""
    specs: list[str] = []
    for given in authors or []:
        for part in given.split(","):
            spec = part.strip().removeprefix("@").strip()
            if spec and spec not in specs:
                specs.append(spec)
        if not given.strip(" ,@"):
            raise ValueError("--author needs a user id, user name or display name")
    chosen = (source or "all").strip().lower()
    if chosen not in SOURCES:
        raise ValueError(f"--from must be one of {', '.join(SOURCES)}, not {source!r}")
    pattern = None
    text = contains or ""
    if text.startswith(REGEX_PREFIX):
        try:
            pattern = re.compile(text[len(REGEX_PREFIX) :], re.IGNORECASE | re.MULTILINE)
        except re.error as problem:
            raise ValueError(f"--contains: bad regular expression {text[len(REGEX_PREFIX) :]!r}: {problem}") from None
    elif contains is not None and not text.strip():
        raise ValueError("--contains needs some text (or re:PATTERN)")
    return MessageFilter(tuple(specs), chosen, text, pattern)


def has_exact_author(spec: str, known: Iterable[Author]) -> bool:
    """True when some known author has this id or this name exactly."""
    return any(_spec_matches(spec, author, folded=False) for author in known)


def unknown_authors(message_filter: MessageFilter, known: Iterable[Author]) -> list[str]:
    """The `--author` values that match no known author, even ignoring case."""
    authors = list(known)
    return [spec for spec in message_filter.authors if not any(_spec_matches(spec, a, folded=True) for a in authors)]


def unknown_authors_message(unknown: list[str], known: Iterable[Author]) -> str:
    """The one-line error for `--author` values nobody in the window has."""
    labels = sorted({author.label for author in known}, key=lambda label: (label.casefold(), label))
    listed = ", ".join(labels[:MAX_AUTHORS_LISTED]) + (", …" if len(labels) > MAX_AUTHORS_LISTED else "")
    seen = f"authors seen: {listed}" if labels else "no authors were seen in the window"
    return f"--author: nobody named {', '.join(repr(spec) for spec in unknown)} posted in the window; {seen}"


class FilterGate:
    """Applies a filter message by message and remembers the authors seen.

    A message whose author matches `--author` only when case is ignored is held until the source
    ends: it counts only when no author of the window has that name exactly (exact, then ignoring case).
    """

    def __init__(self, message_filter: MessageFilter, known: Iterable[Author] = ()) -> None:
        self.filter = message_filter
        self.authors: dict[str, Author] = {author.id: author for author in known}
        self.held: list[tuple[dict[str, Any], Author]] = []

    def see(self, message: dict[str, Any]) -> bool | None:
        """True: keep the message's pictures; False: leave them out; None: held until `release`."""
        author = message_author(message)
        if author.id:
            self.authors[author.id] = author
        if not self.filter.active:
            return True
        match = self.filter.author_match(author)
        if match is AuthorMatch.NONE or not self.filter.passes_kind_and_text(message, author):
            return False
        if match is AuthorMatch.FOLDED:
            self.held.append((message, author))
            return None
        return True

    def release(self) -> list[tuple[dict[str, Any], bool]]:
        """The held messages with their verdict, now that the source's authors are known."""
        known = list(self.authors.values())
        released = []
        for message, author in self.held:
            folded_specs = [spec for spec in self.filter.authors if _spec_matches(spec, author, folded=True)]
            released.append((message, any(not has_exact_author(spec, known) for spec in folded_specs)))
        self.held = []
        return released
