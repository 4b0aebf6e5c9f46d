"""The fake server pages a channel as Discord does, whatever order its messages were added in."""

from __future__ import annotations

import pytest

from picextract.fake.routes import page_messages
from picextract.fake.server import FakeDiscord

IDS = [10, 20, 30, 40, 50, 60]  # a channel's message ids, oldest first


@pytest.mark.parametrize(
    ("query", "limit", "page"),
    [
        ({}, 2, [60, 50]),  # no anchor: the newest
        ({"after": "20"}, 2, [40, 30]),  # the oldest ones above the id, newest first
        ({"after": "25"}, 10, [60, 50, 40, 30]),
        ({"after": "60"}, 2, []),
        ({"after": "0"}, 100, [60, 50, 40, 30, 20, 10]),
        ({"before": "40"}, 2, [30, 20]),  # the newest ones below the id
        ({"before": "15"}, 5, [10]),
        ({"before": "10"}, 5, []),
        ({"around": "40"}, 4, [50, 40, 30, 20]),  # half below the id, the rest from it up
        ({"around": "35"}, 3, [50, 40, 30]),
        ({"around": "10"}, 4, [40, 30, 20, 10]),  # nothing below: more from above
        ({"around": "60"}, 4, [60, 50, 40]),
        ({"around": "30"}, 1, [30]),
    ],
)
def test_pages_like_discord(query: dict[str, str], limit: int, page: list[int]) -> None:
    messages = [{"id": str(message_id)} for message_id in IDS]
    assert [int(message["id"]) for message in page_messages(messages, query, limit)] == page


def test_messages_added_out_of_order_are_kept_in_id_order() -> None:
    with FakeDiscord() as server:
        for message_id in (30, 10, 50, 20, 60, 40):
            server.add_message({"id": str(message_id), "channel_id": "1"})
        stored = server.state.messages["1"]
    assert [message["id"] for message in stored] == [str(message_id) for message_id in IDS]
    assert [message["id"] for message in page_messages(stored, {"after": "20"}, 2)] == ["40", "30"]
