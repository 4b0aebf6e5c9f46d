"""Every answer of the fake Discord server, checked against Discord's published OpenAPI description.

The description is `../shared/discord-openapi/openapi.json` (MIT, see its README). Where it and the
captured real payloads (`../shared/discord_fixtures/`) disagree, the real payload wins: such cases are
listed in SPEC_EXCEPTIONS with the reason, and the test fails on any failure not listed there (and on a
listed exception that no longer happens, so the list stays true).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from picextract.fake.sample import (
    BOT_TOKEN,
    CHANNEL_ID,
    FORUM_ID,
    GUILD_ID,
    USER_TOKEN,
    add_demo_channels,
    build_sample_channel,
)
from picextract.fake.server import FakeDiscord

SHARED = Path(__file__).resolve().parents[2] / "shared"
SPEC_FILE = SHARED / "discord-openapi" / "openapi.json"
FIXTURES = SHARED / "discord_fixtures"
SPEC_URI = "urn:discord-openapi"

# (route template, JSON path of the failing value as a regex, words of the validator's message): reason.
SPEC_EXCEPTIONS: dict[tuple[str, str, str], str] = {
    ("/channels/{channel_id}", r"\$", "'type': 16,"): "the spec's GuildChannelResponse.type enum lacks 16 (GUILD_MEDIA), "
    "a channel type Discord's docs list (resources/channel.mdx, Channel Types) and the API serves",
    ("/guilds/{guild_id}/channels", r"\$\[\d+\]", "'type': 16,"): "as above: media channels (type 16) are guild channels",
    ("/channels/{channel_id}/messages", r"\$\[\d+\]\.message_reference\.type", "1 is not valid"): "the spec's "
    "MessageReferenceType has only 0 (DEFAULT); forwards carry 1 (FORWARD) in captured payloads "
    "(message_forwarded_snapshot_image_attachment.json) and in the docs (resources/message.mdx, Message Reference Types)",
    ("/channels/{channel_id}/messages", r"\$\.errors", "is not valid under any"): "field errors carry string codes "
    "(NUMBER_TYPE_COERCE, NUMBER_TYPE_MAX) in real answers (error_400_invalid_snowflake_50035.json); the spec types "
    "Error.code as an integer",
    ("/users/@me", r"\$", "'code' is a required property"): "a user-scope 429 body is {message, retry_after, global} "
    "without `code` in Discord's rate-limit docs and their header examples (error_429_user_rate_limit_docs.json, "
    "http_429_examples_docs_with_headers.json); the spec's RatelimitedResponse requires `code`",
    ("/users/@me/guilds", r"\$", "'code' is a required property"): "as above, for the global 429 body "
    "(error_429_global_docs.json)",
}


@dataclass(frozen=True)
class Answer:
    """One request the test made and what came back."""

    method: str
    path: str  # after /api/v10
    status: int
    headers: dict[str, str]
    body: Any


def _load_spec() -> dict[str, Any]:
    assert SPEC_FILE.is_file(), f"{SPEC_FILE} is missing: the spec test needs ../shared/discord-openapi"
    return json.loads(SPEC_FILE.read_text(encoding="utf-8"))


SPEC = _load_spec()
REGISTRY: Registry = Registry().with_resource(SPEC_URI, Resource(contents=SPEC, specification=DRAFT202012))
TEMPLATES = [(re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", template) + "$"), template) for template in SPEC["paths"]]


def template_of(path: str) -> str | None:
    """The spec's path template for a concrete path (`/channels/1/messages` -> `/channels/{channel_id}/messages`)."""
    matches = [template for pattern, template in TEMPLATES if pattern.match(path)]
    # Literal segments beat parameters: `/users/@me/guilds` over `/users/{user_id}/guilds`.
    return min(matches, key=lambda template: template.count("{"), default=None)


def _pointer(*parts: str) -> str:
    return "/".join(part.replace("~", "~0").replace("/", "~1") for part in parts)


def response_schema_ref(template: str, method: str, status: int) -> str | None:
    """The `$ref` to the JSON schema the spec gives this answer, None when it gives none."""
    responses = SPEC["paths"][template][method]["responses"]
    key = str(status) if str(status) in responses else f"{str(status)[0]}XX"
    if key not in responses:
        return None
    response = responses[key]
    location = ["paths", template, method, "responses", key]
    if "$ref" in response:
        location = response["$ref"].removeprefix("#/").split("/")
        response = SPEC["components"]["responses"][location[-1]]
    if "application/json" not in response.get("content", {}):
        return None
    return f"{SPEC_URI}#/" + _pointer(*location, "content", "application/json", "schema")


def spec_failures(answer: Answer) -> list[tuple[str, str, str]]:
    """(template, JSON path, message) of each way the answer breaks the spec."""
    template = template_of(answer.path)
    if template is None:
        return [(answer.path, "$", "path not in the spec")]
    ref = response_schema_ref(template, answer.method.lower(), answer.status)
    if ref is None:
        return [(template, "$", f"status {answer.status} not in the spec")]
    validator = Draft202012Validator({"$ref": ref}, registry=REGISTRY)
    return [(template, error.json_path, error.message) for error in validator.iter_errors(answer.body)]


def explained(failure: tuple[str, str, str]) -> tuple[str, str, str] | None:
    """The SPEC_EXCEPTIONS key that explains a failure, if any."""
    template, json_path, message = failure
    for key in SPEC_EXCEPTIONS:
        if key[0] == template and re.fullmatch(key[1], json_path) and key[2] in message:
            return key
    return None


# --- driving the server -----------------------------------------------------------------------


class Recorder:
    """Sends requests to the fake server and keeps every answer."""

    def __init__(self, server: FakeDiscord) -> None:
        self.server = server
        self.session = requests.Session()
        self.answers: list[Answer] = []

    def call(self, method: str, path: str, token: str | None = USER_TOKEN, **kwargs: Any) -> Answer:
        headers = {"Authorization": token} if token else {}
        response = self.session.request(method, self.server.api_base + path, headers=headers, timeout=5, **kwargs)
        body = response.json() if response.headers.get("Content-Type", "").startswith("application/json") else response.text
        answer = Answer(method, path, response.status_code, dict(response.headers), body)
        self.answers.append(answer)
        return answer

    def get(self, path: str, token: str | None = USER_TOKEN, **params: Any) -> Answer:
        return self.call("GET", path, token, params=params)


def _walk_reads(recorder: Recorder, token: str) -> None:
    """Every read route a client makes, for every channel and thread, with every kind of page."""
    recorder.get("/users/@me", token)
    recorder.get("/users/@me/guilds", token)
    recorder.get("/users/@me/guilds", token, limit=1, after=0)
    recorder.get("/users/@me/guilds", token, limit=1, before=GUILD_ID)
    recorder.get(f"/guilds/{GUILD_ID}", token, with_counts="true")
    channels = recorder.get(f"/guilds/{GUILD_ID}/channels", token).body
    recorder.get(f"/guilds/{GUILD_ID}/threads/active", token)
    for channel in channels:
        recorder.get(f"/channels/{channel['id']}", token)
        recorder.get(f"/channels/{channel['id']}/threads/archived/public", token)
        recorder.get(f"/channels/{channel['id']}/threads/search", token, sort_by="last_message_time", sort_order="desc")
        for thread in recorder.get(f"/channels/{channel['id']}/threads/search", token, offset=0).body.get("threads", []):
            recorder.get(f"/channels/{thread['id']}", token)
            recorder.get(f"/channels/{thread['id']}/messages", token, limit=100)
    _walk_history(recorder, CHANNEL_ID, token)


def _walk_history(recorder: Recorder, channel_id: str, token: str) -> None:
    page = recorder.get(f"/channels/{channel_id}/messages", token, limit=100).body
    while len(page) == 100:
        page = recorder.get(f"/channels/{channel_id}/messages", token, limit=100, before=page[-1]["id"]).body
    oldest = page[-1]["id"]
    recorder.get(f"/channels/{channel_id}/messages", token, after=oldest, limit=7)
    recorder.get(f"/channels/{channel_id}/messages", token, around=oldest, limit=1)
    recorder.get(f"/channels/{channel_id}/messages", token, around=oldest)
    recorder.get(f"/channels/{channel_id}/messages/{oldest}", token)


def _walk_errors(recorder: Recorder) -> None:
    recorder.get("/users/@me", None)
    recorder.get("/users/@me", "not-a-token")
    recorder.get("/channels/1100000000000000999")
    recorder.get("/channels/spx/messages")
    recorder.get(f"/channels/{CHANNEL_ID}/messages", limit=101)
    recorder.get("/guilds/1100000000000000999")
    recorder.get("/guilds/1100000000000000999/channels")
    recorder.get("/oauth2/applications/@me")
    recorder.get(f"/channels/{CHANNEL_ID}/messages/1")


@pytest.fixture(scope="module")
def answers() -> Iterator[list[Answer]]:
    """Every answer of one walk over the demo guild: both token kinds, pages, errors, 202 and 429s."""
    with FakeDiscord(bucket_limit=1000) as server:
        now = datetime.now(UTC)
        build_sample_channel(server, now, count=60)
        add_demo_channels(server, now)
        server.add_channel("1100000000000000006", "staff-only", GUILD_ID, readable=False)
        recorder = Recorder(server)
        _walk_reads(recorder, USER_TOKEN)
        _walk_reads(recorder, f"Bot {BOT_TOKEN}")
        recorder.get("/oauth2/applications/@me", f"Bot {BOT_TOKEN}")
        recorder.get("/channels/1100000000000000006/messages")
        _walk_errors(recorder)
        server.state.search_not_ready_answers = 1
        recorder.get(f"/channels/{FORUM_ID}/threads/search")
        server.state.bot_message_content_intent = False
        recorder.get(f"/channels/{CHANNEL_ID}/messages", f"Bot {BOT_TOKEN}", limit=100)
        refresh = {
            "attachment_urls": [
                server.add_file("a/b/c.png", b"x", "image/png", expires_at=server.now() - 60),
                "https://example.com/x.png",
            ]
        }
        recorder.call("POST", "/attachments/refresh-urls", json=refresh)
        server.force_429(1, retry_after=0.01)
        recorder.get("/users/@me")
        server.force_429(1, retry_after=0.01, is_global=True)
        recorder.get("/users/@me/guilds")
        server.state.bucket_limit = 1
        recorder.call("POST", "/attachments/refresh-urls", json=refresh)
        recorder.call("POST", "/attachments/refresh-urls", json=refresh)
        yield recorder.answers


def test_every_json_answer_follows_the_spec(answers: list[Answer]) -> None:
    failures = [failure for answer in answers if answer.path != "/attachments/refresh-urls" for failure in spec_failures(answer)]
    unexplained = sorted({failure for failure in failures if explained(failure) is None})
    assert unexplained == [], "\n".join(f"{t} {p}: {m[:200]}" for t, p, m in unexplained[:40])
    unused = set(SPEC_EXCEPTIONS) - {explained(failure) for failure in failures}
    assert unused == set(), f"exceptions that no longer happen: {unused}"


def _fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def _shape(value: Any) -> Any:
    """The keys and value types of a JSON value, not its values."""
    if isinstance(value, dict):
        return {key: _shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_shape(value[0])] if value else []
    return "number" if isinstance(value, (int, float)) and not isinstance(value, bool) else type(value).__name__


def test_error_bodies_are_the_captured_ones(answers: list[Answer]) -> None:
    by_code = {(a.status, a.body.get("code")): a.body for a in answers if a.status >= 400 and isinstance(a.body, dict)}
    assert by_code[(401, 0)] == _fixture("error_401_unauthorized.json")
    assert by_code[(403, 50001)] == _fixture("error_403_missing_access_50001.json")
    assert by_code[(403, 20002)] == _fixture("error_403_only_bots_20002_CONSTRUCTED.json")
    assert by_code[(404, 10003)] == _fixture("error_404_unknown_channel_10003.json")
    bad_id = next(a.body for a in answers if a.status == 400 and "channel_id" in a.body["errors"])
    assert _shape(bad_id) == _shape(_fixture("error_400_invalid_snowflake_50035.json"))
    too_many = [a.body for a in answers if a.status == 429]
    assert too_many and all(_shape(body) == _shape(_fixture("error_429_user_rate_limit_docs.json")) for body in too_many)
    not_ready = [a.body for a in answers if a.status == 202]
    assert [_shape(body) for body in not_ready] == [_shape(_fixture("response_202_search_index_not_ready_docs.json"))]


def test_headers_as_discord_sends_them(answers: list[Answer]) -> None:
    rate_limit = {
        "X-RateLimit-Limit",
        "X-RateLimit-Remaining",
        "X-RateLimit-Reset",
        "X-RateLimit-Reset-After",
        "X-RateLimit-Bucket",
    }
    for answer in answers:
        assert {"Content-Type", "Content-Length", "Via"} <= set(answer.headers), answer
        if answer.status == 429:
            assert {"Retry-After", "X-RateLimit-Scope"} <= set(answer.headers), answer
            if answer.headers["X-RateLimit-Scope"] == "global":
                assert answer.headers["X-RateLimit-Global"] == "true"
                continue
        assert rate_limit <= set(answer.headers), answer
        assert float(answer.headers["X-RateLimit-Reset"]) > datetime.now(UTC).timestamp() - 5
    assert {a.method for a in answers if a.status == 429} == {"GET", "POST"}
    assert {a.headers["X-RateLimit-Scope"] for a in answers if a.status == 429} == {"user", "global"}


def test_refresh_urls_answers_every_url(answers: list[Answer]) -> None:
    """Not in the published spec (a user-account endpoint): checked against UDOC's example answer instead."""
    refreshed = [a for a in answers if a.path == "/attachments/refresh-urls" and a.status == 200]
    assert refreshed and _shape(refreshed[0].body) == _shape(_fixture("refresh_urls_response_userdoccers_example.json"))
    known, unknown = refreshed[0].body["refreshed_urls"]
    assert known["refreshed"] != known["original"] and "hm=" in known["refreshed"]
    assert unknown == {"original": "https://example.com/x.png", "refreshed": "https://example.com/x.png"}


def test_guild_channels_never_list_threads(answers: list[Answer]) -> None:
    listed = next(a.body for a in answers if a.path == f"/guilds/{GUILD_ID}/channels")
    assert {channel["type"] for channel in listed} == {0, 5, 15, 16}
    searched = [t for a in answers if a.path.endswith("/threads/search") and a.status == 200 for t in a.body["threads"]]
    assert searched and all("thread_metadata" in thread and thread["type"] == 11 for thread in searched)


def test_captured_messages_are_served_whole(answers: list[Answer]) -> None:
    served: dict[str, dict[str, Any]] = {}
    for answer in answers:  # the first time each is served (to a user token; bots without the intent come last)
        if answer.path == f"/channels/{CHANNEL_ID}/messages" and answer.status == 200:
            for message in answer.body:
                served.setdefault(message["id"], message)
    captured = [
        m
        for path in sorted(FIXTURES.glob("message*.json"))
        if "CONSTRUCTED" not in path.name
        for m in (lambda p: p if isinstance(p, list) else [p])(json.loads(path.read_text(encoding="utf-8")))
    ]
    assert len(captured) >= 20
    for message in captured:
        mine = served[message["id"]]
        assert set(message) - {"member", "guild_id"} <= set(mine), message["id"]
        assert (mine["content"] == "") == (message["content"] == ""), message["id"]
        assert len(mine["attachments"]) == len(message["attachments"]) and len(mine["embeds"]) == len(message["embeds"])
        assert mine["timestamp"] == message["timestamp"] and mine["author"]["id"] == message["author"]["id"]


def test_bots_without_the_content_intent_get_empty_messages(answers: list[Answer]) -> None:
    page = [a.body for a in answers if a.path == f"/channels/{CHANNEL_ID}/messages" and a.status == 200][-1]
    assert page and all((m["content"], m["attachments"], m["embeds"], m["components"]) == ("", [], [], []) for m in page)


def test_the_check_catches_a_thin_message() -> None:
    """The old fake's reply: no `mention_roles`, `pinned`, `tts`, author without `avatar` (the check must see it)."""
    thin = {"id": "1", "type": 0, "channel_id": "2", "content": "", "timestamp": "2026-01-01T00:00:00+00:00"}
    thin |= {"author": {"id": "3", "username": "x", "discriminator": "0"}, "attachments": [], "embeds": [], "mentions": []}
    thin |= {"edited_timestamp": None, "flags": 0, "components": []}
    failures = spec_failures(Answer("GET", "/channels/2/messages", 200, {}, [thin]))
    messages = " ".join(message for _, _, message in failures)
    assert all(f"'{name}' is a required property" in messages for name in ("mention_roles", "pinned", "tts", "avatar"))


def test_cdn_serves_byte_ranges() -> None:
    with FakeDiscord() as server:
        url = server.add_file("attachments/1/2/a.png", bytes(range(100)), "image/png")
        whole = requests.get(url, timeout=5)
        assert (whole.status_code, whole.headers["Accept-Ranges"], whole.headers["Content-Length"]) == (200, "bytes", "100")
        part = requests.get(url, headers={"Range": "bytes=10-19"}, timeout=5)
        assert (part.status_code, part.headers["Content-Range"], part.content) == (206, "bytes 10-19/100", bytes(range(10, 20)))
        tail = requests.get(server.media_url(url), headers={"Range": "bytes=-5"}, timeout=5)
        assert (tail.status_code, tail.content) == (206, bytes(range(95, 100)))
        beyond = requests.get(url, headers={"Range": "bytes=100-"}, timeout=5)
        assert (beyond.status_code, beyond.headers["Content-Range"]) == (416, "bytes */100")
