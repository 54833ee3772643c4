"""SMILES -> graph -> SMILES round trip over whole molecule datasets.

Encodes every molecule with ``smiles_to_graph`` (kekulized, (element, charge) node types), decodes
it with ``graph_to_mol`` (strict protocol: no charge rule, no correction) and compares canonical
SMILES with stereochemistry removed. Usage::

    GRAPHDIFF_DATA=../shared/data python benchmarks/molecule_roundtrip.py qm9 zinc250k [--limit N]
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from graphdiff.data import load
from graphdiff.data.molecules import canonical_smiles, graph_to_mol, smiles_to_graph


def roundtrip(name: str, limit: int | None = None) -> dict:
    from rdkit import Chem

    ds = load(name)
    smiles = [s for split in ds.splits for s in ds.smiles(split)]
    if limit:
        smiles = smiles[:limit]
    t0 = time.perf_counter()
    mismatches = []
    for s in smiles:
        g = smiles_to_graph(s, ds.vocabulary)
        r = graph_to_mol(g.x, g.adj, ds.vocabulary)
        got = None if r.mol is None else Chem.MolToSmiles(r.mol, isomericSmiles=False)
        if got != canonical_smiles(s, isomeric=False):
            mismatches.append((s, got))
    dt = time.perf_counter() - t0
    return {"dataset": name, "n": len(smiles), "identical": len(smiles) - len(mismatches),
            "rate": (len(smiles) - len(mismatches)) / max(len(smiles), 1), "seconds": round(dt, 1),
            "first_mismatches": mismatches[:10]}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("datasets", nargs="*", default=["qm9", "zinc250k"])
    p.add_argument("--limit", type=int, default=None)
    a = p.parse_args(argv)
    for name in a.datasets:
        print(json.dumps(roundtrip(name, a.limit)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
