"""Continuous SDE graph diffusion on generic graphs, GDSS protocol: few-step samplers vs 1000-step EM.

Trains :class:`graphdiff.pipelines.continuous.ContinuousGraphDiffusion` on the training split for a
fixed wall-clock budget, then samples as many graphs as the test split holds (node counts drawn from
the training graphs) with every requested sampler, and reports the GDSS MMD^2 (degree / clustering /
orbit, ``graph_metrics(..., protocol="gdss")``) against the test graphs, with the NFE and sampling
time. All samplers see the same node counts for a given seed. Two references are printed: the MMD of
all training graphs vs the test graphs, and the **data reference** -- random subsets of the training
graphs, as many as the test graphs, scored like a sample (``--data-subsets`` of them, mean ± sd). The
data reference is what a perfect generator would score under this protocol on average: a sample of
20 or 40 graphs carries the biased estimator's small-sample term that the all-train row hides. Usage::

    # train 12 minutes, evaluate, keep the model
    GRAPHDIFF_DATA=../shared/data python benchmarks/continuous_graphs.py \\
        --dataset community_small --train-minutes 12 --save runs/community_12min --out /tmp/community.md
    # re-measure a bundled model (10 seeds for every row), or train on from it (--init)
    python benchmarks/continuous_graphs.py --dataset community_small \\
        --load graphdiff/pretrained/community_small_sde --seeds 10 --reference-seeds 10
    # a new network with extra structural features, sampled with a lower SDE noise scale
    python benchmarks/continuous_graphs.py --network cycles=true --samplers dpm_solver_sde:50 --option s_noise=0.7 \\
        --out /tmp/c.md

Writes a markdown block to ``benchmarks/results/continuous_<dataset>.md`` unless ``--out`` is given.
Every row is the mean ± sd over its seeds; rows of 500 or more steps count as reference samplers
(``--reference-seeds``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

from graphdiff.cli import parse_key_values
from graphdiff.data import load
from graphdiff.metrics import data_reference, graph_metrics
from graphdiff.pipelines.bucketing import sample_by_size
from graphdiff.pipelines.continuous import CONTINUOUS_SAMPLERS, ContinuousGraphDiffusion
from graphdiff.states import GraphState
from graphdiff.pipelines.train import start_new_stage

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import git_commit, lineage_text, machine_line, mean_sd, utc_now  # noqa: E402

STATS = ("degree", "clustering", "orbit")
GDSS_REFERENCE = {"community_small": (0.045, 0.086, 0.007), "ego_small": (0.021, 0.024, 0.007),
                  "enzymes": (0.026, 0.061, 0.009), "grid": (0.111, 0.005, 0.070)}


def _parse_samplers(spec: str) -> list[tuple[str, int]]:
    out = []
    for item in spec.split(","):
        name, _, steps = item.strip().partition(":")
        if name not in CONTINUOUS_SAMPLERS:
            raise SystemExit(f"unknown sampler {name!r}; valid: {', '.join(CONTINUOUS_SAMPLERS)}")
        out.append((name, int(steps or 50)))
    return out


def generate(pipe: ContinuousGraphDiffusion, n: int, sampler: str, steps: int, seed: int,
             options: dict | None = None, sizes: torch.Tensor | None = None,
             sort_batch: int | None = None) -> tuple[GraphState, int, float]:
    """``n`` graphs in one batch with sizes drawn from the training distribution (seeded by ``seed``
    only, so every sampler gets the same sizes) or the given ``sizes``; returns ``(state, nfe, seconds)``.
    ``sort_batch``: sample in size order in batches of this many graphs instead (different noise)."""
    if sizes is None:
        sizes = pipe.node_counts.sample(n, generator=torch.Generator().manual_seed(seed))
    pipe.network.eval()
    g = torch.Generator().manual_seed(seed + 1)
    t0 = time.perf_counter()
    with torch.no_grad():
        if sort_batch:
            calls: list[int] = []
            state, _ = sample_by_size(lambda m: pipe.sample_batch(m, steps=steps, sampler=sampler, generator=g, options=options),
                                      sizes, sort_batch, sort_sizes=True, batch_calls=calls)
            nfe = max(calls)  # network calls per graph
        else:
            mask = torch.arange(int(sizes.max()))[None] < sizes[:, None]
            state, nfe = pipe.sample_batch(mask, steps=steps, sampler=sampler, generator=g, options=options)
    return state, nfe, time.perf_counter() - t0


def _structural_features(net_cfg: dict) -> str:
    """The network's structural-feature switches (a loaded network keeps its saved config)."""
    keys = ("K", "distance", "cycles", "spectral")
    return "; features " + ", ".join(f"{k} {net_cfg[k]}" for k in keys if k in net_cfg) if net_cfg else ""


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dataset", default="community_small")
    p.add_argument("--train-minutes", type=float, default=12.0, help="wall-clock training budget")
    p.add_argument("--max-steps", type=int, default=100_000)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--ema-decay", type=float, default=0.995)
    p.add_argument("--hidden", type=int, default=64)
    p.add_argument("--depth", type=int, default=3)
    p.add_argument("--centered", type=int, default=1, help="1: values on [-1, 1] (GraphGDP), 0: raw {0, 1} (GDSS)")
    p.add_argument("--adj-sde", default='{"type": "vp", "beta_min": 0.1, "beta_max": 20.0}')
    p.add_argument("--x-sde", default='{"type": "vp", "beta_min": 0.1, "beta_max": 20.0}')
    p.add_argument("--samplers", default="dpm_solver_sde:50,ddpm:50,dpm_solver:50,ddim:50,ode_heun:25,dpm_solver:20,euler_maruyama:1000",
                   help="comma-separated name:steps; rows of >= 500 steps are references (--reference-seeds)")
    p.add_argument("--seeds", type=int, default=3, help="seeds for the few-step samplers (< 500 steps)")
    p.add_argument("--reference-seeds", type=int, default=1, help="seeds for the reference samplers (>= 500 steps)")
    p.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                   help="sampler option for every sampler (repeatable; VALUE as JSON), e.g. --option temperature=0.9")
    p.add_argument("--network", action="append", default=[], metavar="KEY=VALUE",
                   help="extra GraphScoreNetwork keyword for a new model, e.g. cycles=true (repeatable)")
    p.add_argument("--node-counts", choices=("train", "test"), default="train",
                   help="train: sizes drawn from the training graphs per seed (GDSS protocol); test: the test graphs' own "
                        "sizes, so the seeds differ only in the sampler's noise (a diagnostic, not the GDSS protocol)")
    p.add_argument("--data-subsets", type=int, default=20,
                   help="random test-sized subsets of the training graphs scored as a perfect generator's sample (0: none)")
    p.add_argument("--group-by-size", action="store_true",
                   help="train on batches of similar-sized graphs (much faster on wide size ranges such as ENZYMES)")
    p.add_argument("--sort-batch", type=int, default=0,
                   help="sample in size order, this many graphs per batch (0: all in one batch padded to the largest)")
    p.add_argument("--threads", type=int, default=1, help="torch threads (more than 1 oversubscribes a loaded machine)")
    p.add_argument("--nll", type=int, default=0,
                   help="also report the PF-ODE negative log-likelihood of this many test graphs (RK45, Hutchinson)")
    p.add_argument("--load", default=None, help="skip training: load a save_pretrained folder")
    p.add_argument("--init", default=None,
                   help="continue training a save_pretrained folder for --train-minutes more (its network and process "
                        "settings win over --hidden / --depth / --*-sde; steps and minutes add up in the card)")
    p.add_argument("--save", default=None, help="save_pretrained folder (only if the weights are < 2 MB)")
    p.add_argument("--out", default=None, help="markdown file (default benchmarks/results/continuous_<dataset>.md)")
    a = p.parse_args(argv)
    if a.nll < 0:
        p.error(f"--nll must be >= 0 (test graphs to score), got {a.nll}")
    if a.sort_batch < 0:
        p.error(f"--sort-batch must be >= 0 (0: one batch), got {a.sort_batch}")
    if a.load and a.init:
        p.error("--load skips training and --init continues it: pass one of them")
    try:
        options = parse_key_values(a.option)
        network_extra = parse_key_values(a.network)
    except ValueError as exc:
        p.error(f"--option / --network {exc}")
    if a.data_subsets < 0:
        p.error(f"--data-subsets must be >= 0 (0: no data-reference row), got {a.data_subsets}")
    if network_extra and (a.load or a.init):
        p.error("--network shapes a new model; --load and --init keep the saved model's network")
    torch.set_num_threads(a.threads)
    samplers = _parse_samplers(a.samplers)

    ds = load(a.dataset)
    train_graphs, test_graphs = ds.split("train"), ds.split("test")
    train = GraphState.from_networkx(train_graphs)
    n_gen = len(test_graphs)

    train_seconds = 0.0
    losses: list[float] = []
    if a.load:
        pipe = ContinuousGraphDiffusion.from_pretrained(a.load)
        train_seconds = float(pipe.card.get("training", {}).get("seconds", 0.0))
    else:
        torch.manual_seed(0)
        if a.init:
            pipe = ContinuousGraphDiffusion.from_pretrained(a.init)
            if pipe.dataset != a.dataset:
                p.error(f"--init {a.init} was trained on {pipe.dataset!r}, not --dataset {a.dataset!r}")
            start_new_stage(pipe, a.init)  # the saved run becomes card["init_from"]; this one is card["training"]
            print("continuing" + lineage_text(pipe.card).removeprefix(", trained on"), flush=True)
        else:
            pipe = ContinuousGraphDiffusion.create(
                train_state=train, dataset=a.dataset,
                network={"hidden": a.hidden, "depth": a.depth, "edge_hidden": a.hidden // 2, "global_hidden": a.hidden // 2,
                         **network_extra},
                process={"x_sde": json.loads(a.x_sde), "adj_sde": json.loads(a.adj_sde), "centered": bool(a.centered)})
        t0 = time.perf_counter()

        def log(info) -> None:
            if info.step % 200 == 0:
                print(f"step {info.step} loss {info.loss:.4f} ({time.perf_counter() - t0:.0f} s)", flush=True)

        res = pipe.fit(train, steps=a.max_steps, batch_size=a.batch_size, lr=a.lr, ema_decay=a.ema_decay,
                       progress=False, callback=log, max_minutes=a.train_minutes, warmup_steps=100, log_every=10**9,
                       group_by_size=a.group_by_size)
        losses = res.losses
        print(f"trained {res.final_step} steps in {time.perf_counter() - t0:.0f} s; loss {sum(losses[-100:]) / max(len(losses[-100:]), 1):.4f}")
        train_seconds = time.perf_counter() - t0
        pipe.card["training"].update(seconds=round(train_seconds, 1))
    n_params = sum(q.numel() for q in pipe.network.parameters())
    net_cfg = getattr(pipe.network, "config", {})

    test_sizes = (torch.tensor([g.number_of_nodes() for g in test_graphs]) if a.node_counts == "test" else None)
    if test_sizes is not None and int(test_sizes.max()) > pipe.node_counts.max_nodes:
        p.error(f"--node-counts test: a test graph has {int(test_sizes.max())} nodes; this model handles at most "
                f"{pipe.node_counts.max_nodes}")
    floor = graph_metrics(test_graphs, train_graphs, protocol="gdss", metrics=STATS)
    data_ref = (data_reference(test_graphs, train_graphs, min(n_gen, len(train_graphs)), subsets=a.data_subsets,
                               protocol="gdss", metrics=STATS) if a.data_subsets > 0 else None)
    rows = []
    for i, (name, steps) in enumerate(samplers):
        seeds = range(a.reference_seeds if steps >= 500 else a.seeds)
        per_seed = []
        for seed in seeds:
            state, nfe, secs = generate(pipe, n_gen, name, steps, seed, options, sizes=test_sizes, sort_batch=a.sort_batch)
            m = graph_metrics(test_graphs, state.to_networkx(), protocol="gdss", metrics=STATS)
            per_seed.append(({s: m[s] for s in STATS}, nfe, secs, m.n_empty, float(state.A.sum() / 2 / n_gen)))
            print(f"{name}:{steps} seed {seed}: {per_seed[-1]}", flush=True)
        mean = {s: sum(r[0][s] for r in per_seed) / len(per_seed) for s in STATS}
        rows.append({"sampler": name, "steps": steps, "nfe": per_seed[0][1], "seeds": len(per_seed), "mmd": mean,
                     "mmd_runs": [r[0] for r in per_seed], "seconds": sum(r[2] for r in per_seed) / len(per_seed),
                     "empty": sum(r[3] for r in per_seed), "edges": sum(r[4] for r in per_seed) / len(per_seed)})

    nll_line = None
    if a.nll:
        test_state = GraphState.from_networkx(test_graphs[: a.nll])
        t1 = time.perf_counter()
        res_nll = pipe.nll(test_state, seed=0)
        nll_line = (f"- likelihood: PF-ODE negative log-likelihood (RK45, rtol = atol = 1e-4, one Hutchinson probe, "
                    f"continuous density of the encoded graphs, no dequantisation) of the first {test_state.batch_size} "
                    f"test graphs: {float(res_nll.nll.mean()):.2f} nats per graph, {float(res_nll.bpd.mean()):.3f} bits per "
                    f"dimension; {res_nll.nfe} score evaluations, {time.perf_counter() - t1:.0f} s")
        print(nll_line, flush=True)
    mean_edges = float(train.A.sum() / 2 / train.batch_size)
    tr = pipe.card.get("training", {})
    ref = GDSS_REFERENCE.get(a.dataset)
    lines = [
        f"## Continuous SDE diffusion on {a.dataset} (GDSS protocol"
        + "".join(f", {k} {v}" for k, v in options.items()) + ")",
        "",
        f"- date: {utc_now()}; commit `{git_commit()}`",
        f"- machine: {machine_line(a.threads)} (shared, heavily loaded machine: times are upper bounds)",
        f"- command: `python benchmarks/continuous_graphs.py {' '.join(argv if argv is not None else sys.argv[1:])}`",
        f"- protocol: train on the {len(train_graphs)} training graphs, sample {n_gen} graphs (= test count, "
        + ("node counts drawn from the training graphs" if test_sizes is None else
           "node counts = the test graphs' own sizes, a diagnostic beside the GDSS protocol's draw from the training graphs")
        + f"), biased MMD^2 vs the {len(test_graphs)} test graphs, `graph_metrics(..., protocol=\"gdss\")` "
        f"(degree / clustering Gaussian-EMD, orbit Gaussian); each row is the mean ± sd over its seeds (sampler seeds 0..n-1)"
        + (f"; sampler options {json.dumps(options)} for every row" if options else "")
        + (f"; sampled in size order, {a.sort_batch} graphs per batch" if a.sort_batch else ""),
        f"- model: PGSN {n_params} parameters ({4 * n_params / 1e6:.2f} MB fp32), process {json.dumps(pipe.process_config())}"
        + _structural_features(net_cfg),
        f"- training: {tr.get('steps', 'n/a')} steps in {train_seconds / 60:.1f} min CPU (batch {tr.get('batch_size', a.batch_size)}, "
        f"lr {tr.get('lr', a.lr)}, EMA {tr.get('ema_decay', a.ema_decay)}"
        + (", size-grouped batches" if tr.get("group_by_size") else "") + ")"
        + (lineage_text(pipe.card) + " with a new optimizer, the EMA restarted from its weights (card `init_from`)"
           if pipe.card.get("init_from") else "")
        + (f"; final loss (mean of last 100) {sum(losses[-100:]) / len(losses[-100:]):.4f}" if losses else ""),
        *([nll_line] if nll_line else []),
        "",
        f"| sampler | steps | NFE | seeds | degree | clustering | orbit | sample time (s, {n_gen} graphs) | mean edges (train "
        f"{mean_edges:.1f}) | empty |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        cells = " | ".join(mean_sd([m[k] for m in r["mmd_runs"]]) for k in STATS)
        lines.append(f"| {r['sampler']} | {r['steps']} | {r['nfe']} | {r['seeds']} | {cells} | "
                     f"{r['seconds']:.1f} | {r['edges']:.1f} | {r['empty']} |")
    if data_ref is not None:
        cells = " | ".join(mean_sd(data_ref.values[k]) for k in STATS)
        lines.append(f"| data reference: {data_ref.n} random training graphs vs test (a perfect generator) | - | - | "
                     f"{data_ref.subsets} subsets | {cells} | - | - | - |")
    lines.append(f"| all {len(train_graphs)} training graphs vs test | - | - | - | {floor['degree']:.4f} | {floor['clustering']:.4f} | {floor['orbit']:.4f} | - | - | - |")
    if ref:
        lines.append(f"| GDSS paper (1000-step PC, trained on GPU) | 1000 | 2000 | - | {ref[0]} | {ref[1]} | {ref[2]} | - | - | - |")
    lines.append("")
    text = "\n".join(lines)
    print(text)
    out = Path(a.out or f"benchmarks/results/continuous_{a.dataset}.md")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text + "\n")

    if a.save:
        size_mb = 4 * n_params / 1e6
        if size_mb >= 2.0:
            print(f"not saving: {size_mb:.2f} MB of weights >= 2 MB")
        else:
            best = min([r for r in rows if r["steps"] < 500] or rows, key=lambda r: sum(r["mmd"].values()))
            pipe.card["sampling"] = {"sampler": best["sampler"], "steps": best["steps"]}
            extra = " with cycle-count features" if net_cfg.get("cycles") else ""
            pipe.card["summary"] = (f"continuous SDE (GDSS-style) model of {a.dataset} graphs{extra}, "
                                    f"trained {train_seconds / 60:.0f} min on CPU")
            metrics = {"protocol": "gdss", "n_generated": n_gen,
                       "rows": [{"sampler": r["sampler"], "steps": r["steps"], "nfe": r["nfe"], "seeds": r["seeds"],
                                 **{k: round(v, 6) for k, v in r["mmd"].items()}} for r in rows]}
            print("saved", pipe.save_pretrained(a.save, metrics=metrics))
    return 0


if __name__ == "__main__":
    sys.exit(main())
