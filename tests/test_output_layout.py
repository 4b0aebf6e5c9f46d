"""Tables for the output's layout (picextract/store/layout.py): the files kept beside the pictures."""

from __future__ import annotations

from pathlib import Path

from picextract.store.layout import ChannelFolder, thumbnail_link


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
