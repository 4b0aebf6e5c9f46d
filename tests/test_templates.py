"""Table tests for `--name` templates (picextract/pictures/templates.py)."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import pytest

from picextract.pictures.filenames import build_filename, picture_name
from picextract.pictures.refs import PictureRef
from picextract.pictures.templates import DEFAULT_NAME_TEMPLATE, FIELDS, parse_template, render_name

UTC = timezone.utc
POSTED = datetime(2026, 11, 20, 9, 30, 15, 250000, tzinfo=UTC)


def _ref(
    name: str, content_type: str | None = "image/png", identity: str = "attachment:1300000000000000042", **extra: object
) -> PictureRef:
    values: dict[str, object] = {
        "identity": identity,
        "url": "https://cdn.test/x",
        "fallback_url": None,
        "original_name": name,
        "content_type": content_type,
        "expected_size": None,
        "message_id": 1299999999999999999,
        "channel_id": "5",
        "posted_at": POSTED,
        "kind": "attachment",
        "author": "Signals",
    }
    values.update(extra)
    return PictureRef(**values)  # type: ignore[arg-type]


NAMES = [
    "chart.png",
    "image.png",
    "no extension",
    "weird.xyz",
    "report.final",
    "a.verylongextension1",
    "CON.png",
    "..hidden.png",
    "trailing. ",
    "a:b/c\\d?.png",
    "数学家炒美股 chart.webp",
    "e\u0301.png",
    "",
    "x" * 300 + ".png",
    "dots...in...name.jpg",
    ".png",
    "name.",
]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("content_type", ["image/png", None])
def test_default_template_gives_exactly_todays_names(name: str, content_type: str | None) -> None:
    ref = _ref(name, content_type)
    for tz in (UTC, timezone(timedelta(hours=-7))):
        assert render_name(DEFAULT_NAME_TEMPLATE, ref, tz) == build_filename(ref.posted_at, picture_name(ref), tz)


def test_default_template_matches_todays_names_on_random_names() -> None:
    rng = random.Random(16)
    alphabet = "ab.. -_:/\\?*<>|\"'日本\x00\x1fCONPRN.png.jpg"
    for _ in range(2000):
        name = "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 40)))
        ref = _ref(name, rng.choice(["image/png", "image/webp", None]))
        assert render_name(DEFAULT_NAME_TEMPLATE, ref, UTC) == build_filename(ref.posted_at, picture_name(ref), UTC), name


def test_every_field() -> None:
    template = parse_template("{guild}-{channel}-{author}-{message_id}-{attachment_id}-{date}-{time}-{name}.{ext}")
    name = render_name(template, _ref("chart.png"), UTC, channel="spx-realtime-aws", guild="数学家炒美股")
    assert name == "数学家炒美股-spx-realtime-aws-Signals-1299999999999999999-1300000000000000042-2026-11-20-09-30-15-chart.png"
    assert set(FIELDS) == {"date", "time", "name", "ext", "author", "channel", "guild", "message_id", "attachment_id"}


@pytest.mark.parametrize(
    ("author", "channel", "guild", "expected"),
    [
        ("a/b:c", "x?y", "", "a_b_c_x_y_dm_chart.png"),  # reserved characters, no guild = dm
        ("", " . ", "CON", "unknown_unknown__CON_chart.png"),  # empty values, device names
        ("..evil..", "ok", "g", "evil_ok_g_chart.png"),  # no `..`, no leading or trailing dots
        ("x" * 100, "c", "g", "x" * 60 + "_c_g_chart.png"),  # each field bounded
    ],
)
def test_fields_are_sanitised(author: str, channel: str, guild: str, expected: str) -> None:
    template = parse_template("{author}_{channel}_{guild}_{name}.{ext}")
    assert render_name(template, _ref("chart.png", author=author), UTC, channel, guild) == expected


def test_missing_extension_leaves_room_for_the_downloaded_one() -> None:
    template = parse_template("{author}_{name}.{ext}")
    assert render_name(template, _ref("chart", None), UTC) == "Signals_chart"


def test_long_names_stay_under_the_file_system_limit() -> None:
    template = parse_template("{author}_{channel}_{guild}_{name}_{name}.{ext}")
    name = render_name(template, _ref("n" * 170 + ".png", author="a" * 90), UTC, "c" * 90, "g" * 90)
    assert len(name.encode()) <= 240 and name.endswith(".png")


def test_attachment_id_of_a_link_is_a_stable_token() -> None:
    template = parse_template("{attachment_id}.{ext}")
    link = _ref("shot.png", identity="url:https://x.test/shot.png#1")
    assert render_name(template, link, UTC) == render_name(template, link, UTC)
    assert render_name(template, link, UTC) != render_name(template, _ref("shot.png", identity="url:https://x.test/b.png#1"), UTC)


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("{date}_{nmae}.{ext}", "unknown field {nmae}"),
        ("{date}_{name}", "needs {ext}"),
        ("{date}_{}.{ext}", "unknown field {}"),
        ("{name:>10}.{ext}", "unknown field {name:>10}"),
        ("{name!r}.{ext}", "unknown field {name!r}"),
        ("{name.{ext}", "--name:"),
        ("{name}}.{ext}", "--name:"),
        ("{author}/{name}.{ext}", "not folders"),
    ],
)
def test_bad_templates(text: str, error: str) -> None:
    with pytest.raises(ValueError, match="--name") as caught:
        parse_template(text)
    assert error in str(caught.value)
    assert "\n" not in str(caught.value)


def test_literal_braces() -> None:
    assert render_name(parse_template("{{x}}_{name}.{ext}"), _ref("chart.png"), UTC) == "{x}_chart.png"
