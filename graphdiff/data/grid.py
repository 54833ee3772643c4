"""Grid (GraphRNN; the GDSS pickle): 100 2-D grid graphs m x n, m, n in 10..19."""

from __future__ import annotations

import os

from ._graphs import GDSS_CITATION, GDSS_SPLIT_RULE, GRAPHRNN_CITATION, gdss_file, load_gdss
from .dataset import GraphDataset
from .registry import DatasetCard

CARD = DatasetCard(
    name="grid",
    kind="graphs",
    description="100 two-dimensional grid graphs m x n for every m, n in 10..19 (110-361 nodes, mean 216.4).",
    files=(gdss_file("grid", "1c533398435301faaa1282993e1738069cafcc5e7662b284a3dba23cee680104", 671278),),
    splits={"train": 80, "test": 20},
    split_rule=GDSS_SPLIT_RULE,
    citation=f"{GRAPHRNN_CITATION} {GDSS_CITATION}",
    licence="no licence file in the GDSS repository; synthetic graphs",
)


def load(root: str | os.PathLike | None = None, *, download: bool = True) -> GraphDataset:
    """The GDSS grid graphs with the GDSS split (train 80, test 20)."""
    return load_gdss(CARD, root, download)
