"""The integer descriptors QED is built from, as condition properties (``alerts``, ``hbd``, ``rotb``):
counted exactly as ``rdkit.Chem.QED.properties`` counts them, NaN where a SMILES does not parse."""

from __future__ import annotations

import math

import pytest

from graphdiff.data.properties import PROPERTIES, PROPERTY_DESCRIPTIONS, compute_properties

pytest.importorskip("rdkit")
from rdkit import Chem  # noqa: E402
from rdkit.Chem import QED  # noqa: E402

# aspirin (2 alerts), an acrylonitrile (Michael acceptor), an amino alcohol, a maleimide, a quinone,
# a charged nitro compound, a QM9-like cage, an aldehyde, and methylamine
SMILES = ["CC(=O)Oc1ccccc1C(=O)O", "C=CC#N", "CCN(CC)CCO", "O=C1NC(=O)C=C1", "CC1=CC(=O)C=CC1=O",
          "C[N+](=O)[O-]", "C1C2CC3C1C23O", "CC1CCCC(C1)C=O", "CN", "OCC(O)CO", "CCCCCCCC(N)=O"]


def test_descriptors_are_registered():
    for name in ("alerts", "hbd", "rotb"):
        assert name in PROPERTIES and "QED.properties" in PROPERTY_DESCRIPTIONS[name]


@pytest.mark.parametrize("smiles", SMILES)
def test_descriptors_equal_qed_properties(smiles):
    got = compute_properties([smiles], ["alerts", "hbd", "rotb"])[0]
    want = QED.properties(Chem.MolFromSmiles(smiles))
    assert list(got) == [want.ALERTS, want.HBD, want.ROTB]


def test_explicit_hydrogens_are_removed_first_as_qed_does():
    mol = Chem.AddHs(Chem.MolFromSmiles("CC(=O)Oc1ccccc1C(=O)O"))
    want = QED.properties(mol)
    assert list(compute_properties([mol], ["alerts", "hbd", "rotb"])[0]) == [want.ALERTS, want.HBD, want.ROTB]


def test_the_set_is_not_trivial_and_a_bad_smiles_is_nan():
    v = compute_properties(SMILES + ["not a smiles"], ["alerts", "hbd", "rotb"])
    assert all(math.isnan(x) for x in v[-1])
    assert len({tuple(r) for r in v[:-1]}) >= 5 and v[:-1, 0].max() >= 2  # several alerts on one molecule
