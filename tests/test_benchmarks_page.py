"""BENCHMARKS.md is generated from ``benchmarks/results/*.md`` (``python benchmarks/run_all.py --collect``):
it must be up to date, link every result file, and every headline table it copies must exist."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def run_all():
    spec = importlib.util.spec_from_file_location("_graphdiff_run_all", ROOT / "benchmarks" / "run_all.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look their module up
    spec.loader.exec_module(mod)
    yield mod
    sys.modules.pop(spec.name, None)


def test_benchmarks_page_is_up_to_date(run_all):
    assert (ROOT / "BENCHMARKS.md").read_text() == run_all.render(), \
        "BENCHMARKS.md is stale: run python benchmarks/run_all.py --collect"


def test_page_links_every_result_file_and_every_link_resolves(run_all):
    text = run_all.render()
    links = set(re.findall(r"\]\((benchmarks/results/[^)]+\.md)\)", text))
    files = {f"benchmarks/results/{p.name}" for p in (ROOT / "benchmarks" / "results").glob("*.md")}
    assert files <= links
    assert all((ROOT / link).is_file() for link in links)


def test_headline_tables_are_copied_cell_for_cell(run_all):
    for h in run_all.HEADLINES:
        lines = run_all.headline_table(h)
        source = (ROOT / "benchmarks" / "results" / f"{h.stem}.md").read_text()
        for row in lines[2:]:
            for cell in (c.strip() for c in row.strip("|").split("|")):
                assert cell in source, (h.stem, cell)


def test_a_missing_headline_fails_clearly(run_all, tmp_path):
    (tmp_path / "x.md").write_text("# x\n\n| a | b |\n|---|---|\n| 1 | 2 |\n")
    assert run_all.headline_table(run_all.Headline("x", "x", 0, ("b",)), tmp_path)[2] == "| 2 |"
    with pytest.raises(ValueError, match="has 1 tables"):
        run_all.headline_table(run_all.Headline("x", "x", 1), tmp_path)
    with pytest.raises(ValueError, match=r"no column\(s\) \['c'\]"):
        run_all.headline_table(run_all.Headline("x", "x", 0, ("c",)), tmp_path)
    with pytest.raises(ValueError, match="no line starting with '- single'"):
        run_all.headline_table(run_all.Headline("x", "x", 0, (), "- single"), tmp_path)
    (tmp_path / "x.md").write_text("# x\n\n- single-fragment samples: 90%\n\n| a | b |\n|---|---|\n| 1 | 2 |\n")
    assert run_all.headline_table(run_all.Headline("x", "x", 0, (), "- single"), tmp_path)[-2:] == \
        ["", "- single-fragment samples: 90%"]


def test_molecule_headlines_carry_the_single_fragment_share(run_all):
    """Issue #26: the single-fragment share stands beside validity in every summary."""
    for h in run_all.HEADLINES:
        if "validity" in "".join(run_all.headline_table(h)) and "CTMC" in h.title:
            assert run_all.headline_table(h)[-1].startswith("- single-fragment samples"), h.stem
