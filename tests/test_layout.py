"""The house rules of the code: the product runs without tests/, imports point one way, one exit-code table."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

from picextract.errors import ExitCode
from tests.conftest import ROOT, copy_product
from tests.import_graph import cycles, import_graph, within

FRONT_DOORS = {"main", "discord_downloader", "deduplicate_images"}


def test_demo_runs_from_a_copy_without_tests(tmp_path: Path) -> None:
    product = tmp_path / "product"
    copy_product(product)
    assert not (product / "tests").exists()
    env = {key: value for key, value in os.environ.items() if not key.startswith("DISCORD_") and key != "PYTHONPATH"}
    result = subprocess.run(
        [sys.executable, str(product / "main.py"), "--demo"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=90
    )
    assert result.returncode == ExitCode.OK, result.stderr
    assert len([p for p in (tmp_path / "demo-output").iterdir() if not p.name.startswith(".")]) > 20


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("path", sorted((ROOT / "picextract").rglob("*.py")), ids=lambda p: str(p.relative_to(ROOT)))
def test_the_package_never_imports_upward_or_tests(path: Path) -> None:
    assert not _imports(path) & (FRONT_DOORS | {"tests"})


def test_exit_codes_are_one_table_listed_in_help_and_readme() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for code in ExitCode:
        assert f"| {code.value} |" in readme
    for program in ("main.py", "deduplicate_images.py"):
        shown = subprocess.run(
            [sys.executable, str(ROOT / program), "--help"], capture_output=True, text=True, cwd=ROOT, timeout=30
        )
        assert shown.returncode == 0
        assert all(f"{code.value} " in " ".join(shown.stdout.split()) for code in ExitCode)


PRODUCT_FILES = sorted(
    [
        *(ROOT / "picextract").rglob("*.py"),
        *(ROOT / name for name in ("main.py", "discord_downloader.py", "deduplicate_images.py", "config.py")),
    ]
)


@pytest.mark.parametrize("path", PRODUCT_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_small_modules_and_short_functions(path: Path) -> None:
    """The house rules a newcomer relies on: no module over 400 lines, no function over 60."""
    source = path.read_text(encoding="utf-8")
    assert len(source.splitlines()) <= 400
    long_functions = [
        f"{node.name}: {node.end_lineno - node.lineno + 1} lines"
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.end_lineno - node.lineno + 1 > 60
    ]
    assert long_functions == []


def test_the_fake_server_has_no_import_cycle() -> None:
    """Every import counts (inside functions and for type checking too): `picextract/fake/` reads bottom to top."""
    assert cycles(within(import_graph(ROOT / "picextract"), "picextract.fake")) == []
