"""`--name` templates against the fake server: every field, collisions, several channels, dry runs, renamed folders."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

from config import Settings
from discord_downloader import DiscordDownloader
from picextract.discord.channels import ChannelInfo
from picextract.discord.client import DiscordClient
from picextract.download.options import RunOptions
from picextract.download.results import Summary
from picextract.fake.sample import (
    CHANNEL_ID,
    CHANNEL_NAME,
    GUILD_ID,
    GUILD_NAME,
    USER_TOKEN,
    MessageFactory,
    make_picture,
    setup_server,
    user,
)
from picextract.fake.server import FakeDiscord
from picextract.pictures.templates import DEFAULT_NAME_TEMPLATE, NameTemplate, parse_template
from tests.conftest import program_env, run_main, saved_pictures

UTC = timezone.utc
CHANNEL = ChannelInfo(CHANNEL_ID, CHANNEL_NAME, GUILD_ID, GUILD_NAME)
ALICE = user("101", "alice_t", "Alice")
BOB = user("102", "bob", "Bob/Builder")
OTHER_ID, OTHER_NAME = "1100000000000000077", "es-futures"
THREAD_ID = "1100000000000000088"


def _run(settings: Settings, out: Path, since: datetime, template: NameTemplate = DEFAULT_NAME_TEMPLATE) -> Summary:
    client = DiscordClient(USER_TOKEN, settings)
    try:
        return DiscordDownloader(client, out, RunOptions(UTC, workers=3, name_template=template)).run(CHANNEL, since)
    finally:
        client.close()


def test_collisions_keep_the_stable_suffix(server: FakeDiscord, settings: Settings, tmp_path: Path) -> None:
    factory = setup_server(server)
    posted = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    first, second, third = make_picture(1), make_picture(2), make_picture(3)
    factory.message(posted, "", [factory.attachment("image.png", first)], author=ALICE)
    late = factory.attachment("image.png", second)
    factory.message(posted + timedelta(minutes=5), "", [late], author=ALICE)
    factory.message(posted + timedelta(minutes=6), "", [factory.attachment("image.png", third)], author=BOB)
    template = parse_template("{author}_{name}.{ext}")
    expected = {"Alice_image.png": first, f"Alice_image_{late['id']}.png": second, "Bob_Builder_image.png": third}
    summary = _run(settings, tmp_path / "a", posted - timedelta(minutes=1), template)
    assert saved_pictures(tmp_path / "a") == expected and summary.downloaded == 3
    again = _run(settings, tmp_path / "a", posted - timedelta(minutes=1), template)
    assert (again.downloaded, again.failed) == (0, 0)
    _run(settings, tmp_path / "b", posted - timedelta(minutes=1), template)  # a fresh folder: the same names
    assert saved_pictures(tmp_path / "b") == expected


def test_files_saved_under_another_template_are_not_fetched_again(
    server: FakeDiscord, settings: Settings, tmp_path: Path
) -> None:
    factory = setup_server(server)
    posted = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    for number in range(3):
        factory.message(posted + timedelta(minutes=number), "", [factory.attachment(f"c{number}.png", make_picture(number))])
    _run(settings, tmp_path, posted - timedelta(minutes=1))
    before, cdn_before = saved_pictures(tmp_path), len(server.cdn_requests())
    assert sorted(before) == [f"{posted + timedelta(minutes=n):%Y-%m-%d_%H-%M-%S}_c{n}.png" for n in range(3)]
    renamed = _run(settings, tmp_path, posted - timedelta(days=1), parse_template("{message_id}_{name}.{ext}"))
    assert (renamed.downloaded, renamed.skipped) == (0, 3)
    assert saved_pictures(tmp_path) == before and len(server.cdn_requests()) == cdn_before


def _two_channels_and_a_thread(server: FakeDiscord) -> tuple[datetime, dict[str, MessageFactory]]:
    factory = setup_server(server)
    server.add_channel(OTHER_ID, OTHER_NAME, GUILD_ID)
    server.add_thread(THREAD_ID, "weekly levels", CHANNEL_ID)
    factories = {CHANNEL_ID: factory, OTHER_ID: MessageFactory(server, OTHER_ID), THREAD_ID: MessageFactory(server, THREAD_ID)}
    posted = datetime(2026, 11, 20, 9, 30, 15, tzinfo=UTC)
    return posted, factories


def test_every_field_with_several_channels_threads_and_a_dry_run(server: FakeDiscord, tmp_path: Path) -> None:
    posted, factories = _two_channels_and_a_thread(server)
    ids = {}
    for number, (channel_id, factory) in enumerate(factories.items()):
        attachment = factory.attachment("chart.png", make_picture(number))
        message = factory.message(posted + timedelta(seconds=number), "", [attachment], author=ALICE)
        factory.message(posted, "", [factory.attachment("meme.png", make_picture(9 + number))], author=BOB)
        ids[channel_id] = (message["id"], attachment["id"])
    template = "{guild}~{channel}~{author}~{message_id}~{attachment_id}~{date}~{time}~{name}.{ext}"
    args = ["--channel", f"{CHANNEL_ID},{OTHER_ID}", "--output", "pics", "--since", "2026-11-19", "--until", "2026-11-21"]
    args += ["--timezone", "UTC", "--name", template, "--author", "Alice"]
    env = program_env(server, DISCORD_USER_TOKEN=USER_TOKEN)

    def expected_name(channel_id: str, channel_label: str, seconds: int) -> str:
        message_id, attachment_id = ids[channel_id]
        return f"{GUILD_NAME}~{channel_label}~Alice~{message_id}~{attachment_id}~2026-11-20~09-30-{15 + seconds}~chart.png"

    main_folder = [expected_name(CHANNEL_ID, CHANNEL_NAME, 0), expected_name(THREAD_ID, f"{CHANNEL_NAME}-weekly levels", 2)]
    other_folder = [expected_name(OTHER_ID, OTHER_NAME, 1)]
    dry = run_main([*args, "--dry-run"], env, tmp_path)
    assert dry.returncode == 0, dry.stderr
    assert sorted(
        line.split("  ")[0].removeprefix("would save: ") for line in dry.stdout.splitlines() if "would save" in line
    ) == sorted(main_folder + other_folder)
    assert f"names {template}" in dry.stdout and "only pictures by Alice" in dry.stdout
    assert not (tmp_path / "pics").exists()
    result = run_main(args, env, tmp_path)
    assert result.returncode == 0, result.stderr
    assert sorted(saved_pictures(tmp_path / "pics" / CHANNEL_NAME)) == sorted(main_folder)
    assert sorted(saved_pictures(tmp_path / "pics" / OTHER_NAME)) == other_folder
    assert result.stdout.count("Left out:          1 (by the filters)") == 1  # Bob's meme in the main channel and thread
    assert result.stdout.count("Left out:          2 (by the filters)") == 1
