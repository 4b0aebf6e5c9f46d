"""What the fake Discord server knows, as plain records: tests fill them and read them (`server.state`)."""

from __future__ import annotations

from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Any


@dataclass
class RequestRecord:
    """One request the server saw."""

    kind: str  # api or cdn
    path: str
    query: dict[str, str]
    at: float
    authorization: str | None


@dataclass
class StoredFile:
    data: bytes
    content_type: str
    expires_at: float | None = None


@dataclass
class FakeDiscordState:
    """Everything the fake server knows; tests fill it and read it."""

    user_tokens: set[str] = field(default_factory=set)
    bot_tokens: set[str] = field(default_factory=set)
    guilds: dict[str, dict[str, Any]] = field(default_factory=dict)
    channels: dict[str, dict[str, Any]] = field(default_factory=dict)
    forbidden_channels: set[str] = field(default_factory=set)
    messages: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    files: dict[str, StoredFile] = field(default_factory=dict)
    requests: list[RequestRecord] = field(default_factory=list)
    violations: int = 0
    faults: dict[str, deque[str]] = field(default_factory=lambda: defaultdict(deque))
    forced_429: deque[tuple[float, bool]] = field(default_factory=deque)
    bucket_limit: int = 50
    bucket_window_seconds: float = 1.0
    latency_seconds: float = 0.0
    bytes_per_second: float | None = None
    slow_seconds: float = 2.0
    clock_offset_seconds: float = 0.0
    bot_message_content_intent: bool = True
    search_not_ready_answers: int = 0  # threads/search answers 202 "index not ready" this often first
    search_retry_after_seconds: int = 0  # the 202's `retry_after`: whole seconds (the docs' example says 2)
