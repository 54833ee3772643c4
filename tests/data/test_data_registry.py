"""Registry, cards and the markdown cards in ``datasets/``."""

from __future__ import annotations

from pathlib import Path

import pytest

from graphdiff.data import dataset_names, get_card, list_datasets, load
from graphdiff.data.registry import render_card_markdown

REPO = Path(__file__).resolve().parents[2]


def test_unknown_dataset_lists_valid_names():
    with pytest.raises(ValueError, match="unknown dataset 'qm10'.*community_small.*qm9.*zinc250k"):
        load("qm10")
    with pytest.raises(ValueError, match="valid choices"):
        get_card("nope")


def test_list_datasets_has_counts_per_split():
    info = {d["name"]: d for d in list_datasets()}
    assert set(info) == set(dataset_names())
    assert info["qm9"]["splits"] == {"train": 120803, "test": 13082} and info["qm9"]["total"] == 133885
    assert info["zinc250k"]["splits"] == {"train": 224568, "test": 24887} and info["zinc250k"]["total"] == 249455
    assert info["moses"]["splits"] == {"train": 1584663, "test": 176074, "test_scaffolds": 176225}
    assert info["enzymes"]["splits"] == {"train": 470, "test": 117}
    assert info["planar"]["splits"] == {"train": 128, "val": 32, "test": 40}
    for d in info.values():
        assert d["kind"] in ("molecules", "graphs") and d["split_rule"] and d["licence"] and d["citation"]
        for f in d["files"]:
            assert len(f["sha256"]) == 64 and not f["path"].startswith("/")


@pytest.mark.parametrize("name", dataset_names())
def test_markdown_card_matches_code(name):
    path = REPO / "datasets" / f"{name}.md"
    assert path.exists(), f"datasets/{name}.md missing: run python -m graphdiff.data write-cards"
    assert path.read_text() == render_card_markdown(get_card(name)), (
        f"datasets/{name}.md is out of date: run python -m graphdiff.data write-cards")


def test_no_stray_markdown_cards():
    names = {p.stem for p in (REPO / "datasets").glob("*.md")} - {"README"}
    assert names == set(dataset_names())


def test_synthetic_cards_match_generated_counts():
    for name in ("synthetic_grid", "synthetic_planar", "synthetic_sbm", "synthetic_community", "synthetic_community_classes"):
        card = get_card(name)
        n = card.total
        ds = load(name, n_graphs=n, seed=3) if name != "synthetic_grid" else load(name, n_graphs=n, seed=3, max_side=11)
        assert ds.counts() == card.splits
