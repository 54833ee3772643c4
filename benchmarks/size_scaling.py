"""Cost of one network call versus graph size: CPU time and peak memory per graph for 16 to 512 nodes
(the dense graph transformer is O(n^2) in pairs), split into the structural features of the noisy
graph and the network proper.

Each size runs in a fresh subprocess (so the peak resident memory is that size's own): the network
of the bundled ``zinc250k_ctmc`` model (the molecule model with the largest graphs), one warm-up call
on a 2-node graph, then ``--repeats`` calls on a batch of one noisy graph of ``n`` nodes (a random
graph with mean degree 2.2, like a molecule, with the model's class marginals), under
``torch.inference_mode``. Times are CPU time of the calling thread (one torch thread), so a loaded
machine inflates them little; peak memory is the growth of the process's maximum resident set over
the warm-up. A sampling run costs ``calls x`` the per-call time (97 calls with the card's sampler). ::

    python benchmarks/size_scaling.py                  # 16 32 64 128 256 512
    python benchmarks/size_scaling.py --sizes 16 64 256

Writes ``benchmarks/results/size_scaling.md`` and ``benchmarks/results/size_scaling.png``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, git_commit, machine_line, utc_now  # noqa: E402

MODEL = "zinc250k_ctmc"


def _one(n: int, repeats: int) -> dict:
    torch.set_num_threads(1)
    import graphdiff
    from graphdiff.states import GraphState

    pipe = graphdiff.load_pretrained(MODEL)
    net = pipe.network.eval()
    g = torch.Generator().manual_seed(n)
    mask = torch.ones(1, n, dtype=torch.bool)
    prior = pipe.process.prior_sample(mask, generator=g)
    p = min(1.0, 2.2 / max(n - 1, 1))
    up = torch.triu(torch.rand(n, n, generator=g) < p, 1)
    A = torch.where(up | up.T, prior.A[0].clamp_min(1), torch.zeros_like(prior.A[0]))[None]
    st = GraphState(prior.X, A, mask)
    t = torch.full((1,), 0.5)
    feats_t = [0.0]
    inner = net.features

    def timed(*a, **k):
        t0 = time.thread_time()
        try:
            return inner(*a, **k)
        finally:
            feats_t[0] += time.thread_time() - t0

    with torch.inference_mode():
        small = GraphState(prior.X[:, :2], A[:, :2, :2], mask[:, :2])
        net(small, t)
        base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        net.features = timed
        t0 = time.thread_time()
        for _ in range(repeats):
            net(st, t)
        total = (time.thread_time() - t0) / repeats
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"n": n, "ms": 1000 * total, "features_ms": 1000 * feats_t[0] / repeats, "peak_mb": (peak - base) / 1024}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[16, 32, 64, 128, 256, 512])
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--one", type=int, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "size_scaling.md"))
    a = ap.parse_args(argv)
    if a.one is not None:
        print("RESULT " + json.dumps(_one(a.one, a.repeats)))
        return 0
    if min(a.sizes) < 2 or a.repeats < 1:
        ap.error("--sizes must be >= 2 and --repeats >= 1")
    load0 = os.getloadavg()[0]
    rows = []
    for n in sorted(a.sizes):
        res = subprocess.run([sys.executable, __file__, "--one", str(n), "--repeats", str(a.repeats)],
                             capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
        if res.returncode != 0:
            print(f"n={n}: failed ({res.stderr.strip().splitlines()[-1] if res.stderr.strip() else res.returncode})")
            rows.append({"n": n, "failed": (res.stderr.strip().splitlines() or ["?"])[-1][:120]})
            continue
        r = json.loads([ln for ln in res.stdout.splitlines() if ln.startswith("RESULT ")][-1][7:])
        rows.append(r)
        print(r, flush=True)
    load1 = os.getloadavg()[0]
    ok = [r for r in rows if "ms" in r]
    lines = [f"## Cost of one network call versus graph size, `{MODEL}` network ({utc_now()})", "",
             f"- commit `{git_commit()}`; machine: {machine_line(1)}; float32; load average {load0:.1f} at start, "
             f"{load1:.1f} at end (times are CPU time of the thread, which the load inflates little)",
             f"- command: `python benchmarks/size_scaling.py {' '.join(argv if argv is not None else sys.argv[1:])}`",
             f"- protocol: one graph per call (batch 1), a random graph of mean degree 2.2 with the model's class "
             f"marginals at t = 0.5, mean of {a.repeats} calls after a warm-up, `torch.inference_mode`; peak memory = "
             "growth of the process's maximum resident set over the warm-up (fresh process per size); "
             "features = RRWP, degree and 3..6-cycle counts of the noisy graph", "",
             "| nodes | ms per call | of which features | network proper | peak memory (MB) | "
             "ms per sample at 97 calls | time / previous size |", "|---|---|---|---|---|---|---|"]
    prev = None
    for r in rows:
        if "ms" not in r:
            lines.append(f"| {r['n']} | failed: {r['failed']} | | | | | |")
            continue
        growth = f"{r['ms'] / prev:.1f}x" if prev else "-"
        lines.append(f"| {r['n']} | {r['ms']:.1f} | {r['features_ms']:.1f} | {r['ms'] - r['features_ms']:.1f} | "
                     f"{r['peak_mb']:.0f} | {97 * r['ms']:.0f} | {growth} |")
        prev = r["ms"]
    Path(a.out).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    if ok:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(1, 2, figsize=(9, 3.5))
        ns = [r["n"] for r in ok]
        ax[0].loglog(ns, [r["ms"] for r in ok], "o-", label="whole call")
        ax[0].loglog(ns, [r["features_ms"] for r in ok], "s--", label="features")
        ax[0].loglog(ns, [r["ms"] - r["features_ms"] for r in ok], "^:", label="network proper")
        ref = ok[0]["ms"] - ok[0]["features_ms"]
        ax[0].loglog(ns, [ref * (n / ns[0]) ** 2 for n in ns], color="gray", lw=0.8, label="n^2")
        ax[0].set_xlabel("nodes")
        ax[0].set_ylabel("CPU ms per call (1 graph)")
        ax[0].legend(fontsize=8)
        ax[1].loglog(ns, [max(r["peak_mb"], 0.1) for r in ok], "o-")
        ax[1].set_xlabel("nodes")
        ax[1].set_ylabel("peak extra memory (MB)")
        fig.suptitle(f"{MODEL} network: cost per call vs graph size (1 thread, float32)", fontsize=10)
        fig.tight_layout()
        fig.savefig(Path(a.out).with_suffix(".png"), dpi=110)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
