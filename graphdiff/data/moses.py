"""MOSES benchmark molecules (molsets 0.3.1): train / test / test_scaffolds."""

from __future__ import annotations

import os

from ._smiles_io import read_lines
from .dataset import MoleculeDataset
from .files import DataFile, fetch
from .registry import DatasetCard

_MOSES_COMMIT = "b94468cab4590ced03a98c26a35d3c1e0647d9c9"


def _file(name: str, sha: str, size: int, content_sha: str) -> DataFile:
    return DataFile(
        f"molecules/moses/{name}.csv.gz", sha, size,
        url=f"https://raw.githubusercontent.com/molecularsets/moses/{_MOSES_COMMIT}/moses/dataset/data/{name}.csv.gz",
        content_sha256=content_sha,
        origin=f"PyPI molsets==0.3.1 wheel, moses/dataset/data/{name}.csv.gz (verbatim); the same path in GitHub "
               f"molecularsets/moses at commit {_MOSES_COMMIT}",
    )


FILES = {
    "train": _file("train", "786f0313aa6b9ba5514df685f885742a70ea8d86f1a4fa48115f7f80a634265c", 10238967,
                   "cc9d6e8e9534e25a7a36361529ae739ddda8036e9072b2fc5cea6930a0592144"),
    "test": _file("test", "f896fbf3764f88d94670b9959e5872c600c12152a18233823e820761b7a791b2", 1367572,
                  "0248e682a9c29ca7649184dd88a4edc83f48f0e84af6b923990069c3da4501b6"),
    "test_scaffolds": _file("test_scaffolds", "adffb2192c1bfe31ab0e13154d4af19a37dc18bdbf3cd7b4491e04405128adde", 1274114,
                            "86c298db856515f4b31a90805de16a580c60a6adcc0ad700ae180d88ba0b9bce"),
}

CARD = DatasetCard(
    name="moses",
    kind="molecules",
    description="MOSES: 1.9M drug-like molecules from ZINC Clean Leads (molecular weight 250-350, no charged atoms, "
                "atoms C, N, S, O, F, Cl, Br), with the benchmark's train, test and scaffold-test sets.",
    files=tuple(FILES.values()),
    splits={"train": 1584663, "test": 176074, "test_scaffolds": 176225},
    split_rule="MOSES: the three stored files (train / test / test_scaffolds, one `SMILES` column each); no index file.",
    citation="Polykovskiy et al., Molecular Sets (MOSES): A Benchmarking Platform for Molecular Generation Models, "
             "Frontiers in Pharmacology 2020.",
    licence="MIT (molsets wheel LICENSE, Insilico Medicine)",
    notes="Default vocabulary: `AtomVocabulary.moses()` (C, N, S, O, F, Cl, Br); max_atoms 27. The GitHub URL is "
          "believed to serve the same bytes as the wheel; the sha256 check decides.",
)


def load(root: str | os.PathLike | None = None, *, download: bool = True) -> MoleculeDataset:
    """MOSES SMILES: train 1,584,663, test 176,074, test_scaffolds 176,225."""
    from .molecules import AtomVocabulary

    smiles = {}
    for split, f in FILES.items():
        rows = read_lines(fetch(f, root, download=download))
        if rows[0].strip() != "SMILES":
            raise ValueError(f"unexpected header {rows[0]!r} in {f.path}")
        smiles[split] = [r.strip() for r in rows[1:]]
    return MoleculeDataset("moses", smiles, AtomVocabulary.moses(), max_atoms=27, card=CARD)
