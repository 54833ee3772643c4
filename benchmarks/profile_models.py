"""Where the time of one network call goes: a sampling call (no gradients) and a training step
(forward, backward and the optimiser update) of the bundled discrete models ``qm9_ctmc`` and
``zinc250k_ctmc``, split by part of the network.

Each part's time is measured with forward hooks on its modules as CPU time of the calling thread
(``time.thread_time``, inclusive; with one torch thread all the work runs in that thread, so the
numbers hold on a shared, loaded machine where wall clock would count other people's work) and the positional / structural features by wrapping their call:

* ``features``: RRWP, return probabilities, degree and 3..6-cycle counts of the noisy graph;
* ``encode / conditioning``: one-hots, input checks, the time embedding;
* ``input MLPs`` and ``output MLPs`` (node, edge, global);
* per transformer layer: ``edge FFN + norms`` (the pair-size MLP and LayerNorms of the edge
  channels), ``node FFN + norms``, ``global update`` and ``attention core`` (the rest of the layer:
  the pair scores ``S = q k`` FiLMed by the edges, the edge update GEMM, the softmax and the
  aggregation: the DiGress-style attention);
* ``other``: what the hooks do not cover (symmetrisation of the output, Python glue).

``fixed cost per call`` is the wall clock of one call on a single graph of 2 nodes: the per-call
Python and dispatch overhead that no batch amortises. The sampler's own work (posterior, draws, decoding) is
``sample - network`` over a full ``pipe.sample`` run. The op table is torch.profiler's top self
times of the same calls. ::

    python benchmarks/profile_models.py                       # both models, 1 thread
    python benchmarks/profile_models.py --models qm9_ctmc --repeats 3

Writes ``benchmarks/results/profile_models.md``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, git_commit, machine_line, utc_now  # noqa: E402

BATCH = {"qm9_ctmc": 256, "zinc250k_ctmc": 64}


class _Timer:
    """Inclusive wall-clock time per label, from forward hooks and wrapped calls."""

    def __init__(self) -> None:
        self.t: dict[str, float] = defaultdict(float)
        self._start: dict[int, float] = {}
        self.handles: list = []

    def hook(self, module: torch.nn.Module, label: str) -> None:
        def pre(mod, args):
            self._start[id(mod)] = time.thread_time()

        def post(mod, args, out):
            self.t[label] += time.thread_time() - self._start.pop(id(mod))

        self.handles += [module.register_forward_pre_hook(pre), module.register_forward_hook(post)]

    def wrap(self, obj, attr: str, label: str) -> None:
        fn = getattr(obj, attr)

        def timed(*a, **k):
            t0 = time.thread_time()
            try:
                return fn(*a, **k)
            finally:
                self.t[label] += time.thread_time() - t0

        setattr(obj, attr, timed)
        self.handles.append((obj, attr, fn))

    def remove(self) -> None:
        for h in self.handles:
            if isinstance(h, tuple):
                setattr(h[0], h[1], h[2])
            else:
                h.remove()


def _instrument(net) -> _Timer:
    tm = _Timer()
    tm.hook(net, "total")
    tm.wrap(net, "encode", "encode")
    tm.wrap(net, "features", "features")
    tm.hook(net.conditioning, "conditioning")
    bb = net.backbone
    for name in ("mlp_in_x", "mlp_in_e", "mlp_in_y"):
        tm.hook(getattr(bb, name), "input MLPs")
    for name in ("mlp_out_x", "mlp_out_e"):
        if getattr(bb, name) is not None:
            tm.hook(getattr(bb, name), "output MLPs")
    for layer in bb.layers:
        tm.hook(layer, "layers")
        for name in ("ff_e", "norm_e1", "norm_e2"):
            tm.hook(getattr(layer, name), "layer: edge FFN + norms")
        for name in ("ff_x", "norm_x1", "norm_x2", "x_out"):
            tm.hook(getattr(layer, name), "layer: node FFN + norms")
        if layer.update_global:
            for name in ("y_self", "x_to_y", "e_to_y", "y_out", "ff_y", "norm_y1", "norm_y2"):
                tm.hook(getattr(layer, name), "layer: global update")
    return tm


def _parts(t: dict[str, float]) -> list[tuple[str, float]]:
    """Exclusive parts from inclusive hook times."""
    layer_sub = sum(t[k] for k in ("layer: edge FFN + norms", "layer: node FFN + norms", "layer: global update"))
    rows = [
        ("features (RRWP, cycles, degree)", t["features"]),
        ("encode (one-hots, checks)", t["encode"]),
        ("conditioning (time embedding)", t["conditioning"]),
        ("input MLPs", t["input MLPs"]),
        ("layer: attention core (pair scores, edge GEMM, softmax, aggregation)", t["layers"] - layer_sub),
        ("layer: edge FFN + norms", t["layer: edge FFN + norms"]),
        ("layer: node FFN + norms", t["layer: node FFN + norms"]),
        ("layer: global update", t["layer: global update"]),
        ("output MLPs", t["output MLPs"]),
    ]
    rows.append(("other (output symmetrisation, glue)", t["total"] - sum(v for _, v in rows)))
    return rows


def _noisy_batch(pipe, B: int, seed: int):
    from graphdiff.states import GraphState

    g = torch.Generator().manual_seed(seed)
    sizes = pipe.node_counts.sample(B, generator=g)
    N = int(sizes.max())
    mask = torch.arange(N)[None] < sizes[:, None]
    clean = pipe.process.prior_sample(mask, generator=g)  # a graph with the data's class marginals
    t = torch.full((B,), 0.5)
    return GraphState(clean.X, clean.A, mask), t, sizes


def _profile_calls(pipe, B: int, repeats: int, train: bool) -> tuple[list[tuple[str, float]], float]:
    net = pipe.network
    state, t, _ = _noisy_batch(pipe, B, 0)
    opt = torch.optim.AdamW(net.parameters(), lr=0.0) if train else None

    def call():
        if train:
            net.train()
            loss = pipe.loss(net, state, torch.Generator().manual_seed(1))["loss"]
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        else:
            net.eval()
            with torch.inference_mode():
                net(state, t)

    call()  # warm-up
    tm = _instrument(net)
    totals = []
    try:
        for _ in range(repeats):
            t0 = time.thread_time()
            call()
            totals.append(time.thread_time() - t0)
    finally:
        tm.remove()
    n = repeats
    rows = [(k, v / n) for k, v in _parts(tm.t)]
    step = statistics.median(totals)
    if train:
        fwd = tm.t["total"] / n
        rows.append(("loss, backward and AdamW update", step - fwd))
    return rows, step


def _fixed_cost(pipe, repeats: int = 50) -> float:
    from graphdiff.states import GraphState

    net = pipe.network.eval()
    mask = torch.ones(1, 2, dtype=torch.bool)
    st = GraphState(torch.zeros(1, 2, dtype=torch.long), torch.zeros(1, 2, 2, dtype=torch.long), mask)
    t = torch.full((1,), 0.5)
    with torch.inference_mode():
        net(st, t)
        t0 = time.thread_time()
        for _ in range(repeats):
            net(st, t)
    return (time.thread_time() - t0) / repeats


def _sampler_share(pipe, B: int) -> tuple[float, float, int]:
    """Seconds of a full ``pipe.sample(B)`` and of its network calls."""
    tm = _Timer()
    tm.hook(pipe.network, "net")
    pipe.sample(min(B, 16), seed=1, batch_size=B)
    tm.t.clear()
    t0 = time.thread_time()
    out = pipe.sample(B, seed=0, batch_size=B)
    total = time.thread_time() - t0
    tm.remove()
    return total, tm.t["net"], out.nfe


def _op_table(pipe, B: int, train: bool, rows: int = 8) -> list[tuple[str, float, int]]:
    from torch.profiler import ProfilerActivity, profile

    net = pipe.network
    state, t, _ = _noisy_batch(pipe, B, 0)
    opt = torch.optim.AdamW(net.parameters(), lr=0.0)

    def call():
        if train:
            net.train()
            loss = pipe.loss(net, state, torch.Generator().manual_seed(1))["loss"]
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        else:
            net.eval()
            with torch.inference_mode():
                net(state, t)

    call()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        call()
    ka = sorted(prof.key_averages(), key=lambda e: e.self_cpu_time_total, reverse=True)
    total = sum(e.self_cpu_time_total for e in ka)
    return [(e.key, e.self_cpu_time_total / total, e.count) for e in ka[:rows]]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", nargs="+", default=list(BATCH), choices=list(BATCH))
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "profile_models.md"))
    a = ap.parse_args(argv)
    if a.threads != 1 or a.repeats < 1:
        ap.error("--threads must be 1 (times are CPU time of the calling thread) and --repeats >= 1")
    torch.set_num_threads(a.threads)
    import graphdiff

    load0 = os.getloadavg()[0]
    blocks = []
    for name in a.models:
        pipe = graphdiff.load_pretrained(name)
        B = BATCH[name]
        _, _, sizes = _noisy_batch(pipe, B, 0)
        params = sum(p.numel() for p in pipe.network.parameters())
        samp_rows, samp_step = _profile_calls(pipe, B, a.repeats, train=False)
        train_rows, train_step = _profile_calls(pipe, B, a.repeats, train=True)
        fixed = _fixed_cost(pipe)
        total, net_s, nfe = _sampler_share(pipe, B)
        ops_s = _op_table(pipe, B, train=False)
        ops_t = _op_table(pipe, B, train=True)
        lines = [f"### `{name}` ({params:,} parameters), batch of {B} graphs, N = {int(sizes.max())} "
                 f"(mean {sizes.float().mean():.1f} real nodes)", "",
                 "| part | sampling call: ms | share | training step: ms | share |", "|---|---|---|---|---|"]
        tr = dict(train_rows)
        for k, v in samp_rows:
            lines.append(f"| {k} | {1000 * v:.1f} | {100 * v / samp_step:.0f}% | {1000 * tr[k]:.1f} | "
                         f"{100 * tr[k] / train_step:.0f}% |")
        k = "loss, backward and AdamW update"
        lines.append(f"| {k} | - | - | {1000 * tr[k]:.1f} | {100 * tr[k] / train_step:.0f}% |")
        lines.append(f"| **whole call / step** | **{1000 * samp_step:.1f}** | | **{1000 * train_step:.1f}** | |")
        lines += ["", f"- fixed cost per call (1 graph of 2 nodes): {1000 * fixed:.2f} ms, i.e. "
                  f"{100 * fixed / samp_step:.1f}% of a batch-{B} sampling call",
                  f"- full `pipe.sample({B})` with the card's sampler ({nfe} calls): {total:.2f} s, of which network "
                  f"{net_s:.2f} s; sampler, prior and decoding {total - net_s:.2f} s ({100 * (total - net_s) / total:.0f}%)",
                  "- top ops by self CPU time, sampling call: " + ", ".join(f"`{o}` {100 * s:.0f}% ({c})" for o, s, c in ops_s),
                  "- top ops by self CPU time, training step: " + ", ".join(f"`{o}` {100 * s:.0f}% ({c})" for o, s, c in ops_t),
                  ""]
        blocks.append("\n".join(lines))
        print(blocks[-1], flush=True)
    load1 = os.getloadavg()[0]
    head = [f"## Profile of a sampling call and a training step, bundled discrete models ({utc_now()})", "",
            f"- commit `{git_commit()}`; machine: {machine_line(a.threads)}; float32; "
            f"load average {load0:.2f} at start, {load1:.2f} at end (CPU time, not wall clock, so the load inflates little; the shares are what to read)",
            "- command: `" + " ".join(["python benchmarks/profile_models.py", *(argv or sys.argv[1:])]) + "`",
            f"- protocol: the noisy graph is a prior draw (the data's class marginals) at t = 0.5 with node counts "
            f"from the model's size law (seed 0); times are the mean of {a.repeats} hooked calls after one warm-up "
            "(CPU time of the thread, inclusive forward hooks per module, exclusive parts by subtraction); the training step is the "
            "model's own loss (CTMC cross-entropy) plus backward and AdamW; `share` is of the whole call / step", ""]
    text = "\n".join(head) + "\n" + "\n".join(blocks)
    Path(a.out).write_text(text)
    print(f"wrote {a.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
