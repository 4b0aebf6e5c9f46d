"""The one rule for a Discord id (a snowflake) and for a number written in text (ASCII digits only)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from picextract.discord.channel_spec import ChannelSpec, parse_channel_spec
from picextract.gallery.records import item_from_row
from picextract.pictures.ids import MAX_SNOWFLAKE, decimal, is_snowflake, snowflake

SNOWFLAKES = [
    ("1157854642810654821", 1157854642810654821),
    (1157854642810654821, 1157854642810654821),  # ids come as text, but a number is the same id
    ("1", 1),
    (str(MAX_SNOWFLAKE), MAX_SNOWFLAKE),  # 2**63 - 1: what SQLite's INTEGER holds
    ("007", 7),
    ("0", None),  # Discord never gives the id 0
    (0, None),
    (str(MAX_SNOWFLAKE + 1), None),
    ("18446744073709551616", None),  # 2**64: 20 digits, over 64 bits
    ("9" * 30, None),
    ("9" * 5000, None),  # int() refuses more than 4300 digits
    ("", None),
    ("¹", None),  # a digit to str.isdigit(), not to int()
    ("١٢٣", None),  # Arabic-Indic digits: int() reads them as 123
    ("１２３", None),  # fullwidth digits: the same
    ("+5", None),
    ("-5", None),
    (-5, None),
    (" 5", None),
    ("5 ", None),
    ("5\n", None),
    ("1.0", None),
    ("0x1f", None),
    ("1_000", None),  # int() reads underscores
    (True, None),  # a bool is an int to Python, never an id
    (1.0, None),
    (None, None),
    (["1"], None),
]


@pytest.mark.parametrize(("value", "expected"), SNOWFLAKES, ids=repr)
def test_snowflake(value: object, expected: int | None) -> None:
    assert snowflake(value) == expected
    assert is_snowflake(value) == (expected is not None)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("0", 0), ("42", 42), ("007", 7), ("9" * 20, int("9" * 20)), ("9" * 21, None), ("", None), ("¹", None)]
    + [("²³", None), ("١٢٣", None), ("+1", None), ("-1", None), (" 1", None), ("1 ", None), ("1e3", None), ("1_0", None)],
    ids=repr,
)
def test_decimal(text: str, expected: int | None) -> None:
    assert decimal(text) == expected


@pytest.mark.parametrize(
    ("written", "spec"),
    [
        ("123", ChannelSpec(channel_id="123")),
        ("<#123>", ChannelSpec(channel_id="123")),
        ("https://discord.com/channels/456/123", ChannelSpec(channel_id="123", guild_id="456")),
        ("https://discord.com/channels/@me/123/789", ChannelSpec(channel_id="123")),
        ("١٢٣", ChannelSpec(name="١٢٣")),  # not an id: a name (that no channel has, most likely)
        ("0", ChannelSpec(name="0")),
        ("<#١٢٣>", ChannelSpec(name="<#١٢٣>")),
    ],
)
def test_channel_ids_follow_the_same_rule(written: str, spec: ChannelSpec) -> None:
    assert parse_channel_spec(written) == spec


@pytest.mark.parametrize(
    "link", ["https://discord.com/channels/456/١٢٣", "https://discord.com/channels/٤٥٦/123", "https://discord.com/channels/456/0"]
)
def test_a_link_with_an_id_that_is_not_one_is_refused(link: str) -> None:
    with pytest.raises(ValueError, match="not a Discord channel link"):
        parse_channel_spec(link)


@pytest.mark.parametrize(
    ("row", "link", "width"),
    [
        ({"message_id": "3", "width": "640"}, "https://discord.com/channels/1/2/3", 640),
        ({"message_id": "3", "width": "¹"}, "https://discord.com/channels/1/2/3", None),  # an edited index.csv
        ({"message_id": "١٢٣", "width": "0"}, "", None),
        ({"message_id": "", "width": "+640"}, "", None),
    ],
)
def test_index_rows_read_ids_and_sizes_by_the_same_rule(row: dict[str, str], link: str, width: int | None) -> None:
    item = item_from_row({"file": "a.png", "guild_id": "1", "channel_id": "2", "_has_guild": "1", **row}, datetime.now(UTC))
    assert (item.link, item.width) == (link, width)
