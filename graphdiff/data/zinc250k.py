"""ZINC250k (the 249,455 drug-like molecules of chemical_vae / MoFlow / GDSS) with the GDSS test split."""

from __future__ import annotations

import os

from ._smiles_io import read_index_json, read_lines, split_by_index
from .dataset import MoleculeDataset
from .files import DataFile, fetch
from .registry import DatasetCard

_DDVAE_COMMIT = "74e714639fd53b321c319aef5e10d48f88f9d512"
_GDSS_COMMIT = "005cb7f7151185a5b452c4946e33a4c4bb0f4f2d"

#: the one line of the .smi file that is not in the 249,455-row csv (120 characters; see the card)
DROPPED_LINE = 234299

SMILES_FILE = DataFile(
    "molecules/zinc250k/250k_rndm_zinc_drugs_clean.smi.gz",
    "50b6b95dbdd4547344602c352b6e770daf8bda801fcd670fc487334d04a1ab36",
    2860728,
    url=f"https://raw.githubusercontent.com/insilicomedicine/DD-VAE/{_DDVAE_COMMIT}/data/zinc/250k_rndm_zinc_drugs_clean.smi.gz",
    content_sha256="f900b46bb42b77aab37cd827d1ea474e2a037ecab2bd7def2b6027492216d36a",
    origin=f"GitHub insilicomedicine/DD-VAE, data/zinc/250k_rndm_zinc_drugs_clean.smi.gz, commit {_DDVAE_COMMIT} (verbatim)",
)
SPLIT_FILE = DataFile(
    "molecules/zinc250k/valid_idx_zinc250k.json",
    "cf1af3a8588c947493ff0a2b60178db6726e9a4dbb445235b149cd3bbe6831df",
    187833,
    url=f"https://raw.githubusercontent.com/harryjo97/GDSS/{_GDSS_COMMIT}/data/valid_idx_zinc250k.json",
    origin=f"GitHub harryjo97/GDSS, data/valid_idx_zinc250k.json, commit {_GDSS_COMMIT} (from MoFlow)",
)

CARD = DatasetCard(
    name="zinc250k",
    kind="molecules",
    description="ZINC250k: 249,455 drug-like molecules with up to 38 heavy atoms (C, N, O, F, P, S, Cl, Br, I), "
                "SMILES with stereo and formal charges, in the row order of chemical_vae's "
                "250k_rndm_zinc_drugs_clean_3.csv used by MoFlow and GDSS.",
    files=(SMILES_FILE, SPLIT_FILE),
    splits={"train": 224568, "test": 24887},
    split_rule="GDSS/MoFlow: test = the 24,887 rows listed in valid_idx_zinc250k.json (a plain list of ints, in "
               "file order); train = every other row in order. No validation split.",
    citation="Gomez-Bombarelli et al., Automatic chemical design using a data-driven continuous representation of "
             "molecules, ACS Central Science 2018; Irwin & Shoichet, ZINC, J. Chem. Inf. Model. 2005; split: "
             "Zang & Wang, MoFlow, KDD 2020 / Jo et al., GDSS, ICML 2022.",
    licence="ZINC subset as distributed with chemical_vae / DD-VAE (no licence file); check ZINC's terms for your use",
    notes=f"The rows are the 249,456 lines of the .smi file minus line {DROPPED_LINE} (0-based), the only 120-character "
          "SMILES, which chemical_vae's MAX_LEN 120 excluded. The dropped line is an inference (checked against "
          "chainer-chemistry's pinned rows 0, 7777 and 249454), not a documented fact. Default vocabulary: "
          "`AtomVocabulary.zinc250k()` (9 elements + C-, N+, N-, O+, O-, P+, S+, S-); max_atoms 38.",
    options={"charges": "True: node types include formal charges (exact round trip); False: GDSS's 9 neutral types"},
)


def load(root: str | os.PathLike | None = None, *, download: bool = True, charges: bool = True) -> MoleculeDataset:
    """ZINC250k SMILES with the GDSS split (train 224,568, test 24,887)."""
    from .molecules import AtomVocabulary

    lines = [s.strip() for s in read_lines(fetch(SMILES_FILE, root, download=download))]
    if len(lines) != 249456:
        raise ValueError(f"{SMILES_FILE.path} should have 249,456 lines, found {len(lines):,}")
    rows = lines[:DROPPED_LINE] + lines[DROPPED_LINE + 1:]
    test_idx = read_index_json(fetch(SPLIT_FILE, root, download=download))
    return MoleculeDataset("zinc250k", split_by_index(rows, test_idx), AtomVocabulary.zinc250k(charges=charges), max_atoms=38, card=CARD)
