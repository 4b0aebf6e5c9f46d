"""The installable package: pyproject.toml's table, what the wheel must carry, the version, `python -m picextract`.

Building and installing the wheel itself needs the network (setuptools comes from PyPI): `.ci/install-check` does
that, from a fresh virtual environment and outside the clone.
"""

from __future__ import annotations

import fnmatch
import importlib
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from picextract.version import package_version, pyproject_version
from tests.conftest import ROOT

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def _tracked(folder: str) -> list[Path]:
    names = subprocess.run(["git", "ls-files", folder], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    return [ROOT / name for name in names]


def test_the_runtime_dependencies_are_requirements_txt() -> None:
    """A clone installs requirements.txt, pip installs pyproject.toml's list: the same list."""
    lines = (ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines()
    required = [line.split("#")[0].strip() for line in lines if line.split("#")[0].strip()]
    assert PYPROJECT["project"]["dependencies"] == required


@pytest.mark.parametrize(("command", "target"), sorted(PYPROJECT["project"]["scripts"].items()))
def test_each_command_names_a_main_of_the_package(command: str, target: str) -> None:
    module, _, function = target.partition(":")
    assert module.startswith("picextract.") and callable(getattr(importlib.import_module(module), function))


def _package_of(path: Path) -> Path:
    """The nearest folder above `path` that is a Python package (has `__init__.py`)."""
    folder = path.parent
    while not (folder / "__init__.py").is_file():
        folder = folder.parent
    return folder


def test_every_file_the_package_reads_goes_into_the_wheel() -> None:
    """Files under picextract/ that are no Python (the gallery's static page, the captured payloads) are package data."""
    package_data: dict[str, list[str]] = PYPROJECT["tool"]["setuptools"]["package-data"]
    data_files = [path for path in _tracked("picextract") if path.suffix != ".py"]
    assert len(data_files) > 10
    missing = []
    for path in data_files:
        package = _package_of(path)
        patterns = package_data.get(".".join(package.relative_to(ROOT).parts), [])
        if not any(fnmatch.fnmatch(path.relative_to(package).as_posix(), pattern) for pattern in patterns):
            missing.append(str(path.relative_to(ROOT)))
    assert missing == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[project]\nname = "discordpicextract"\nversion = "2.0.1"\n', "2.0.1"),
        ('[project]\nname = "someone-else"\nversion = "9.9"\n', None),  # a pyproject.toml that is not ours
        ("[tool.ruff]\nline-length = 1\n", None),
        ("not = [toml", None),
    ],
    ids=["ours", "another-project", "no-project-table", "broken"],
)
def test_pyproject_version(text: str, expected: str | None) -> None:
    assert pyproject_version(text) == expected


def test_version_in_a_clone_is_pyprojects(tmp_path: Path) -> None:
    """Not installed, `--version` says what pyproject.toml declares (installed, the package metadata: install-check)."""
    declared = PYPROJECT["project"]["version"]
    assert package_version() == declared
    shown = subprocess.run([sys.executable, str(ROOT / "main.py"), "--version"], cwd=tmp_path, capture_output=True, text=True)
    assert (shown.returncode, shown.stdout) == (0, f"DiscordPicExtract {declared}\n")


def test_python_dash_m_picextract_is_the_downloader(tmp_path: Path) -> None:
    shown = subprocess.run(
        [sys.executable, "-m", "picextract", "--help"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
    )
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.startswith("usage: python -m picextract ") and "--watch" in shown.stdout and "--env-file" in shown.stdout
