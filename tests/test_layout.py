"""The house rules of the code: the product runs without tests/, imports point one way, one exit-code table."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from picextract.errors import ExitCode
from tests.conftest import ROOT, copy_product, saved_pictures
from tests.import_graph import collapse, cycles, import_graph

FRONT_DOORS = {"main", "discord_downloader", "deduplicate_images", "config"}


def _demo_pictures(main_py: Path, folder: Path) -> dict[str, bytes]:
    """The pictures `main.py --demo` saves over all of the demo channel's history, run in `folder`."""
    folder.mkdir()
    env = {key: value for key, value in os.environ.items() if not key.startswith("DISCORD_") and key != "PYTHONPATH"}
    command = [sys.executable, str(main_py), "--demo", "--since", "2015-01-01", "--timezone", "UTC"]
    result = subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True, timeout=90)
    assert result.returncode == ExitCode.OK, result.stderr
    return saved_pictures(folder / "demo-output")


def test_demo_runs_from_a_copy_without_tests_or_shared_and_serves_what_the_checkout_serves(tmp_path: Path) -> None:
    """A user's clone has no tests/ and no ../shared beside it: its demo saves the same captured pictures as CI's."""
    product = tmp_path / "product"
    copy_product(product)
    assert not (product / "tests").exists() and not (tmp_path / "shared").exists()
    from_copy = _demo_pictures(product / "main.py", tmp_path / "copy-run")
    from_checkout = _demo_pictures(ROOT / "main.py", tmp_path / "checkout-run")
    assert len(from_copy) > 20
    # The sample messages are placed relative to now; the captured ones (2015-2026) are the same on every run.
    month_ago = (datetime.now(UTC) - timedelta(days=30)).strftime("%Y-%m-%d")
    captured = {name: data for name, data in from_copy.items() if name < month_ago}
    assert len(captured) >= 15
    assert captured == {name: data for name, data in from_checkout.items() if name < month_ago}


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


def _is_front_door_statement(node: ast.stmt) -> bool:
    """A docstring, an import, `__all__`, or `if __name__ == "__main__":`."""
    if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) or isinstance(node, ast.Import | ast.ImportFrom):
        return True
    if isinstance(node, ast.Assign):
        return [ast.unparse(target) for target in node.targets] == ["__all__"]
    return isinstance(node, ast.If) and ast.unparse(node.test) == "__name__ == '__main__'"


@pytest.mark.parametrize("name", sorted(FRONT_DOORS))
def test_front_doors_only_re_export_the_package(name: str) -> None:
    """An installed copy has no front doors, so they hold no code: only what they import from picextract/."""
    tree = ast.parse((ROOT / f"{name}.py").read_text(encoding="utf-8"))
    assert [ast.unparse(node)[:60] for node in tree.body if not _is_front_door_statement(node)] == []
    imported = {node.module for node in tree.body if isinstance(node, ast.ImportFrom)} - {"__future__"}
    assert imported and all(str(module).startswith("picextract.") for module in imported), imported


def test_exit_codes_are_one_table_listed_in_help_and_docs() -> None:
    table = (ROOT / "docs" / "exit-codes.md").read_text(encoding="utf-8")
    for code in ExitCode:
        assert f"| {code.value} |" in table
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


# The parts bottom to top: a part imports only parts below it. `picextract` is the package's
# `__init__` (the version); errors and config are modules at the package root.
LAYERS = (
    "picextract",
    "picextract.version",
    "picextract.errors",
    "picextract.config",
    "picextract.pictures",
    "picextract.discord",
    "picextract.store",
    "picextract.gallery",
    "picextract.dedup",
    "picextract.download",
    "picextract.watch",
    "picextract.fake",
    "picextract.cli",
    "picextract.__main__",
)


def test_no_module_of_the_package_imports_itself_round_a_circle() -> None:
    """Every import counts (inside functions and for type checking too): `picextract/` reads bottom to top."""
    assert cycles(import_graph(ROOT / "picextract")) == []


def test_no_two_parts_lean_on_each_other() -> None:
    assert cycles(collapse(import_graph(ROOT / "picextract"), 2)) == []


def test_every_part_imports_only_parts_below_it() -> None:
    parts = collapse(import_graph(ROOT / "picextract"), 2)
    assert sorted(set(parts) - set(LAYERS)) == []  # a new part takes its place in LAYERS
    upward = [
        f"{part} -> {target}"
        for part, targets in parts.items()
        for target in targets
        if LAYERS.index(target) > LAYERS.index(part)
    ]
    assert sorted(upward) == []


def _folders_climbed(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> int:
    """How many folders a path built from `__file__` climbs: `.parent` one, `.parents[n]` n + 1."""
    climbed = 0
    while node in parents:
        above = parents[node]
        if isinstance(above, ast.Attribute) and above.attr == "parent":
            climbed += 1
        elif isinstance(above, ast.Subscript) and isinstance(above.slice, ast.Constant) and isinstance(above.slice.value, int):
            climbed += above.slice.value + 1
        elif not (isinstance(above, ast.Call | ast.Attribute) and getattr(above, "attr", "resolve") in ("resolve", "parents")):
            break
        node = above
    return climbed


# The one exception: a clone that is not installed has no package metadata, so its version is pyproject.toml's.
READS_BESIDE_THE_PACKAGE = {"version.py"}


@pytest.mark.parametrize("path", sorted((ROOT / "picextract").rglob("*.py")), ids=lambda p: str(p.relative_to(ROOT)))
def test_the_package_reads_no_file_outside_itself(path: Path) -> None:
    """What the product reads at run time ships inside `picextract/` (as pip will install it): no `../shared`."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    depth = len(path.relative_to(ROOT / "picextract").parts)  # `.parent` this often is picextract/ itself
    depth += path.relative_to(ROOT / "picextract").as_posix() in READS_BESIDE_THE_PACKAGE
    climbs = [_folders_climbed(node, parents) for node in ast.walk(tree) if isinstance(node, ast.Name) and node.id == "__file__"]
    assert all(climbed <= depth for climbed in climbs), climbs
    texts = [node.value for node in ast.walk(tree) if isinstance(node, ast.Constant) and isinstance(node.value, str)]
    assert not [text for text in texts if text in ("shared", "discord_fixtures") or text.startswith("../")]
