"""Molecules <-> graphs (RDKit), with an explicit decoding and validity contract.

Representation (GDSS / DiGress convention, hydrogen-suppressed and kekulized):

* nodes: heavy atoms; node type = an id in an :class:`AtomVocabulary`. A vocabulary entry is an
  *(element, formal charge)* pair, so ``"N+"`` and ``"N"`` are different node types. Storing the charge
  in the node type (rather than as a second feature) keeps ``X`` a single ``(B, N)`` long tensor and
  makes graph -> molecule exact: with implicit hydrogens, element + charge + bonds fix every atom's
  hydrogen count, so decoding reproduces the canonical SMILES outside stereochemistry, except for
  explicit hydrogens the implicit-H rule cannot know (e.g. ``O=[PH2]...``); the measured round-trip
  rates on QM9 and ZINC250k are in ``benchmarks/results/molecule_roundtrip.md``.
  ``AtomVocabulary.qm9(charges=False)`` gives GDSS's charge-free 4-type vocabulary instead; there a
  charged atom is stored as its neutral element and charges can only come back through the GDSS
  +1 rule at decoding.
* edges: bond classes ``0`` none, ``1`` single, ``2`` double, ``3`` triple; aromatic bonds are
  kekulized before encoding (``Chem.Kekulize(clearAromaticFlags=True)``).
* not represented: stereochemistry, isotopes, radicals and hydrogen counts that differ from
  RDKit's implicit-hydrogen rule (in QM9 and ZINC250k only stereo and that one ZINC molecule).

Decoding (:func:`graph_to_mol`) runs these named steps in order:

1. *build*: atoms (element, charge) and bonds, added in GDSS's order (lower triangle, row by row).
   With ``gdss_charges=True`` (GDSS ``construct_mol``), after each bond the valence is checked and the
   first offending atom, if it is N, O or S and exceeds its default valence (3, 2, 2) by exactly one,
   gets formal charge +1.
2. *valence check*: ``valid_without_correction`` is True when RDKit's valence check
   (``SanitizeMol(SANITIZE_PROPERTIES)``) passes now, before any correction (GDSS ``check_valency``).
3. *correction* (``correct=True``, GDSS ``correct_mol``): while some atom exceeds its valence, take the
   first such atom (index order), and lower its highest-order bond by one (a single bond is removed);
   ties go to the first bond in RDKit's bond order of that atom.
4. *strict sanitization*: the molecule is written as SMILES and parsed back with ``Chem.MolFromSmiles``
   (full sanitization: valence, kekulization, aromaticity); failure makes the result invalid.
   With ``largest_fragment=True`` only the largest fragment of that SMILES is parsed (GDSS
   ``valid_mol_can_with_seg``: largest = longest SMILES string, first on ties; or most heavy atoms with
   ``fragment_size="atoms"``).

A molecule that fails step 2 without correction, or step 4, has ``mol=None``. Empty graphs
(0 atoms) are invalid and counted in ``DecodeReport.n_empty`` (GDSS would count an empty molecule as
valid). Continuous models use :func:`quantize_bonds` / :func:`continuous_to_state` first
(thresholds 0.5 / 1.5 / 2.5 as GDSS ``quantize_mol``; an atom exists when a type channel is > 0.5).

Modules: :mod:`~graphdiff.data.molecules.vocabulary` (atom types),
:mod:`~graphdiff.data.molecules.encode` (molecule -> graph) and
:mod:`~graphdiff.data.molecules.decode` (graph -> molecule); every name is re-exported here.
"""

from __future__ import annotations

from .decode import (
    BOND_CLASSES,
    DECODING_PROTOCOLS,
    DecodedMolecule,
    DecodeReport,
    continuous_to_state,
    decode_molecules,
    graph_to_mol,
    quantize_bonds,
    state_to_mols,
)
from .encode import (
    EncodedMolecules,
    MolGraph,
    canonical_smiles,
    graphs_to_state,
    mol_to_graph,
    smiles_to_graph,
    smiles_to_state,
)
from .vocabulary import AtomVocabulary

__all__ = [
    "AtomVocabulary", "BOND_CLASSES", "MolGraph", "EncodedMolecules", "DecodedMolecule", "DecodeReport",
    "mol_to_graph", "smiles_to_graph", "graphs_to_state", "smiles_to_state", "graph_to_mol",
    "state_to_mols", "decode_molecules", "quantize_bonds", "continuous_to_state", "canonical_smiles",
    "DECODING_PROTOCOLS",
]
