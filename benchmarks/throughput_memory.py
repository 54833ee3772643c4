"""Training throughput (graphs / s) and peak memory per graph size, on CPU, for both model
families: ``ContinuousGraphDiffusion`` (GraphScoreNetwork, DSM loss) and ``DiscreteGraphDiffusion``
(GraphTransformerDenoiser, CTMC cross-entropy loss). Each training step = the pipeline's own
``loss`` + backward + Adam step.

* throughput: 1 process (1 and 2 torch threads) vs 2 processes (``graphdiff.training.launch``,
  gloo DDP, 1 thread each) at the same global batch (each rank gets half).
* memory: a fresh subprocess per (family, N): peak RSS growth over ``--mem-steps`` training steps
  (current RSS polled every ms from ``/proc/self/statm``, minus the RSS before the first step with
  model, optimizer and batch built; ``resource.getrusage`` max RSS is reported too).

Graphs are random G(N, p) with mean degree 3 (plain graphs: 1 node class, 2 edge classes; the
continuous model uses one-hot degree node features).

    python benchmarks/throughput_memory.py

Writes ``benchmarks/results/throughput_memory.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
from _common import git_commit as _commit  # noqa: E402

sys.path.insert(0, str(ROOT))

FAMILIES = ("continuous", "discrete")


def make_graphs(n_graphs: int, n_nodes: int, seed: int):
    """``GraphState`` of ``n_graphs`` random G(n, p) graphs with mean degree 3 (all nodes real)."""
    import torch

    from graphdiff.states import GraphState

    g = torch.Generator().manual_seed(seed)
    p = min(1.0, 3.0 / max(n_nodes - 1, 1))
    up = torch.triu((torch.rand(n_graphs, n_nodes, n_nodes, generator=g) < p).float(), 1)
    A = up + up.transpose(1, 2)
    return GraphState(torch.zeros(n_graphs, n_nodes, 0), A, torch.ones(n_graphs, n_nodes, dtype=torch.bool))


def make_pipeline(family: str, n_nodes: int, *, hidden: int, depth: int):
    from graphdiff.pipelines.continuous import ContinuousGraphDiffusion
    from graphdiff.pipelines.discrete import DiscreteGraphDiffusion

    train = make_graphs(8, n_nodes, seed=1)
    net = dict(hidden=hidden, depth=depth)
    if family == "continuous":
        return ContinuousGraphDiffusion.create(train_state=train, network=net, process={"num_node_features": 8})
    return DiscreteGraphDiffusion.create(train_state=train, network=net)


def _loss(pipe, network, batch, gen):
    out = pipe.loss(network, batch, gen)
    return out["loss"] if isinstance(out, dict) else out


def train_steps(rank: int, family: str, n_nodes: int, global_batch: int, steps: int, warmup: int, hidden: int,
                depth: int, threads: int) -> dict:
    """Run ``warmup + steps`` training steps on this rank's share of the global batch; returns the
    timed seconds (max over ranks is what counts) and the number of graphs this rank processed."""
    import torch

    from graphdiff.training.distributed import get_world_size, wrap_ddp

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    pipe = make_pipeline(family, n_nodes, hidden=hidden, depth=depth)
    world = get_world_size()
    local = global_batch // world
    batch = make_graphs(local, n_nodes, seed=100 + rank)
    model = wrap_ddp(pipe.network, torch.device("cpu"))
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    gen = torch.Generator().manual_seed(rank)
    t0 = 0.0
    for i in range(warmup + steps):
        if i == warmup:
            if world > 1:
                torch.distributed.barrier()
            t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = _loss(pipe, model, batch, gen)
        loss.backward()
        opt.step()
    if world > 1:
        torch.distributed.barrier()
    return {"seconds": time.perf_counter() - t0, "graphs": local * steps, "loss": float(loss.detach())}


def throughput(family: str, nproc: int, threads: int, args) -> float:
    from graphdiff.training import launch

    res = launch(train_steps, nproc, family, args.n_nodes, args.batch, args.steps, args.warmup, args.hidden, args.depth, threads)
    secs = max(r["seconds"] for r in res)
    return sum(r["graphs"] for r in res) / secs


def _rss_mib() -> float:
    """Current resident set size (MiB) from ``/proc/self/statm``."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def memory_child(family: str, n_nodes: int, batch: int, steps: int, hidden: int, depth: int) -> dict:
    """In a fresh process: peak RSS growth (MiB) over ``steps`` training steps: the current RSS is
    polled every millisecond by a thread; growth = its maximum minus the RSS before the first step
    (after ``malloc_trim`` returned freed heap pages, so memory freed while building the model does
    not hide the step's allocations)."""
    import ctypes
    import threading

    import torch

    torch.set_num_threads(1)
    torch.manual_seed(0)
    pipe = make_pipeline(family, n_nodes, hidden=hidden, depth=depth)
    data = make_graphs(batch, n_nodes, seed=5)
    opt = torch.optim.Adam(pipe.network.parameters(), lr=1e-4)
    gen = torch.Generator().manual_seed(0)
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except OSError:
        pass
    before = _rss_mib()
    peak = [before]
    stop = threading.Event()

    def poll() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], _rss_mib())
            time.sleep(0.001)

    th = threading.Thread(target=poll, daemon=True)
    th.start()
    t0 = time.perf_counter()
    for _ in range(steps):
        opt.zero_grad(set_to_none=True)
        loss = _loss(pipe, pipe.network, data, gen)
        loss.backward()
        opt.step()
    secs = (time.perf_counter() - t0) / steps
    stop.set()
    th.join()
    peak[0] = max(peak[0], _rss_mib())
    n_params = sum(p.numel() for p in pipe.network.parameters())
    return {"peak_growth_mib": peak[0] - before, "peak_rss_mib": peak[0], "baseline_mib": before,
            "max_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "step_s": secs, "params": n_params}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-nodes", type=int, default=20, help="graph size for the throughput runs")
    ap.add_argument("--batch", type=int, default=32, help="global batch (graphs) for the throughput runs")
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--hidden", type=int, default=64)
    ap.add_argument("--depth", type=int, default=3)
    ap.add_argument("--sizes", type=int, nargs="+", default=[9, 38, 64, 128])
    ap.add_argument("--mem-batch", type=int, default=8, help="graphs per batch in the memory runs")
    ap.add_argument("--mem-steps", type=int, default=2)
    ap.add_argument("--child", type=str, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, default=HERE / "results" / "throughput_memory.md")
    args = ap.parse_args()

    if args.child:
        fam, n = args.child.split(":")
        print(json.dumps(memory_child(fam, int(n), args.mem_batch, args.mem_steps, args.hidden, args.depth)))
        return

    import torch

    t_start = time.time()
    load_before = os.getloadavg()
    tp = {}
    for fam in FAMILIES:
        for nproc, threads in ((1, 1), (1, 2), (2, 1)):
            tp[(fam, nproc, threads)] = throughput(fam, nproc, threads, args)
            print(f"throughput {fam} nproc={nproc} threads={threads}: {tp[(fam, nproc, threads)]:.1f} graphs/s", flush=True)
    load_after = os.getloadavg()
    mem = {}
    for fam in FAMILIES:
        for n in args.sizes:
            cmd = [sys.executable, __file__, "--child", f"{fam}:{n}", "--mem-batch", str(args.mem_batch),
                   "--mem-steps", str(args.mem_steps), "--hidden", str(args.hidden), "--depth", str(args.depth)]
            out = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ, OMP_NUM_THREADS="1"))
            if out.returncode != 0:
                mem[(fam, n)] = {"error": out.stderr.strip().splitlines()[-1] if out.stderr.strip() else f"exit {out.returncode}"}
            else:
                mem[(fam, n)] = json.loads(out.stdout.strip().splitlines()[-1])
            print(f"memory {fam} N={n}: {mem[(fam, n)]}", flush=True)

    now = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    cmdline = "python benchmarks/throughput_memory.py " + " ".join(sys.argv[1:])
    lines = [
        f"# Training throughput and memory on CPU ({now})",
        "",
        f"- commit `{_commit()}`; machine: {platform.machine()}, {os.cpu_count()} CPU cores shared with other jobs "
        f"(times are upper bounds), Python {platform.python_version()}, torch {torch.__version__}",
        f"- command: `{cmdline.strip()}` (total {time.time() - t_start:.0f} s)",
        f"- models: `ContinuousGraphDiffusion` (GraphScoreNetwork, DSM loss, 8 one-hot degree features) and "
        f"`DiscreteGraphDiffusion` (GraphTransformerDenoiser, CTMC marginal rates, CE loss); hidden={args.hidden}, "
        f"depth={args.depth}, other network arguments at their defaults; one step = pipeline `loss` + backward + Adam",
        "- data: random G(N, p) graphs with mean degree 3, all nodes real",
        "",
        f"## Throughput (N = {args.n_nodes}, global batch {args.batch} graphs, {args.steps} timed steps after {args.warmup} warm-up)",
        "",
        f"Load average (1 / 5 / 15 min) before the throughput runs {load_before[0]:.1f} / {load_before[1]:.1f} / "
        f"{load_before[2]:.1f}, after {load_after[0]:.1f} / {load_after[1]:.1f} / {load_after[2]:.1f} on {os.cpu_count()} cores: "
        "other jobs share the cores, so the 2-thread and 2-process columns compete with them for the second core "
        "(an oversubscribed intra-op thread pool spin-waits, hence the collapse of the 2-thread column under load).",
        "",
        "| family | 1 process, 1 thread | 1 process, 2 threads | 2 processes (gloo DDP), 1 thread each | 2-proc speed-up vs 1x1 |",
        "|---|---|---|---|---|",
    ]
    for fam in FAMILIES:
        a, b, c = tp[(fam, 1, 1)], tp[(fam, 1, 2)], tp[(fam, 2, 1)]
        lines.append(f"| {fam} | {a:.1f} graphs/s | {b:.1f} graphs/s | {c:.1f} graphs/s | {c / a:.2f}x |")
    lines += [
        "",
        f"## Peak memory per graph size (batch {args.mem_batch} graphs, {args.mem_steps} training steps, 1 thread, fresh process each)",
        "",
        "Peak RSS growth = highest RSS during the steps (polled every ms) minus the RSS just before them, with model, "
        "optimizer and batch built (so: activations, gradients and Adam state; the dense (B, N, N, C) edge tensors "
        "make it grow ~N^2). Max RSS = `getrusage` high-water mark of the whole process (imports included).",
        "",
        "| family | N | params | RSS before (MiB) | max RSS (MiB) | peak RSS growth (MiB) | per graph (MiB) | s / step |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for fam in FAMILIES:
        for n in args.sizes:
            m = mem[(fam, n)]
            if "error" in m:
                lines.append(f"| {fam} | {n} | - | - | - | failed: {m['error']} | - | - |")
            else:
                lines.append(f"| {fam} | {n} | {m['params']:,} | {m['baseline_mib']:.0f} | {m['max_rss_mib']:.0f} | {m['peak_growth_mib']:.1f} | "
                             f"{m['peak_growth_mib'] / args.mem_batch:.2f} | {m['step_s']:.2f} |")
    lines.append("")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
