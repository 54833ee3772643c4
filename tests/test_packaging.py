"""The distribution is ``graphdiff-ml`` (``graphdiff`` on PyPI is an unrelated project); the import
name stays ``graphdiff``, and every place that names the distribution uses the new name."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DIST = "graphdiff-ml"


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_distribution_name_and_self_referencing_extras():
    project = _pyproject()["project"]
    assert project["name"] == DIST
    for extra, reqs in project["optional-dependencies"].items():
        for req in reqs:
            if req.startswith("graphdiff"):
                assert req.startswith(DIST + "["), (extra, req)  # pip resolves a self-reference by distribution name


def test_py_typed_ships():
    assert (ROOT / "graphdiff" / "py.typed").is_file()
    assert "py.typed" in _pyproject()["tool"]["setuptools"]["package-data"]["graphdiff"]


def test_nothing_asks_for_the_old_distribution_name():
    old = re.compile(r"""(version|distribution|metadata)\(\s*["']graphdiff["']|pip install ["']?graphdiff\[""")
    for path in list((ROOT / "graphdiff").rglob("*.py")) + list((ROOT / "benchmarks").rglob("*.py")) + [ROOT / "README.md"]:
        assert not old.search(path.read_text()), path


def test_missing_extra_error_names_the_distribution(monkeypatch):
    from graphdiff._optional import require

    with pytest.raises(ImportError, match=r"pip install 'graphdiff-ml\["):
        require("graphdiff_no_such_module_xyz")
