"""The version `--version` prints: the installed package's metadata, or pyproject.toml's in a clone that is not installed."""

from __future__ import annotations

from pathlib import Path

DISTRIBUTION = "discordpicextract"  # the name pip knows the package by (pyproject.toml's [project] name)
PACKAGE_DIR = Path(__file__).resolve().parent
# A clone's picextract/ sits beside its pyproject.toml; an installed copy's metadata answers before this is read.
CLONE_PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


def pyproject_version(text: str) -> str | None:
    """The version a pyproject.toml declares for this project; None when it declares another or cannot be read."""
    import tomllib

    try:
        project = tomllib.loads(text).get("project", {})
    except tomllib.TOMLDecodeError:
        return None
    return str(project["version"]) if project.get("name") == DISTRIBUTION and "version" in project else None


def installed_version() -> str | None:
    """The version pip recorded, when the installed package is this very copy (not a clone run beside an install)."""
    from importlib import metadata  # imported when asked: it costs every start of the program tens of milliseconds

    try:
        distribution = metadata.distribution(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return None
    installed_here = Path(str(distribution.locate_file("picextract"))).resolve() == PACKAGE_DIR
    return distribution.version if installed_here else None


def package_version() -> str:
    """This copy's version: installed, from its metadata; in a clone, from pyproject.toml ('unknown' without either)."""
    version = installed_version()
    if version is None and CLONE_PYPROJECT.is_file():
        version = pyproject_version(CLONE_PYPROJECT.read_text(encoding="utf-8"))
    return version or "unknown"
