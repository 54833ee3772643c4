"""SBM validity: per-graph agreement of our ICL block fit with graph-tool's (SPECTRE's) fit.

On the SPECTRE SBM test split (``graphs/esgg/sbm.pkl``, 40 graphs), each graph's SPECTRE verdict
(2-5 blocks of 20-40 nodes, mean Wald p-value > 0.9) is computed from graph-tool's
``minimize_blockmodel_dl`` + ``--steps`` merge-split sweeps under two seeds (graph-tool's own
seed-to-seed agreement) and from our ICL fit (``fit_sbm``); the table counts agreements.
graph-tool runs through :mod:`graphdiff.metrics.sbm_graphtool` (Debian's ``python3-graph-tool``
under the system Python, as a subprocess).

    python benchmarks/sbm_validity.py [--data ../shared/data] [--steps 1000] [--split test]

Writes ``benchmarks/results/sbm_validity.md``.
"""

from __future__ import annotations

import argparse
import os
import pickle
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
from _common import git_commit, machine_line, utc_now  # noqa: E402

from graphdiff.metrics.sbm_graphtool import graph_tool_block_counts, graph_tool_python  # noqa: E402
from graphdiff.metrics.vun import _sbm_verdict, sbm_block_counts  # noqa: E402


def _perturb(G, frac: float, rng: np.random.Generator):
    """A copy of ``G`` with ``frac`` of its edges moved to uniformly drawn non-edges."""
    import networkx as nx

    H = nx.convert_node_labels_to_integers(nx.Graph(G))
    edges = list(H.edges())
    k = int(round(frac * len(edges)))
    for i in rng.choice(len(edges), k, replace=False):
        H.remove_edge(*edges[i])
    n = H.number_of_nodes()
    while k:
        u, v = (int(x) for x in rng.integers(0, n, 2))
        if u != v and not H.has_edge(u, v):
            H.add_edge(u, v)
            k -= 1
    return H


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=Path(os.environ.get("GRAPHDIFF_DATA", ROOT.parent / "shared" / "data")))
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--split", default="test")
    ap.add_argument("--out", help="result file name under benchmarks/results (default sbm_validity.md)")
    ap.add_argument("--perturb", type=float, default=0.0,
                    help="move this fraction of each graph's edges to random non-edges first (ambiguous graphs, seed 0)")
    ap.add_argument("--limit", type=int, help="only the first N graphs of the split")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1], help="graph-tool seeds (the first is compared with ours)")
    args = ap.parse_args()
    where = graph_tool_python()
    if where is None:
        sys.exit("graph-tool is not available (apt-get install python3-graph-tool); nothing to compare")
    with open(args.data / "graphs" / "esgg" / "sbm.pkl", "rb") as fh:  # the verified benchmark file
        graphs = pickle.load(fh)[args.split][: args.limit]
    if args.perturb:
        graphs = [_perturb(G, args.perturb, np.random.default_rng(i)) for i, G in enumerate(graphs)]
    load = os.getloadavg()[0]
    verdicts: dict[str, list[bool]] = {}
    blocks: dict[str, list[int]] = {}
    seconds: dict[str, float] = {}
    fits = [(f"graph-tool seed {sd}", lambda sd=sd: graph_tool_block_counts(graphs, seed=sd, refinement_steps=args.steps)) for sd in args.seeds]
    fits.append(("ours (ICL)", lambda: sbm_block_counts(graphs, backend="icl")[0]))
    for name, fn in fits:
        t = time.time()
        counts = fn()
        seconds[name] = time.time() - t
        verdicts[name] = [bool(_sbm_verdict(nc, ec, 0.3, 0.005, True)) for nc, ec in counts]
        blocks[name] = [len(nc) for nc, _ in counts]
    ours = np.array(verdicts["ours (ICL)"])
    gts = {k: np.array(v) for k, v in verdicts.items() if k.startswith("graph-tool")}
    g0 = gts[f"graph-tool seed {args.seeds[0]}"]
    n = len(graphs)
    rows = ["| fit | valid | wall s |", "|---|---|---|"]
    rows += [f"| {k} | {sum(v)}/{n} | {seconds[k]:.0f} |" for k, v in verdicts.items()]
    names = list(gts)
    agree = [(f"{a} vs {b}", int((gts[a] == gts[b]).sum())) for i, a in enumerate(names) for b in names[i + 1 :]]
    agree += [(f"ours vs {a}", int((ours == gts[a]).sum())) for a in names]
    rows += ["", "| per-graph verdicts | agree |", "|---|---|"] + [f"| {k} | {v}/{n} |" for k, v in agree]
    diff = [i for i in range(n) if ours[i] != g0[i]]
    detail = "; ".join(f"graph {i}: ours {'valid' if ours[i] else 'invalid'} with {blocks['ours (ICL)'][i]} blocks, graph-tool "
                       f"{'valid' if g0[i] else 'invalid'} with {blocks[names[0]][i]}" for i in diff) or "none"
    pert_note = f", {args.perturb:.0%} of each graph's edges moved to random non-edges" if args.perturb else ""
    body = f"""# SBM validity: our block fit vs graph-tool's

- date: {utc_now()}; commit: {git_commit()}; {machine_line(1)}; 1-min load at start {load:.1f}
- command: `python benchmarks/sbm_validity.py --steps {args.steps} --split {args.split}{f' --limit {args.limit}' if args.limit else ''} --seeds {' '.join(map(str, args.seeds))}{f' --perturb {args.perturb}' if args.perturb else ''}`
- graphs: SPECTRE SBM {args.split} split ({'first ' if args.limit else ''}{n} graphs{pert_note}, `graphs/esgg/sbm.pkl`); verdict: SPECTRE's strict rule (2-5 blocks of
  20-40 nodes, mean Wald p-value > 0.9 against p_intra 0.3 / p_inter 0.005)
- graph-tool {where}: `minimize_blockmodel_dl` + {args.steps} x `multiflip_mcmc_sweep(beta=inf, niter=10)` (SPECTRE uses 1000),
  graph-tool 2.45 (Debian python3-graph-tool), seeds {', '.join(map(str, args.seeds))}; ours: `fit_sbm` (ICL, spectral + greedy refinement)

{chr(10).join(rows)}

disagreements with {names[0]}: {detail}
"""
    out = ROOT / "benchmarks" / "results" / ("sbm_validity.md" if args.out is None else args.out)
    out.write_text(body.strip() + "\n")
    print(body)


if __name__ == "__main__":
    main()
