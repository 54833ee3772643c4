"""Community-small (GraphRNN; the GDSS pickle): 100 two-community graphs, 12-20 nodes."""

from __future__ import annotations

import os

from ._graphs import GDSS_CITATION, GDSS_SPLIT_RULE, GRAPHRNN_CITATION, gdss_file, load_gdss
from .dataset import GraphDataset
from .registry import DatasetCard

CARD = DatasetCard(
    name="community_small",
    kind="graphs",
    description="100 graphs with two Erdos-Renyi communities (p = 0.7) joined by sparse inter-community edges, "
                "12-20 nodes (mean 15.3), all connected (GraphRNN generator; the exact graphs GDSS evaluates on).",
    files=(gdss_file("community_small", "ee0390de8ca9855e40b3a81cf0a84bfd0114a9a42ace369eb08a925e4d988157", 58838),),
    splits={"train": 80, "test": 20},
    split_rule=GDSS_SPLIT_RULE,
    citation=f"{GRAPHRNN_CITATION} {GDSS_CITATION}",
    licence="no licence file in the GDSS repository; synthetic graphs",
    notes="GraphGDP's Community_small.pkl holds different graphs (8 of 100 identical) and splits the other way round; it is not used here.",
)


def load(root: str | os.PathLike | None = None, *, download: bool = True) -> GraphDataset:
    """The GDSS community-small graphs with the GDSS split (train 80, test 20)."""
    return load_gdss(CARD, root, download)
