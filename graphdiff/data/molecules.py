"""Molecules <-> graphs (RDKit), with an explicit decoding and validity contract.

Representation (GDSS / DiGress convention, hydrogen-suppressed and kekulized):

* nodes: heavy atoms; node type = an id in an :class:`AtomVocabulary`. A vocabulary entry is an
  *(element, formal charge)* pair, so ``"N+"`` and ``"N"`` are different node types. Storing the charge
  in the node type (rather than as a second feature) keeps ``X`` a single ``(B, N)`` long tensor and
  makes graph -> molecule exact: with implicit hydrogens, element + charge + bonds fix every atom's
  hydrogen count, so decoding reproduces the canonical SMILES outside stereochemistry (measured with
  ``benchmarks/molecule_roundtrip.py``: QM9 133,885 / 133,885; ZINC250k 249,454 / 249,455, the exception
  being ``O=[PH2]...``, whose two explicit H on a 3-valent P the implicit-H rule cannot know).
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
"""

from __future__ import annotations

import re
import warnings
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

import numpy as np
import torch
from torch import Tensor

from .._optional import require
from ..errors import InvalidGraphError, MissingDependencyError, VocabularyError, unknown_name
from ..states import GraphState

__all__ = [
    "AtomVocabulary", "BOND_CLASSES", "MolGraph", "EncodedMolecules", "DecodedMolecule", "DecodeReport",
    "mol_to_graph", "smiles_to_graph", "graphs_to_state", "smiles_to_state", "graph_to_mol",
    "state_to_mols", "decode_molecules", "quantize_bonds", "continuous_to_state", "canonical_smiles",
    "DECODING_PROTOCOLS",
]

#: bond class id -> name (0 = no bond)
BOND_CLASSES: tuple[str, ...] = ("none", "single", "double", "triple")

#: GDSS's default valences used by the +1 charge rule (``utils/mol_utils.py`` ``ATOM_VALENCY``)
_GDSS_VALENCY = {"C": 4, "N": 3, "O": 2, "F": 1, "P": 3, "S": 2, "Cl": 1, "Br": 1, "I": 1}
_GDSS_CHARGEABLE = ("N", "O", "S")

_TOKEN = re.compile(r"^([A-Z][a-z]?)([+-]\d*)?$")

#: named decoding protocols (keyword defaults of :func:`decode_molecules`)
DECODING_PROTOCOLS: dict[str, dict[str, bool]] = {
    "strict": {"gdss_charges": False, "correct": False, "largest_fragment": False},
    "gdss": {"gdss_charges": True, "correct": True, "largest_fragment": True},
}


def _parse_token(tok: str | tuple[str, int]) -> tuple[str, int]:
    if isinstance(tok, tuple):
        if len(tok) != 2 or not isinstance(tok[0], str) or isinstance(tok[1], bool) or not isinstance(tok[1], (int, np.integer)):
            raise VocabularyError(f"an atom type pair must be (element symbol, integer charge); got {tok!r}")
        return tok[0], int(tok[1])
    if not isinstance(tok, str):
        raise VocabularyError(f"an atom type must be a string such as 'C' or 'N+' or a pair ('N', 1); got {tok!r} ({type(tok).__name__})")
    m = _TOKEN.match(tok.strip())
    if m is None:
        raise VocabularyError(f"cannot parse atom type {tok!r}; write an element symbol with an optional charge, e.g. 'C', 'N+', 'O-', 'Fe+2'")
    sym, ch = m.group(1), m.group(2)
    if not ch:
        return sym, 0
    mag = int(ch[1:]) if len(ch) > 1 else 1
    return sym, mag if ch[0] == "+" else -mag


def _is_element(sym: str) -> bool:
    """Whether ``sym`` is an element symbol in RDKit's periodic table (atomic number >= 1); without
    RDKit nothing can be checked here (decoding needs RDKit anyway), so every symbol passes."""
    try:
        Chem = require("rdkit.Chem")
    except MissingDependencyError:
        return True
    from rdkit import rdBase

    try:
        with rdBase.BlockLogs():
            return Chem.GetPeriodicTable().GetAtomicNumber(sym) >= 1
    except RuntimeError:
        return False


def _token(sym: str, charge: int) -> str:
    if charge == 0:
        return sym
    sign = "+" if charge > 0 else "-"
    return f"{sym}{sign}{abs(charge) if abs(charge) != 1 else ''}"


class AtomVocabulary:
    """Node types of molecular graphs: an ordered list of (element, formal charge) pairs.

    Args:
        types: tokens such as ``"C"``, ``"N+"``, ``"O-"`` or pairs ``("N", 1)``; id ``i`` = position ``i``.
        drop_charges: encode every atom as its neutral element (GDSS's charge-free vocabularies);
            the neutral element must be in ``types``.
        name: a label stored with checkpoints.
    """

    def __init__(self, types: Sequence[str | tuple[str, int]], *, drop_charges: bool = False, name: str = "custom"):
        parsed = tuple(_parse_token(t) for t in types)
        if not parsed:
            raise VocabularyError("an AtomVocabulary needs at least one atom type")
        if len(set(parsed)) != len(parsed):
            raise VocabularyError(f"duplicate atom types in {[_token(*p) for p in parsed]}")
        unknown = sorted({s for s, _ in parsed if not _is_element(s)})
        if unknown:
            raise VocabularyError(f"unknown element symbol(s) {unknown}; use symbols from the periodic table, e.g. 'C', 'Cl', 'Fe'")
        self.types: tuple[tuple[str, int], ...] = parsed
        self.drop_charges = bool(drop_charges)
        self.name = name
        self._index = {p: i for i, p in enumerate(parsed)}
        if drop_charges and any(c != 0 for _, c in parsed):
            raise VocabularyError("drop_charges=True needs a vocabulary of neutral elements only")

    # ----------------------------------------------------------------- presets
    @classmethod
    def qm9(cls, charges: bool = True) -> "AtomVocabulary":
        """QM9: C, N, O, F (ids 0-3, GDSS order), plus the charged types found in QM9
        (C-, N+, N-, O-; 1,845 molecules after RDKit sanitization) when ``charges``; else GDSS's 4
        neutral types (with which 1,845 of 133,885 QM9 molecules do not survive encoding + GDSS decoding)."""
        base = ["C", "N", "O", "F"]
        if not charges:
            return cls(base, drop_charges=True, name="qm9_neutral")
        return cls(base + ["C-", "N+", "N-", "O-"], name="qm9")

    @classmethod
    def zinc250k(cls, charges: bool = True) -> "AtomVocabulary":
        """ZINC250k: C, N, O, F, P, S, Cl, Br, I (ids 0-8, GDSS order), plus the charged types found in
        ZINC250k (C-, N+, N-, O+, O-, P+, S+, S-) when ``charges``; else GDSS's 9 neutral types."""
        base = ["C", "N", "O", "F", "P", "S", "Cl", "Br", "I"]
        if not charges:
            return cls(base, drop_charges=True, name="zinc250k_neutral")
        return cls(base + ["C-", "N+", "N-", "O+", "O-", "P+", "S+", "S-"], name="zinc250k")

    @classmethod
    def moses(cls, charges: bool = True) -> "AtomVocabulary":
        """MOSES: C, N, O, F, S, Cl, Br (MOSES excludes charged atoms; ``charges`` is accepted for symmetry)."""
        return cls(["C", "N", "O", "F", "S", "Cl", "Br"], name="moses")

    @classmethod
    def from_name(cls, name: str, charges: bool = True) -> "AtomVocabulary":
        """A preset by name: ``"qm9"``, ``"zinc250k"`` or ``"moses"``."""
        presets = {"qm9": cls.qm9, "zinc250k": cls.zinc250k, "moses": cls.moses}
        if name.lower() not in presets:
            raise unknown_name("atom vocabulary", name, list(presets))
        return presets[name.lower()](charges=charges)

    named = from_name  # alias

    @classmethod
    def from_smiles(cls, smiles: Iterable[str], *, name: str = "custom") -> "AtomVocabulary":
        """The (element, charge) types found in ``smiles`` (invalid SMILES are ignored): neutral
        types first by decreasing count, then charged ones."""
        Chem = require("rdkit.Chem")
        counts: Counter = Counter()
        for s in smiles:
            m = _mol_from_smiles(Chem, s)
            if m is not None:
                counts.update((a.GetSymbol(), a.GetFormalCharge()) for a in m.GetAtoms())
        order = sorted(counts, key=lambda p: (p[1] != 0, -counts[p], p))
        return cls(order, name=name)

    # ----------------------------------------------------------------- queries
    @property
    def num_types(self) -> int:
        return len(self.types)

    def __len__(self) -> int:
        return len(self.types)

    @property
    def tokens(self) -> tuple[str, ...]:
        """``("C", "N", ..., "N+")``: one token per id."""
        return tuple(_token(s, c) for s, c in self.types)

    @property
    def symbols(self) -> tuple[str, ...]:
        """The elements, in order of first appearance."""
        return tuple(dict.fromkeys(s for s, _ in self.types))

    def index(self, symbol: str, charge: int = 0) -> int:
        """Id of (element, charge); :class:`VocabularyError` when absent."""
        key = (symbol, 0 if self.drop_charges else int(charge))
        try:
            return self._index[key]
        except KeyError:
            raise VocabularyError(f"atom type {_token(*key)!r} is not in the {self.name} vocabulary {list(self.tokens)}") from None

    def __contains__(self, item: str | tuple[str, int]) -> bool:
        sym, ch = _parse_token(item)
        return (sym, 0 if self.drop_charges else ch) in self._index

    def atom(self, i: int) -> tuple[str, int]:
        """(element, formal charge) of id ``i``."""
        return self.types[int(i)]

    def to_dict(self) -> dict[str, Any]:
        return {"types": list(self.tokens), "drop_charges": self.drop_charges, "name": self.name}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "AtomVocabulary":
        return cls(d["types"], drop_charges=d.get("drop_charges", False), name=d.get("name", "custom"))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, AtomVocabulary) and (self.types, self.drop_charges) == (other.types, other.drop_charges)

    def __hash__(self) -> int:
        return hash((self.types, self.drop_charges))

    def __repr__(self) -> str:
        extra = ", drop_charges=True" if self.drop_charges else ""
        return f"AtomVocabulary({list(self.tokens)}{extra}, name={self.name!r})"


# --------------------------------------------------------------------------- encoding
@dataclass
class MolGraph:
    """One molecular graph: ``x`` ``(n,)`` long atom-type ids, ``adj`` ``(n, n)`` long bond classes."""

    x: Tensor
    adj: Tensor

    @property
    def num_atoms(self) -> int:
        return int(self.x.shape[0])

    def to_state(self, max_atoms: int | None = None) -> GraphState:
        """A batch of one: :class:`GraphState` with ``X`` ``(1, N)`` and ``A`` ``(1, N, N)``."""
        return graphs_to_state([self], max_atoms=max_atoms)


def _mol_from_smiles(Chem: Any, s: Any) -> Any:
    if not isinstance(s, str) or not s.strip():
        return None
    from rdkit import rdBase

    with rdBase.BlockLogs():
        return Chem.MolFromSmiles(s.strip())


def _encode_arrays(mol: Any, vocabulary: AtomVocabulary) -> tuple[np.ndarray, np.ndarray]:
    Chem = require("rdkit.Chem")
    m = Chem.Mol(mol)
    if any(a.GetAtomicNum() == 1 for a in m.GetAtoms()):
        m = Chem.RemoveHs(m)
    unknown = [
        (a.GetSymbol(), 0 if vocabulary.drop_charges else a.GetFormalCharge())
        for a in m.GetAtoms()
        if (a.GetSymbol(), 0 if vocabulary.drop_charges else a.GetFormalCharge()) not in vocabulary._index
    ]
    if unknown:
        names = sorted({_token(*u) for u in unknown})
        raise VocabularyError(f"atoms {names} are not in the {vocabulary.name} vocabulary {list(vocabulary.tokens)}")
    Chem.Kekulize(m, clearAromaticFlags=True)
    n = m.GetNumAtoms()
    x = np.fromiter((vocabulary._index[(a.GetSymbol(), 0 if vocabulary.drop_charges else a.GetFormalCharge())] for a in m.GetAtoms()), dtype=np.int64, count=n)
    adj = np.zeros((n, n), dtype=np.int64)
    for b in m.GetBonds():
        order = b.GetBondTypeAsDouble()
        if order not in (1.0, 2.0, 3.0):
            raise InvalidGraphError(f"bond {b.GetIdx()} has type {b.GetBondType()}; only single, double and triple bonds are supported")
        i, j = b.GetBeginAtomIdx(), b.GetEndAtomIdx()
        adj[i, j] = adj[j, i] = int(order)
    return x, adj


def mol_to_graph(mol: Any, vocabulary: AtomVocabulary) -> MolGraph:
    """RDKit molecule -> :class:`MolGraph` (kekulized; explicit H atoms are removed first).

    Raises :class:`VocabularyError` naming atoms outside ``vocabulary`` and
    :class:`InvalidGraphError` for bonds that are not single/double/triple after kekulization."""
    x, adj = _encode_arrays(mol, vocabulary)
    return MolGraph(torch.from_numpy(x), torch.from_numpy(adj))


def smiles_to_graph(smiles: str, vocabulary: AtomVocabulary) -> MolGraph:
    """SMILES -> :class:`MolGraph`; :class:`InvalidGraphError` when RDKit cannot parse it."""
    Chem = require("rdkit.Chem")
    m = _mol_from_smiles(Chem, smiles)
    if m is None:
        raise InvalidGraphError(f"invalid SMILES {smiles!r}")
    return mol_to_graph(m, vocabulary)


def graphs_to_state(graphs: Sequence[MolGraph], max_atoms: int | None = None) -> GraphState:
    """Pad a list of :class:`MolGraph` into a :class:`GraphState`: ``X`` ``(B, N)`` long ids,
    ``A`` ``(B, N, N)`` long bond classes, ``node_mask`` ``(B, N)``; ``N = max_atoms`` or the largest size."""
    sizes = [g.num_atoms for g in graphs]
    N = max(sizes, default=0)
    if max_atoms is not None:
        if N > max_atoms:
            i = int(np.argmax(sizes))
            raise InvalidGraphError(f"molecule {i} has {N} atoms, more than max_atoms={max_atoms}")
        N = max_atoms
    B = len(graphs)
    X = torch.zeros(B, N, dtype=torch.long)
    A = torch.zeros(B, N, N, dtype=torch.long)
    mask = torch.zeros(B, N, dtype=torch.bool)
    for b, g in enumerate(graphs):
        n = g.num_atoms
        X[b, :n] = g.x
        A[b, :n, :n] = g.adj
        mask[b, :n] = True
    return GraphState(X, A, mask)


@dataclass
class EncodedMolecules:
    """Result of :func:`smiles_to_state`.

    Attributes:
        state: the encoded molecules (``X`` ``(B, N)``, ``A`` ``(B, N, N)`` long).
        indices: for each row of ``state``, its position in the input list.
        n_input: number of input SMILES.
        n_invalid_smiles: rows RDKit could not parse (skipped).
        n_unknown_atoms: molecules skipped for atoms outside the vocabulary (``on_unknown="skip"``).
        n_too_large: molecules skipped for having more than ``max_atoms`` atoms (``on_too_large="skip"``).
        unknown_atoms: count of molecules per unknown atom token.
    """

    state: GraphState
    indices: list[int]
    n_input: int
    n_invalid_smiles: int = 0
    n_unknown_atoms: int = 0
    n_too_large: int = 0
    unknown_atoms: dict[str, int] = field(default_factory=dict)

    @property
    def n_skipped(self) -> int:
        return self.n_invalid_smiles + self.n_unknown_atoms + self.n_too_large


_SKIP_RAISE = ("skip", "raise")


def smiles_to_state(
    smiles: Sequence[str],
    vocabulary: AtomVocabulary,
    *,
    max_atoms: int | None = None,
    on_invalid: str = "skip",
    on_unknown: str = "raise",
    on_too_large: str = "raise",
    warn: bool = True,
) -> EncodedMolecules:
    """Encode SMILES into one padded :class:`GraphState`.

    Args:
        smiles: SMILES strings.
        vocabulary: node types.
        max_atoms: pad to this many nodes (default: the largest molecule).
        on_invalid: ``"skip"`` (count, warn) or ``"raise"`` (:class:`InvalidGraphError`) for unparsable SMILES.
        on_unknown: ``"raise"`` (:class:`VocabularyError` naming the atoms) or ``"skip"`` (drop the
            molecule, count it) for atoms outside the vocabulary.
        on_too_large: ``"raise"`` (:class:`InvalidGraphError` naming the size) or ``"skip"`` for
            molecules with more than ``max_atoms`` atoms.
        warn: emit a ``UserWarning`` with the counts when anything was skipped.
    """
    if isinstance(smiles, (str, bytes)):
        raise TypeError("smiles_to_state expects a sequence of SMILES strings, not one string; wrap it in a list: [smiles]")
    for opt, val in (("on_invalid", on_invalid), ("on_unknown", on_unknown), ("on_too_large", on_too_large)):
        if val not in _SKIP_RAISE:
            raise unknown_name(opt, val, _SKIP_RAISE)
    Chem = require("rdkit.Chem")
    graphs: list[MolGraph] = []
    indices: list[int] = []
    n_bad = n_unk = n_big = 0
    unk: Counter = Counter()
    for i, s in enumerate(smiles):
        m = _mol_from_smiles(Chem, s)
        if m is None:
            if on_invalid == "raise":
                raise InvalidGraphError(f"row {i}: invalid SMILES {s!r}")
            n_bad += 1
            continue
        try:
            x, adj = _encode_arrays(m, vocabulary)
        except VocabularyError as exc:
            if on_unknown == "raise":
                raise VocabularyError(f"row {i} ({s!r}): {exc}") from None
            n_unk += 1
            unk.update({_token(a.GetSymbol(), 0 if vocabulary.drop_charges else a.GetFormalCharge())
                        for a in m.GetAtoms()} - set(vocabulary.tokens))
            continue
        if max_atoms is not None and len(x) > max_atoms:
            if on_too_large == "raise":
                raise InvalidGraphError(f"row {i} ({s!r}) has {len(x)} atoms, more than max_atoms={max_atoms}")
            n_big += 1
            continue
        graphs.append(MolGraph(torch.from_numpy(x), torch.from_numpy(adj)))
        indices.append(i)
    out = EncodedMolecules(graphs_to_state(graphs, max_atoms=max_atoms), indices, len(smiles), n_bad, n_unk, n_big, dict(unk))
    if warn and out.n_skipped:
        warnings.warn(
            f"smiles_to_state skipped {out.n_skipped} of {out.n_input} molecules: {n_bad} invalid SMILES, "
            f"{n_unk} with atoms outside the vocabulary {dict(unk) or ''}, {n_big} larger than max_atoms={max_atoms}",
            stacklevel=2,
        )
    return out


def canonical_smiles(smiles: str, *, isomeric: bool = True) -> str | None:
    """RDKit canonical SMILES (``None`` when unparsable); ``isomeric=False`` drops stereo."""
    Chem = require("rdkit.Chem")
    m = _mol_from_smiles(Chem, smiles)
    return None if m is None else Chem.MolToSmiles(m, isomericSmiles=isomeric)


# --------------------------------------------------------------------------- decoding
@dataclass
class DecodedMolecule:
    """One decoded graph.

    Attributes:
        mol: the sanitized RDKit molecule, or ``None`` when invalid.
        smiles: canonical SMILES of ``mol`` (``None`` when invalid).
        valid_without_correction: passed the valence check before any correction (after the GDSS
            +1 charge rule when that step is on).
        corrected: the valency correction changed at least one bond.
        num_fragments: connected fragments before fragment selection (0 when nothing was built).
        error: why it is invalid: ``"empty"``, ``"valence"``, ``"uncorrectable"`` or ``"sanitize"``.
    """

    mol: Any | None
    smiles: str | None
    valid_without_correction: bool
    corrected: bool = False
    num_fragments: int = 0
    error: str | None = None

    @property
    def valid(self) -> bool:
        return self.mol is not None


@dataclass
class DecodeReport:
    """Decoding of a batch: per-molecule results and the counts metrics need.

    Denominators: ``validity`` and ``validity_without_correction`` divide by ``n_total`` (every graph
    handed in, empty ones included). ``gdss_validity_without_correction`` reproduces the number GDSS's
    sampler prints: numerator = molecules that passed the valence check before correction, counted
    before any filtering; denominator = molecules left after filtering (GDSS issue #3). GDSS treats an
    empty graph as a valid empty molecule, so empties are added to both:
    ``(n_valid_without_correction + n_empty) / (n_valid + n_empty)``.
    """

    results: list[DecodedMolecule]
    options: dict[str, Any]

    @property
    def n_total(self) -> int:
        return len(self.results)

    @property
    def n_empty(self) -> int:
        return sum(r.error == "empty" for r in self.results)

    @property
    def n_valid(self) -> int:
        return sum(r.valid for r in self.results)

    @property
    def n_valid_without_correction(self) -> int:
        return sum(r.valid_without_correction for r in self.results)

    @property
    def n_corrected(self) -> int:
        return sum(r.corrected for r in self.results)

    @property
    def n_multi_fragment(self) -> int:
        return sum(r.num_fragments > 1 for r in self.results)

    @property
    def validity(self) -> float:
        return self.n_valid / self.n_total if self.n_total else float("nan")

    @property
    def validity_without_correction(self) -> float:
        return self.n_valid_without_correction / self.n_total if self.n_total else float("nan")

    @property
    def gdss_validity_without_correction(self) -> float:
        den = self.n_valid + self.n_empty
        return (self.n_valid_without_correction + self.n_empty) / den if den else float("nan")

    @property
    def smiles(self) -> list[str]:
        """Canonical SMILES of the valid molecules, in order, duplicates kept."""
        return [r.smiles for r in self.results if r.smiles is not None]

    @property
    def mols(self) -> list[Any]:
        return [r.mol for r in self.results if r.mol is not None]

    def counts(self) -> dict[str, int]:
        return {"n_total": self.n_total, "n_empty": self.n_empty, "n_valid": self.n_valid,
                "n_valid_without_correction": self.n_valid_without_correction,
                "n_corrected": self.n_corrected, "n_multi_fragment": self.n_multi_fragment}

    def to_dict(self) -> dict[str, Any]:
        return {**self.counts(), "validity": self.validity, "validity_without_correction": self.validity_without_correction,
                "gdss_validity_without_correction": self.gdss_validity_without_correction, "options": dict(self.options)}


_BOND_TYPES: dict[int, Any] = {}


def _bond_type(Chem: Any, k: int) -> Any:
    if not _BOND_TYPES:
        _BOND_TYPES.update({1: Chem.BondType.SINGLE, 2: Chem.BondType.DOUBLE, 3: Chem.BondType.TRIPLE})
    return _BOND_TYPES[k]


def _first_valence_violation(Chem: Any, mol: Any) -> tuple[int, int] | None:
    """``(atom index, explicit valence)`` of the first atom (index order) that RDKit's valence
    check rejects, or ``None`` when the molecule passes (GDSS ``check_valency``)."""
    failed = Chem.SanitizeMol(mol, sanitizeOps=Chem.SanitizeFlags.SANITIZE_PROPERTIES, catchErrors=True)
    if failed == Chem.SanitizeFlags.SANITIZE_NONE:
        return None
    for atom in mol.GetAtoms():
        try:
            atom.UpdatePropertyCache(strict=True)
        except Exception:  # RDKit raises AtomValenceException
            v = int(round(sum(b.GetBondTypeAsDouble() for b in atom.GetBonds()))) + atom.GetNumExplicitHs()
            return atom.GetIdx(), v
    return -1, -1  # a non-atom failure (not expected for SANITIZE_PROPERTIES)


def _largest_fragment(Chem: Any, smiles: str, fragment_size: str) -> str:
    frags = smiles.split(".")
    if fragment_size == "smiles_length":
        return max(frags, key=len)  # first of the longest, as GDSS's stable sort
    sizes = []
    for f in frags:
        m = _mol_from_smiles(Chem, f)
        sizes.append(-1 if m is None else m.GetNumAtoms())
    return frags[int(np.argmax(sizes))]


def _integer_array(values: Tensor | Sequence[int] | np.ndarray, what: str, error: type[Exception]) -> np.ndarray:
    """``values`` as an int64 array; raise ``error`` for non-integer entries (e.g. ``0.7``) instead of truncating."""
    raw = np.asarray(values.detach().cpu().numpy() if isinstance(values, Tensor) else values)
    if raw.dtype == np.bool_ or np.issubdtype(raw.dtype, np.integer):
        return raw.astype(np.int64)
    try:
        f = raw.astype(np.float64)
    except (TypeError, ValueError) as e:
        raise error(f"{what} must be integers; got dtype {raw.dtype}") from e
    if not np.all(np.isfinite(f)) or not np.all(f == np.round(f)):
        bad = sorted({float(v) for v in f.ravel() if not (np.isfinite(v) and v == round(v))})[:5]
        raise error(f"{what} must be integers; got non-integer values {bad}")
    return f.astype(np.int64)


def graph_to_mol(
    atom_ids: Tensor | Sequence[int],
    bonds: Tensor | np.ndarray,
    vocabulary: AtomVocabulary,
    *,
    gdss_charges: bool = False,
    correct: bool = False,
    largest_fragment: bool = False,
    fragment_size: str = "smiles_length",
) -> DecodedMolecule:
    """Decode one graph into a molecule, following the steps in the module docstring.

    Args:
        atom_ids: ``(n,)`` atom-type ids of the real atoms.
        bonds: ``(n, n)`` bond classes 0-3 (only the lower triangle ``i > j`` is read, as GDSS).
        vocabulary: the node types.
        gdss_charges: step 1, GDSS's +1 formal charge for N/O/S exceeding valence by one.
        correct: step 3, GDSS's valency correction.
        largest_fragment: keep only the largest fragment (step 4).
        fragment_size: ``"smiles_length"`` (GDSS) or ``"atoms"``.
    """
    if fragment_size not in ("smiles_length", "atoms"):
        raise unknown_name("fragment_size", fragment_size, ["smiles_length", "atoms"])
    Chem = require("rdkit.Chem")
    from rdkit import rdBase

    ids = _integer_array(atom_ids, "atom_ids", VocabularyError).reshape(-1)
    adj = _integer_array(bonds, "bonds", InvalidGraphError)
    n = len(ids)
    if n == 0 and adj.size == 0:
        adj = adj.reshape(0, 0)
    if adj.shape != (n, n):
        raise InvalidGraphError(f"bonds must be ({n}, {n}) for {n} atoms, got {adj.shape}")
    if n == 0:
        return DecodedMolecule(None, None, False, error="empty")
    if ids.min() < 0 or ids.max() >= vocabulary.num_types:
        raise VocabularyError(f"atom ids must lie in 0..{vocabulary.num_types - 1} for {vocabulary!r}; got {sorted(set(ids.tolist()))}")
    if adj.min() < 0 or adj.max() > 3:
        raise InvalidGraphError(f"bond classes must lie in 0..3 ({', '.join(BOND_CLASSES)}); got {sorted(set(adj.ravel().tolist()))}")
    with rdBase.BlockLogs():
        mol = Chem.RWMol()
        for k in ids:
            sym, ch = vocabulary.types[int(k)]
            a = Chem.Atom(sym)
            a.SetFormalCharge(ch)
            mol.AddAtom(a)
        for i in range(n):
            for j in range(i):
                k = int(adj[i, j])
                if k == 0:
                    continue
                mol.AddBond(i, j, _bond_type(Chem, k))
                if gdss_charges:
                    bad = _first_valence_violation(Chem, mol)
                    if bad is not None and bad[0] >= 0:
                        atom = mol.GetAtomWithIdx(bad[0])
                        sym = atom.GetSymbol()
                        if sym in _GDSS_CHARGEABLE and bad[1] - _GDSS_VALENCY[sym] == 1:
                            atom.SetFormalCharge(1)
        bad = _first_valence_violation(Chem, mol)
        valid_wo = bad is None
        corrected = False
        if not valid_wo:
            if not correct:
                return DecodedMolecule(None, None, False, error="valence")
            while bad is not None:
                if bad[0] < 0:
                    return DecodedMolecule(None, None, False, corrected, error="uncorrectable")
                atom = mol.GetAtomWithIdx(bad[0])
                queue = [(int(b.GetBondTypeAsDouble()), b.GetBeginAtomIdx(), b.GetEndAtomIdx()) for b in atom.GetBonds()]
                if not queue:
                    return DecodedMolecule(None, None, False, corrected, error="uncorrectable")
                order, s, e = max(queue, key=lambda q: q[0])  # first of the highest order
                mol.RemoveBond(s, e)
                if order - 1 >= 1:
                    mol.AddBond(s, e, _bond_type(Chem, order - 1))
                corrected = True
                bad = _first_valence_violation(Chem, mol)
        smi = Chem.MolToSmiles(mol, isomericSmiles=True)
        n_frag = smi.count(".") + 1
        if largest_fragment and n_frag > 1:
            smi = _largest_fragment(Chem, smi, fragment_size)
        final = Chem.MolFromSmiles(smi)
    if final is None:
        return DecodedMolecule(None, None, valid_wo, corrected, n_frag, error="sanitize")
    return DecodedMolecule(final, Chem.MolToSmiles(final), valid_wo, corrected, n_frag)


def decode_molecules(
    state: GraphState,
    vocabulary: AtomVocabulary,
    *,
    protocol: str = "strict",
    gdss_charges: bool | None = None,
    correct: bool | None = None,
    largest_fragment: bool | None = None,
    fragment_size: str = "smiles_length",
) -> DecodeReport:
    """Decode a categorical :class:`GraphState` (``X`` ``(B, N)`` ids, ``A`` ``(B, N, N)`` classes)
    into molecules with :func:`graph_to_mol`.

    ``protocol`` picks the defaults of the three steps from :data:`DECODING_PROTOCOLS`
    (``"strict"``: none; ``"gdss"``: +1 charge rule, correction, largest fragment); explicit
    keyword arguments override it."""
    if protocol not in DECODING_PROTOCOLS:
        raise unknown_name("decoding protocol", protocol, list(DECODING_PROTOCOLS))
    opts = dict(DECODING_PROTOCOLS[protocol])
    for k, v in (("gdss_charges", gdss_charges), ("correct", correct), ("largest_fragment", largest_fragment)):
        if v is not None:
            opts[k] = bool(v)
    if state.X.dim() != 2 or state.X.is_floating_point():
        raise InvalidGraphError("decode_molecules needs categorical atom ids X (B, N); use continuous_to_state first for continuous outputs")
    if state.A.dim() != 3 or state.A.is_floating_point():
        raise InvalidGraphError("decode_molecules needs bond classes A (B, N, N) long; use quantize_bonds first for continuous outputs")
    X, A, M = state.X.cpu(), state.A.cpu(), state.node_mask.cpu()
    results = []
    for b in range(state.batch_size):
        idx = M[b].nonzero(as_tuple=True)[0]
        results.append(graph_to_mol(X[b, idx], A[b][idx][:, idx], vocabulary, fragment_size=fragment_size, **opts))
    return DecodeReport(results, {**opts, "protocol": protocol, "fragment_size": fragment_size})


#: alias: ``state_to_mols(state, vocabulary, protocol="gdss")``
state_to_mols = decode_molecules


def quantize_bonds(A: Tensor, thresholds: tuple[float, float, float] = (0.5, 1.5, 2.5)) -> Tensor:
    """Continuous bond values ``(B, N, N)`` -> long bond classes (GDSS ``quantize_mol``):
    ``< 0.5`` -> 0, ``[0.5, 1.5)`` -> 1, ``[1.5, 2.5)`` -> 2, ``>= 2.5`` -> 3; NaN -> 0. The lower
    triangle (``i > j``, which GDSS reads) is mirrored so the result is symmetric with zero diagonal."""
    if A.dim() != 3 or A.shape[1] != A.shape[2]:
        raise InvalidGraphError(f"A must be (B, N, N); got shape {tuple(A.shape)}")
    t0, t1, t2 = thresholds
    A = torch.nan_to_num(A.detach().float(), nan=0.0)
    q = (A >= t0).long() + (A >= t1).long() + (A >= t2).long()
    low = torch.tril(q, diagonal=-1)
    return low + low.transpose(-1, -2)


def continuous_to_state(X: Tensor, A: Tensor, node_mask: Tensor | None = None, *, threshold: float = 0.5) -> GraphState:
    """Continuous model output -> categorical :class:`GraphState` (GDSS sampler rule).

    ``X`` ``(B, N, K)``: an atom exists when some channel is ``> threshold`` (and ``node_mask``
    allows it); its type is the first such channel. ``A`` ``(B, N, N)`` is quantized with
    :func:`quantize_bonds`. Non-existent atoms are removed with their bonds and the remaining atoms
    moved to the front (order kept), so the returned ``node_mask`` lists real nodes first."""
    if X.dim() != 3:
        raise InvalidGraphError(f"X must be (B, N, K); got shape {tuple(X.shape)}")
    B, N, _ = X.shape
    if tuple(A.shape) != (B, N, N):
        raise InvalidGraphError(f"A must be (B, N, N) = {(B, N, N)} to match X {tuple(X.shape)}; got {tuple(A.shape)}")
    if node_mask is not None and tuple(node_mask.shape) != (B, N):
        raise InvalidGraphError(f"node_mask must be (B, N) = {(B, N)}; got {tuple(node_mask.shape)}")
    on = X.detach() > threshold
    exists = on.any(-1)
    if node_mask is not None:
        exists &= node_mask.bool()
    types = on.long().argmax(-1)
    q = quantize_bonds(A)
    Xo = torch.zeros(B, N, dtype=torch.long)
    Ao = torch.zeros(B, N, N, dtype=torch.long)
    Mo = torch.zeros(B, N, dtype=torch.bool)
    for b in range(B):
        idx = exists[b].nonzero(as_tuple=True)[0]
        n = len(idx)
        Xo[b, :n] = types[b, idx]
        Ao[b, :n, :n] = q[b][idx][:, idx]
        Mo[b, :n] = True
    return GraphState(Xo, Ao, Mo)
