"""The table of answers the fake server's handler receives: API routes, POST routes, fault answers and test doors.

`routes.discord_routes()` fills one with Discord's API; tests add hostile fault answers and a control
door to their own table (`tests/fake_extras/`), so none of that ships in the product.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from picextract.fake.data import DiscordData
from picextract.fake.objects import ERRORS

Reply = tuple[int, Any]  # (status, JSON payload)
NOT_FOUND: Reply = (404, ERRORS["not_found"])
_ID = r"([^/]+)"


@dataclass(frozen=True)
class ApiRequest:
    """One authorised GET: the ids in its path, its query and the kind of token (`user` or `bot`)."""

    ids: tuple[str, ...]
    query: dict[str, str]
    token_kind: str


@dataclass(frozen=True)
class RawReply:
    """An answer written as it is, for faults a JSON reply cannot show: `chunks` go out one by one."""

    status: int
    content_type: str
    headers: dict[str, str]
    chunks: Iterable[bytes]
    chunked: bool = False  # each chunk framed for Transfer-Encoding: chunked (the headers must say so)
    pause_seconds: float = 0.0  # flush and wait after each chunk
    close: bool = False  # close the connection afterwards


@dataclass(frozen=True)
class FaultRequest:
    """One request a fault answer replaces."""

    data: DiscordData
    routes: RouteTable
    path: str  # with the CDN host's prefix, e.g. /api/v10/channels/1/messages or /cdn/attachments/...
    query: dict[str, str]
    authorization: str | None

    def api_answer(self, query: dict[str, str] | None = None) -> Reply:
        """What the API would answer this GET without the fault (with `query` instead of its own, when given)."""
        return self.routes.answer_get(self.data, self.path, self.query if query is None else query, self.authorization)


GetAnswer = Callable[[DiscordData, ApiRequest], Reply]
PostAnswer = Callable[[DiscordData, Any], Reply]  # the data and the JSON body of an authorised POST
FaultAnswer = Callable[[FaultRequest, str], RawReply]  # the request and the fault's name
DoorAnswer = Callable[[DiscordData, Any], Reply]  # a POST outside Discord's API: no token, no rate limit, not recorded


@dataclass
class RouteTable:
    """Path patterns → answers; the first match wins."""

    get: list[tuple[re.Pattern[str], GetAnswer]] = field(default_factory=list)
    post: dict[str, PostAnswer] = field(default_factory=dict)
    faults: list[tuple[Callable[[str], bool], FaultAnswer]] = field(default_factory=list)
    doors: dict[str, DoorAnswer] = field(default_factory=dict)

    def add_get(self, pattern: str, answer: GetAnswer) -> None:
        """Answer GETs on `pattern` (relative to /api/v10, `{id}` for one path segment)."""
        self.get.append((re.compile(pattern.replace("{id}", _ID)), answer))

    def add_post(self, path: str, answer: PostAnswer) -> None:
        self.post[path.strip("/")] = answer

    def add_fault(self, matches: Callable[[str], bool], answer: FaultAnswer) -> None:
        """Answer the faults whose names `matches` (see `FakeDiscord.fail_next`)."""
        self.faults.append((matches, answer))

    def add_door(self, path: str, answer: DoorAnswer) -> None:
        """Answer POSTs on `path` (from the root, e.g. /control/messages) without a token or rate limit."""
        self.doors[path] = answer

    def fault_answer(self, fault: str) -> FaultAnswer | None:
        return next((answer for matches, answer in self.faults if matches(fault)), None)

    def answer_get(self, data: DiscordData, path: str, query: dict[str, str], authorization: str | None) -> Reply:
        """Answer one GET on the API (`path` from /api/v10 on, or without it)."""
        token_kind = data.token_kind(authorization)
        if token_kind is None:
            return 401, ERRORS[401]
        stripped = path.removeprefix("/api/v10").strip("/")
        for pattern, answer in self.get:
            match = pattern.fullmatch(stripped)
            if match:
                return answer(data, ApiRequest(match.groups(), query, token_kind))
        return NOT_FOUND

    def answer_post(self, data: DiscordData, path: str, body: Any, authorization: str | None) -> Reply:
        """Answer one POST on the API."""
        if data.token_kind(authorization) is None:
            return 401, ERRORS[401]
        answer = self.post.get(path.removeprefix("/api/v10").strip("/"))
        return answer(data, body) if answer is not None else NOT_FOUND
