"""Tables for the output's layout (picextract/store/layout.py): channel folders, the files kept in them,
and the clean folder of `--dedup` for one channel, several, and `{guild}`/`{channel}` templates."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from picextract.discord.channels import ChannelInfo
from picextract.errors import UsageError
from picextract.pictures.templates import parse_template
from picextract.store.layout import ChannelFolder, OutputLayout, clean_root, folder_name, thumbnail_link

G = "1100000000000000001"
CHARTS = ChannelInfo("1100000000000000002", "charts", G, "Traders")
NEWS = ChannelInfo("1100000000000000003", "news", G, "Traders")
ELSEWHERE = ChannelInfo("1300000000000000002", "flow", "1300000000000000001", "Other Server")
NO_GUILD_NAME = ChannelInfo("1100000000000000004", "ideas", G, None)
DIRECT = ChannelInfo("1400000000000000001", "alice")


def _layout(output: str, channels: list[ChannelInfo], all_channels: bool = False) -> OutputLayout:
    return OutputLayout.parse(Path(output)).for_channels(channels, all_channels)


@pytest.mark.parametrize(
    ("output", "channels", "all_channels", "expected"),
    [
        ("out", [CHARTS], False, ["out"]),
        ("out", [CHARTS, NEWS], False, ["out/charts", "out/news"]),
        ("out", [CHARTS], True, ["out/charts"]),  # --all-channels: a sub-folder even for one
        ("/data/spx", [CHARTS], False, ["/data/spx"]),
        (".", [CHARTS], False, ["."]),
        ("pics/{guild}/{channel}", [CHARTS, ELSEWHERE], False, ["pics/Traders/charts", "pics/Other Server/flow"]),
        ("pics/{guild}", [CHARTS, NEWS], False, ["pics/Traders", "pics/Traders"]),  # the user asked for one folder
        ("pics/{guild}/{channel}", [NO_GUILD_NAME, DIRECT], False, [f"pics/{G}/ideas", "pics/dm/alice"]),
        ("{channel}", [CHARTS], False, ["charts"]),
        ("arch-{channel}", [CHARTS, NEWS], False, ["arch-charts", "arch-news"]),
    ],
)
def test_each_channel_gets_its_folder(output: str, channels: list[ChannelInfo], all_channels: bool, expected: list[str]) -> None:
    assert _layout(output, channels, all_channels).folders() == [Path(folder) for folder in expected]


def test_folders_of_channels_differing_in_case_differ() -> None:
    upper, lower, other = ChannelInfo("1", "Charts"), ChannelInfo("2", "charts"), ChannelInfo("3", "news")
    both = [upper, lower, other]
    assert [folder_name(c, both) for c in both] == ["Charts_1", "charts_2", "news"]
    assert _layout("out", both).folders() == [Path("out/Charts_1"), Path("out/charts_2"), Path("out/news")]
    assert _layout("out/{channel}", both).folders()[0] == Path("out/Charts_1")


def test_a_guild_name_with_a_slash_stays_one_folder() -> None:
    slashed = ChannelInfo("5", "charts", G, "Bulls/Bears")
    assert _layout("pics/{guild}/{channel}", [slashed]).folders() == [Path("pics/Bulls_Bears/charts")]


@pytest.mark.parametrize(
    ("output", "name_template", "needs"),
    [
        ("out", "{date}_{time}_{name}.{ext}", False),
        ("out/{channel}", "{date}_{time}_{name}.{ext}", False),
        ("out/{guild}/{channel}", "{date}_{time}_{name}.{ext}", True),
        ("out", "{guild}_{name}.{ext}", True),
    ],
)
def test_whether_the_guild_name_is_needed(output: str, name_template: str, needs: bool) -> None:
    assert (OutputLayout.parse(Path(output)).uses_guild or parse_template(name_template).uses("guild")) is needs


def test_the_files_kept_beside_the_pictures() -> None:
    folder = ChannelFolder(Path("out/charts"))
    assert (folder.state_file, folder.lock_file, folder.index_file) == (
        Path("out/charts/.discordpicextract.sqlite3"),
        Path("out/charts/.discordpicextract.lock"),
        Path("out/charts/index.csv"),
    )
    assert (folder.gallery_page, folder.gallery_assets, folder.thumbnails) == (
        Path("out/charts/index.html"),
        Path("out/charts/.gallery"),
        Path("out/charts/.gallery/thumbs"),
    )
    assert thumbnail_link("a.webp") == ".gallery/thumbs/a.webp"


@pytest.mark.parametrize(
    ("output", "channels", "clean"),
    [
        ("out", [CHARTS], ["out-clean"]),
        ("out", [CHARTS, NEWS], ["out-clean/charts", "out-clean/news"]),
        ("/data/spx", [CHARTS, NEWS], ["/data/spx-clean/charts", "/data/spx-clean/news"]),
        ("pics/{guild}/{channel}", [CHARTS, ELSEWHERE], ["pics-clean/Traders/charts", "pics-clean/Other Server/flow"]),
        ("pics/{guild}/{channel}", [CHARTS], ["pics-clean/Traders/charts"]),  # one channel: the same rule
        ("/data/{channel}", [CHARTS], ["/data-clean/charts"]),
        ("pics/arch-{channel}", [CHARTS], ["pics-clean/arch-charts"]),
        # Nothing named before the placeholder: the first filled-in folder is the root.
        ("{channel}", [CHARTS, NEWS], ["charts-clean", "news-clean"]),
        ("{guild}/{channel}", [CHARTS, ELSEWHERE], ["Traders-clean/charts", "Other Server-clean/flow"]),
        ("/{channel}", [CHARTS], ["/charts-clean"]),
        ("arch-{channel}", [CHARTS], ["arch-charts-clean"]),
    ],
)
def test_the_clean_folder_mirrors_the_channel_folders_beside_the_root(
    output: str, channels: list[ChannelInfo], clean: list[str]
) -> None:
    layout = _layout(output, channels)
    assert [layout.clean_folder(folder) for folder in layout.folders()] == [Path(folder) for folder in clean]


def test_a_root_without_a_name_goes_by_its_absolute_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path / "work")
    assert _layout(".", [CHARTS]).clean_folder(Path(".")) == tmp_path / "work-clean"
    assert _layout(".", [CHARTS, NEWS]).clean_folder(Path("charts")) == tmp_path / "work-clean" / "charts"
    assert (
        _layout("../{channel}", [CHARTS]).clean_folder(Path("../charts"))
        == tmp_path.with_name(tmp_path.name + "-clean") / "charts"
    )
    with pytest.raises(UsageError, match="no parent folder"):
        clean_root(Path("/"))


@pytest.mark.parametrize(
    ("output", "channels", "present", "pairs"),
    [
        ("out", [CHARTS], ["out"], [("out", "out-clean")]),
        ("out", [CHARTS, NEWS], ["out/charts", "out/news"], [("out", "out-clean")]),  # re-posts across channels count
        ("out", [CHARTS, NEWS], ["out/news"], [("out/news", "out-clean/news")]),
        ("out", [CHARTS, NEWS], [], []),
        ("t/{guild}/{channel}", [CHARTS, NEWS], ["t/Traders/charts", "t/Traders/news"], [("t/Traders", "t-clean/Traders")]),
        ("t/{guild}/{channel}", [CHARTS, ELSEWHERE], ["t/Traders/charts", "t/Other Server/flow"], [("t", "t-clean")]),
        ("t/{guild}/{channel}", [CHARTS], ["t/Traders/charts"], [("t/Traders/charts", "t-clean/Traders/charts")]),
        ("{channel}", [CHARTS, NEWS], ["charts", "news"], [("charts", "charts-clean"), ("news", "news-clean")]),
    ],
)
def test_what_a_one_shot_dedup_reads_and_writes(
    output: str, channels: list[ChannelInfo], present: list[str], pairs: list[tuple[str, str]]
) -> None:
    layout = _layout(output, channels)
    found = layout.dedup_pairs(folder for folder in layout.folders() if str(folder) in present)
    assert found == [(Path(source), Path(clean)) for source, clean in pairs]


def _inside(path: Path, folder: Path) -> bool:
    path, folder = Path(os.path.abspath(path)), Path(os.path.abspath(folder))
    return path == folder or folder in path.parents


_PARTS = st.sampled_from(["pics", "a b", "..", "{guild}", "{channel}", "x-{channel}", "{guild}-{channel}", "arch"])
_CHANNELS = st.lists(st.sampled_from([CHARTS, NEWS, ELSEWHERE, NO_GUILD_NAME, DIRECT]), min_size=1, max_size=4, unique=True)


@settings(deadline=None)  # no timing: the machine's load must not fail it
@given(
    absolute=st.booleans(),
    parts=st.lists(_PARTS, min_size=1, max_size=4),
    channels=_CHANNELS,
    present=st.lists(st.booleans(), min_size=4, max_size=4),
)
def test_clean_folders_stay_out_of_every_source_and_agree_between_watch_and_one_shot(
    absolute: bool, parts: list[str], channels: list[ChannelInfo], present: list[bool]
) -> None:
    layout = _layout(os.path.join("/srv" if absolute else "", *parts), channels)
    folders = layout.folders()
    existing = [folder for folder, there in zip(folders, present) if there]
    try:
        pairs = layout.dedup_pairs(existing)
    except UsageError:  # only `/` itself has no place beside it
        assert any(Path(os.path.abspath(layout.root_of(folder))) == Path("/") for folder in existing)
        return
    for source, clean in pairs:
        # Nothing the run or a later dedup reads holds a clean folder, and no clean folder holds a source.
        assert not any(_inside(clean, folder) or _inside(folder, clean) for folder in folders)
        assert not _inside(clean, layout.root_of(source)) and not _inside(clean, source)
        for folder in existing:  # what a watch poll writes for one channel is where the one-shot run puts it
            if _inside(folder, source):
                assert layout.clean_folder(folder) == clean / Path(folder).relative_to(source)
