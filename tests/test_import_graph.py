"""The import-graph reader the layout tests use: it sees every kind of import and finds every circle."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.import_graph import collapse, cycles, import_graph, within


def _package(root: Path, files: dict[str, str]) -> Path:
    for name, source in files.items():
        path = root / "pkg" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source, encoding="utf-8")
    return root / "pkg"


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"a.py": "from pkg import b\n", "b.py": "def f():\n    from pkg.a import x\n"}, [["pkg.a", "pkg.b"]]),
        ({"a.py": "from . import b\n", "b.py": "from .a import x\n"}, [["pkg.a", "pkg.b"]]),
        ({"a.py": "import pkg.sub.c\n", "sub/__init__.py": "", "sub/c.py": "from ..a import y\n"}, [["pkg.a", "pkg.sub.c"]]),
        ({"a.py": "if TYPE_CHECKING:\n    from pkg.b import B\n", "b.py": "import pkg.a\n"}, [["pkg.a", "pkg.b"]]),
        ({"a.py": "import os\nfrom pkg import b\n", "b.py": "import json\n"}, []),
        ({"a.py": "from pkg import b, c\n", "b.py": "from pkg import c\n", "c.py": "class C: ...\n"}, []),
    ],
    ids=["inside-a-function", "relative", "sub-package", "type-checking", "no-circle", "diamond"],
)
def test_cycles_are_found_whatever_the_import_looks_like(
    tmp_path: Path, files: dict[str, str], expected: list[list[str]]
) -> None:
    assert cycles(import_graph(_package(tmp_path, {"__init__.py": "", **files}))) == expected


def test_type_checking_imports_may_be_left_out(tmp_path: Path) -> None:
    package = _package(
        tmp_path,
        {
            "__init__.py": "",
            "a.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.b import B\nelse:\n    import pkg.c\n",
            "b.py": "import pkg.a\n",
            "c.py": "",
        },
    )
    assert import_graph(package)["pkg.a"] == {"pkg.b", "pkg.c"}
    assert import_graph(package, type_checking=False)["pkg.a"] == {"pkg.c"}
    assert cycles(import_graph(package, type_checking=False)) == []


def test_parts_and_sub_packages(tmp_path: Path) -> None:
    package = _package(
        tmp_path,
        {
            "__init__.py": "",
            "x/__init__.py": "",
            "x/one.py": "from pkg.y.two import f\n",
            "y/__init__.py": "",
            "y/two.py": "def f():\n    from pkg.x import one\n",
        },
    )
    graph = import_graph(package)
    assert within(graph, "pkg.x") == {"pkg.x": set(), "pkg.x.one": set()}
    assert cycles(collapse(graph, 2)) == [["pkg.x", "pkg.y"]]
