"""Speed of the graph metrics: biased MMD^2 (gdss preset) between two sets of random graphs.

Times, for ``--n`` reference and ``--n`` generated Erdos-Renyi graphs of ``--nodes`` nodes:
the per-graph statistics (degree, clustering, ORCA orbits, spectrum) and the four MMD^2 values,
and, for comparison, a GDSS-style reference loop (python double loop over pairs, scipy EMD per
pair) on a ``--ref-n`` subset, extrapolated quadratically to ``--n``. Usage::

    python benchmarks/metrics_speed_graphs.py --n 1000 --nodes 20

Writes a markdown table to ``benchmarks/results/metrics_speed_graphs.md``.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import math
import os
import platform
import sys
import time
from pathlib import Path

import networkx as nx
import numpy as np

from graphdiff.metrics.graph import GDSS_PROTOCOL, graph_metrics
from graphdiff.metrics.graph_stats import STATISTICS, compute_statistics
from graphdiff.metrics.mmd import mmd2

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import cpu_name  # noqa: E402
from _common import git_commit as _git_commit  # noqa: E402


def _graphs(n: int, nodes: int, p: float, seed: int) -> list[nx.Graph]:
    return [nx.gnp_random_graph(nodes, p, seed=seed + i) for i in range(n)]


def _reference_loop_mmd(s1: list[np.ndarray], s2: list[np.ndarray], kernel: str, sigma: float,
                        scaling: float, is_hist: bool) -> float:
    """GDSS ``compute_mmd`` semantics with one scipy EMD / norm per pair (serial)."""
    from scipy.stats import wasserstein_distance

    if is_hist:
        s1 = [s / s.sum() for s in s1]
        s2 = [s / s.sum() for s in s2]

    def k(x: np.ndarray, y: np.ndarray) -> float:
        L = max(len(x), len(y))
        x, y = np.pad(x, (0, L - len(x))), np.pad(y, (0, L - len(y)))
        if kernel == "gaussian_emd":
            idx = np.arange(L)
            d = wasserstein_distance(idx, idx, x, y) / scaling
        else:
            d = float(np.linalg.norm(x - y))
        return math.exp(-d * d / (2 * sigma * sigma))

    def disc(a: list[np.ndarray], b: list[np.ndarray]) -> float:
        return sum(k(x, y) for x in a for y in b) / (len(a) * len(b))

    return disc(s1, s1) + disc(s2, s2) - 2 * disc(s1, s2)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1000, help="graphs per set")
    ap.add_argument("--nodes", type=int, default=20)
    ap.add_argument("--p", type=float, default=0.2)
    ap.add_argument("--n-jobs", type=int, default=1)
    ap.add_argument("--ref-n", type=int, default=60, help="subset size for the reference loop timing")
    ap.add_argument("--data", type=Path, default=None,
                    help="GRAPHDIFF_DATA folder: also time SBM validity on the 200 stored SPECTRE SBM graphs")
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/metrics_speed_graphs.md"))
    args = ap.parse_args()

    import torch  # noqa: F401  (imported up front: the EMD kernels use torch.cdist; keep import time out of the timings)

    ref = _graphs(args.n, args.nodes, args.p, seed=0)
    gen = _graphs(args.n, args.nodes, args.p * 1.1, seed=10_000)

    rows = []
    t0 = time.perf_counter()
    s_ref = compute_statistics(ref, STATISTICS, n_jobs=args.n_jobs)
    s_gen = compute_statistics(gen, STATISTICS, n_jobs=args.n_jobs)
    t_stats = time.perf_counter() - t0
    rows.append(("statistics, 4 kinds (both sets)", f"{2 * args.n}", t_stats))
    for stat in STATISTICS:
        spec = GDSS_PROTOCOL.spec(stat)
        t0 = time.perf_counter()
        mmd2(s_ref[stat], s_gen[stat], spec.kernel, spec.sigma, spec.distance_scaling, spec.is_hist)
        rows.append((f"MMD^2 {stat} ({spec.kernel})", f"{args.n} x {args.n}", time.perf_counter() - t0))
    t0 = time.perf_counter()
    res = graph_metrics(ref, gen, protocol="gdss", n_jobs=args.n_jobs)
    t_total = time.perf_counter() - t0
    rows.append(("graph_metrics end to end (all 4)", f"{args.n} x {args.n}", t_total))

    # reference loop on a subset, extrapolated (pair count grows quadratically)
    m = min(args.ref_n, args.n)
    t_loop = 0.0
    agree = []
    for stat in STATISTICS:
        spec = GDSS_PROTOCOL.spec(stat)
        t0 = time.perf_counter()
        v_ref = _reference_loop_mmd(s_ref[stat][:m], s_gen[stat][:m], spec.kernel, spec.sigma,
                                    spec.distance_scaling, spec.is_hist)
        t_loop += time.perf_counter() - t0
        v_ours = mmd2(s_ref[stat][:m], s_gen[stat][:m], spec.kernel, spec.sigma, spec.distance_scaling, spec.is_hist)
        agree.append(abs(v_ref - v_ours))
    rows.append((f"reference python loop, 4 MMDs, measured on {m} x {m}", f"{m} x {m}", t_loop))
    rows.append(("reference python loop, extrapolated", f"{args.n} x {args.n}", t_loop * (args.n / m) ** 2))

    sbm_lines: list[str] = []
    if args.data is not None:
        import pickle

        from graphdiff.metrics.vun import is_sbm_graph

        with open(args.data / "graphs/esgg/sbm.pkl", "rb") as f:
            split = pickle.load(f)
        sbm = split["train"] + split["val"] + split["test"]
        rng = np.random.default_rng(0)
        er = []
        for g in sbm:
            n = g.number_of_nodes()
            er.append(nx.gnp_random_graph(n, 2 * g.number_of_edges() / (n * (n - 1)), seed=int(rng.integers(2**31))))
        t0 = time.perf_counter()
        n_sbm = sum(bool(is_sbm_graph(g)) for g in sbm)
        t_sbm = time.perf_counter() - t0
        t0 = time.perf_counter()
        n_er = sum(bool(is_sbm_graph(g)) for g in er)
        t_er = time.perf_counter() - t0
        rows.append((f"SBM validity, {len(sbm)} stored SPECTRE SBM graphs", f"{len(sbm)}", t_sbm))
        rows.append((f"SBM validity, {len(er)} Erdos-Renyi graphs of equal size and density", f"{len(er)}", t_er))
        sbm_lines = [
            f"- SBM validity (our ICL block fit + SPECTRE Wald test): stored SPECTRE SBM graphs "
            f"{n_sbm}/{len(sbm)} valid; Erdos-Renyi graphs of the same sizes and densities {n_er}/{len(er)} valid",
        ]

    cmd = "python " + " ".join(sys.argv)
    header = [
        f"# Graph-metric speed ({_dt.datetime.now(_dt.timezone.utc):%Y-%m-%d %H:%M} UTC)",
        "",
        f"- commit `{_git_commit()}`; machine: {cpu_name(platform.processor() or platform.machine())}, "
        f"{os.cpu_count()} CPU cores (shared with other jobs), Python {platform.python_version()}, numpy {np.__version__}",
        f"- command: `{cmd}`",
        f"- data: {args.n} + {args.n} G(n={args.nodes}, p={args.p} / {args.p * 1.1:.3g}) graphs; protocol gdss; n_jobs={args.n_jobs}",
        "- values: " + ", ".join(f"{k} {v:.6f}" for k, v in res.items()),
        f"- max |ours - reference loop| on the subset: {max(agree):.2e}",
        *sbm_lines,
        "",
        "| step | pairs / graphs | seconds |",
        "|---|---|---|",
    ]
    table = "\n".join(header + [f"| {a} | {b} | {c:.3f} |" for a, b, c in rows]) + "\n"
    print(table)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(table)


if __name__ == "__main__":
    main()
