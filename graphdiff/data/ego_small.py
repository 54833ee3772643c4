"""Ego-small (GraphRNN; the GDSS pickle): 200 small ego networks from Citeseer, 4-17 nodes."""

from __future__ import annotations

import os

from ._graphs import GDSS_CITATION, GDSS_SPLIT_RULE, GRAPHRNN_CITATION, gdss_file, load_gdss
from .dataset import GraphDataset
from .registry import DatasetCard

CARD = DatasetCard(
    name="ego_small",
    kind="graphs",
    description="200 one-hop ego graphs of the Citeseer citation network with 4-17 nodes (mean 6.4); "
                "node ids are renumbered 0..n-1 in stored order.",
    files=(gdss_file("ego_small", "eb1af8c3094929748a67b75c4f33ad364c1361d711c0fe14fa8c4d1681918dba", 46040),),
    splits={"train": 160, "test": 40},
    split_rule=GDSS_SPLIT_RULE,
    citation=f"{GRAPHRNN_CITATION} {GDSS_CITATION} Sen et al., Collective classification in network data, AI Magazine 2008 (Citeseer).",
    licence="no licence file in the GDSS repository",
)


def load(root: str | os.PathLike | None = None, *, download: bool = True) -> GraphDataset:
    """The GDSS ego-small graphs with the GDSS split (train 160, test 40)."""
    return load_gdss(CARD, root, download)
