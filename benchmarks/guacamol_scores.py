"""GuacaMol distribution-learning scores on our data (GuacaMol's ChEMBL set is not available here).

The reference distribution is the ZINC250k training split (GDSS split); GuacaMol draws 10,000 of it
(NumPy legacy generator, seed 42). Scored sets: 10,000 random test molecules (a perfect generator:
both scores should be near 1) and, as a deliberately wrong set of the same size, QM9 molecules
(small molecules from another chemical space).

    python benchmarks/guacamol_scores.py [--data ../shared/data] [--n 10000]

Writes ``benchmarks/results/guacamol_scores.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
from _common import git_commit, machine_line, utc_now  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=Path(os.environ.get("GRAPHDIFF_DATA", ROOT.parent / "shared" / "data")))
    ap.add_argument("--n", type=int, default=10000)
    args = ap.parse_args()
    import pandas as pd

    from graphdiff.metrics.guacamol import guacamol_metrics

    zinc = pd.read_csv(args.data / "molecules" / "zinc250k" / "zinc250k.csv.gz", index_col=0)["smiles"].tolist()
    test_idx = set(json.loads((args.data / "molecules" / "zinc250k" / "valid_idx_zinc250k.json").read_text()))
    train = [s for i, s in enumerate(zinc) if i not in test_idx]
    test = [zinc[i] for i in sorted(test_idx)]
    qm9 = pd.read_csv(args.data / "molecules" / "qm9" / "qm9.csv.gz", index_col=0)["SMILES1"].tolist()
    rng = np.random.default_rng(0)
    sets = {
        f"{args.n:,} random ZINC250k test molecules (a perfect generator)": [test[i] for i in rng.choice(len(test), args.n, replace=False)],
        f"{args.n:,} random QM9 molecules (another chemical space)": [qm9[i] for i in rng.choice(len(qm9), args.n, replace=False)],
    }
    rows = ["| generated set | kl_score | fcd_score | FCD | seconds |", "|---|---|---|---|---|"]
    kl_rows = []
    load = os.getloadavg()[0]
    for name, gen in sets.items():
        t = time.time()
        res = guacamol_metrics(gen, train, n_samples=args.n)
        cards = {c.name: c for c in res.cards}
        rows.append(f"| {name} | {res['kl_score']:.4f} | {res['fcd_score']:.4f} | {cards['fcd_score'].extra['fcd']:.3f} | {time.time() - t:.0f} |")
        kl_rows.append(f"| {name} | " + " | ".join(f"{v:.3f}" for v in cards["kl_score"].extra["kl"].values()) + " |")
        kl_names = list(cards["kl_score"].extra["kl"])
    body = f"""# GuacaMol distribution-learning scores on ZINC250k

- date: {utc_now()}; commit: {git_commit()}; {machine_line(1)}; 1-min load at start {load:.1f}
- command: `python benchmarks/guacamol_scores.py --n {args.n}`
- reference: the ZINC250k GDSS training split ({len(train):,} molecules), of which GuacaMol's rule draws {args.n:,}
  (NumPy legacy generator, seed 42); generated stand-ins drawn with numpy default_rng(0)
- scores as GuacaMol defines them (`graphdiff/metrics/guacamol.py`, docs/protocols.md): kl_score = mean exp(-KL) over
  9 descriptors + nearest-neighbour ECFP4 similarity; fcd_score = exp(-0.2 FCD)

{chr(10).join(rows)}

KL divergences per descriptor:

| generated set | {' | '.join(kl_names)} |
|---|{'---|' * len(kl_names)}
{chr(10).join(kl_rows)}
"""
    (ROOT / "benchmarks" / "results" / "guacamol_scores.md").write_text(body.strip() + "\n")
    print(body)


if __name__ == "__main__":
    main()
