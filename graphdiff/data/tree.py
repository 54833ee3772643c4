"""Tree (ESGG): 200 random trees with 64 nodes."""

from __future__ import annotations

import os

from ._graphs import ESGG_CITATION, esgg_file, load_esgg
from .dataset import GraphDataset
from .registry import DatasetCard

CARD = DatasetCard(
    name="tree",
    kind="graphs",
    description="200 random trees with 64 nodes and 63 edges (ESGG's own set, not part of SPECTRE).",
    files=(esgg_file("tree", "ad27d04dd28fb21267020c3f1e7881bbaab936e33a24cdbcc62274507748f450", 266906),),
    splits={"train": 128, "val": 32, "test": 40},
    split_rule="ESGG: the stored train/val/test lists (128/32/40).",
    citation=ESGG_CITATION,
    licence="MIT (ESGG repository)",
)


def load(root: str | os.PathLike | None = None, *, download: bool = True) -> GraphDataset:
    """ESGG tree graphs with the stored split (128 / 32 / 40)."""
    return load_esgg(CARD, root, download)
