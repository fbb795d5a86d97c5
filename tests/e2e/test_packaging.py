"""The distribution as ``pip install .`` builds it: every subpackage, models.json, py.typed, the licence
and the metadata, and no tests."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "dataoorts_magic"
SUBPACKAGES = ("client", "offline", "display", "prompting", "structured", "store", "pipeline", "batch", "magics")


@pytest.mark.slow
def test_the_wheel_ships_the_package_and_its_data_and_no_tests(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(REPO), "--no-deps", "-q", "-w", str(tmp_path / "dist")],
        check=True,
        capture_output=True,
    )
    (wheel,) = (tmp_path / "dist").glob("dataoorts_magic-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "dataoorts_magic/models.json" in names
    assert "dataoorts_magic/py.typed" in names  # type checkers read our annotations (PEP 561)
    in_tree = {p.parent.name for p in PACKAGE.glob("*/__init__.py")}
    assert set(SUBPACKAGES) <= in_tree
    for sub in in_tree:
        assert f"dataoorts_magic/{sub}/__init__.py" in names, sub
    (metadata,) = [n for n in names if n.endswith(".dist-info/METADATA")]
    meta = zipfile.ZipFile(wheel).read(metadata).decode()
    assert "License-Expression: MIT" in meta and any(n.endswith("licenses/LICENSE") for n in names)
    for classifier in ("Framework :: IPython", "Framework :: Jupyter", "Typing :: Typed"):
        assert f"Classifier: {classifier}" in meta
    assert "Project-URL: Changelog, " in meta
    assert not [n for n in names if n.startswith(("tests/", "benchmarks/", "notebooks/", "src/"))]
    assert all(n.startswith(("dataoorts_magic/", "dataoorts_magic-")) for n in names), names

    # Installed from the wheel alone (no source tree on the path), the package finds its model table.
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
        check=True,
        capture_output=True,
    )
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); import dataoorts_magic; "
        "from dataoorts_magic.params import models; "
        "assert dataoorts_magic.__file__.startswith(sys.argv[1]), dataoorts_magic.__file__; "
        "print(len(models()))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(target)], capture_output=True, text=True, check=True, cwd=tmp_path
    )
    assert int(out.stdout) >= 1
