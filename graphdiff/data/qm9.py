"""QM9 (GDB-17 SMILES of the 133,885 QM9 molecules) with the GDSS/MoFlow test split."""

from __future__ import annotations

import os

from ._smiles_io import read_index_json, read_lines, split_by_index
from .dataset import MoleculeDataset
from .files import DataFile, fetch
from .registry import DatasetCard

_SELFIES_COMMIT = "3b89f0a9e2b06ce07507115e64648fc994eaf246"
_GDSS_COMMIT = "005cb7f7151185a5b452c4946e33a4c4bb0f4f2d"

SMILES_FILE = DataFile(
    "molecules/qm9/qm9_smiles_selfies.csv.gz",
    "a800c8b0e8b2be35b17be8547aca19ecba1860daf3918bd27d2281631b58e7bc",
    346744,
    url=f"https://raw.githubusercontent.com/aspuru-guzik-group/selfies/{_SELFIES_COMMIT}/tests/test_sets/qm9.csv",
    url_serves="content",
    content_sha256="80c060e299a44112b89be3fc6d95145dfeda97aa3eab1e2662aafdfbb00f7929",
    origin=f"GitHub aspuru-guzik-group/selfies, tests/test_sets/qm9.csv, commit {_SELFIES_COMMIT} (gzipped; Apache-2.0)",
)
SPLIT_FILE = DataFile(
    "molecules/qm9/valid_idx_qm9.json",
    "889fd232a33d8a2c00f057c807b119e72abd5baa48f6fab93e8d8b7a79340f4d",
    130846,
    url=f"https://raw.githubusercontent.com/harryjo97/GDSS/{_GDSS_COMMIT}/data/valid_idx_qm9.json",
    origin=f"GitHub harryjo97/GDSS, data/valid_idx_qm9.json, commit {_GDSS_COMMIT} (from MoFlow)",
)

CARD = DatasetCard(
    name="qm9",
    kind="molecules",
    description="QM9: 133,885 small organic molecules with up to 9 heavy atoms (C, N, O, F), as RDKit-canonical "
                "GDB-17 SMILES in QM9 order (row i = gdb_{i+1}); no stereo. 1,705 SMILES are written with formal "
                "charges; after RDKit sanitization, which rewrites 140 nitro groups N(=O)=O as [N+](=O)[O-], "
                "1,845 molecules have charged atoms.",
    files=(SMILES_FILE, SPLIT_FILE),
    splits={"train": 120803, "test": 13082},
    split_rule="GDSS/MoFlow: test = the 13,082 rows listed in valid_idx_qm9.json (key `valid_idxs`, zero-padded "
               "strings, in file order); train = every other row in order. No validation split.",
    citation="Ramakrishnan, Dral, Rupp, von Lilienfeld. Quantum chemistry structures and properties of 134 kilo "
             "molecules, Scientific Data 2014; Ruddigkeit et al., GDB-17, J. Chem. Inf. Model. 2012; split: "
             "Zang & Wang, MoFlow, KDD 2020 / Jo et al., GDSS, ICML 2022.",
    licence="QM9 data: CC BY 4.0 (figshare release; not re-checked); SMILES file from the selfies repository (Apache-2.0)",
    notes="Same molecules and order as GDSS's `qm9.csv` column SMILES1, but RDKit-canonical strings (GDSS canonicalizes "
          "before evaluation, so metrics are unaffected; atom order inside a molecule differs from GDSS's preprocessed "
          "tensors). Default vocabulary: `AtomVocabulary.qm9()` (C, N, O, F + C-, N+, N-, O-); max_atoms 9.",
    options={"charges": "True: node types include formal charges (exact round trip); False: GDSS's 4 neutral types"},
)


def load(root: str | os.PathLike | None = None, *, download: bool = True, charges: bool = True) -> MoleculeDataset:
    """QM9 SMILES with the GDSS split (train 120,803, test 13,082)."""
    from .molecules import AtomVocabulary

    rows = read_lines(fetch(SMILES_FILE, root, download=download))
    if rows[0].strip().lower() != "smiles":
        raise ValueError(f"unexpected header {rows[0]!r} in {SMILES_FILE.path}")
    rows = [r.strip() for r in rows[1:]]
    test_idx = read_index_json(fetch(SPLIT_FILE, root, download=download))
    return MoleculeDataset("qm9", split_by_index(rows, test_idx), AtomVocabulary.qm9(charges=charges), max_atoms=9, card=CARD)
