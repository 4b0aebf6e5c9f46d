"""Table tests for the pure picture rules: snowflakes, message -> pictures, names."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from picextract.pictures.filenames import build_filename, picture_name, resolve_timezone, sanitize_filename, with_suffix
from picextract.pictures.media import extension_from_magic
from picextract.pictures.refs import (
    PictureRef,
    datetime_to_snowflake,
    extract_pictures,
    snowflake_to_datetime,
)
from picextract.pictures.urls import normalize_url

FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "discord_fixtures"
UTC = timezone.utc


@pytest.mark.parametrize(
    ("moment", "snowflake"),
    [
        (datetime(2024, 1, 1, tzinfo=UTC), 1191168914227200000),  # discord-api.md §3
        (datetime(2015, 1, 1, tzinfo=UTC), 0),
    ],
)
def test_snowflake_round_trip(moment: datetime, snowflake: int) -> None:
    assert datetime_to_snowflake(moment) == snowflake
    assert snowflake_to_datetime(snowflake) == moment


def test_snowflake_of_real_message_matches_its_timestamp() -> None:
    assert snowflake_to_datetime("1157854642810654821") == datetime(2023, 10, 1, 1, 40, 58, 745000, tzinfo=UTC)


@pytest.mark.parametrize(
    ("url", "normalized"),
    [
        (
            "https://cdn.discordapp.com/attachments/1/2/a.png?ex=651a&is=6518&hm=eb5c&",
            "https://cdn.discordapp.com/attachments/1/2/a.png",
        ),
        ("https://x.test/a.png?size=large&ex=1", "https://x.test/a.png?size=large"),
        ("https://x.test/a.png", "https://x.test/a.png"),
    ],
)
def test_normalize_url_drops_signature(url: str, normalized: str) -> None:
    assert normalize_url(url) == normalized


@pytest.mark.parametrize(
    ("head", "extension"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00", ".png"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", ".jpg"),
        (b"GIF89a\x01\x00", ".gif"),
        (b"RIFF\x10\x00\x00\x00WEBPVP8 ", ".webp"),
        (b"BM" + b"\x00" * 14, ".bmp"),
        (b"II*\x00\x08\x00", ".tiff"),
        (b"\x00\x00\x00\x1cftypavif", ".avif"),
        (b"<!DOCTYPE html><html>", None),
        (b"%PDF-1.4", None),
        (b"", None),
    ],
)
def test_magic_bytes(head: bytes, extension: str | None) -> None:
    assert extension_from_magic(head) == extension


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("chart.png", "chart.png"),
        ("../../etc/passwd.png", "___etc_passwd.png"),
        ('a/b\\c:d*e?f"g<h>i|j.png', "a_b_c_d_e_f_g_h_i_j.png"),
        ("CON.png", "_CON.png"),
        ("lpt1.jpg", "_lpt1.jpg"),
        ("trailing dots...", "trailing dots"),
        ("tab\tnew\nline.png", "tab_new_line.png"),
        ("数学家炒美股.png", "数学家炒美股.png"),
        ("", "image"),
        ("...", "image"),
        (".png", "png"),
    ],
)
def test_sanitize_filename(name: str, safe: str) -> None:
    assert sanitize_filename(name) == safe


def test_sanitize_filename_bounds_bytes_and_keeps_extension() -> None:
    long_name = "图" * 200 + ".jpeg"
    safe = sanitize_filename(long_name)
    assert len(safe.encode()) <= 180
    assert safe.endswith(".jpeg")
    safe.encode().decode()  # no broken multi-byte character


def test_build_filename_uses_requested_zone() -> None:
    posted = datetime(2026, 3, 1, 23, 30, 5, tzinfo=UTC)
    assert build_filename(posted, "chart.png", UTC) == "2026-03-01_23-30-05_chart.png"
    assert build_filename(posted, "chart.png", resolve_timezone("Asia/Tokyo")) == "2026-03-02_08-30-05_chart.png"


@pytest.mark.parametrize(("name", "zone"), [("local", None), ("UTC", UTC), ("utc", UTC)])
def test_resolve_timezone(name: str, zone: object) -> None:
    assert resolve_timezone(name) == zone


def test_resolve_timezone_rejects_unknown() -> None:
    with pytest.raises(ValueError, match="unknown time zone"):
        resolve_timezone("Mars/Olympus")


def test_with_suffix() -> None:
    assert with_suffix("2026-01-01_00-00-00_image.png", "123") == "2026-01-01_00-00-00_image_123.png"
    assert with_suffix("noext", "9") == "noext_9"


def _message(**fields: object) -> dict[str, object]:
    base: dict[str, object] = {
        "id": "1157854642810654821",
        "channel_id": "5",
        "timestamp": "2023-10-01T01:40:58.745000+00:00",
        "content": "",
        "attachments": [],
        "embeds": [],
    }
    base.update(fields)
    return base


def _att(att_id: str, name: str, content_type: str | None = "image/png", size: int = 10) -> dict[str, object]:
    attachment: dict[str, object] = {
        "id": att_id,
        "filename": name,
        "size": size,
        "url": f"https://cdn.test/{att_id}/{name}?ex=1&is=2&hm=3&",
        "proxy_url": f"https://media.test/{att_id}/{name}?ex=1&is=2&hm=3&",
    }
    if content_type:
        attachment["content_type"] = content_type
    return attachment


CASES = [
    ("image attachment", _message(attachments=[_att("1", "a.png")]), [("attachment", "a.png")]),
    ("no content_type, image extension", _message(attachments=[_att("1", "a.JPG", None)]), [("attachment", "a.JPG")]),
    ("no content_type, other extension", _message(attachments=[_att("1", "a.zip", None)]), []),
    (
        "video and pdf are not pictures",
        _message(attachments=[_att("1", "v.mp4", "video/mp4"), _att("2", "r.pdf", "application/pdf")]),
        [],
    ),
    ("svg is not a picture", _message(attachments=[_att("1", "logo.svg", "image/svg+xml")]), []),
    (
        "image embed keeps its picture in thumbnail",
        _message(
            embeds=[
                {
                    "type": "image",
                    "url": "https://x.test/p.png",
                    "thumbnail": {"url": "https://x.test/p.png", "proxy_url": "https://proxy.test/p.png"},
                }
            ]
        ),
        [("embed", "p.png")],
    ),
    (
        "rich embed: image yes, thumbnail no",
        _message(
            embeds=[
                {"type": "rich", "image": {"url": "https://x.test/chart.png"}, "thumbnail": {"url": "https://x.test/logo.png"}}
            ]
        ),
        [("embed", "chart.png")],
    ),
    (
        "article embed image",
        _message(embeds=[{"type": "article", "image": {"url": "https://x.test/a.jpg"}}]),
        [("embed", "a.jpg")],
    ),
    ("article thumbnail only: nothing", _message(embeds=[{"type": "article", "thumbnail": {"url": "https://x.test/a.jpg"}}]), []),
    (
        "gifv and video embeds: nothing",
        _message(
            embeds=[
                {"type": "gifv", "thumbnail": {"url": "https://x.test/g.png"}, "video": {"url": "https://x.test/g.mp4"}},
                {"type": "video", "thumbnail": {"url": "https://x.test/v.jpg"}},
            ]
        ),
        [],
    ),
    (
        "link and its embed: once",
        _message(
            content="see https://x.test/p.png now",
            embeds=[{"type": "image", "url": "https://x.test/p.png", "thumbnail": {"url": "https://x.test/p.png"}}],
        ),
        [("embed", "p.png")],
    ),
    ("link with query string", _message(content="<https://x.test/dir/s.webp?width=3>"), [("link", "s.webp")]),
    ("link that is not an image", _message(content="https://x.test/page.html and https://x.test/png"), []),
    (
        "upper-case link extensions",
        _message(content="https://x.test/A.PNG, https://x.test/b.TIFF."),
        [("link", "A.PNG"), ("link", "b.TIFF")],
    ),
    (
        "components v2 media gallery in a container",
        _message(
            flags=1 << 15,
            components=[
                {
                    "type": 17,
                    "components": [
                        {
                            "type": 12,
                            "items": [
                                {"media": {"url": "https://cdn.test/g1.png", "content_type": "image/png"}},
                                {"media": {"url": "https://cdn.test/g2.jpg"}},
                            ],
                        }
                    ],
                }
            ],
        ),
        [("component", "g1.png"), ("component", "g2.jpg")],
    ),
    (
        "forward: snapshot attachment",
        _message(
            message_snapshots=[{"message": {"attachments": [_att("7", "fwd.gif", "image/gif")], "embeds": [], "content": ""}}]
        ),
        [("forward:attachment", "fwd.gif")],
    ),
    (
        "reply: parent's attachment is not ours",
        _message(type=19, referenced_message=_message(attachments=[_att("8", "parent.png")])),
        [],
    ),
    ("stickers are not saved", _message(sticker_items=[{"id": "1", "name": "s", "format_type": 1}]), []),
    (
        "same attachment linked in text: once",
        _message(content="https://cdn.test/1/a.png?ex=9&is=9&hm=9", attachments=[_att("1", "a.png")]),
        [("attachment", "a.png")],
    ),
]


@pytest.mark.parametrize(("label", "message", "found"), CASES, ids=[case[0] for case in CASES])
def test_extract_pictures(label: str, message: dict[str, object], found: list[tuple[str, str]]) -> None:
    assert [(ref.kind, ref.original_name) for ref in extract_pictures(message)] == found


def test_attachment_ref_prefers_original_url_and_keeps_size() -> None:
    (ref,) = extract_pictures(_message(attachments=[_att("42", "a.png", size=1234)]))
    assert ref.url.startswith("https://cdn.test/42/")
    assert ref.fallback_url and ref.fallback_url.startswith("https://media.test/42/")
    assert ref.expected_size == 1234
    assert ref.identity == "attachment:42"
    assert ref.suffix_id == "42"


def test_url_identity_ignores_signature_and_includes_message() -> None:
    first = extract_pictures(_message(content="https://x.test/p.png?ex=1&is=2&hm=3"))[0]
    again = extract_pictures(_message(content="https://x.test/p.png?ex=9&is=8&hm=7"))[0]
    other = extract_pictures(_message(id="1157854642810654999", content="https://x.test/p.png"))[0]
    assert first.identity == again.identity != other.identity
    assert first.suffix_id == again.suffix_id


@pytest.mark.parametrize(
    ("original", "content_type", "name"),
    [
        ("chart", "image/png", "chart.png"),
        ("chart.jpeg", "image/png", "chart.jpeg"),
        ("", "image/webp", "image.webp"),
        ("raw", None, "raw"),
    ],
)
def test_picture_name_adds_extension_from_content_type(original: str, content_type: str | None, name: str) -> None:
    ref = PictureRef("x", "u", None, original, content_type, None, 1, "1", datetime(2026, 1, 1, tzinfo=UTC), "embed")
    assert picture_name(ref) == name


def test_message_time_falls_back_to_snowflake() -> None:
    message = _message(attachments=[_att("1", "a.png")])
    del message["timestamp"]
    assert extract_pictures(message)[0].posted_at == snowflake_to_datetime(message["id"])  # type: ignore[arg-type]


@pytest.mark.skipif(not FIXTURES.is_dir(), reason="../shared fixtures not present")
@pytest.mark.parametrize(
    ("fixture", "names"),
    [
        (
            "message_image_attachment_signed_plus_image_embed_from_content_url.json",
            ["Screenshot_20231001_034036.jpg", "Warp-Gate2.gif"],
        ),
        ("message_gifv_embed_tenor.json", []),
        ("message_forwarded_snapshot_image_attachment.json", ["100km.gif"]),
        ("message_reply_referenced_message_with_attachment.json", ["RDT_20230704_0936184915846675925224905.jpg"]),
        ("message_multiple_attachments_CONSTRUCTED.json", None),
    ],
)
def test_real_fixtures(fixture: str, names: list[str] | None) -> None:
    message = json.loads((FIXTURES / fixture).read_text())
    refs = extract_pictures(message)
    if names is None:
        assert len(refs) == 3
    else:
        assert [ref.original_name for ref in refs] == names


def test_window_edges_map_to_snowflakes() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    assert snowflake_to_datetime(datetime_to_snowflake(start)) == start
    assert snowflake_to_datetime(datetime_to_snowflake(start) - 1) < start
    assert snowflake_to_datetime(datetime_to_snowflake(start + timedelta(milliseconds=1))) > start
