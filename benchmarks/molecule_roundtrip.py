"""SMILES -> graph -> SMILES round trip over whole molecule datasets.

Encodes every molecule with ``smiles_to_graph`` (kekulized, (element, charge) node types), decodes
it with ``graph_to_mol`` (strict protocol: no charge rule, no correction) and compares canonical
SMILES with stereochemistry removed. ``--gdss-neutral`` measures GDSS's own encoding instead:
charge-free vocabulary, GDSS decoding (+1 charge rule, correction, largest fragment). Usage::

    GRAPHDIFF_DATA=../shared/data python benchmarks/molecule_roundtrip.py qm9 zinc250k [--limit N] [--gdss-neutral]
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from graphdiff.data import load
from graphdiff.data.molecules import canonical_smiles, graph_to_mol, smiles_to_graph


def roundtrip(name: str, limit: int | None = None, gdss_neutral: bool = False) -> dict:
    from rdkit import Chem

    from graphdiff.data.molecules import AtomVocabulary

    ds = load(name)
    vocab = AtomVocabulary.from_name(name, charges=False) if gdss_neutral else ds.vocabulary
    opts = dict(gdss_charges=True, correct=True, largest_fragment=True) if gdss_neutral else {}
    smiles = [s for split in ds.splits for s in ds.smiles(split)]
    if limit:
        smiles = smiles[:limit]
    t0 = time.perf_counter()
    mismatches = []
    n_vwc = 0
    for s in smiles:
        g = smiles_to_graph(s, vocab)
        r = graph_to_mol(g.x, g.adj, vocab, **opts)
        n_vwc += r.valid_without_correction
        got = None if r.mol is None else Chem.MolToSmiles(r.mol, isomericSmiles=False)
        if got != canonical_smiles(s, isomeric=False):
            mismatches.append((s, got))
    dt = time.perf_counter() - t0
    return {"dataset": name, "encoding": "gdss_neutral" if gdss_neutral else "charged_types", "n": len(smiles),
            "valid_without_correction": n_vwc, "identical": len(smiles) - len(mismatches),
            "rate": (len(smiles) - len(mismatches)) / max(len(smiles), 1), "seconds": round(dt, 1),
            "first_mismatches": mismatches[:10]}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("datasets", nargs="*", default=["qm9", "zinc250k"])
    p.add_argument("--limit", type=int, default=None)
    p.add_argument("--gdss-neutral", action="store_true", help="GDSS's charge-free encoding and GDSS decoding")
    a = p.parse_args(argv)
    for name in a.datasets:
        print(json.dumps(roundtrip(name, a.limit, a.gdss_neutral)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
