"""Speed of ``molecule_metrics`` on QM9 (GDSS protocol) and agreement with the reference code.

10,000 QM9 training SMILES stand in for generated molecules; they are scored against the GDSS
test split (13,082 molecules) with the whole training set for novelty, first with an empty
cache (cold: the test-set ChemNet statistics, NSPDK mean and canonical lists are computed and
stored) and then again (warm: read back). With ``--compare`` the FCD is also computed with
``fcd.get_fcd`` on the same canonical SMILES, and the NSPDK MMD with EDeN's vectoriser in
subprocesses under several ``PYTHONHASHSEED`` values (EDeN's features, mean-embedding form of the
linear-kernel MMD, which equals GDSS's pairwise average exactly).

    python benchmarks/metrics_speed_molecules.py [--data ../shared/data] [--n 10000] [--compare]

Writes ``benchmarks/results/metrics_speed_molecules.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
from _common import cpu_name, git_commit  # noqa: E402

_EDEN_CHILD = r"""
import json, sys, numpy as np
from rdkit import Chem
from eden.graph import vectorize
from graphdiff.metrics.nspdk import mol_to_graph
import networkx as nx
def to_nx(s):
    g = mol_to_graph(Chem.MolFromSmiles(s)); G = nx.Graph()
    for i, lab in enumerate(g.node_labels): G.add_node(i, label=lab)
    for u, v, lab in g.edges: G.add_edge(u, v, label=lab)
    return G
gen, test = json.load(open(sys.argv[1]))
means = []
for smiles in (gen, test):
    X = vectorize([to_nx(s) for s in smiles], complexity=4, discrete=True)
    means.append(np.asarray(X.mean(axis=0)).ravel())
d = means[0] - means[1]
print(json.dumps({"mmd": float(d @ d)}))
"""


def load_qm9(data: Path) -> tuple[list[str], list[str]]:
    """GDSS split: test = rows in valid_idx_qm9.json, train = all other rows."""
    import pandas as pd

    df = pd.read_csv(data / "molecules/qm9/qm9.csv.gz", index_col=0)
    test_idx = {int(i) for i in json.loads((data / "molecules/qm9/valid_idx_qm9.json").read_text())["valid_idxs"]}
    smiles = df["SMILES1"].tolist()
    test = [s for i, s in enumerate(smiles) if i in test_idx]
    train = [s for i, s in enumerate(smiles) if i not in test_idx]
    return train, test


def machine() -> str:
    model = cpu_name(platform.processor() or platform.machine())
    import torch

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return f"{model}, {os.cpu_count()} CPUs, torch threads {torch.get_num_threads()}, load average {load:.1f} at start"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, default=Path(os.environ.get("GRAPHDIFF_DATA", ROOT.parent / "shared" / "data")))
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--n-jobs", type=int, default=1)
    ap.add_argument("--compare", action="store_true", help="also run fcd.get_fcd and EDeN (slow)")
    ap.add_argument("--eden-seeds", type=int, nargs="*", default=[0, 1, 2, 3, 4])
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/metrics_speed_molecules.md")
    args = ap.parse_args()

    from graphdiff.metrics.molecules import molecule_metrics

    mach = machine()
    train, test = load_qm9(args.data)
    rng = np.random.default_rng(0)
    gen = [train[i] for i in rng.choice(len(train), size=args.n, replace=False)]
    print(f"train {len(train)}, test {len(test)}, generated {len(gen)}")

    rows = []
    with tempfile.TemporaryDirectory() as cache:
        os.environ["GRAPHDIFF_CACHE"] = cache
        results = {}
        for label in ("cold cache", "warm cache"):
            t0, c0, l0 = time.perf_counter(), time.process_time(), os.getloadavg()[0]
            res = molecule_metrics(gen, train_smiles=train, test_smiles=test, n_jobs=args.n_jobs)
            sec, cpu = time.perf_counter() - t0, time.process_time() - c0
            results[label] = res
            rows.append((label, sec, cpu, l0))
            print(f"{label}: {sec:.1f} s wall, {cpu:.1f} s CPU")
            print(res.to_markdown())
    res = results["warm cache"]
    cold = results["cold cache"]
    assert all(res.values[k] == cold.values[k] for k in res.values), "cached statistics changed a value"

    lines = [
        "# molecule_metrics speed and agreement (QM9, GDSS split)",
        "",
        f"- date: {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M UTC}",
        f"- commit: {git_commit()}",
        f"- machine: {mach}",
        f"- command: `python benchmarks/metrics_speed_molecules.py --n {args.n} --n-jobs {args.n_jobs}{' --compare' if args.compare else ''}`",
        f"- generated: {len(gen)} QM9 training SMILES (random, seed 0); test: {len(test)}; train (novelty): {len(train)}",
        "- metrics: validity, uniqueness, novelty, FCD (ChemNet, CPU), NSPDK MMD^2",
        "",
        "| run | wall seconds | CPU seconds (this process) | 1-min load average at start |",
        "|---|---|---|---|",
        *[f"| {label} | {sec:.1f} | {cpu:.1f} | {load:.1f} |" for label, sec, cpu, load in rows],
        "",
        "The machine's 2 cores were shared with other jobs; CPU seconds are the less load-dependent number.",
        "",
        "Values (warm run):",
        "",
        res.to_markdown(digits=6),
        "",
    ]

    if args.compare:
        import fcd as fcd_pkg

        gen_can, test_can = res.valid_smiles, [s for s in _canon(test) if s]
        t0 = time.perf_counter()
        import torch

        threads = torch.get_num_threads()
        torch.set_num_threads(1)  # as ours; ChemNet slows down sharply on shared cores
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ref_fcd = float(fcd_pkg.get_fcd(gen_can, test_can, device="cpu"))
        torch.set_num_threads(threads)
        t_fcd = time.perf_counter() - t0
        ours_fcd = res["fcd"]
        lines += [
            "## FCD vs `fcd.get_fcd` (same canonical SMILES)",
            "",
            f"- fcd.get_fcd: {ref_fcd:.8f} ({t_fcd:.1f} s, 1 torch thread); ours: {ours_fcd:.8f}; relative difference {abs(ours_fcd - ref_fcd) / ref_fcd:.2e}",
            "",
        ]
        eden_vals = []
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            json.dump([gen_can, test_can], f)
            path = f.name
        for seed in args.eden_seeds:
            env = dict(os.environ, PYTHONHASHSEED=str(seed), PYTHONPATH=str(ROOT))
            t0 = time.perf_counter()
            out = subprocess.run([sys.executable, "-c", _EDEN_CHILD, path], capture_output=True, text=True, env=env, check=True)
            eden_vals.append(json.loads(out.stdout.strip().splitlines()[-1])["mmd"])
            print(f"EDeN PYTHONHASHSEED={seed}: {eden_vals[-1]:.6g} ({time.perf_counter() - t0:.0f} s)")
        os.unlink(path)
        e = np.asarray(eden_vals)
        ours = res["nspdk"]
        lines += [
            "## NSPDK MMD^2 vs EDeN (`vectorize(complexity=4, discrete=True)`, linear kernel)",
            "",
            "| PYTHONHASHSEED | EDeN MMD^2 |",
            "|---|---|",
            *[f"| {s} | {v:.6g} |" for s, v in zip(args.eden_seeds, eden_vals)],
            "",
            f"- EDeN over seeds: mean {e.mean():.6g}, std {e.std(ddof=1) if e.size > 1 else float('nan'):.3g}, "
            f"min {e.min():.6g}, max {e.max():.6g} (spread (max-min)/mean {(e.max() - e.min()) / e.mean():.2%})",
            f"- ours (BLAKE2b label hash, deterministic): {ours:.6g}; (ours - EDeN mean)/EDeN mean = {(ours - e.mean()) / e.mean():+.2%}",
            "",
        ]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines))
    print(f"wrote {args.out}")


def _canon(smiles: list[str]) -> list[str | None]:
    from graphdiff.metrics.molecules import canonicalize_smiles

    return canonicalize_smiles(smiles)


if __name__ == "__main__":
    main()
