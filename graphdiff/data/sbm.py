"""SBM (SPECTRE ``sbm_200``, as stored by ESGG): 200 stochastic-block-model graphs, 44-187 nodes."""

from __future__ import annotations

import os

from ._graphs import ESGG_CITATION, ESGG_SPLIT_RULE, SPECTRE_CITATION, esgg_file, load_esgg
from .dataset import GraphDataset
from .registry import DatasetCard

CARD = DatasetCard(
    name="sbm",
    kind="graphs",
    description="200 stochastic-block-model graphs: 2-5 communities of 20-40 nodes, p_intra 0.3, p_inter 0.005 "
                "(44-187 nodes, mean about 500 edges; 196 of 200 connected).",
    files=(esgg_file("sbm", "20254b6ddb2684466d31cb55d0ecbc7a88d34e0475fde86e947da3a59180ea65", 1714551),),
    splits={"train": 128, "val": 32, "test": 40},
    split_rule=ESGG_SPLIT_RULE,
    citation=f"{SPECTRE_CITATION} {ESGG_CITATION}",
    licence="MIT (ESGG repository; graphs from SPECTRE, MIT)",
    notes="Edge attribute `weight=True` of the pickle is dropped.",
)


def load(root: str | os.PathLike | None = None, *, download: bool = True) -> GraphDataset:
    """SPECTRE SBM graphs with the stored SPECTRE split (128 / 32 / 40)."""
    return load_esgg(CARD, root, download)
